#!/usr/bin/env bash
# README command 2 (and what CI runs): set up, build everything, run the whole test suite, then
# build the runtime again with clang + AddressSanitizer + UBSan and run its unit tests and the
# fuzz smoke runs under the sanitizers. Tests labelled `gpu` skip themselves (and are counted as
# skipped) where no GPU is present.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GRETA_BUILD_DIR:-$here/build}
asan_build=${GRETA_ASAN_BUILD_DIR:-$here/build-asan}

bash "$here/scripts/setup.sh"

echo "== build (g++, everything)"
bash "$here/scripts/build.sh" -DGRETA_REQUIRE_HIP_AMD=ON
echo "== tests"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 900

echo "== build (clang, runtime, ASan + UBSan, fuzzers)"
CC=clang-14 CXX=clang++-14 GRETA_BUILD_DIR=$asan_build bash "$here/scripts/build.sh" \
  -DGRETA_BUILD_COMPILER=OFF -DGRETA_SANITIZE=ON -DGRETA_BUILD_FUZZERS=ON
echo "== tests under sanitizers (unit + fuzz smoke)"
# Any report fails the test, with a stack (UBSan also halts through -fno-sanitize-recover).
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir "$asan_build" --output-on-failure -j "$(nproc)" --timeout 900 -L "unit|fuzz"
