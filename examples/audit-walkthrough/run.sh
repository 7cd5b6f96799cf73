#!/usr/bin/env bash
# The audit reference case end to end (README.md beside this file): a synthetic Llama-3-shaped
# model with the real Llama-3 vocabulary, compiled with greta-compile, run with the CPU probe,
# the RMSNorm check and delta mode — healthy, then with the prefill LM head's Q6_K scales
# corrupted on purpose — and greta-audit-report naming the diverging op and route.
#
# Usage: examples/audit-walkthrough/run.sh [OUT_DIR]      (default: ./audit-walkthrough.out)
# Environment: GRETA_BUILD_DIR (default: build) holds bin/greta-{synth,run,audit-report} and,
# once the compiler is built, bin/greta-compile; GRETA_COMPILE overrides the compiler's path.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${GRETA_BUILD_DIR:-$root/build}"
bin="$build/bin"
out="${1:-$PWD/audit-walkthrough.out}"
compile="${GRETA_COMPILE:-$bin/greta-compile}"
vocab="${GRETA_LLAMA3_VOCAB:-$root/../shared/testdata/llama3-tokenizer/llama3-vocab.gguf}"

for tool in greta-synth greta-run greta-audit-report; do
  if [[ ! -x "$bin/$tool" ]]; then
    echo "run.sh: $bin/$tool is missing: build the runtime first" >&2
    echo "  cmake -S $root -B $build -G Ninja && ninja -C $build greta-synth greta-run greta-audit-report" >&2
    exit 2
  fi
done
if [[ ! -x "$compile" ]]; then
  cat >&2 <<MSG
run.sh: no greta-compile at $compile.
  The compiler needs MLIR/LLVM: cmake -S $root -B $build -G Ninja -DGRETA_BUILD_COMPILER=ON
  && ninja -C $build greta-compile (or point GRETA_COMPILE at one). Until then the same reference
  case runs through the runtime's test-only mock compiler: ctest -R 'audit' in the build.
MSG
  exit 2
fi
if [[ ! -f "$vocab" ]]; then
  echo "run.sh: Llama-3 vocabulary $vocab not found (set GRETA_LLAMA3_VOCAB)" >&2
  exit 2
fi

bin="$(realpath "$bin")"
compile="$(realpath "$compile")"
vocab="$(realpath "$vocab")"
mkdir -p "$out"
cd "$out"
rm -f ./*.jsonl

echo "== 1. A Llama-3-shaped model: tiny shapes, Q4_K_M (LM head in Q6_K), Llama-3 vocabulary"
"$bin/greta-synth" -o tiny-llama3.gguf --preset tiny --quant q4_k_m --vocab "$vocab" --seed 11

echo "== 2. Compile: prefill on the matrix-unit route (gemm), decode on gemv, audits on"
rm -rf tiny-llama3.greta
"$compile" tiny-llama3.gguf -o tiny-llama3.greta --target=cpu --audit=default

system="You are a helpful assistant. Answer in one word."
english="What is the capital of France?"
spanish="¿Cuál es la capital de Argentina?"
checks=(--cpu-probe --rms-verify --trace-delta --temp 0 -n 4 --threads 2)

run() { # run NAME [greta-run args...]: one prompt, its records to NAME.jsonl
  local name="$1"; shift
  "$bin/greta-run" tiny-llama3.greta --chat "$@" "${checks[@]}" --audit-out "$name.jsonl" \
    >/dev/null 2>"$name.stderr"
}

echo "== 3. Healthy: both prompts, every check on"
run healthy-chat --system "$system" -p "$english"
run healthy-es -p "$spanish"
"$bin/greta-audit-report" healthy-chat.jsonl healthy-es.jsonl | tee healthy-report.txt

echo "== 4. The reference case: the prefill LM head's Q6_K scales corrupted (TEST ONLY fault)"
run fault-chat --system "$system" -p "$english" --inject-fault lm_head.prefill.scales
run fault-es -p "$spanish" --inject-fault lm_head.prefill.scales
"$bin/greta-audit-report" fault-chat.jsonl fault-es.jsonl | tee fault-report.txt
"$bin/greta-audit-report" --json fault-chat.jsonl fault-es.jsonl > fault-report.json

echo "== 5. A broken final RMSNorm instead: the report names the norm"
run rms-es -p "$spanish" --inject-fault rms_norm.weights
"$bin/greta-audit-report" rms-es.jsonl | tail -n 1 | tee rms-report.txt

echo "== 6. Identical runs write identical JSONL"
run fault-es-again -p "$spanish" --inject-fault lm_head.prefill.scales
cmp fault-es.jsonl fault-es-again.jsonl && echo "fault-es.jsonl and fault-es-again.jsonl are identical"

echo
echo "outputs in $out: *.jsonl (records), *-report.txt (tables), fault-report.json"
