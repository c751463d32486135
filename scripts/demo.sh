#!/usr/bin/env bash
# The demo: machine setup (idempotent, fast when done), then `just demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ :$PATH: == *":$HOME/.cargo/bin:"* ]] || export PATH="$HOME/.cargo/bin:$PATH"

./scripts/setup.sh
just demo
