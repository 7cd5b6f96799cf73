#!/usr/bin/env bash
# run_fuzz_smoke.sh FUZZER CORPUS WORKDIR SECONDS
# Replays the committed corpus (seeds and regression reproducers), then fuzzes for SECONDS into a
# scratch copy (so the committed corpus only changes when someone commits new seeds on purpose).
# Crash reproducers land in WORKDIR/artifacts; full logs in WORKDIR/*.log, whose end is printed
# on failure.
set -euo pipefail
fuzzer=$1 corpus=$2 work=$3 seconds=$4
rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
cp -r "$corpus"/. "$work/corpus/" 2>/dev/null || true

run() { # run LOG ARGS...: the fuzzer with common flags; prints the log's end if it fails
  local log=$1; shift
  if ! "$fuzzer" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" "$@" \
      >"$log" 2>&1; then
    tail -n 80 "$log"
    echo "FAILED: $(basename "$fuzzer") $*; reproducers in $work/artifacts:"
    ls -l "$work/artifacts"
    exit 1
  fi
}

run "$work/replay.log" -runs=0 "$work/corpus"
tail -n 1 "$work/replay.log"
run "$work/fuzz.log" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
  "$work/corpus"
grep -E "^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)" \
  "$work/fuzz.log" || tail -n 12 "$work/fuzz.log"
