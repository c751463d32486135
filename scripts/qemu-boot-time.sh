#!/usr/bin/env bash
# Boot time of the real bootloader in emulated instructions: QEMU with `-icount shift=0` runs
# one instruction per virtual nanosecond, and the bootloader reports the virtual time from
# reset to the jump (`fwu-boot: jump ... boot_ns=N`, SysTick at the core clock), so N is the
# number of instructions (to within one SysTick period: 40 on an386, 50 on an505).
# Boots measured: no update (v1 active), install (v1 staged v2: verify, swap, trial), revert
# (cold restart of the unaccepted trial). Images as in qemu-smoke.sh.
# Usage: scripts/qemu-boot-time.sh an386|an505
set -euo pipefail
# shellcheck source=scripts/qemu-lib.sh
source "$(dirname "$0")/qemu-lib.sh"
qemu_board "${1:-}"
export QEMU_EXTRA="-icount shift=0"

qemu_build_bootloader
qemu_build_app t-v1 1.0.0 app-stage
qemu_build_app t-v2 2.0.0 "" 13312
qemu_sign "$WORK/t-v1.bin" "$WORK/t-v1.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200
qemu_sign "$WORK/t-v2.bin" "$WORK/t-v2.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200
printf 'fwu data component 1, version 1.0.0\n%.0s' {1..32} >"$WORK/t-data.bin"
qemu_sign "$WORK/t-data.bin" "$WORK/t-data.signed" 1.0.0 1 $DATA_SLOT_SIZE 0x20
F=$WORK/boot-time.flash
"${FLASHIMG[@]}" create "$F"
"${FLASHIMG[@]}" put "$F" $APP_PRIMARY "$WORK/t-v1.signed"
"${FLASHIMG[@]}" put "$F" $DATA_PRIMARY "$WORK/t-data.signed"
"${FLASHIMG[@]}" put "$F" $APP_STAGING "$WORK/t-v2.signed"
qemu_run "$F" "$WORK/boot-time-install.log"
qemu_run "$F" "$WORK/boot-time-revert.log"
ns() { grep '^fwu-boot: jump' "$1" | sed -n "${2}p" | sed -n 's/.*boot_ns=\([0-9]*\).*/\1/p'; }
sizes=$(llvm-size -A "$WORK/bootloader.elf" | awk '$1 ~ /^\.(vector_table|text|rodata)$/ {f += $2} $1 ~ /^\.(data|bss)$/ {r += $2} END {print f, r}')
stack=$(grep -m1 '^fwu-boot: jump' "$WORK/boot-time-install.log" | sed -n 's/.*stack=\([0-9]*\).*/\1/p')
echo "qemu-boot-time[$BOARD]: no-update boot (authenticate the active images of components 0 and 1) $(ns "$WORK/boot-time-install.log" 1) instructions"
echo "qemu-boot-time[$BOARD]: install boot (verify the staged v2, swap, authenticate the active images) $(ns "$WORK/boot-time-install.log" 2) instructions"
echo "qemu-boot-time[$BOARD]: revert boot $(ns "$WORK/boot-time-revert.log" 1) instructions"
echo "qemu-boot-time[$BOARD]: bootloader flash ${sizes% *} bytes (vector table + text + rodata), static RAM ${sizes#* } bytes, peak stack $stack bytes"
