#!/usr/bin/env bash
# Measures the code size of shared's verification path on the embedded targets (release build).
#
# It links boards/verify-probe three times: a baseline that only touches the test vectors, a
# build that runs the scanner (header/TLV parsing + SHA-256), and the full verification (plus key
# hash and Ed25519 via salty). Sizes are .text + .rodata with the embedded test vectors
# subtracted; the differences attribute bytes to each stage.
set -euo pipefail
cd "$(dirname "$0")/../boards"

targets=("${@:-thumbv7em-none-eabihf thumbv8m.main-none-eabihf}")
read -r -a targets <<<"${targets[*]}"

section() { llvm-size -A "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
vectors() {
    local total=0 size
    for size in $(llvm-nm -S "$1" | awk '/fwu_verify_probe.*(IMAGE|TAMPERED|KEY)/ { print $2 }'); do
        total=$(( total + 16#$size ))
    done
    echo "$total"
}

printf '| target | stage | .text | .rodata | code (text+rodata) | over baseline | stage cost |\n'
printf '|---|---|---:|---:|---:|---:|---:|\n'
for target in "${targets[@]}"; do
    base=0
    prev=0
    for stage in only-header only-scan full; do
        features=()
        [ "$stage" != full ] && features=(--features "$stage")
        cargo build --quiet --release -p fwu-verify-probe --target "$target" "${features[@]}"
        elf="target/$target/release/fwu-verify-probe"
        text=$(section "$elf" .text)
        rodata=$(( $(section "$elf" .rodata) - $(vectors "$elf") ))
        code=$(( text + rodata ))
        case "$stage" in
            only-header) base=$code; prev=$code; label="baseline (no verification)" ;;
            only-scan) label="scanner + SHA-256" ;;
            full) label="scanner + SHA-256 + key ring + Ed25519" ;;
        esac
        printf '| %s | %s | %d | %d | %d | %d | %d |\n' "$target" "$label" "$text" "$rodata" "$code" $(( code - base )) $(( code - prev ))
        prev=$code
    done
done
