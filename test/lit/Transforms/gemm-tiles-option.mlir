// RUN: greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemm-tiles=4096x1024=128x128,4096x14336=64x64" | FileCheck %s
// RUN: not greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemm-tiles=4096x4096=100x128" 2>&1 | FileCheck %s --check-prefix=GRANULE
// RUN: not greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemm-tiles=4096x4096=128x512" 2>&1 | FileCheck %s --check-prefix=WIDE
// RUN: not greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemm-tiles=4096x4096=128" 2>&1 | FileCheck %s --check-prefix=SYNTAX

// Tests the gemm-tiles option (greta-compile --gemm-tiles), which replaces the tile policy's
// choice for every gemm product over a K x N weight (tile sweeps, and kernel tests of tiles a
// small model's products would not get): the k and v products (4096 x 1024) at 128 x 128
// instead of 64 x 64, gate_up (4096 x 14336) at 64 x 64 instead of 128 x 64; the q, o and down
// products keep the policy's tiles. A tile that is not whole 16 x 16 instruction tiles up to
// 256, or an entry that does not parse, is an error that names it.
// CHECK: gk.kernel @prefill_matmul_q4_k_4096x4096_norm {{.*}} tiles<tile_m = 128, tile_n = 128, tile_k = 64>
// CHECK: gk.kernel @prefill_matmul_q4_k_4096x1024_norm {{.*}} tiles<tile_m = 128, tile_n = 128, tile_k = 64>
// CHECK: gk.kernel @prefill_matmul_q6_k_4096x1024_norm {{.*}} tiles<tile_m = 128, tile_n = 128, tile_k = 64>
// CHECK: gk.kernel @prefill_matmul_gate_up_q4_k_4096x14336_norm {{.*}} tiles<tile_m = 64, tile_n = 64, tile_k = 64>
// CHECK: gk.kernel @prefill_matmul_q6_k_14336x4096_residual {{.*}} tiles<tile_m = 128, tile_n = 128, tile_k = 64>
// GRANULE: error: 'greta.matmul' op gemm-tiles 4096x4096=100x128: tile_m and tile_n must be multiples of 16 up to 256
// WIDE: error: 'greta.matmul' op gemm-tiles 4096x4096=128x512: tile_m and tile_n must be multiples of 16 up to 256
// SYNTAX: error: greta-lower-to-kernels: gemm-tiles entry '4096x4096=128': expected KxN=TILE_MxTILE_N with positive integers, e.g. 4096x1024=128x64
