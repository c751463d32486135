#!/usr/bin/env bash
# Ed25519 verification on the target CPU (boards/verify-probe, feature `bench`): instructions of
# one verification with the key already decoded (`verify`), of the key decoding (`key_decode`),
# of both (`verify_strict`), the same two steps by salty 0.3.0's own `PublicKey::verify` and
# `PublicKey::try_from` on the same inputs (`salty_*`: the verifier before), and SHA-256 per byte
# (x100): fwu-shared's (`sha256_per_byte_x100`) and the sha2 0.10 crate's it replaced
# (`sha2_per_byte_x100`). QEMU `-icount shift=0`: one instruction per virtual nanosecond,
# counted with SysTick at the core clock; each figure is the mean of 4 runs. Before timing, the
# probe checks both verifiers on the target against verdicts computed on the host (`cases`), and
# fwu-shared's SHA-256 against sha2's.
# Then the code size of the verification path, fwu-shared's Ed25519 against salty's
# (scripts/size-verifier.sh: .text + .rodata, release profile, opt-level "s", LTO).
# Usage: scripts/verify-bench.sh [an386|an505 ...]   (default: an386)
set -euo pipefail
cd "$(dirname "$0")/../boards"
boards=("${@:-an386}")
read -r -a boards <<<"${boards[*]}"

targets=()
for board in "${boards[@]}"; do
    case $board in
    an386) target=thumbv7em-none-eabihf machine=mps2-an386 ;;
    an505) target=thumbv8m.main-none-eabihf machine=mps2-an505 ;;
    *) echo "usage: $0 [an386|an505 ...]" >&2; exit 2 ;;
    esac
    targets+=("$target")
    elf=target/$target/release/fwu-verify-probe
    cargo build --quiet --release -p fwu-verify-probe --target "$target" --features bench
    out=$(timeout 600 qemu-system-arm -icount shift=0 -machine "$machine" -display none -monitor none \
        -serial stdio -semihosting-config enable=on,target=native -kernel "$elf" </dev/null)
    grep -q '^verify-probe: PASS' <<<"$out" || { echo "$out" >&2; echo "verify-bench[$board]: FAIL" >&2; exit 1; }
    line=$(grep '^verify-probe: instructions' <<<"$out")
    echo "verify-bench[$board]: ${line#verify-probe: }"
done
echo
../scripts/size-verifier.sh "${targets[@]}"
