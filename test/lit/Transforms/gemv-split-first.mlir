// RUN: greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels | FileCheck %s --check-prefix=SM90
// RUN: greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels=target=gfx942 | FileCheck %s --check-prefix=GFX942

// Tests how a one-row product too narrow for a wave of blocks gets more: rows of 8192 values or
// more (Llama-3's 14336-long down projection) keep 32 rows a block and split K, so each block
// stages half (or a quarter) of the input row and a warp's four rows share every input it
// reads; shorter rows (the 4096-long o projection) take fewer rows a block instead, as
// splitting them measured slower. sm_90 (132 compute units): 128 tiles of 32 rows in two
// halves, and 256 tiles of 16 rows. gfx942 (304): four quarters, and 512 tiles of 8 rows.
// SM90: gk.kernel @decode_matmul_q4_k_4096x4096_residual {{.*}} tiles<tile_n = 16, tile_k = 256>
// SM90: gk.kernel @decode_matmul_q6_k_14336x4096_residual {{.*}} tiles<tile_n = 32, tile_k = 256, split_k = 2>
// GFX942: gk.kernel @decode_matmul_q4_k_4096x4096_residual {{.*}} tiles<tile_n = 8, tile_k = 256>
// GFX942: gk.kernel @decode_matmul_q6_k_14336x4096_residual {{.*}} tiles<tile_n = 32, tile_k = 256, split_k = 4>
