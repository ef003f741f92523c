#!/usr/bin/env bash
# Tools the end-to-end tests (tests/it/e2e_topology.rs, tests/it/harness) use besides
# the Redis packages of 10-base.sh: util-linux (unshare, nsenter, setpriv),
# mount, hostname, nftables (tests/it/harness/conn_watch.rs). Idempotent:
# installs only what is missing. The tests also need root and network
# namespaces (`ip netns`); they fail, not skip, without.
set -euo pipefail
need=()
for pkg in util-linux mount hostname iproute2 nftables procps openssl redis-server redis-sentinel redis-tools; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
