#!/usr/bin/env bash
# Mutation testing of the code every promise rests on: the persisted state (shared/src/state),
# the swap and verification steps of the bootloader, and the strict Ed25519 verifier. Each
# mutant (an operator flipped, a body replaced by a default, a condition forced) is built and
# run against the test suites of shared, bootloader and updater; a mutant that no test catches
# ("missed") is a behaviour no test pins. Long: about 1,000 mutants; `SHARD=k/n` runs one part.
#
# Usage: scripts/mutants.sh [extra cargo-mutants arguments]
# Results: target/mutants/mutants.out/{outcomes.json,missed.txt,caught.txt,timeout.txt}
set -euo pipefail
cd "$(dirname "$0")/.."

version=27.1.0
if ! cargo mutants --version 2>/dev/null | grep -q "$version"; then
    echo "mutants: installing cargo-mutants $version (a few minutes, once)"
    cargo install --locked cargo-mutants --version "$version"
fi

files=(
    shared/src/state/boot.rs shared/src/state/opener.rs shared/src/state/slots.rs
    shared/src/state/catalog.rs shared/src/state/checkpoint.rs shared/src/state/guard.rs
    shared/src/state/geometry.rs shared/src/state/plan.rs shared/src/state/records.rs
    shared/src/state/counters.rs shared/src/image/ed25519.rs
    bootloader/src/lib.rs bootloader/src/swap.rs bootloader/src/verify.rs
)
args=()
for f in "${files[@]}"; do args+=(--file "$f"); done
if [ -n "${SHARD:-}" ]; then args+=(--shard "$SHARD"); fi

mkdir -p target/mutants
cargo mutants --no-shuffle -j 1 --profile mutants \
    --test-package fwu-shared --test-package fwu-bootloader --test-package fwu-updater \
    --timeout-multiplier 3 \
    -o target/mutants "${args[@]}" "$@"
