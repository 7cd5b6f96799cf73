// RUN: greta-opt %s --greta-emit-hip -o /dev/null | FileCheck %s
// RUN: greta-opt %s --greta-emit-hip=target=cpu -o /dev/null | FileCheck %s --check-prefix=CPU

// Tests that every family and route is emitted from its template, with its Params fields in
// the gk.launch order (codegen/KernelABI.h) and its entry point named after the kernel. The
// gemm route runs on the matrix units of a GPU target (matmul_mma, the default sm_90) and on
// vector ALUs for a target without them (matmul_gemm, `cpu` alone).

// CHECK-LABEL: // ===== gk.kernel @embedding (embedding.hip) =====
// CHECK: Made from codegen/templates/embedding.hip
// CHECK: manifest param_fields: tokens,table,out,rows,ctx
// CHECK: GRETA_KERNEL(kBlock) embedding(const Params p) {
gk.kernel @embedding embedding(input, weight, activation) quant q8_0
    params {block = 256 : i64, dim = 64 : i64, vocab = 256 : i64}

// CHECK-LABEL: // ===== gk.kernel @rms_norm (rms_norm.hip) =====
// CHECK: Made from codegen/templates/rms_norm.hip
// CHECK: manifest param_fields: x,weight,out,rows,ctx
gk.kernel @rms_norm rms_norm(activation, weight, activation)
    params {block = 256 : i64, dim = 64 : i64, eps = 1.0e-5 : f32}

// CHECK-LABEL: // ===== gk.kernel @add_rms_norm (add_rms_norm.hip) =====
// CHECK: Made from codegen/templates/add_rms_norm.hip
// CHECK: manifest param_fields: a,b,weight,sum,out,rows,ctx
// CHECK: p.sum[base + i] = value;
gk.kernel @add_rms_norm add_rms_norm(activation, activation, weight, activation, activation)
    params {block = 256 : i64, dim = 64 : i64, eps = 1.0e-5 : f32}

// CHECK-LABEL: // ===== gk.kernel @matmul_gemv (matmul_gemv.hip) =====
// CHECK: Made from codegen/templates/matmul_gemv.hip
// CHECK: manifest param_fields: x,weight,out,rows,ctx
// CHECK: gemv pieces of Q6_K
// CHECK: w.chunk[i] = chunks[chunk < lastChunk ? chunk : lastChunk];
// CHECK: span_words(words, w.at +
// CHECK: dotA = dot2_i16_i8<false>(x.a[2 * i], a, dotA);
// CHECK-NOT: make_float4(prologue(
// CHECK: stage_int16(input, f, v[i]);
// CHECK: GRETA_KERNEL_BLOCKS(kBlock, 2) matmul_gemv(const Params p) {
gk.kernel @matmul_gemv matmul(activation, weight, activation) route gemv quant q6_k
    tiles<tile_n = 8, tile_k = 256> params {block = 256 : i64, k = 256 : i64, n = 64 : i64}

// CHECK-LABEL: // ===== gk.kernel @matmul_gemm (matmul_gemm.hip) =====
// CHECK: Made from codegen/templates/matmul_mma.hip
// CHECK: mma(out.acc[i][j], a[i], b);
// CHECK: GRETA_KERNEL(kBlock) matmul_gemm(const Params p) {
// CHECK: const int rows = p.rows;
// CPU-LABEL: // ===== gk.kernel @matmul_gemm (matmul_gemm.hip) =====
// CPU: Made from codegen/templates/matmul_gemm.hip with tiles of cpu
// CPU: acc[mi][ni] += a[mi] * b[ni];
gk.kernel @matmul_gemm matmul(activation, weight, activation) route gemm quant q4_0
    tiles<tile_m = 64, tile_n = 64, tile_k = 32> params {block = 256 : i64, k = 64 : i64, n = 64 : i64}

// Q6_K's raw super-stage (128 rows of 15 granules) needs more than 6 granules per thread: the
// kernel asks for two blocks per compute unit.
// CHECK-LABEL: // ===== gk.kernel @matmul_mma_q6_k (matmul_mma_q6_k.hip) =====
// CHECK: GRETA_KERNEL_BLOCKS(kBlock, 2) matmul_mma_q6_k(const Params p) {
gk.kernel @matmul_mma_q6_k matmul(activation, weight, activation) route gemm quant q6_k
    tiles<tile_m = 64, tile_n = 128, tile_k = 32> params {block = 256 : i64, k = 256 : i64, n = 128 : i64}

// CHECK-LABEL: // ===== gk.kernel @gate_up_gemv (gate_up_gemv.hip) =====
// CHECK: Made from codegen/templates/matmul_gemv.hip
// CHECK: manifest param_fields: x,gate,up,out,norm,rows,ctx
// CHECK: const float dotUp = dot_piece(wUp[b][r], piece, in);
// CHECK: accUp[r] += live ? dotUp : 0.0f;
// CHECK: store_output(p, s, kPartFirst + firstRow + r, acc[r], accUp[r]);
gk.kernel @gate_up_gemv matmul_gate_up(activation, weight, weight, activation, weight)
    route gemv quant q8_0 tiles<tile_n = 16, tile_k = 32>
    params {block = 256 : i64, k = 64 : i64, n = 128 : i64, eps = 1.0e-5 : f32}
    prologue {
    ^bb0(%x: f32, %g: f32, %r: f32):
      %0 = arith.mulf %x, %r : f32
      %1 = arith.mulf %0, %g : f32
      gk.yield %1 : f32
    } epilogue {
    ^bb0(%g: f32, %u: f32):
      %0 = arith.mulf %g, %u : f32
      gk.yield %0 : f32
    }

// CHECK-LABEL: // ===== gk.kernel @rope (rope.hip) =====
// CHECK: Made from codegen/templates/rope.hip
// CHECK: manifest param_fields: x,positions,freqs,rows,ctx
gk.kernel @rope rope(activation, input)
    params {block = 256 : i64, heads = 4 : i64, head_dim = 16 : i64, theta = 1.0e4 : f32}

// CHECK-LABEL: // ===== gk.kernel @kv_append (kv_append.hip) =====
// CHECK: Made from codegen/templates/kv_append.hip
// CHECK: manifest param_fields: k,v,positions,k_cache,v_cache,rows,ctx
// CHECK: if (position < 0 || position >= p.ctx)
gk.kernel @kv_append kv_append(activation, activation, input, kv, kv)
    params {block = 256 : i64, kv_heads = 2 : i64, head_dim = 16 : i64}

// CHECK-LABEL: // ===== gk.kernel @rope_kv_append (rope_kv_append.hip) =====
// CHECK: Made from codegen/templates/rope_kv_append.hip
// CHECK: manifest param_fields: q,k,v,positions,k_cache,v_cache,freqs,rows,ctx
gk.kernel @rope_kv_append rope_kv_append(activation, activation, activation, input, kv, kv)
    params {block = 256 : i64, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 16 : i64,
            theta = 1.0e4 : f32}

// CHECK-LABEL: // ===== gk.kernel @attention_split_kv (attention_split_kv.hip) =====
// CHECK: Made from codegen/templates/attention_split_kv.hip
// CHECK: constexpr float kScale = 0.25f;
// CHECK: constexpr int kSplits = 4;
// CHECK: manifest param_fields: q,k_cache,v_cache,positions,out,rows,ctx
// CHECK: isLast = atomicAdd(arrivals, 1u) == static_cast<unsigned int>(splits) - 1;
gk.kernel @attention_split_kv attention(activation, kv, kv, input, activation) route split_kv
    tiles<split_k = 4> params {block = 256 : i64, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32}

// On a GPU target, flash attention runs on the matrix units when head_dim and the tiles are
// whole 16-value instruction steps; the vector-ALU template serves other shapes and `cpu`.
// CHECK-LABEL: // ===== gk.kernel @attention_flash (attention_flash.hip) =====
// CHECK: Made from codegen/templates/attention_flash_mma.hip
// CHECK: constexpr int kTileM = 32;
// CHECK: constexpr int kTileN = 64;
// CHECK: mma(out[gi][j], a, b);
// CPU-LABEL: // ===== gk.kernel @attention_flash (attention_flash.hip) =====
// CPU: __shared__ float keys[kKVTile][kHeadDim];
gk.kernel @attention_flash attention(activation, kv, kv, input, activation) route flash
    tiles<tile_m = 32, tile_n = 64>
    params {block = 256 : i64, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 16 : i64, scale = 0.25 : f32}

// CHECK-LABEL: // ===== gk.kernel @attention_flash_hd24 (attention_flash_hd24.hip) =====
// CHECK: Made from codegen/templates/attention_flash.hip
// CHECK: __shared__ float keys[kKVTile][kHeadDim];
gk.kernel @attention_flash_hd24 attention(activation, kv, kv, input, activation) route flash
    tiles<tile_m = 32, tile_n = 64>
    params {block = 256 : i64, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 24 : i64, scale = 0.25 : f32}

// CHECK-LABEL: // ===== gk.kernel @silu_mul (silu_mul.hip) =====
// CHECK: Made from codegen/templates/silu_mul.hip
// CHECK: p.out[at] = gate / (1.0f + expf(-gate)) * p.up[at];
gk.kernel @silu_mul silu_mul(activation, activation, activation) params {block = 256 : i64, n = 128 : i64}

// CHECK-LABEL: // ===== gk.kernel @add (add.hip) =====
// CHECK: Made from codegen/templates/add.hip
// CHECK: p.out[at] = p.a[at] + p.b[at];
gk.kernel @add add(activation, activation, activation) params {block = 256 : i64, n = 64 : i64}

// The LM head reads the last row only: one output row whatever rows says.
// CHECK-LABEL: // ===== gk.kernel @lm_head_gemv (lm_head_gemv.hip) =====
// CHECK: Made from codegen/templates/matmul_gemv.hip
// CHECK: if (s >= 1) // lm_head: x points at the last row; one output row
gk.kernel @lm_head_gemv lm_head(activation, weight, logits) route gemv quant q6_k
    tiles<tile_n = 8, tile_k = 256, split_k = 2> params {block = 256 : i64, k = 512 : i64, n = 512 : i64}

// CHECK-LABEL: // ===== gk.kernel @lm_head_gemm (lm_head_gemm.hip) =====
// CHECK: Made from codegen/templates/matmul_mma.hip
// CHECK: const int rows = 1; // lm_head: x points at the last row
// CPU-LABEL: // ===== gk.kernel @lm_head_gemm (lm_head_gemm.hip) =====
// CPU: Made from codegen/templates/matmul_gemm.hip
// CPU: const int rows = 1; // lm_head: x points at the last row
gk.kernel @lm_head_gemm lm_head(activation, weight, logits) route gemm quant f16
    tiles<tile_m = 16, tile_n = 64, tile_k = 32> params {block = 256 : i64, k = 256 : i64, n = 512 : i64}

// CHECK-LABEL: // ===== gk.kernel @audit_stats (audit_stats.hip) =====
// CHECK: Made from codegen/templates/audit_stats.hip
// CHECK: constexpr bool kIsLogits = false;
// CHECK: manifest param_fields: x,stats,rows,ctx
// CHECK: hash *= kFnvPrime;
gk.kernel @audit_stats audit_stats(activation, audit)
    params {block = 256 : i64, n = 64 : i64, point = "final_rmsnorm", is_logits = false}
