#!/usr/bin/env bash
# Measures the code size of shared's verification path on the embedded targets (release build).
#
# It links boards/verify-probe four times: a baseline that only touches the test vectors, a
# build that runs the scanner (header/TLV parsing + SHA-256), the full verification (plus key
# hash and fwu-shared's Ed25519: SHA-512 and the double-scalar multiplication over salty's field
# arithmetic), and for comparison the same path with salty 0.3.0's own `PublicKey::verify`
# (feature `salty-verify`, what fwu-shared linked before it had its own). Sizes are .text +
# .rodata with the embedded test vectors subtracted; the differences attribute bytes to each
# stage (the last row's stage cost is over the scanner, like the row above it).
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
    for stage in only-header only-scan full salty-verify; do
        features=()
        [ "$stage" != full ] && features=(--features "$stage")
        [ "$stage" = salty-verify ] && prev=$scan
        cargo build --quiet --release -p fwu-verify-probe --target "$target" "${features[@]}"
        elf="target/$target/release/fwu-verify-probe"
        text=$(section "$elf" .text)
        rodata=$(( $(section "$elf" .rodata) - $(vectors "$elf") ))
        code=$(( text + rodata ))
        case "$stage" in
            only-header) base=$code; prev=$code; label="baseline (no verification)" ;;
            only-scan) label="scanner + SHA-256"; scan=$code ;;
            full) label="scanner + SHA-256 + key ring + Ed25519" ;;
            salty-verify) label="same, Ed25519 by salty 0.3.0's verify (before)" ;;
        esac
        printf '| %s | %s | %d | %d | %d | %d | %d |\n' "$target" "$label" "$text" "$rodata" "$code" $(( code - base )) $(( code - prev ))
        prev=$code
    done
done
