#!/usr/bin/env bash
# Configures and builds GRETA into build/ (or $GRETA_BUILD_DIR). Extra arguments go to CMake's
# configure step, e.g. scripts/build.sh -DGRETA_BUILD_COMPILER=OFF for a runtime-only build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GRETA_BUILD_DIR:-$here/build}
jobs=${GRETA_JOBS:-$(nproc)}

cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${GRETA_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$build" -j "$jobs"
