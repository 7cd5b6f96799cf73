#!/usr/bin/env bash
# Run HERE (the development machine, which has MLIR), not on the GPU machine: compiles small
# synthetic models into the bundles the per-kernel GPU test (test/unit/hip/kernel_gpu_test.cpp)
# reads from GRETA_GPU_BUNDLES/kernel-tests/ (beside the tiny models of make-gpu-bundles.sh, in
# the same ignored folder that device runs carry).
#
# Together they emit every kernel family the compiler produces x every weight type greta-synth
# writes, on both routes of each matmul in both phases, at shapes that are not multiples of the
# kernels' tiles (GEMM tiles are 64 wide; the GEMV splits K in 256s):
#   f32-d192          F32, dim 192, 3 heads / 1 kv head (GQA 3:1), ffn 352, vocab 601
#   f32-d192-unfused  the same, --no-fuse: rope, kv_append, silu_mul, add, plain matmuls, with
#                     f32 KV caches (every other bundle has greta-compile's default for a GPU,
#                     binary16 caches)
#   f16-d192-scaled   F16, MHA, Llama-3.1 RoPE scaling (rope_freqs)
#   f16-d192-swapped  the same with the routes swapped: GEMV in prefill (many rows), GEMM in
#                     decode (one row), for matmuls and the LM head
#   q8_0-d160-tied    Q8_0, dim 160, 5 heads of 32, tied embeddings (the LM head reads the table)
#   q8_0-d160-swapped routes swapped
#   q4_k_m-d256       Q4_K + Q6_K (llama.cpp's q4_k_m mix), head_dim 128, ffn 768
#   q4_k_m-d256-swapped
#   q4_k_m-d256-kv32  f32 KV caches: the f32 forms of matmul_qkv's appends and both attentions
#   q4_k_m-fp16-unfused  LM head and embeddings dequantised to fp16 rows, unfused Q4_K/Q6_K
#   q4_k_m-d256-wgmma every prefill product on 128-row tiles of 128 weight rows (--gemm-tiles):
#                     sm_90's wgmma path, which the tile policy gives only to products with about
#                     a wave of such tiles at 512 tokens (Llama-3-8B's q, o, gate_up and down)
# K-quant rows must be multiples of 256 and Q8_0's of 32 (greta-synth refuses others), so the
# ragged dims are on the F32/F16 models and on N (vocab 601, ffn 352) elsewhere. The token
# counts (1, 7, 64, 67) and positions are the test's. add_rms_norm is not emitted for Llama
# graphs (the fusions give every residual add to a matmul epilogue), so no bundle holds it.
#
# Environment: GRETA_BIN_DIR (greta-synth, greta-compile; default build/bin), GRETA_GPU_BUNDLES_DIR
# (default .gpu-bundles; the bundles go to its kernel-tests/).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${GRETA_GPU_BUNDLES_DIR:-$here/.gpu-bundles}/kernel-tests
bin=${GRETA_BIN_DIR:-$here/build/bin}
[[ -x $bin/greta-compile && -x $bin/greta-synth ]] ||
  { echo "make-kernel-test-bundles: greta-compile/greta-synth not found in $bin (set GRETA_BIN_DIR)" >&2; exit 2; }

declare -A models=(
  [f32]="--quant f32 --layers 1 --dim 192 --heads 3 --kv-heads 1 --ffn 352 --vocab-size 601 --seed 11"
  [f16]="--quant f16 --layers 1 --dim 192 --heads 3 --kv-heads 3 --ffn 352 --vocab-size 601 --rope-scaling llama3 --rope-original-context 64 --seed 12"
  [q8_0]="--quant q8_0 --layers 1 --dim 160 --heads 5 --kv-heads 1 --ffn 352 --vocab-size 601 --tied-embeddings --seed 13"
  [q4_k_m]="--quant q4_k_m --layers 2 --dim 256 --heads 2 --kv-heads 1 --ffn 768 --vocab-size 601 --seed 14"
)
swapped=--force-route=matmul.prefill=gemv,matmul.decode=gemm,lm_head.prefill=gemv,lm_head.decode=gemm

rm -rf "$out"
mkdir -p "$out/gguf"
bundle() { # name model [greta-compile options...]
  local name=$1 model=$2
  shift 2
  local gguf=$out/gguf/$model.gguf
  # shellcheck disable=SC2086
  [[ -f $gguf ]] || "$bin/greta-synth" -o "$gguf" --preset tiny --threads 0 ${models[$model]} >/dev/null
  "$bin/greta-compile" "$gguf" -o "$out/$name.greta" "$@"
  echo "make-kernel-test-bundles: $out/$name.greta"
}

bundle f32-d192 f32
bundle f32-d192-unfused f32 --no-fuse --kv-cache-dtype=f32
bundle f16-d192-scaled f16
bundle f16-d192-swapped f16 "$swapped"
bundle q8_0-d160-tied q8_0
bundle q8_0-d160-swapped q8_0 "$swapped"
bundle q4_k_m-d256 q4_k_m
bundle q4_k_m-d256-swapped q4_k_m "$swapped"
bundle q4_k_m-d256-kv32 q4_k_m --kv-cache-dtype=f32
bundle q4_k_m-fp16-unfused q4_k_m --fp16-weights=lm_head,embeddings --no-fuse
bundle q4_k_m-d256-wgmma q4_k_m --gemm-tiles=256x256=128x128,256x128=128x128,256x768=128x64,768x256=128x128
# The bundles hold their weights; the GGUFs need not travel.
rm -rf "$out/gguf"
du -sh "$out"
