#!/usr/bin/env bash
# Builds the libFuzzer harness (the separate package in Fuzz/, so the main package's builds never need fuzzer flags)
# and runs each target for SECONDS seconds (first argument, default 60) from the committed seed corpus
# Fuzz/corpus/<target>/. New inputs go to a scratch folder, so the committed corpus stays as it is; a crashing
# input is kept as Fuzz/artifacts/<target>-crash-… and the script exits non-zero. Prints executions per target.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${1:-60}"
targets=(safetensors config trainer jsonl tokenizer png jpeg)
flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address)
swift build "${flags[@]}" --product FuzzDynamics
binary="$(swift build "${flags[@]}" --product FuzzDynamics --show-bin-path)/FuzzDynamics"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p artifacts
failed=0
printf '%-12s %12s %10s %s\n' target executions exec/s result
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t"
    log="$scratch/$t.log"
    status=0
    FUZZ_TARGET="$t" "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t-" "$scratch/$t" "corpus/$t" > "$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    if [ "$status" -ne 0 ]; then
        failed=1
        printf '%-12s %12s %10s %s\n' "$t" "${runs:-?}" "${speed:-?}" "FAILED (exit $status)"
        grep -E 'ERROR|SUMMARY|Test unit written|Fatal error|deadly signal' "$log" | head -20 || true
    else
        printf '%-12s %12s %10s %s\n' "$t" "${runs:-?}" "${speed:-?}" "no crash"
    fi
done
exit "$failed"
