#!/usr/bin/env bash
# The benchmark: whole processes, timed with hyperfine (min/median/max over
# several runs) and measured for peak RSS with /usr/bin/time -v, next to
# `cat` of the same input (the process floor) and the openssl procedure
# users follow by hand (bench/openssl-manual.sh). Writes bench/out/results.md
# (Markdown table, ratios, CPU model, load) and the raw hyperfine JSON.
#
#   bench/run.sh           full run: release build, 1k/10k/50k items
#   bench/run.sh --quick   CI mode: few runs, small sizes, the debug binary
#                          that the tests built; checks that everything
#                          runs, asserts no timing
#
# Environment: BIN=path/to/redis-sentinel-fn skips the build;
# CARGO_TARGET_DIR is honoured; BENCH_OUT (default bench/out).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
[ "${1:-}" = "--quick" ] && quick=1

out="${BENCH_OUT:-$root/bench/out}"
mkdir -p "$out/json" "$out/rss" "$out/inputs"
rm -f "$out"/json/*.json "$out"/rss/*.txt
target="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

if [ -z "${BIN:-}" ]; then
    if [ "$quick" = 1 ]; then
        [ -x "$target/debug/redis-sentinel-fn" ] || cargo build --locked --quiet
        BIN="$target/debug/redis-sentinel-fn"
    else
        cargo build --release --locked --quiet
        BIN="$target/release/redis-sentinel-fn"
    fi
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is missing (.ci/install.d/10-base.sh)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (.ci/install.d/40-bench.sh)" >&2; exit 1; }

if [ "$quick" = 1 ]; then
    sizes="100 500 1000"
    specs=10
    runs_small=3 runs_mid=2 runs_big=1 warm=1 rss_runs=1
    algs="ecdsa-p256 ecdsa-p384 ed25519 rsa-2048"
else
    sizes="1000 10000 50000"
    specs=100
    runs_small=30 runs_mid=10 runs_big=5 warm=3 rss_runs=3
    algs="ecdsa-p256 ecdsa-p384 ed25519 rsa-2048 rsa-3072 rsa-4096"
fi

gen="python3 $root/bench/gen.py"
spec="$root/examples/basic/spec.yaml"
in="$out/inputs"
seed=bench-seed-0123456789abcdef0123456789abcdef
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(date +%s)}"
unset REDIS_SENTINEL_FN_SEED REDIS_SENTINEL_FN_SEED_FILE

cut -d' ' -f1-3 /proc/loadavg >"$out/load-start.txt"

echo "== inputs"
$gen rl "$spec" 0 >"$in/basic.yaml"
# Re-render, kpt path: the first render's output (its Secrets) fed back.
"$BIN" <"$in/basic.yaml" >"$in/basic-out.yaml" 2>/dev/null
$gen rerender "$spec" "$in/basic-out.yaml" >"$in/rerender.yaml"
# Re-render, seed path: the same with a seed set on both renders.
REDIS_SENTINEL_FN_SEED=$seed "$BIN" <"$in/basic.yaml" >"$in/basic-seed-out.yaml" 2>/dev/null
$gen rerender "$spec" "$in/basic-seed-out.yaml" >"$in/rerender-seed.yaml"
for a in $algs; do
    $gen alg "$spec" "$a" >"$in/spec-$a.yaml"
    $gen rl "$in/spec-$a.yaml" 0 >"$in/alg-$a.yaml"
done
for n in $sizes; do
    [ -s "$in/items-$n.yaml" ] || $gen rl "$spec" "$n" >"$in/items-$n.yaml"
done
rm -rf "$in/specs"
$gen specs "$in/specs" "$specs"
# Every input must render cleanly before it is timed.
for f in "$in"/basic.yaml "$in"/rerender*.yaml "$in"/alg-*.yaml "$in"/items-*.yaml; do
    "$BIN" <"$f" >/dev/null 2>&1 || { echo "bench: $f does not render" >&2; exit 1; }
done
# The re-render must keep the certificates (that is what it measures).
"$BIN" <"$in/rerender.yaml" >"$in/rerender-out.yaml" 2>/dev/null
certs() { grep -E '^    (tls\.crt|ca\.crt):' "$1" | sort; }
if [ -z "$(certs "$in/basic-out.yaml")" ] ||
    ! cmp -s <(certs "$in/basic-out.yaml") <(certs "$in/rerender-out.yaml"); then
    echo "bench: the re-render did not keep the certificates of the first render" >&2
    exit 1
fi

# bench NAME RUNS [env ...] -- COMMAND: hyperfine one command.
bench() {
    local name=$1 runs=$2
    shift 2
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    # The floors run without a shell (-N): a few hundred microseconds are
    # below what hyperfine can correct for the shell's start-up.
    local noshell=()
    case "$name" in start | cat-*) noshell=(-N) ;; esac
    echo "-- $name"
    env "${envs[@]}" hyperfine "${noshell[@]}" --style basic --warmup "$warm" --runs "$runs" \
        --command-name "$name" --export-json "$out/json/$name.json" "$*" |
        grep -E "Time|Range" || true
}

# rss NAME [env ...] -- COMMAND: peak RSS in KiB over a few runs (max).
rss() {
    local name=$1
    shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local max=0 kb
    for _ in $(seq "$rss_runs"); do
        kb=$(env "${envs[@]}" /usr/bin/time -v sh -c "$* >/dev/null 2>&1" 2>&1 >/dev/null |
            awk -F': ' '/Maximum resident set size/ {print $2}')
        [ "$kb" -gt "$max" ] && max=$kb
    done
    echo "$max" >"$out/rss/$name.txt"
}

echo "== 1. render (basic example) and the references"
bench start "$runs_small" -- "$BIN --version"
bench cat-basic "$runs_small" -- "cat $in/basic.yaml"
bench render-krm "$runs_small" -- "$BIN < $in/basic.yaml"
bench render-cli "$runs_small" -- "$BIN render -f $spec"
bench render-krm-seed "$runs_small" REDIS_SENTINEL_FN_SEED=$seed -- "$BIN < $in/basic.yaml"
bench openssl "$runs_mid" -- "bash $root/bench/openssl-manual.sh $out/openssl"
rss render-krm -- "$BIN < $in/basic.yaml"
rss render-cli -- "$BIN render -f $spec"
rss cat-basic -- "cat $in/basic.yaml"

echo "== 2. re-render with kept certificates"
bench cat-rerender "$runs_small" -- "cat $in/rerender.yaml"
bench rerender-kpt "$runs_small" -- "$BIN < $in/rerender.yaml"
bench rerender-seed "$runs_small" REDIS_SENTINEL_FN_SEED=$seed -- "$BIN < $in/rerender-seed.yaml"
rss rerender-kpt -- "$BIN < $in/rerender.yaml"

echo "== 3. key algorithms"
for a in $algs; do
    case "$a" in rsa-3072 | rsa-4096) r=$runs_big ;; rsa-*) r=$runs_mid ;; *) r=$runs_small ;; esac
    bench "alg-$a" "$r" -- "$BIN < $in/alg-$a.yaml"
done

echo "== 4. pass-through items"
for n in $sizes; do
    case "$n" in 50000 | 10000) r=$runs_big ;; *) r=$runs_mid ;; esac
    bench "cat-items-$n" "$r" -- "cat $in/items-$n.yaml"
    bench "items-$n" "$r" -- "$BIN < $in/items-$n.yaml"
    rss "items-$n" -- "$BIN < $in/items-$n.yaml"
    rss "cat-items-$n" -- "cat $in/items-$n.yaml"
    wc -c <"$in/items-$n.yaml" >"$out/rss/input-items-$n.txt"
done

echo "== 5. many instances"
bench "specs-$specs" "$runs_mid" -- "$BIN render -f $in/specs"
rss "specs-$specs" -- "$BIN render -f $in/specs"

python3 "$root/bench/report.py" "$out" --sizes "$sizes" --specs "$specs" --algs "$algs" \
    --bin "$BIN" --quick "$quick" >"$out/results.md"
echo "== wrote $out/results.md"
cat "$out/results.md"
