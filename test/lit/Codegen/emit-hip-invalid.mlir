// RUN: greta-opt %s --split-input-file --verify-diagnostics --greta-emit-hip -o /dev/null
// RUN: not greta-opt %s --split-input-file --greta-emit-hip=target=sm_12 -o /dev/null 2>&1 | FileCheck %s --check-prefix=TARGET

// Tests that an unknown target is refused, naming the known ones.
// TARGET: greta-emit-hip: unknown target 'sm_12' (known: sm_90, gfx942, gfx90a, cpu)

// Tests that a kernel without a block size (set by greta-lower-to-kernels) is refused.
// expected-error@+1 {{needs params.block (threads per block), set by greta-lower-to-kernels}}
gk.kernel @norm rms_norm(activation, weight, activation) params {dim = 64 : i64, eps = 1.0e-5 : f32}

// -----

// Tests that a block size that is not whole warps at both widths is refused.
// expected-error@+1 {{params.block = 96 must be a multiple of 64 (whole warps at width 32 and 64) and at most 1024}}
gk.kernel @norm rms_norm(activation, weight, activation) params {block = 96 : i64, dim = 64 : i64, eps = 1.0e-5 : f32}

// -----

// Tests that a constant the template bakes in is required.
// expected-error@+1 {{needs a positive integer params.k to be emitted as a matmul kernel}}
gk.kernel @mm matmul(activation, weight, activation) route gemv quant q8_0 params {block = 256 : i64, n = 64 : i64}

// -----

// Tests that weight rows that are not whole blocks of the quant type are refused.
// expected-error@+1 {{weight rows of 96 values are not whole Q4_K blocks of 8-value chunks}}
gk.kernel @mm matmul(activation, weight, activation) route gemv quant q4_k
    params {block = 256 : i64, k = 96 : i64, n = 64 : i64}

// -----

// Tests that gemv tiles whose rows do not divide among the block's warps are refused.
// expected-error@+1 {{gemv tile_n = 4 is not a multiple of 8 (the block's warps at width 32): each warp reduces whole weight rows}}
gk.kernel @mm matmul(activation, weight, activation) route gemv quant q8_0 tiles<tile_n = 4, tile_k = 32>
    params {block = 256 : i64, k = 64 : i64, n = 64 : i64}

// -----

// Tests that a gemv split-K that does not cut K into whole quant blocks is refused.
// expected-error@+1 {{gemv split_k = 4 does not split K = 64 into whole Q8_0 blocks of 32 values}}
gk.kernel @mm matmul(activation, weight, activation) route gemv quant q8_0
    tiles<tile_n = 8, tile_k = 32, split_k = 4> params {block = 256 : i64, k = 64 : i64, n = 64 : i64}

// -----

// Tests that a fused body op without a HIP C++ spelling is refused, on the op.
gk.kernel @mm matmul(activation, weight, activation, activation) route gemv quant q8_0
    tiles<tile_n = 8, tile_k = 32> params {block = 256 : i64, k = 64 : i64, n = 64 : i64}
    epilogue {
    ^bb0(%acc: f32, %res: f32):
      // expected-error@+1 {{has no HIP C++ spelling in the kernel emitter}}
      %0 = math.atan %acc : f32
      gk.yield %0 : f32
    }

// -----

// Tests that GEMM tiles beyond the portable shared memory are refused (matmul_mma: a stage of
// binary16 rows and a super-stage of raw weight blocks).
// expected-error@+1 {{gemm tiles need 99328 bytes of shared memory; the templates stay within 49152}}
gk.kernel @mm matmul(activation, weight, activation) route gemm quant q8_0
    tiles<tile_m = 256, tile_n = 256, tile_k = 64> params {block = 256 : i64, k = 64 : i64, n = 64 : i64}

// -----

// Tests that a GEMM tile_k that a K-quant block of 256 values is not whole stages of is refused:
// matmul_mma stages raw weights a whole block at a time.
// expected-error@+1 {{gemm tile_k = 96 neither divides nor is a multiple of the Q4_K block of 256 values (matmul_mma stages whole blocks)}}
gk.kernel @mm_split_block matmul(activation, weight, activation) route gemm quant q4_k
    tiles<tile_m = 64, tile_n = 128, tile_k = 96> params {block = 256 : i64, k = 768 : i64, n = 128 : i64}

// -----

// Tests that GEMM tiles that do not split into a GPU's matrix instructions are refused, naming
// the target: 48 columns over 4 warps of 8-column mma tiles.
// expected-error@+1 {{gemm tiles 64x48x32 with 256 threads do not split into sm_90's 16x8x16 matrix instructions over 2x4 warps}}
gk.kernel @mm_ragged matmul(activation, weight, activation) route gemm quant q8_0
    tiles<tile_m = 64, tile_n = 48, tile_k = 32> params {block = 256 : i64, k = 64 : i64, n = 64 : i64}
