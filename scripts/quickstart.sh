#!/usr/bin/env bash
# README command 1: set up a fresh Debian 12 machine, build GRETA, make a tiny synthetic Llama
# model and show what is in it (tokenizer round trip included).
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
"$bin/greta-inspect" "$out/tiny.gguf" | head -n 40

echo "== tokenizer round trip"
echo '"Hello from GRETA: ¿Cuál es la capital de Argentina?"' | "$bin/greta-tokenize" "$out/tiny.gguf" \
  | tee /dev/stderr | "$bin/greta-tokenize" "$out/tiny.gguf" --decode
