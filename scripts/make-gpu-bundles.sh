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
# under kernel-tests/, scripts/make-kernel-test-bundles.sh's (every kernel family x weight type
# at ragged shapes, for kernel_gpu_test; not in the tiny-model loop),
# and, under audit/ (the audit tests' model; not in the tiny-model loop):
#   audit/tiny-v128k-q8_0           Llama 3's vocabulary size (128256 logits: a multi-block audit
#                                   digest), tied Q8_0 embeddings (17 MB), chat template
#
# With GRETA_GPU_BUNDLES_8B=1 it also compiles the llama3-8b synthetic model (Q4_K_M) with
# --weights external into .gpu-bundles/large/llama3-8b-q4_k_m.greta, and the same GGUF with
# --audit=none into large/llama3-8b-q4_k_m-noaudit.greta (the audit overhead is the difference),
# then deletes the 4.6 GB GGUF: the GPU machine regenerates the very same file with greta-synth
# and the arguments in large/NAME.synth-args (identical for both: one GGUF serves both bundles;
# greta-synth is deterministic), and runs them with `greta-run --weights`. Large bundles live
# under large/ so the tiny-model tests skip them.
# GRETA_GPU_BUNDLES_8B_CPU_IDS=1 also records the CPU's first 16 greedy ids for "The quick brown
# fox" (llama3-8b-q4_k_m.cpu-ids), which gpu-check.sh compares the GPU's with.
#
# Environment: GRETA_BIN_DIR (greta-synth, greta-compile; default build-hipx/bin, else build/bin),
# GRETA_GPU_BUNDLES_DIR (default .gpu-bundles). GRETA_GPU_BUNDLES_TINY_ONLY=1 makes the six tiny
# bundles alone, without ahead-of-time code objects (the test suite's fixture for the HIP
# executor's fake-device tests, which read manifests and kernel sources only).
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
  [v128k]="--layers 2 --dim 128 --heads 2 --kv-heads 1 --ffn 256 --vocab-size 128256 --tied-embeddings --seed 11"
)

mkdir -p "$out/gguf"
bundle() { # name shape quant [greta-compile options...]
  local name=$1 shape=$2 quant=$3
  shift 3
  local gguf=$out/gguf/$shape-$quant.gguf
  # shellcheck disable=SC2086
  [[ -f $gguf ]] || "$bin/greta-synth" -o "$gguf" --preset tiny --quant "$quant" --threads 0 ${shapes[$shape]}
  rm -rf "$out/$name.greta"
  "$bin/greta-compile" "$gguf" -o "$out/$name.greta" "${compile_options[@]}" "$@"
  echo "make-gpu-bundles: $out/$name.greta"
}
tiny_only=${GRETA_GPU_BUNDLES_TINY_ONLY:-0}
compile_options=()
[[ $tiny_only == 1 ]] && compile_options=(--code-objects=false)

bundle gqa-f32 gqa f32
bundle gqa-q8_0 gqa q8_0
bundle gqa-q4_k_m gqa q4_k_m
bundle tied-q8_0 tied q8_0
bundle llama31-f16 llama31 f16
bundle mha-q4_k_m-fp16lm mha q4_k_m --fp16-weights=lm_head
if [[ $tiny_only == 1 ]]; then
  rm -rf "$out/gguf"
  exit 0
fi
rm -rf "$out/audit"
mkdir -p "$out/audit"
bundle audit/tiny-v128k-q8_0 v128k q8_0
# The bundles hold their weights; the GGUFs need not travel.
rm -rf "$out/gguf"
# kernel-tests/: every kernel family x weight type at ragged shapes, for kernel_gpu_test.
GRETA_GPU_BUNDLES_DIR=$out GRETA_BIN_DIR=$bin bash "$here/scripts/make-kernel-test-bundles.sh"

if [[ ${GRETA_GPU_BUNDLES_8B:-0} == 1 ]]; then
  large=$out/large
  mkdir -p "$large"
  args="--preset llama3-8b --quant q4_k_m --seed 1"
  gguf=$large/llama3-8b-q4_k_m.gguf
  # shellcheck disable=SC2086
  "$bin/greta-synth" -o "$gguf" $args --threads 0
  for variant in "" -noaudit; do
    name=llama3-8b-q4_k_m$variant
    audit=default
    [[ -n $variant ]] && audit=none
    rm -rf "$large/$name.greta"
    "$bin/greta-compile" "$gguf" -o "$large/$name.greta" --weights=external --audit=$audit
    echo "$args" >"$large/$name.synth-args"
  done
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
  echo "make-gpu-bundles: $large/llama3-8b-q4_k_m{,-noaudit}.greta (external weights; GGUF regenerated there)"
fi
du -sh "$out"
