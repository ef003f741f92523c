#!/usr/bin/env bash
# checkov (PyPI), for .ci/steps/40-checkov.sh: a pinned version in its own
# virtualenv, so that its many dependencies stay out of the system Python.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
VENV="${CHECKOV_VENV:-/opt/checkov-venv}"

installed() {
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true
}
if [ -x "$VENV/bin/checkov" ] && [ "$(installed)" = "$CHECKOV_VERSION" ]; then
    exit 0
fi
PY="$(command -v python3 || true)"
if [ -z "$PY" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv
    PY="$(command -v python3)"
fi
# Debian's python3 needs python3-venv for `-m venv` (ensurepip).
if ! "$PY" -m venv --help >/dev/null 2>&1 || ! "$PY" -c 'import ensurepip' >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
fi
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet "checkov==$CHECKOV_VERSION"
echo "checkov $("$VENV/bin/checkov" --version) in $VENV"
