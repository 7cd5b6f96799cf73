// RUN: greta-opt %s --split-input-file --greta-emit-hip -o /dev/null | FileCheck %s
// RUN: greta-opt %s --split-input-file --greta-emit-hip=target=cpu,gfx942 -o /dev/null | FileCheck %s --check-prefix=GFX
// RUN: greta-opt %s --split-input-file --greta-emit-hip -o /dev/null | FileCheck %s --check-prefix=NOWARP

// No emitted source spells a warp size: device code reads GRETA_WARP_SIZE (greta::kWarpSize)
// from the prelude. (Constants are named; no operator meets a bare 32 or 64.)
// NOWARP-NOT: {{warpSize|__shfl_|[%/&<>] *(31|32|63|64)([^0-9.x]|$)|== *(32|64)\b}}

// Tests that a decode GEMV kernel with an RMSNorm prologue and a residual epilogue is emitted
// with its constants baked in, its Params struct in launch order, its bodies written out from
// the IR, and the split-K combine when split_k > 1.
// CHECK-LABEL: // ===== gk.kernel @decode_attn_out (decode_attn_out.hip) =====
// CHECK: // gk.kernel @decode_attn_out: family matmul, route gemv, weights Q4_K.
// CHECK: // Fused: prologue (input x · 1/rms · gamma, from the IR) and epilogue acc + residual (from the IR).
// CHECK: // Made from codegen/templates/matmul_gemv.hip with tiles of sm_90; 256 threads per block.
// GFX: // Made from codegen/templates/matmul_gemv.hip with tiles of gfx942; 256 threads per block.
// CHECK: #include "greta_prelude.h"
// CHECK: constexpr int kBlock = 256;
// CHECK: constexpr int kK = 4096;
// CHECK: constexpr int kN = 4096;
// CHECK: constexpr float kEps = 1e-05f;
// CHECK: constexpr int kTileN = 16;
// CHECK: constexpr int kSplitK = 4;
// CHECK: manifest param_fields: x,weight,out,norm,residual,rows,ctx
// CHECK: struct Params {
// CHECK-NEXT: const float *x;
// CHECK-NEXT: const u8 *weight;
// CHECK-NEXT: float *out;
// CHECK-NEXT: const float *norm;
// CHECK-NEXT: const float *residual;
// CHECK-NEXT: i32 rows;
// CHECK-NEXT: i32 ctx;
// CHECK-NEXT: };
// CHECK: __device__ __forceinline__ float prologue(float x, float gamma, float inv_rms) {
// CHECK-NEXT: const float t0 = x * inv_rms;
// CHECK-NEXT: const float t1 = t0 * gamma;
// CHECK-NEXT: return t1;
// CHECK-NEXT: }
// CHECK: __device__ __forceinline__ float epilogue(float acc, float residual) {
// CHECK-NEXT: const float t0 = acc + residual;
// CHECK-NEXT: return t0;
// CHECK: p.out[at] = epilogue(acc, p.residual[at]);
// CHECK: const float *staged; ///< shared memory: the split's range, float4s permuted by staged_slot
// One part: every row is Q4_K.
// CHECK: namespace part0 {
// CHECK: constexpr i64 kRowBytes = 2304;
// CHECK-NEXT: constexpr int kPartFirst = 0;
// CHECK-NEXT: constexpr int kPartRows = 4096;
// CHECK: Q4_K (ggml block_q4_K)
// CHECK: gemv pieces of Q4_K
// CHECK: w.qs = block[1 + piece % kPiecesPerBlock];
// CHECK: __device__ float g_partials[kSplitK * kPartRows];
// CHECK: __device__ __forceinline__ void gemv_tile(const Params &p, int tile, float *staged) {
// CHECK: make_float4(prologue(v[i].x, gamma.x, invRms)
// CHECK: reinterpret_cast<float4 *>(staged)[staged_slot(f)] = v[i];
// CHECK: isLast = atomicAdd(&g_arrivals[tile], 1u) == kSplitK - 1;
// CHECK: } // namespace part0
// CHECK-NOT: namespace part1
// CHECK: GRETA_KERNEL_BLOCKS(kBlock, 2) decode_attn_out(const Params p) {
// CHECK: __shared__ __align__(16) float staged[kStagedFloats];
// CHECK-NEXT: part0::gemv_tile(p, static_cast<int>(blockIdx.x), staged);
gk.kernel @decode_attn_out matmul(activation, weight, activation, weight, activation)
    route gemv quant q4_k tiles<tile_n = 16, tile_k = 256, split_k = 4>
    params {block = 256 : i64, k = 4096 : i64, n = 4096 : i64, eps = 1.0e-5 : f32}
    prologue {
    ^bb0(%x: f32, %gamma: f32, %inv_rms: f32):
      %0 = arith.mulf %x, %inv_rms : f32
      %1 = arith.mulf %0, %gamma : f32
      gk.yield %1 : f32
    } epilogue {
    ^bb0(%acc: f32, %res: f32):
      %s = arith.addf %acc, %res : f32
      gk.yield %s : f32
    }

// -----

// Tests that a prefill gate/up GEMM reads both weights into shared memory and writes its
// SiLU·mul epilogue from the IR (math.exp → expf), and that without split-K there are no
// partial sums. On a GPU target (sm_90, gfx942) it runs on the matrix units: both weights are
// copied raw into shared memory with 16-byte loads, dequantised from there into one binary16
// tile and multiplied by the prelude's matrix instruction.
// CHECK-LABEL: // ===== gk.kernel @prefill_ffn (prefill_ffn.hip) =====
// CHECK: Made from codegen/templates/matmul_mma.hip with tiles of sm_90
// GFX: Made from codegen/templates/matmul_mma.hip with tiles of gfx942
// CHECK: constexpr int kTileM = 64;
// CHECK: constexpr int kTileN = 64;
// CHECK: constexpr int kTileK = 32;
// CHECK: manifest param_fields: x,gate,up,out,rows,ctx
// CHECK: Q8_0 (ggml block_q8_0)
// CHECK-NOT: prologue(
// CHECK: __device__ __forceinline__ float epilogue(float gate, float up) {
// CHECK-NEXT: const float t0 = 1.0f;
// CHECK-NEXT: const float t1 = -gate;
// CHECK-NEXT: const float t2 = expf(t1);
// CHECK-NEXT: const float t3 = t2 + t0;
// CHECK-NEXT: const float t4 = gate / t3;
// CHECK-NEXT: const float t5 = t4 * up;
// CHECK-NEXT: return t5;
// CHECK: p.out[static_cast<i64>(s) * kN + n] = epilogue(gate, up);
// CHECK: constexpr int kMatrices = 2;
// CHECK: mma(out.acc[i][j], a[i], b);
// CHECK: mma_load_b(b, w + (kTileN + j * kMmaN) * kStride + kk, kStride);
// CHECK: mma(out.up[i][j], a[i], b);
// CHECK: store_output(p, row, n, out.acc[i][j].v[e], out.up[i][j].v[e]);
// CHECK: const u8 *matrix = r < kTileN ? p.gate : p.up;
// CHECK: regs.v[t] = needed ? granules[v] : make_uint4(0, 0, 0, 0);
// CHECK: dequant_chunk(row, inSuper * kChunksPerStageRow + c, values);
// CHECK-NOT: g_partials
// CHECK: multiply_stage(acc, xTile, wTile);
gk.kernel @prefill_ffn matmul_gate_up(activation, weight, weight, activation)
    route gemm quant q8_0 tiles<tile_m = 64, tile_n = 64, tile_k = 32>
    params {block = 256 : i64, k = 4096 : i64, n = 14336 : i64}
    epilogue {
    ^bb0(%gate: f32, %up: f32):
      %one = arith.constant 1.0 : f32
      %neg = arith.negf %gate : f32
      %exp = math.exp %neg : f32
      %den = arith.addf %exp, %one : f32
      %silu = arith.divf %gate, %den : f32
      %y = arith.mulf %silu, %up : f32
      gk.yield %y : f32
    }

// -----

// Tests that fused bodies may use comparisons, selects, other math functions and constants
// that need every digit, and that a symbol that is not a C identifier becomes a valid entry.
// CHECK-LABEL: // ===== gk.kernel @decode.clamped (decode.clamped.hip) =====
// CHECK: __device__ __forceinline__ float epilogue(float acc, float residual) {
// CHECK-NEXT: const float t0 = 0.33333334f;
// CHECK-NEXT: const bool t1 = (acc > t0);
// CHECK-NEXT: const float t2 = fmaxf(acc, residual);
// CHECK-NEXT: const float t3 = tanhf(t2);
// CHECK-NEXT: const float t4 = t1 ? t3 : residual;
// CHECK-NEXT: return t4;
// CHECK: GRETA_KERNEL_BLOCKS(kBlock, 2) decode_clamped(const Params p) {
gk.kernel @decode.clamped matmul(activation, weight, activation, activation) route gemv quant f32
    tiles<tile_n = 8> params {block = 256 : i64, k = 64 : i64, n = 64 : i64}
    epilogue {
    ^bb0(%acc: f32, %res: f32):
      %c = arith.constant 0.333333343 : f32
      %gt = arith.cmpf ogt, %acc, %c : f32
      %m = arith.maximumf %acc, %res : f32
      %t = math.tanh %m : f32
      %y = arith.select %gt, %t, %res : f32
      gk.yield %y : f32
    }

// -----

// Tests the one-row families: RMSNorm (eps baked), RoPE (theta in double, the frequency
// divisors read through Params when the kernel names them), and the audit record.
// CHECK-LABEL: // ===== gk.kernel @norm (norm.hip) =====
// CHECK: constexpr int kDim = 4096;
// CHECK: constexpr float kEps = 1e-06f;
// CHECK: manifest param_fields: x,weight,out,rows,ctx
// CHECK: sumSquares = block_reduce_sum<kBlock>(sumSquares, scratch);
// CHECK: out[i] = x[i] * invRms * p.weight[i];
// CHECK-LABEL: // ===== gk.kernel @rope (rope.hip) =====
// CHECK: constexpr double kTheta = 500000.0;
// CHECK: manifest param_fields: x,positions,freqs,rows,ctx
// CHECK: const float *freqs;
// CHECK: frequency /= static_cast<double>(freqs[i]);
// CHECK-LABEL: // ===== gk.kernel @rope_plain (rope_plain.hip) =====
// CHECK-NOT: frequency /=
// CHECK-LABEL: // ===== gk.kernel @stats (stats.hip) =====
// CHECK: constexpr int kN = 128256;
// CHECK: constexpr bool kIsLogits = true;
// CHECK: struct AuditRecord {
// CHECK: AuditRecord *stats;
greta.weight @rope_freqs : !greta.weight<64, f32> {gguf_name = "rope_freqs.weight"}
gk.kernel @norm rms_norm(activation, weight, activation)
    params {block = 256 : i64, dim = 4096 : i64, eps = 1.0e-6 : f32}
gk.kernel @rope rope(activation, input)
    params {block = 256 : i64, heads = 32 : i64, head_dim = 128 : i64, theta = 5.0e5 : f32,
            freqs = @rope_freqs}
gk.kernel @rope_plain rope(activation, input)
    params {block = 256 : i64, heads = 32 : i64, head_dim = 128 : i64, theta = 1.0e4 : f32}
gk.kernel @stats audit_stats(logits, audit)
    params {block = 256 : i64, n = 128256 : i64, point = "lm_head", is_logits = true}
