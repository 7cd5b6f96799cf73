// RUN: greta-opt %s --greta-emit-hip -o /dev/null | FileCheck %s
// RUN: not greta-opt %s --greta-emit-hip=target=cpu -o /dev/null 2>&1 | FileCheck %s --check-prefix=CPU

// Tests the prefill products on binary16 operands: dequant_f16 decodes a weight matrix into a
// scratch buffer with its format's chunk decoder, one 16-byte vector of 8 values per thread;
// cast_f16 writes the input rows as binary16 with the prologue applied; a gemm kernel whose
// signature ends with the binary16 input and scratch buffers (one per weight matrix) is made
// from matmul_mma_f16, which streams both into shared slots with asynchronous copies (as many
// stages as fit 64 KiB of dynamic shared memory, at most 4) and applies no prologue itself. A
// target without matrix units cannot run it.

// CHECK-LABEL: // ===== gk.kernel @dequant (dequant.hip) =====
// CHECK: family dequant_f16, weights Q4_K
// CHECK: Made from codegen/templates/dequant_f16.hip
// CHECK: constexpr int kK = 512;
// CHECK: constexpr int kN = 64;
// CHECK: constexpr i64 kRowBytes = 288;
// CHECK: manifest param_fields: weight,out,rows,ctx
// CHECK: u16 *out;
// CHECK: __device__ __forceinline__ void dequant_chunk(
// CHECK: GRETA_KERNEL(kBlock) dequant(const Params p) {
// CHECK: wait_for_producers();
// CHECK: dequant_chunk(p.weight + n * kRowBytes, c, values);
gk.kernel @dequant dequant_f16(weight, scratch) quant q4_k
    params {block = 256 : i64, k = 512 : i64, n = 64 : i64}

// CHECK-LABEL: // ===== gk.kernel @cast (cast.hip) =====
// CHECK: Made from codegen/templates/cast_f16.hip
// CHECK: constexpr float kEps = 1e-05f;
// CHECK: manifest param_fields: x,out,norm,rows,ctx
// CHECK: u16 *out;
// CHECK: sumSquares = block_reduce_sum<kBlock>(sumSquares, scratch);
// CHECK: v = make_float4(prologue(v.x, g.x, invRms),
// CHECK: out[i] = make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w));
gk.kernel @cast cast_f16(activation, activation, weight)
    params {block = 256 : i64, eps = 1.0e-5 : f32, k = 512 : i64}
    prologue {
    ^bb0(%x: f32, %gamma: f32, %inv_rms: f32):
      %0 = arith.mulf %x, %inv_rms : f32
      %1 = arith.mulf %0, %gamma : f32
      gk.yield %1 : f32
    }

// Without a prologue the rows are only rounded.
// CHECK-LABEL: // ===== gk.kernel @cast_plain (cast_plain.hip) =====
// CHECK-NOT: block_reduce_sum
// CHECK: out[i] = make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w));
gk.kernel @cast_plain cast_f16(activation, activation) params {block = 256 : i64, k = 512 : i64}

// CHECK-LABEL: // ===== gk.kernel @matmul_f16 (matmul_f16.hip) =====
// CHECK: Made from codegen/templates/matmul_mma_f16.hip
// CHECK-NOT: kEps
// CHECK: constexpr int kStagesInFlight = 4;
// CHECK: manifest param_fields: x,weight,out,norm,residual,x_f16,weight_f16,rows,ctx
// CHECK: const u16 *x_f16;
// CHECK: const u16 *weight_f16;
// CHECK: constexpr int kStride = kTileK + 8;
// CHECK: return r * kStride + v * 8;
// CHECK: mma_load_a(a[i],
// CHECK: const u16 *matrix = p.weight_f16;
// CHECK: copy_async_16(xSlot + slot_offset(r, v), row + k0 + v * 8);
// CHECK: copy_async_16(wSlot + slot_offset(r, v), weight_row(p, col0, r) + k0 + v * 8);
// CHECK: copy_async_wait<kFetchAhead - 1>();
// CHECK: store_tile(p, acc, row0, col0, rows);
gk.kernel @matmul_f16 matmul(activation, weight, activation, weight, activation, activation, scratch)
    route gemm quant q4_k tiles<tile_m = 64, tile_n = 128, tile_k = 32>
    params {block = 256 : i64, eps = 1.0e-5 : f32, k = 512 : i64, n = 128 : i64}
    prologue {
    ^bb0(%x: f32, %gamma: f32, %inv_rms: f32):
      %0 = arith.mulf %x, %inv_rms : f32
      %1 = arith.mulf %0, %gamma : f32
      gk.yield %1 : f32
    } epilogue {
    ^bb0(%acc: f32, %residual: f32):
      %0 = arith.addf %acc, %residual : f32
      gk.yield %0 : f32
    }

// Gate and up: 2 x 64 weight rows a stage, both from their own scratch buffer.
// CHECK-LABEL: // ===== gk.kernel @gate_up_f16 (gate_up_f16.hip) =====
// CHECK: Made from codegen/templates/matmul_mma_f16.hip
// CHECK: constexpr int kStagesInFlight = 4;
// CHECK: manifest param_fields: x,gate,up,out,x_f16,gate_f16,up_f16,rows,ctx
// CHECK: const u16 *matrix = r < kTileN ? p.gate_f16 : p.up_f16;
// CPU: error: 'gk.kernel' op reads binary16 scratch weights, which needs a target with matrix units (cpu has none)
gk.kernel @gate_up_f16 matmul_gate_up(activation, weight, weight, activation, activation, scratch, scratch)
    route gemm quant q6_k tiles<tile_m = 64, tile_n = 64, tile_k = 32>
    params {block = 256 : i64, k = 256 : i64, n = 128 : i64}
    epilogue {
    ^bb0(%gate: f32, %up: f32):
      %0 = arith.mulf %gate, %up : f32
      gk.yield %0 : f32
    }

// On sm_90, 128-row tiles of 128 weight rows (a plain 128 x 128 tile, or gate_up's 128 x 64:
// gate and up rows) are multiplied by wgmma: two warpgroups of 64 rows, both tiles in the
// 128-byte swizzled layout (rows unpadded, vector v of row r at v ^ (r % 8), tiles aligned to
// 1024 bytes in place, within the slots sized for the padded rows of the mma path, which the
// source keeps for a GPU without sm_90a's wgmma; six stages where the block is alone on its SM),
// the products of up to two stages left running over the next stages' barriers. Other tiles (32-value stages below) take the mma path, as
// every tile does on a target without wgmma.
// CHECK-LABEL: // ===== gk.kernel @matmul_f16_wgmma (matmul_f16_wgmma.hip) =====
// CHECK: constexpr int kStagesInFlight = 6;
// CHECK: constexpr int kStride = kTileK; // the swizzle replaces the padding
// CHECK: constexpr int kProductsInFlight = kStagesInFlight >= 4 ? 2 : 1;
// CHECK: return r * kStride + ((v ^ (r % 8)) * 8);
// CHECK: wgmma.wait_group.sync.aligned %0;
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// CHECK: store_output(p, row, n, out.v[4 * j + e]);
// CHECK: (kSwizzleBytes - 1)) / 2;
// CHECK: stage_ready();
// CHECK: finish_products(acc);
gk.kernel @matmul_f16_wgmma matmul(activation, weight, activation, activation, scratch)
    route gemm quant q4_k tiles<tile_m = 128, tile_n = 128, tile_k = 64>
    params {block = 256 : i64, k = 512 : i64, n = 4096 : i64}

// CHECK-LABEL: // ===== gk.kernel @gate_up_f16_wgmma (gate_up_f16_wgmma.hip) =====
// CHECK: constexpr int kTileN = 64;
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// CHECK: store_output(p, row, n, out.v[4 * j + e], out.v[4 * (j + kTileN / 8) + e]);
gk.kernel @gate_up_f16_wgmma matmul_gate_up(activation, weight, weight, activation, activation, scratch, scratch)
    route gemm quant q4_k tiles<tile_m = 128, tile_n = 64, tile_k = 64>
    params {block = 256 : i64, k = 512 : i64, n = 4096 : i64}
    epilogue {
    ^bb0(%gate: f32, %up: f32):
      %0 = arith.mulf %gate, %up : f32
      gk.yield %0 : f32
    }

// CHECK-LABEL: // ===== gk.kernel @matmul_f16_k32 (matmul_f16_k32.hip) =====
// CHECK-NOT: wgmma.mma_async
// CHECK: mma_load_a(a[i],
gk.kernel @matmul_f16_k32 matmul(activation, weight, activation, activation, scratch)
    route gemm quant q4_k tiles<tile_m = 128, tile_n = 128, tile_k = 32>
    params {block = 256 : i64, k = 512 : i64, n = 4096 : i64}
