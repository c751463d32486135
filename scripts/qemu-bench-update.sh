#!/usr/bin/env bash
# End-to-end update cost in emulated instructions (QEMU -icount shift=0: one instruction per
# virtual nanosecond) with the embassy demo application: for application images padded to
# 128 KiB and 256 KiB (the app itself is ~81 KiB), v1 boots (no-update boot), downloads v2
# through the update service (LOAD over semihosting: start, write x N, finish with SHA-256 and
# Ed25519; timed by the device's SysTick in virtual ms), installs, reboots (install boot:
# verify + swap), and v2 hangs on trial so the watchdog resets it (revert boot).
# Usage: scripts/qemu-bench-update.sh [an386|an505]
set -euo pipefail
BOARD_ARG=${1:-an386}
WORK=${WORK:-$(cd "$(dirname "$0")/.." && pwd)/target/qemu/$BOARD_ARG/bench}
DEMO_LIB_ONLY=1
# shellcheck source=scripts/demo-qemu.sh
source "$(dirname "$0")/demo-qemu.sh" "$BOARD_ARG"
qemu_build_bootloader
demo_build_app v1 1.0.0 pass
demo_build_app v2-hang 2.0.0 hang
printf 'fwu data component 1, version 1.0.0\n%.0s' {1..32} >"$WORK/data.bin"
qemu_sign "$WORK/data.bin" "$WORK/data.signed" 1.0.0 1 $DATA_SLOT_SIZE 0x20
cp "$WORK/v1.bin" "$WORK/v1-base.bin"
cp "$WORK/v2-hang.bin" "$WORK/v2-base.bin"
for kib in 128 256; do
    cp "$WORK/v1-base.bin" "$WORK/v1.bin"
    cp "$WORK/v2-base.bin" "$WORK/v2-hang.bin"
    truncate -s $((kib * 1024 - 0x200 - 0x200)) "$WORK/v1.bin" "$WORK/v2-hang.bin"
    qemu_sign "$WORK/v1.bin" "$WORK/v1.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200
    qemu_sign "$WORK/v2-hang.bin" "$WORK/v2-hang.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200
    "${FLASHIMG[@]}" create "$WORK/bench.flash"
    "${FLASHIMG[@]}" put "$WORK/bench.flash" $APP_PRIMARY "$WORK/v1.signed"
    "${FLASHIMG[@]}" put "$WORK/bench.flash" $DATA_PRIMARY "$WORK/data.signed"
    QEMU_EXTRA="-icount shift=0" python3 "$ROOT/scripts/demo_host.py" bench "$WORK" "$BOARD" "${kib}KiB"
done
