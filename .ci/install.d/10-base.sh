#!/usr/bin/env bash
# Debian packages and tools the tests use (shellcheck: tests/it/script_safety.rs
# checks every rendered script). Idempotent: installs only what is missing.
set -euo pipefail
need=()
for pkg in redis-server redis-sentinel redis-tools openssl iproute2 hyperfine procps shellcheck; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The packaged services are not used by the tests (they start their own processes).
for svc in redis-server redis-sentinel; do
    if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
    if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest
