#!/usr/bin/env bash
# The benchmark in quick mode (bench/run.sh --quick): few runs, small
# inputs, the debug binary the tests built. It checks that every benchmark
# still runs (inputs render, re-renders keep their certificates, the report
# is written) so the benchmark cannot rot; it asserts no timing. The full
# run and its report are BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
start=$SECONDS
BENCH_OUT="$out" bash bench/run.sh --quick >"$out/log" 2>&1 || {
    cat "$out/log"
    exit 1
}
cat "$out/results.md"
echo "bench quick mode: $((SECONDS - start)) s"
