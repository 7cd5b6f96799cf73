#!/usr/bin/env bash
# Run ON the GPU machine (Ubuntu 24.04, CUDA at /usr/local/cuda, driver's libcuda, no MLIR, no
# network): builds the runtime with its tests, runs the `gpu`-labelled tests and the unit tests,
# and prints a summary table (card, build, results per label, benchmark figures).
#
# Before: on the development machine, `bash scripts/gpu-deps.sh` unpacks what the GPU machine
# lacks (PCRE2's headers, GoogleTest's sources) into .deps/; carry .deps to the GPU machine.
#
# Environment:
#   GRETA_GPU_BUILD_DIR      build folder (default: build-gpu)
#   GRETA_GPU_CHECK_TARGETS  ninja targets to build (default: all)
#   GRETA_GPU_CHECK_TESTS    ctest -R regex for the unit run (default: every unit test)
#   GRETA_GPU_BUNDLES        bundles made here by scripts/make-gpu-bundles.sh (carry .gpu-bundles):
#                            the HIP executor's gpu tests read them, and greta-run --device hip
#                            runs them (tokens/s, greedy ids vs --device cpu); large/ holds the
#                            llama3-8b bundle whose GGUF greta-synth regenerates here
#   OUT                      when set (device runs), logs are written there
# Exit status: non-zero when the build or any gpu/unit test failed.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GRETA_GPU_BUILD_DIR:-$here/build-gpu}
deps=$here/.deps/root
# Device runs: logs straight into $OUT, so they come back even if the run is cut short.
logs=${OUT:-$build/gpu-check-logs}
jobs=$(nproc)
mkdir -p "$logs"

die() { echo "gpu-check: $*" >&2; exit 2; }
[[ -f $deps/usr/include/pcre2.h ]] ||
  die "$deps lacks PCRE2's headers: run 'bash scripts/gpu-deps.sh' on the development machine and carry .deps"
[[ -f $deps/usr/src/googletest/CMakeLists.txt ]] || die "$deps lacks GoogleTest's sources (scripts/gpu-deps.sh)"

echo "== machine"
card=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "card: ${card:-none found by nvidia-smi}"
echo "cuda: $(ls -d /usr/local/cuda/lib64/libnvrtc.so.* 2>/dev/null | head -1) ; cmake $(cmake --version | head -1 | awk '{print $3}'), $(g++ --version | head -1)"

echo "== googletest (from .deps)"
gtest_install=$build/googletest-install
if [[ ! -f $gtest_install/lib/cmake/GTest/GTestConfig.cmake ]]; then
  cmake -S "$deps/usr/src/googletest" -B "$build/googletest" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$gtest_install" -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
    >"$logs/googletest.log" 2>&1 &&
    cmake --build "$build/googletest" -j "$jobs" --target install >>"$logs/googletest.log" 2>&1 ||
    { tail -30 "$logs/googletest.log"; die "googletest build failed (log: $logs/googletest.log)"; }
fi
echo "installed in $gtest_install"

echo "== configure (runtime only, no MLIR)"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRETA_BUILD_COMPILER=OFF \
  -DCMAKE_PREFIX_PATH="$gtest_install" -DGRETA_PCRE2_INCLUDE_DIR="$deps/usr/include" \
  >"$logs/configure.log" 2>&1 ||
  { tail -40 "$logs/configure.log"; die "configure failed (log: $logs/configure.log)"; }
grep -E "GRETA:" "$logs/configure.log"

echo "== build"
targets=${GRETA_GPU_CHECK_TARGETS:-all}
start=$(date +%s)
# -k 0: build everything that can be built, so one broken component does not hide the rest.
# shellcheck disable=SC2086
ninja -C "$build" -j "$jobs" -k 0 $targets >"$logs/build.log" 2>&1
build_status=$?
build_seconds=$(($(date +%s) - start))
failed_objects=$(grep -c '^FAILED:' "$logs/build.log")
if ((build_status != 0)); then
  grep -A12 '^FAILED:' "$logs/build.log" | head -60
fi

echo "== ctest -L gpu"
(cd "$build" && ctest -L gpu -V --timeout 600) >"$logs/gpu.log" 2>&1
gpu_status=$?
grep -E "^(GRETA_|[0-9]+: GRETA_)" "$logs/gpu.log" | sed 's/^[0-9]*: //' | sort -u
# greta-run on the GPU: tokens/s, and the greedy ids of --device hip vs --device cpu.
run_status=0
: >"$logs/greta-run.log"
if [[ -n ${GRETA_GPU_BUNDLES:-} && -x $build/bin/greta-run ]]; then
  echo "== greta-run --device hip"
  json() { # file, python expression over d (the --json object)
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
  }
  ids() { json "$1" '" ".join(map(str, d["generated_ids"]))'; }
  speed() {
    json "$1" '"prompt %d tok %.0f tok/s, generated %d tok %.1f tok/s" % tuple(d["timings"][k]
      for k in ("prompt_tokens", "prompt_tokens_per_second", "generated_tokens",
                "generation_tokens_per_second"))'
  }
  grun() { "$build/bin/greta-run" "$@" 2>>"$logs/greta-run.log"; }
  bench() { echo "GRETA_BENCH greta-run $*" | tee -a "$logs/greta-run.log"; }
  for b in "$GRETA_GPU_BUNDLES"/*.greta; do
    name=$(basename "$b" .greta)
    common=("$b" -p "The quick brown fox jumps over the lazy dog" -n 128 --temp 0 --ctx 512 --json)
    if grun "${common[@]}" --device hip >"$build/hip.json" &&
      grun "${common[@]}" --device cpu >"$build/cpu.json"; then
      same=DIFFERENT
      [[ $(ids "$build/hip.json") == $(ids "$build/cpu.json") ]] && same=identical
      [[ $same == identical ]] || run_status=1
      bench "$name hip: $(speed "$build/hip.json"); cpu: $(speed "$build/cpu.json"); greedy ids $same"
    else
      run_status=1
      bench "$name FAILED (log: greta-run.log)"
    fi
  done
  # llama3-8b: the bundle was compiled with external weights; regenerate its GGUF (same bytes),
  # run it, then run 16 tokens with GRETA_HIP_PROFILE=1 (time per kernel, weight GB/s).
  for b in "$GRETA_GPU_BUNDLES"/large/*.greta; do
    [[ -d $b ]] || continue
    name=$(basename "$b" .greta)
    gguf=$build/$name.gguf
    start=$(date +%s)
    # shellcheck disable=SC2046
    "$build/bin/greta-synth" -o "$gguf" $(cat "${b%.greta}.synth-args") --threads 0 \
      >>"$logs/greta-run.log" 2>&1
    echo "synth $name: $(($(date +%s) - start))s" | tee -a "$logs/greta-run.log"
    common=("$b" --weights "$gguf" -p "The quick brown fox" --temp 0 --ctx 1024 --json)
    if grun "${common[@]}" -n 128 --device hip >"$build/hip.json"; then
      # The CPU's first greedy ids, when make-gpu-bundles.sh recorded them (informational: a
      # random synthetic model has small top-1 gaps).
      agree=""
      if [[ -f ${b%.greta}.cpu-ids ]]; then
        read -ra want <"${b%.greta}.cpu-ids"
        read -ra got <<<"$(ids "$build/hip.json")"
        n=0
        while ((n < ${#want[@]} && n < ${#got[@]})) && [[ ${want[n]} == "${got[n]}" ]]; do
          n=$((n + 1))
        done
        agree="; first $n of ${#want[@]} greedy ids as on the cpu"
      fi
      bench "$name hip: $(speed "$build/hip.json")$agree"
      GRETA_HIP_PROFILE=1 grun "${common[@]}" -n 16 --device hip >/dev/null
      grep -E "^greta-hip-profile:" "$logs/greta-run.log" | head -16
    else
      run_status=1
      bench "$name FAILED (log: greta-run.log)"
    fi
    rm -f "$gguf"
  done
fi

echo "== ctest -L unit"
unit_filter=()
[[ -n ${GRETA_GPU_CHECK_TESTS:-} ]] && unit_filter=(-R "$GRETA_GPU_CHECK_TESTS")
(cd "$build" && ctest -L unit -LE gpu "${unit_filter[@]}" -j "$jobs" --timeout 600 --output-on-failure) \
  >"$logs/unit.log" 2>&1
unit_status=$?
grep -E "\*\*\*(Failed|Exception|Timeout|Not Run)" "$logs/unit.log" | head -40

# One row per label from ctest's per-test lines ("  3/52 Test  #3: name ...   Passed  0.1 sec").
count() { # log, outcome pattern
  grep -E "Test +#[0-9]+: " "$1" | grep -cE "$2"
}
row() { # label, log
  local passed failed skipped total
  passed=$(count "$2" ' Passed ')
  skipped=$(count "$2" '\*\*\*Skipped')
  failed=$(count "$2" '\*\*\*(Failed|Exception|Timeout|Not Run)')
  total=$(grep -cE "Test +#[0-9]+: " "$2")
  printf "| %-6s | %6s | %6s | %7s | %5s |\n" "$1" "$passed" "$failed" "$skipped" "$total"
}

echo
echo "== summary"
echo "card:   ${card:-unknown}"
echo "build:  $([[ $build_status == 0 ]] && echo ok || echo "FAILED ($failed_objects failed steps)"), targets '$targets', ${build_seconds}s on $jobs cores"
echo "| label  | passed | failed | skipped | total |"
echo "|--------|--------|--------|---------|-------|"
row gpu "$logs/gpu.log"
row unit "$logs/unit.log"
grep -hE "^([0-9]+: )?GRETA_(GPU|BENCH)" "$logs/gpu.log" "$logs/greta-run.log" | sed 's/^[0-9]*: //' | sort -u | sed 's/^/  /'
((build_status == 0 && gpu_status == 0 && unit_status == 0 && run_status == 0))
