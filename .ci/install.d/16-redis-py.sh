#!/usr/bin/env bash
# redis-py: the Sentinel-aware client tests/consumers.rs connects with, through
# the consumer Secrets and the snippets of docs/connecting.md.
set -euo pipefail
python3 -c "import redis.sentinel" 2>/dev/null || python3 -m pip install --quiet "redis>=5,<9"
