#!/usr/bin/env bash
# Fuzz smoke run: every target of fuzz/ for FUZZ_SECONDS (default 40; four
# targets, under 3 minutes) from its committed corpus, with AddressSanitizer.
# .ci/run starts it in the background (*.bg.sh) next to the checkov, bench
# and server-matrix steps, and fails CI if it fails.
# Any crash, panic, leak or slow input fails the step; libFuzzer writes the
# input to fuzz/artifacts/<target>/ (reproduce with
# `cargo fuzz run <target> <file>`), and it becomes a regression test under
# tests/. The committed corpus is not changed: new inputs go to a scratch copy.
#
# cargo fuzz wants nightly-only flags (-Zsanitizer, -Cpasses=sancov-module);
# the machine has stable Rust only, so RUSTC_BOOTSTRAP=1 lets stable take them.
set -euo pipefail
cd "$(dirname "$0")/../../fuzz"
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-40}"
targets=(resourcelist spec reuse nesting)
start=$SECONDS
cargo fuzz build
echo "fuzz build: $((SECONDS - start)) s"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t"
    cp -r "corpus/$t/." "$scratch/$t/"
    log="$scratch/$t.log"
    if ! cargo fuzz run "$t" "$scratch/$t" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz target $t FAILED; the input is under fuzz/artifacts/$t/"
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $t: $runs runs in ${seconds} s, no crash"
done
echo "fuzz step: $((SECONDS - start)) s"
