#!/usr/bin/env bash
# redis-py: the Sentinel-aware client tests/it/consumers.rs connects with, through
# the consumer Secrets and the snippets of docs/connecting.md, and the
# application tests/it/day2_rotation.rs keeps running through certificate
# rotations.
set -euo pipefail
python3 -c "import redis.sentinel" 2>/dev/null || python3 -m pip install --quiet "redis>=5,<9"
