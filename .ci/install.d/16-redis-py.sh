#!/usr/bin/env bash
# redis-py: tests/day2_rotation.rs runs a redis-py application (Sentinel
# discovery over TLS) through certificate rotations.
set -euo pipefail
python3 -c "import redis" 2>/dev/null || python3 -m pip install --quiet "redis>=5"
