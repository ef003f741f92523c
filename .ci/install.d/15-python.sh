#!/usr/bin/env bash
# PyYAML: the YAML 1.1 reader the compatibility test checks our output with.
set -euo pipefail
python3 -c "import yaml" 2>/dev/null || python3 -m pip install --quiet "PyYAML>=6"
