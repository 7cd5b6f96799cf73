// RUN: greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels | FileCheck %s --check-prefix=SM90
// RUN: greta-opt %S/../Codegen/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels=target=gfx90a | FileCheck %s --check-prefix=GFX

// Tests the gemv tile policy for products much wider than a wave of blocks: Llama-3's LM head
// (128256 rows) takes 64 rows a block on sm_90 (2004 blocks of eight 32-wide warps with 8 rows
// each, where 32 rows made 4008 blocks that each staged the same input row), while gate_up
// (14336 rows, under four waves) keeps 32. On gfx90a a 64-wide warp would hold 16 rows, more
// than the pieces a lane keeps in flight: 32 stays.
// SM90: gk.kernel @decode_matmul_gate_up_q4_k_4096x14336_norm {{.*}} tiles<tile_n = 32,
// SM90: gk.kernel @decode_lm_head_q6_k_4096x128256 {{.*}} tiles<tile_n = 64,
// GFX: gk.kernel @decode_lm_head_q6_k_4096x128256 {{.*}} tiles<tile_n = 32,
