#!/usr/bin/env bash
# What bench/run.sh needs: hyperfine (timings), GNU time (/usr/bin/time -v
# for peak RSS) and python3 (input generator and report). Idempotent:
# installs only what is missing.
set -euo pipefail
need=()
for pkg in hyperfine time python3; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
