#!/usr/bin/env bash
# Run ON the GPU machine: measures several variants of the llama3-8b bundle in one call, for
# kernel experiments that need numbers more than tests (scripts/gpu-check.sh is the full check).
# Builds only greta-bench and greta-synth (runtime, no MLIR), regenerates the GGUF once, then
# runs greta-bench with the same arguments on every bundle given, in order, and optionally
# Nsight Compute on chosen kernels of the first ones.
#
#   bash scripts/gpu-sweep.sh SYNTH_ARGS_FILE BUNDLE.greta...
#
# A BUNDLE argument may carry greta-bench flags of its own after the path, in one word:
# "large/x.greta --no-early-start" measures the same bundle another way.
#
# Environment:
#   GRETA_GPU_BUILD_DIR   build folder (default: build-gpu-sweep; it builds without tests)
#   GRETA_SWEEP_BENCH     greta-bench tests (default: -p 0 -n 128 -r 3)
#   GRETA_SWEEP_NCU       when set, a kernel-name regex: `ncu` profiles GRETA_SWEEP_NCU_COUNT
#                         (default 1) launches past GRETA_SWEEP_NCU_SKIP (default 64) of the
#                         matching kernels, with the stall reasons per issued instruction, in
#                         the bundles listed in GRETA_SWEEP_NCU_BUNDLES (default: the first)
#   OUT                   results go to $OUT/sweep.txt (the tables) and $OUT/ncu.txt
# Exit status: non-zero when the build or the synthesis failed; a failed bench is reported in
# the table and the sweep goes on.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GRETA_GPU_BUILD_DIR:-$here/build-gpu-sweep}
deps=$here/.deps/root
out=${OUT:-$build}
(($# >= 2)) || { echo "usage: gpu-sweep.sh SYNTH_ARGS_FILE BUNDLE.greta..." >&2; exit 2; }
synth_args=$1
shift
[[ -f $deps/usr/include/pcre2.h ]] || { echo "gpu-sweep: $deps lacks PCRE2 (scripts/gpu-deps.sh)" >&2; exit 2; }

cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRETA_BUILD_COMPILER=OFF \
  -DGRETA_BUILD_TESTS=OFF -DGRETA_PCRE2_INCLUDE_DIR="$deps/usr/include" >"$out/sweep-build.log" 2>&1 &&
  ninja -C "$build" greta-bench greta-synth >>"$out/sweep-build.log" 2>&1 ||
  { tail -30 "$out/sweep-build.log"; exit 1; }

gguf=$build/sweep.gguf
# shellcheck disable=SC2046
"$build/bin/greta-synth" -o "$gguf" $(cat "$synth_args") --threads 0 >"$out/sweep-synth.log" 2>&1 ||
  { tail -5 "$out/sweep-synth.log"; exit 1; }

card=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
bench_args=(-p 0 -n 128 -r 3)
# shellcheck disable=SC2206
[[ -n ${GRETA_SWEEP_BENCH:-} ]] && bench_args=($GRETA_SWEEP_BENCH)
{
  echo "card: $card; greta-bench ${bench_args[*]}"
  for variant in "$@"; do
    echo "== $variant"
    read -ra words <<<"$variant" # the bundle, then its own flags
    "$build/bin/greta-bench" "${words[@]}" --weights "$gguf" --device hip "${bench_args[@]}" 2>&1 |
      grep -E '^\| [^-]|error|greta-bench:' | grep -v '^| model'
  done
} | tee "$out/sweep.txt"

if [[ -n ${GRETA_SWEEP_NCU:-} ]]; then
  read -ra ncu_bundles <<<"${GRETA_SWEEP_NCU_BUNDLES:-${1%% *}}"
  for b in "${ncu_bundles[@]}"; do
    echo "== ncu $b" >>"$out/ncu.txt"
    /usr/local/cuda/bin/ncu --kernel-name "regex:$GRETA_SWEEP_NCU" \
      --launch-skip "${GRETA_SWEEP_NCU_SKIP:-64}" --launch-count "${GRETA_SWEEP_NCU_COUNT:-1}" \
      --section SpeedOfLight --section Occupancy --section LaunchStats \
      --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis \
      --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
      "$build/bin/greta-bench" "$b" --weights "$gguf" --device hip -p 0 -n 16 -r 1 \
      >>"$out/ncu.txt" 2>&1
  done
fi
