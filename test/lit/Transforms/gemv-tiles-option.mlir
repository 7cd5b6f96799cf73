// RUN: greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemv-tiles=14336x4096=16,4096x4096=32:2" | FileCheck %s
// RUN: not greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemv-tiles=14336x4096=12" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemv-tiles=4096x4096=32:64" 2>&1 | FileCheck %s --check-prefix=SPLIT
// RUN: not greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemv-tiles=4096x4096=512" 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels="gemv-tiles=14336x4096" 2>&1 | FileCheck %s --check-prefix=SYNTAX

// Tests the gemv-tiles option (greta-compile --gemv-tiles), which replaces the tile policy's
// choice for every gemv product over a K x N weight, for tile sweeps: the down projection
// (14336 x 4096) at 16 rows a block without a split, the o projection (4096 x 4096) at 32 rows
// in two K halves; the other products keep the policy's tiles. A tile that is not whole warps
// of rows on every target, more rows than threads, a split past the row's quant blocks, or an
// entry that does not parse is an error that names it.
// CHECK: gk.kernel @decode_matmul_q4_k_4096x4096_residual {{.*}} tiles<tile_n = 32, tile_k = 256, split_k = 2>
// CHECK: gk.kernel @decode_matmul_gate_up_q4_k_4096x14336_norm {{.*}} tiles<tile_n = 32, tile_k = 256>
// CHECK: gk.kernel @decode_matmul_q6_k_14336x4096_residual {{.*}} tiles<tile_n = 16, tile_k = 256>
// WARPS: error: 'greta.matmul' op gemv-tiles 14336x4096=12:1: tile_n must be a multiple of 8 up to 256, and split_k at most 56
// SPLIT: error: 'greta.matmul' op gemv-tiles 4096x4096=32:64: tile_n must be a multiple of 8 up to 256, and split_k at most 16
// ROWS: error: 'greta.matmul' op gemv-tiles 4096x4096=512:1: tile_n must be a multiple of 8 up to 256
// SYNTAX: error: greta-lower-to-kernels: gemv-tiles entry '14336x4096': expected KxN=TILE_N or KxN=TILE_N:SPLIT_K
