#!/usr/bin/env bash
# Metrics tests (tests/it/e2e_metrics.rs, tests/it/metrics_rules.rs): Debian's
# prometheus-redis-exporter (stands in for the exporter image's
# /redis_exporter in the e2e harness), promtool from the prometheus package
# (`promtool check rules` / `promtool test rules`), curl (scrapes /metrics
# inside a pod's network namespace). Idempotent: installs only what is
# missing, and never starts the prometheus service.
set -euo pipefail
need=()
for pkg in prometheus-redis-exporter prometheus curl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    # CI machines run no init system: the packages' services do not start.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v promtool >/dev/null
command -v prometheus-redis-exporter >/dev/null
