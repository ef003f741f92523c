#!/usr/bin/env bash
# checkov over the rendered output of every example (examples/*/spec.yaml),
# with a fixed seed and clock. Fails on any failed check. Checks that do not
# apply are skipped in the manifests themselves (checkov.io/skipN annotations
# set through the specs' `annotations:`), each with its reason; see
# docs/security.md. Prints passed/failed/skipped per example.
set -euo pipefail
cd "$(dirname "$0")/../.."
CHECKOV="${CHECKOV:-/opt/checkov-venv/bin/checkov}"
[ -x "$CHECKOV" ] || CHECKOV="$(command -v checkov || true)"
if [ -z "$CHECKOV" ]; then
    echo "checkov is not installed (run .ci/install.d/35-checkov.sh)" >&2
    exit 1
fi

cargo build --locked --quiet
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/redis-sentinel-fn"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0
n=0
for spec in examples/*/spec.yaml; do
    name="$(basename "$(dirname "$spec")")"
    mkdir -p "$out/$name"
    REDIS_SENTINEL_FN_SEED=ci-checkov-seed-0123456789abcdef SOURCE_DATE_EPOCH=1767225600 \
        "$bin" render -f "$spec" >"$out/$name/rendered.yaml"
    # --skip-download: no calls to the Prisma Cloud API (no network in CI).
    if "$CHECKOV" -d "$out/$name" --framework kubernetes --compact --quiet --skip-download \
        -o json >"$out/$name.json" 2>"$out/$name.err"; then rc=0; else rc=$?; fi
    summary="$(python3 - "$out/$name.json" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("unreadable")
    sys.exit(0)
reports = data if isinstance(data, list) else [data]
p = f = s = 0
for r in reports:
    if not isinstance(r, dict):
        continue
    summ = r.get("summary", {})
    p += summ.get("passed", 0); f += summ.get("failed", 0); s += summ.get("skipped", 0)
    for c in r.get("results", {}).get("failed_checks", []):
        print(f"  FAILED {c['check_id']} {c['check_name']} on {c['resource']}", file=sys.stderr)
print(f"passed={p} failed={f} skipped={s}")
PY
)"
    echo "checkov examples/$name: $summary"
    n=$((n + 1))
    case "$summary" in
        *" failed=0 "*) ;;
        *) status=1; cat "$out/$name.err" >&2 || true ;;
    esac
    if [ "$rc" -ne 0 ]; then status=1; echo "checkov exited $rc on examples/$name" >&2; fi
done
if [ "$n" -eq 0 ]; then echo "no examples/*/spec.yaml found" >&2; exit 1; fi
if [ "$status" -ne 0 ]; then echo "checkov: failed checks (see above)" >&2; exit 1; fi
echo "checkov: no failed checks in $n examples"
