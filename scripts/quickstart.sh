#!/usr/bin/env bash
# README command 1: set up a fresh Debian 12 machine, build GRETA, make a tiny synthetic Llama
# model, show what is in it (tokenizer round trip included), compile it into a bundle and
# generate text from it on the CPU (no GPU needed).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GRETA_BUILD_DIR:-$here/build}
out=${GRETA_OUT_DIR:-$here/out}
bin=$build/bin

bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh"
mkdir -p "$out"

echo "== making a tiny Llama-3-shaped model (Q4_K_M mix)"
"$bin/greta-synth" -o "$out/tiny.gguf" --preset tiny --quant q4_k_m --seed 1
# (through a file: `| head` could cut the pipe and fail the script under pipefail)
"$bin/greta-inspect" "$out/tiny.gguf" >"$out/tiny.inspect.txt"
head -n 40 "$out/tiny.inspect.txt"

echo "== tokenizer round trip"
echo '"Hello from GRETA: ¿Cuál es la capital de Argentina?"' | "$bin/greta-tokenize" "$out/tiny.gguf" \
  | tee /dev/stderr | "$bin/greta-tokenize" "$out/tiny.gguf" --decode

echo "== compiling it into a bundle (prefill + decode plans, kernels, weights)"
"$bin/greta-compile" "$out/tiny.gguf" -o "$out/tiny.greta"
ls "$out/tiny.greta"

# The weights are random, so the text is gibberish; it is real generation all the same: the
# bundle's prefill and decode plans run on the CPU backend (no GPU here).
echo "== generating 32 tokens (greedy)"
"$bin/greta-run" "$out/tiny.greta" -p "Once upon a time" -n 32 --temp 0 --device cpu

echo "== chat: the prompt wrapped in the model's chat template"
"$bin/greta-run" "$out/tiny.greta" --chat --system "You are terse." -p "What is GRETA?" -n 32 \
  --temp 0.8 --seed 1 --device cpu
