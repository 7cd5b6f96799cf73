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
#                            llama3-8b bundle whose GGUF greta-synth regenerates here; greta-bench
#                            measures it (and its -noaudit twin: the decode audit overhead),
#                            and large_model_gpu_test compares its GPU logits with the CPU's;
#                            kernel-tests/ holds scripts/make-kernel-test-bundles.sh's bundles
#                            for kernel_gpu_test
#   GRETA_GPU_BENCH_ARGS     greta-bench's tests for the 8B run (default: -n 128 -p 512
#                            -pg 2048,128 -r 5)
#   GRETA_GPU_BENCH_BASELINE a folder of large/ bundles made from the same synth-args by another
#                            compiler (make-gpu-bundles.sh with GRETA_BIN_DIR pointing at an older
#                            build): each NAME.greta there is measured with the same arguments in
#                            the same call, right after the current one
#                            (greta-bench-baseline-NAME.md), so a change is compared with its
#                            baseline on the same card
#   GRETA_GPU_BENCH_OTHERWISE greta-bench flags (e.g. --no-side-stream): the 8B bundle is also
#                            measured with them, right after its own run
#                            (greta-bench-NAME-otherwise.md), to weigh a runtime switch
#   OUT                      when set (device runs): the summary goes to $OUT/gpu-check.txt and
#                            every log into one archive, $OUT/gpu-check-logs.tgz, written on exit
#                            (a device run brings back at most 8 files)
# Exit status: non-zero when the build or any gpu/unit test failed.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${GRETA_GPU_BUILD_DIR:-$here/build-gpu}
deps=$here/.deps/root
logs=$build/gpu-check-logs
jobs=$(nproc)
rm -rf "$logs" # a warm build folder keeps the last run's logs: this run's only
mkdir -p "$logs"
if [[ -n ${OUT:-} ]]; then
  # Packed on exit, also when a step fails or the run is stopped, so the logs come back.
  pack_logs() { tar czf "$OUT/gpu-check-logs.tgz" -C "$logs" . 2>/dev/null || true; }
  trap pack_logs EXIT
fi

die() { echo "gpu-check: $*" >&2; exit 2; }
[[ -f $deps/usr/include/pcre2.h ]] ||
  die "$deps lacks PCRE2's headers: run 'bash scripts/gpu-deps.sh' on the development machine and carry .deps"
[[ -f $deps/usr/src/googletest/CMakeLists.txt ]] || die "$deps lacks GoogleTest's sources (scripts/gpu-deps.sh)"

# The GPU machine has no ../shared/testdata (the transfer cannot hold it beside the bundles): the
# unit tests that read it skip, saying so, instead of failing (test/unit/support/shared_testdata.h).
export GRETA_ALLOW_MISSING_SHARED_TESTDATA=1

# The tests run from the build folder: hand them the bundles' absolute path.
[[ -n ${GRETA_GPU_BUNDLES:-} ]] && GRETA_GPU_BUNDLES=$(cd "$GRETA_GPU_BUNDLES" && pwd) && export GRETA_GPU_BUNDLES

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
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRETA_BUILD_COMPILER=OFF -DGRETA_BUILD_TESTS=ON \
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
  # llama3-8b: the bundle was compiled with external weights; regenerate its GGUF (same bytes)
  # once for it and its --audit=none twin (NAME-noaudit.greta, when make-gpu-bundles.sh made
  # one), check it with greta-run, then measure with greta-bench: a profiled run first (it meets
  # the kernel cache cold), then the benchmark (warm cache), then the twin's tg128 beside it,
  # which gives the decode audit overhead. Tables: greta-bench-*.md in the logs and the summary.
  bench_args=(-n 128 -p 512 -pg "2048,128" -r 5)
  # shellcheck disable=SC2206
  [[ -n ${GRETA_GPU_BENCH_ARGS:-} ]] && bench_args=($GRETA_GPU_BENCH_ARGS)
  gbench() { "$build/bin/greta-bench" "$@" 2>>"$logs/greta-bench.log"; }
  gbench_note() { echo "GRETA_BENCH greta-bench $*" | tee -a "$logs/greta-run.log"; }
  # A failed run, with greta-bench's last error line: the summary then says why (session 9's
  # baseline failed with the reason only in a log that did not come back).
  gbench_failed() {
    local why
    why=$(grep -E 'error' "$logs/greta-bench.log" 2>/dev/null | tail -1 | cut -c1-400)
    gbench_note "$* FAILED: ${why:-no error line} (log: greta-bench.log)"
  }
  tg128_rate() { # a greta-bench markdown file: the median t/s of its tg128 row
    awk -F'|' '$6 ~ /^ *tg128 *$/ {gsub(/ /, "", $7); print $7}' "$1"
  }
  for b in "$GRETA_GPU_BUNDLES"/large/*.greta; do
    [[ -d $b && $b != *-noaudit.greta ]] || continue
    name=$(basename "$b" .greta)
    gguf=$build/$name.gguf
    start=$(date +%s)
    # shellcheck disable=SC2046
    "$build/bin/greta-synth" -o "$gguf" $(cat "${b%.greta}.synth-args") --threads 0 \
      >>"$logs/greta-run.log" 2>&1
    echo "synth $name: $(($(date +%s) - start))s" | tee -a "$logs/greta-run.log"
    # GPU vs CPU logits, prefill + 8 decode steps fed the same tokens: max relative L2 error
    # (fails above 1e-2), max element difference, top-1 agreement (large_model_gpu_test.cpp).
    large_test=$build/test/unit/hip/large_model_gpu_test
    if [[ -x $large_test ]]; then
      GRETA_GPU_LARGE_BUNDLE=$b GRETA_GPU_LARGE_WEIGHTS=$gguf "$large_test" \
        >"$logs/large-logits-$name.log" 2>&1 || run_status=1
      grep -E "^(GRETA_GPU|$name )|Failure|FAILED|error" "$logs/large-logits-$name.log" |
        tee -a "$logs/greta-run.log"
    fi
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
    else
      run_status=1
      bench "$name FAILED (log: greta-run.log)"
    fi
    if [[ -x $build/bin/greta-bench ]]; then
      echo "== greta-bench $name"
      if ! gbench "$b" --weights "$gguf" --device hip -n 128 -p 512 -r 1 --profile \
        --profile-kernels >"$logs/greta-bench-profile-$name.md"; then
        run_status=1
        gbench_failed "$name --profile"
      fi
      if gbench "$b" --weights "$gguf" --device hip "${bench_args[@]}" \
        >"$logs/greta-bench-$name.md"; then
        twin=${b%.greta}-noaudit.greta
        if [[ -d $twin ]]; then
          if gbench "$twin" --weights "$gguf" --device hip -n 128 -r 5 \
            >"$logs/greta-bench-$name-noaudit.md"; then
            with=$(tg128_rate "$logs/greta-bench-$name.md")
            without=$(tg128_rate "$logs/greta-bench-$name-noaudit.md")
            overhead=$(awk -v a="$with" -v b="$without" \
              'BEGIN { if (a > 0) printf "%.1f", 100 * (b / a - 1) }')
            gbench_note "$name decode audit overhead: tg128 $with tok/s with audits, $without" \
              "without: ${overhead:-?} % longer per token"
          else
            run_status=1
            gbench_failed "$name-noaudit"
          fi
        fi
      else
        run_status=1
        gbench_failed "$name"
      fi
      if [[ -n ${GRETA_GPU_BENCH_OTHERWISE:-} ]]; then
        # shellcheck disable=SC2206
        otherwise=($GRETA_GPU_BENCH_OTHERWISE)
        gbench "$b" --weights "$gguf" --device hip "${bench_args[@]}" "${otherwise[@]}" \
          >"$logs/greta-bench-$name-otherwise.md" ||
          gbench_failed "$name with ${otherwise[*]}"
      fi
      baseline=${GRETA_GPU_BENCH_BASELINE:-}/$name.greta
      if [[ -n ${GRETA_GPU_BENCH_BASELINE:-} && -d $baseline ]]; then
        gbench "$baseline" --weights "$gguf" --device hip "${bench_args[@]}" \
          >"$logs/greta-bench-baseline-$name.md" ||
          gbench_failed "$name baseline ($baseline)"
      fi
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

summary() {
echo
echo "== summary"
echo "card:   ${card:-unknown}"
echo "build:  $([[ $build_status == 0 ]] && echo ok || echo "FAILED ($failed_objects failed steps)"), targets '$targets', ${build_seconds}s on $jobs cores"
echo "| label  | passed | failed | skipped | total |"
echo "|--------|--------|--------|---------|-------|"
row gpu "$logs/gpu.log"
row unit "$logs/unit.log"
grep -hE "^([0-9]+: )?GRETA_(GPU|BENCH)" "$logs/gpu.log" "$logs/greta-run.log" | sed 's/^[0-9]*: //' | sort -u | sed 's/^/  /'
# greta-bench's tables (the profile: per family only; per kernel in the log file).
for f in "$logs"/greta-bench-*.md; do
  [[ -f $f ]] || continue
  echo
  echo "$(basename "$f" .md):"
  awk '/^per kernel:/ { skip = 1 } /^profile of / { skip = 0 } !skip' "$f"
done
}
summary | tee "$logs/summary.txt"
[[ -n ${OUT:-} ]] && cp "$logs/summary.txt" "$OUT/gpu-check.txt"
((build_status == 0 && gpu_status == 0 && unit_status == 0 && run_status == 0))
