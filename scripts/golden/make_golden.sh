#!/usr/bin/env bash
# Golden logits from Hugging Face transformers for tiny GRETA test models. Two halves, on two
# machines:
#
#   1. here (numpy + gguf, the project .venv; no torch):
#        bash scripts/golden/make_golden.sh            # or: make_golden.sh export
#      for each model below: greta-synth writes a tiny F32 GGUF (fixed seed and shapes) to a
#      temporary directory; scripts/golden/export_hf.py turns it into an HF LlamaForCausalLM
#      checkpoint in test/data/golden/<name>/ (config.json, model.safetensors < 2 MB,
#      export_info.json: the greta-synth command, the GGUF's sha256, the expected rotary
#      frequencies); prompt.json holds the prompt; test/reference/llama_ref.py writes the numpy
#      reference numpy_ref.json (prefill logits at every prompt position, 16 decode steps, the
#      32-token greedy continuation). The GGUF itself is not kept: the test regenerates it with
#      the recorded command and checks its sha256.
#
#   2. on the GPU machine (python3 with torch + transformers + numpy; the repo checkout, with
#      the directories of step 1, is the working directory; no network needed):
#        bash scripts/golden/make_golden.sh hf         # = python3 scripts/golden/run_hf_golden.py DIR
#      writes test/data/golden/<name>/hf_logits.json with LlamaForCausalLM float32 eager
#      (prefill logits, 16 decode steps' logits, 32-token greedy continuation), after checking
#      it loaded every weight, its rotary frequencies, cache vs full-sequence, and agreement
#      with numpy_ref.json (1e-3 relative, same continuation). On a failure it writes
#      hf_logits.failed.json instead and exits 1. Commit the hf_logits.json files.
#
# test/python/test_hf_export.py (ctest: hf_export) then checks the committed directories here.
# Environment: PYTHON (default .venv/bin/python for step 1, python3 for step 2), GRETA_SYNTH
# (greta-synth binary; default: first of build/bin, build-ref/bin, build-synth/bin),
# GRETA_GOLDEN_DIR (default test/data/golden), HF_DEVICE (step 2: auto|cpu|cuda; default auto).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
golden=${GRETA_GOLDEN_DIR:-$here/test/data/golden}
mode=${1:-export}

# name | prompt | greta-synth arguments (recorded in export_info.json; the test replays them).
# Seeds chosen so the 32-token greedy continuation has no near-tie (top-1 margin >= 0.02).
MODELS=(
  # GQA (4 query heads, 2 KV heads, head_dim 32), untied LM head, plain RoPE.
  "tiny-gqa|538,40,72,101,108,108,111,44,32,119,111,114|--preset tiny --quant f32 --layers 2 --dim 128 --heads 4 --kv-heads 2 --ffn 256 --seed 1"
  # MQA (2 query heads, 1 KV head, head_dim 64), tied embeddings, Llama-3.1 RoPE scaling with a
  # short original context so that the scaling changes the logits at these positions.
  "tiny-llama31-tied|538,100,7,300,301,302,12,450,451,5,6,200|--preset tiny --quant f32 --layers 2 --dim 128 --heads 2 --kv-heads 1 --ffn 384 --tied-embeddings --rope-scaling llama3 --rope-original-context 64 --seed 12"
)
DECODE_STEPS=16
GENERATE=32

case "$mode" in
export)
  py=${PYTHON:-$here/.venv/bin/python}
  synth=${GRETA_SYNTH:-}
  if [[ -z "$synth" ]]; then
    for d in build build-ref build-synth; do
      if [[ -x "$here/$d/bin/greta-synth" ]]; then synth=$here/$d/bin/greta-synth; break; fi
    done
  fi
  [[ -x "$synth" ]] || { echo "make_golden: no greta-synth (build it or set GRETA_SYNTH)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for spec in "${MODELS[@]}"; do
    IFS='|' read -r name prompt args <<<"$spec"
    dir=$golden/$name
    echo "== $name"
    # shellcheck disable=SC2086
    "$synth" -o "$tmp/$name.gguf" --threads 1 $args
    rm -rf "$dir"   # a stale hf_logits.json would not match new weights
    "$py" "$here/scripts/golden/export_hf.py" "$tmp/$name.gguf" "$dir" \
      --synth-command "greta-synth $args"
    printf '{"prompt": [%s], "decode_steps": %d, "generate": %d}\n' \
      "$prompt" "$DECODE_STEPS" "$GENERATE" >"$dir/prompt.json"
    "$py" "$here/test/reference/llama_ref.py" "$tmp/$name.gguf" --tokens "$prompt" \
      --decode-steps "$DECODE_STEPS" --generate "$GENERATE" --all-positions \
      --out "$dir/numpy_ref.json"
    # Greedy margins: a float32 implementation must not flip the continuation.
    "$py" - "$dir/numpy_ref.json" <<'PY'
import json, sys
gaps = json.load(open(sys.argv[1]))["top1_gap_continuation"]
print(f"make_golden: smallest top-1 margin of the continuation {min(gaps):.4f}")
if min(gaps) < 0.01:
    sys.exit("make_golden: a near-tie in the greedy continuation: pick another --seed or prompt")
PY
    size=$(stat -c %s "$dir/model.safetensors")
    if (( size > 2000000 )); then
      echo "make_golden: $dir/model.safetensors is $size bytes (> 2 MB): use smaller shapes" >&2
      exit 1
    fi
  done
  echo "make_golden: wrote $golden/{$(IFS=,; for s in "${MODELS[@]}"; do printf '%s,' "${s%%|*}"; done | sed 's/,$//')}"
  echo "make_golden: next, on the GPU machine: bash scripts/golden/make_golden.sh hf"
  ;;
hf)
  py=${PYTHON:-python3}
  status=0
  for spec in "${MODELS[@]}"; do
    name=${spec%%|*}
    echo "== $name"
    "$py" "$here/scripts/golden/run_hf_golden.py" "$golden/$name" --device "${HF_DEVICE:-auto}" \
      || status=1
  done
  exit $status
  ;;
*)
  echo "usage: make_golden.sh [export|hf]" >&2
  exit 2
  ;;
esac
