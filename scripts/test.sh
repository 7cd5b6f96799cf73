#!/usr/bin/env bash
# README command 2 (and what CI runs): set up, build everything, run the whole test suite.
# Tests labelled `gpu` skip themselves (and are counted as skipped) where no GPU is present.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GRETA_BUILD_DIR:-$here/build}

bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh" -DGRETA_REQUIRE_HIP_AMD=ON
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 900
