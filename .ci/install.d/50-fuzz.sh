#!/usr/bin/env bash
# cargo-fuzz for .ci/steps/35-fuzz.bg.sh (from crates.io; libFuzzer itself is
# built from source by the fuzz crate's libfuzzer-sys). Idempotent: installs
# only when missing. The fuzz build needs a C++ compiler (g++), which the
# machine has.
set -euo pipefail
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
