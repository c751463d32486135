#!/usr/bin/env bash
# The bootloader's state on the target CPU (boards/state-probe): instructions to read the boot
# log at boot (QEMU `-icount shift=0`: one instruction per virtual nanosecond; SysTick at the
# core clock), fresh, after 10/100/1000 updates and mid-swap; and the code size of the state
# reader/writer the bootloader links (.text + .rodata of the `size` build minus the `baseline`
# build, release profile, opt-level "s", LTO).
# Usage: scripts/state-probe.sh [an386|an505 ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/../boards"
boards=("${@:-an386 an505}")
read -r -a boards <<<"${boards[*]}"

section() { llvm-size -A "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
code() { echo $(( $(section "$1" .text) + $(section "$1" .rodata) )); }

for board in "${boards[@]}"; do
    case $board in
    an386) target=thumbv7em-none-eabihf machine=mps2-an386 ;;
    an505) target=thumbv8m.main-none-eabihf machine=mps2-an505 ;;
    *) echo "usage: $0 [an386|an505 ...]" >&2; exit 2 ;;
    esac
    elf=target/$target/release/fwu-state-probe
    cargo build --quiet --release -p fwu-state-probe --target "$target"
    out=$(timeout 600 qemu-system-arm -icount shift=0 -machine "$machine" -display none -monitor none \
        -serial stdio -semihosting-config enable=on,target=native -kernel "$elf" </dev/null)
    grep -q '^state-probe: PASS' <<<"$out" || { echo "$out" >&2; echo "state-probe[$board]: FAIL" >&2; exit 1; }
    line=$(grep '^state-probe: open instructions' <<<"$out")
    cargo build --quiet --release -p fwu-state-probe --target "$target" --features baseline
    base=$(code "$elf")
    cargo build --quiet --release -p fwu-state-probe --target "$target" --features size
    full=$(code "$elf")
    echo "state-probe[$board]: ${line#state-probe: } state_code_bytes=$(( full - base ))"
done
