#!/usr/bin/env bash
# Run HERE (the development machine, which has MLIR), not on the GPU machine: makes the tiny
# synthetic models and compiles them into bundles with embedded weights under .gpu-bundles/ (an
# ignored folder that device runs carry), for the `gpu` tests (GRETA_GPU_BUNDLES=.gpu-bundles)
# and scripts/gpu-check.sh's greta-run benchmark.
#
# Bundles (NAME.greta; the name says the shape and the weight types, see test/e2e/e2e_support.py):
#   gqa-f32, gqa-q8_0, gqa-q4_k_m   grouped-query attention, untied output
#   tied-q8_0                       tied embeddings, head_dim 128
#   llama31-f16                     Llama-3.1 RoPE scaling (rope_freqs), F16 weights
#   mha-q4_k_m-fp16lm               LM head dequantised to fp16 at bundle time (f16_rows layout)
#
# With GRETA_GPU_BUNDLES_8B=1 it also compiles the llama3-8b synthetic model (Q4_K_M) with
# --weights external into .gpu-bundles/large/llama3-8b-q4_k_m.greta, then deletes the 4.6 GB GGUF:
# the GPU machine regenerates the very same file with greta-synth and the arguments in
# .gpu-bundles/large/llama3-8b-q4_k_m.synth-args (greta-synth is deterministic), and runs it with
# `greta-run --weights`. Large bundles live under large/ so the tiny-model tests skip them.
# GRETA_GPU_BUNDLES_8B_CPU_IDS=1 also records the CPU's first 16 greedy ids for "The quick brown
# fox" (llama3-8b-q4_k_m.cpu-ids), which gpu-check.sh compares the GPU's with.
#
# Environment: GRETA_BIN_DIR (greta-synth, greta-compile; default build-hipx/bin, else build/bin),
# GRETA_GPU_BUNDLES_DIR (default .gpu-bundles).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${GRETA_GPU_BUNDLES_DIR:-$here/.gpu-bundles}
bin=${GRETA_BIN_DIR:-}
if [[ -z $bin ]]; then
  for d in "$here/build-hipx/bin" "$here/build/bin"; do
    [[ -x $d/greta-compile ]] && { bin=$d; break; }
  done
fi
[[ -x ${bin:-}/greta-compile && -x $bin/greta-synth ]] ||
  { echo "make-gpu-bundles: greta-compile/greta-synth not found (set GRETA_BIN_DIR)" >&2; exit 2; }

declare -A shapes=(
  [gqa]="--layers 2 --dim 256 --heads 4 --kv-heads 2 --ffn 512 --seed 5"
  [mha]="--layers 2 --dim 256 --heads 4 --kv-heads 4 --ffn 512 --seed 3"
  [tied]="--layers 2 --dim 256 --heads 2 --kv-heads 1 --ffn 768 --tied-embeddings --seed 7"
  [llama31]="--layers 3 --dim 256 --heads 4 --kv-heads 1 --ffn 512 --rope-scaling llama3 --rope-original-context 64 --seed 9"
)

mkdir -p "$out/gguf"
bundle() { # name shape quant [greta-compile options...]
  local name=$1 shape=$2 quant=$3
  shift 3
  local gguf=$out/gguf/$shape-$quant.gguf
  # shellcheck disable=SC2086
  [[ -f $gguf ]] || "$bin/greta-synth" -o "$gguf" --preset tiny --quant "$quant" --threads 0 ${shapes[$shape]}
  rm -rf "$out/$name.greta"
  "$bin/greta-compile" "$gguf" -o "$out/$name.greta" "$@"
  echo "make-gpu-bundles: $out/$name.greta"
}

bundle gqa-f32 gqa f32
bundle gqa-q8_0 gqa q8_0
bundle gqa-q4_k_m gqa q4_k_m
bundle tied-q8_0 tied q8_0
bundle llama31-f16 llama31 f16
bundle mha-q4_k_m-fp16lm mha q4_k_m --fp16-weights=lm_head
# The bundles hold their weights; the GGUFs need not travel.
rm -rf "$out/gguf"

if [[ ${GRETA_GPU_BUNDLES_8B:-0} == 1 ]]; then
  large=$out/large
  mkdir -p "$large"
  args="--preset llama3-8b --quant q4_k_m --seed 1"
  gguf=$large/llama3-8b-q4_k_m.gguf
  # shellcheck disable=SC2086
  "$bin/greta-synth" -o "$gguf" $args --threads 0
  rm -rf "$large/llama3-8b-q4_k_m.greta"
  "$bin/greta-compile" "$gguf" -o "$large/llama3-8b-q4_k_m.greta" --weights=external
  echo "$args" >"$large/llama3-8b-q4_k_m.synth-args"
  sha256sum "$gguf" | awk '{print $1}' >"$large/llama3-8b-q4_k_m.gguf.sha256"
  if [[ ${GRETA_GPU_BUNDLES_8B_CPU_IDS:-0} == 1 && -x $bin/greta-run ]]; then
    # The CPU's greedy ids for gpu-check.sh to compare with (minutes on a small machine).
    "$bin/greta-run" "$large/llama3-8b-q4_k_m.greta" --weights "$gguf" -p "The quick brown fox" \
      -n 16 --temp 0 --ctx 1024 --json --device cpu >"$large/cpu.json"
    python3 -c 'import json,sys; print(" ".join(map(str, json.load(open(sys.argv[1]))["generated_ids"])))' \
      "$large/cpu.json" >"$large/llama3-8b-q4_k_m.cpu-ids"
    rm -f "$large/cpu.json"
  fi
  rm -f "$gguf"
  echo "make-gpu-bundles: $large/llama3-8b-q4_k_m.greta (external weights; GGUF regenerated there)"
fi
du -sh "$out"
