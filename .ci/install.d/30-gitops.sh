#!/usr/bin/env bash
# What tests/it/gitops.rs needs besides the machine's kubectl, kpt and Docker
# Engine: kubernetes-validate (PyPI), which ships the Kubernetes JSON schemas
# and so validates offline. Idempotent: installs only what is missing.
set -euo pipefail
want=1.37.0
have=$(python3 -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))' 2>/dev/null || true)
if [ "$have" != "$want" ] || ! command -v kubernetes-validate >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$want"
fi
# The gitops tests need these; say so here, early, instead of failing later.
for tool in kubectl kpt docker; do
    command -v "$tool" >/dev/null 2>&1 || echo "30-gitops: warning: $tool not found; tests/it/gitops.rs will fail" >&2
done
if ! docker info >/dev/null 2>&1; then
    echo "30-gitops: warning: 'docker info' fails; the container tests in tests/it/gitops.rs will fail" >&2
fi
