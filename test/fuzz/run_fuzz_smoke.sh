#!/usr/bin/env bash
# run_fuzz_smoke.sh FUZZER CORPUS WORKDIR SECONDS
# Replays the committed corpus, then fuzzes for SECONDS into a scratch copy (so the committed
# corpus only changes when someone commits new seeds on purpose). Crash reproducers land in
# WORKDIR/artifacts.
set -euo pipefail
fuzzer=$1 corpus=$2 work=$3 seconds=$4
rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
cp -r "$corpus"/. "$work/corpus/" 2>/dev/null || true
"$fuzzer" -runs=0 "$work/corpus" 2>&1 | tail -n 2
"$fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" 2>&1 | tail -n 12
