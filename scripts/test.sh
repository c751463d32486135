#!/usr/bin/env bash
# The full check, as CI runs it: machine setup (idempotent, fast when done), then `just ci`
# (lint, build, test, interop against imgtool, fuzz smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ :$PATH: == *":$HOME/.cargo/bin:"* ]] || export PATH="$HOME/.cargo/bin:$PATH"

./scripts/setup.sh
just ci
