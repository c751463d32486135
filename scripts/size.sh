#!/usr/bin/env bash
# The production bootloader's footprint on every QEMU board: flash (vector table + .text +
# .rodata + .data's load image) and RAM (.data + .bss + the boot core's peak stack, measured by
# painting in `bootloader-test` on an install boot, the deepest path), one line per board:
#   bootloader <board> flash <N> bytes ram <M> bytes
# Fails if a production binary links core::fmt or if N exceeds LIMIT bytes (default 16384, the
# target of issue 12) or M exceeds RAM_LIMIT (default 8192). Each board also gets a line saying
# whether issue 12's 16,384-byte flash target is met, whatever LIMIT is: CI runs this script with
# LIMIT set to a regression ceiling (`just size-guard`) while that target is not met.
# Usage: scripts/size.sh [an386|an505 ...]   (LIMIT=… RAM_LIMIT=… to change the limits)
set -euo pipefail
limit=${LIMIT:-16384}
ram_limit=${RAM_LIMIT:-8192}
boards=("${@:-an386 an505}")
read -r -a boards <<<"${boards[*]}"
status=0
# shellcheck source=scripts/qemu-lib.sh
source "$(dirname "$0")/qemu-lib.sh"
for board in "${boards[@]}"; do
    unset WORK
    qemu_board "$board"
    qemu_build_bootloader >/dev/null
    elf=$WORK/bootloader-production.elf
    read -r flash ram_static < <(llvm-size -A "$elf" | awk '
        $1 ~ /^\.(vector_table|text|rodata)$/ { f += $2 }
        $1 == ".data" { f += $2; r += $2 }
        $1 ~ /^\.(bss|uninit)$/ { r += $2 }
        END { print f + 0, r + 0 }')
    fmt=$(llvm-nm -C "$elf" | grep -c 'core::fmt' || true)
    # The peak stack of the boot core, on an install boot (v1 active, v2 staged).
    qemu_build_app s-v1 1.0.0 "" >/dev/null
    qemu_build_app s-v2 2.0.0 "" >/dev/null
    qemu_sign "$WORK/s-v1.bin" "$WORK/s-v1.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200
    qemu_sign "$WORK/s-v2.bin" "$WORK/s-v2.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200
    f=$WORK/size.flash
    "${FLASHIMG[@]}" create "$f"
    "${FLASHIMG[@]}" put "$f" $APP_PRIMARY "$WORK/s-v1.signed"
    "${FLASHIMG[@]}" put "$f" $APP_STAGING "$WORK/s-v2.signed"
    qemu_run "$f" "$WORK/size.log" 60 || true
    stack=$(grep -m1 '^fwu-boot: jump' "$WORK/size.log" | sed -n 's/.*stack=\([0-9]*\).*/\1/p')
    [[ -n $stack ]] || { cat "$WORK/size.log" >&2; echo "size[$board]: no stack figure" >&2; exit 1; }
    ram=$((ram_static + stack))
    echo "bootloader $board flash $flash bytes ram $ram bytes"
    echo "  (static RAM $ram_static, peak stack $stack; core::fmt symbols: $fmt; limits: flash $limit, ram $ram_limit)"
    if ((flash <= 16384)); then
        echo "  issue 12 flash target 16384 bytes: met"
    else
        echo "  issue 12 flash target 16384 bytes: NOT met ($((flash - 16384)) bytes over)"
    fi
    if [[ $fmt -ne 0 ]]; then
        echo "size[$board]: FAIL: the production bootloader links core::fmt" >&2
        status=1
    fi
    if ((flash > limit || ram > ram_limit)); then
        echo "size[$board]: FAIL: over the limit" >&2
        status=1
    fi
done
exit $status
