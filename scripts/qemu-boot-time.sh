#!/usr/bin/env bash
# Boot time of the real bootloader in emulated instructions: QEMU with `-icount shift=0` runs
# one instruction per virtual nanosecond, and the instrumented bootloader (bootloader-test)
# reports the virtual time of its boot core (`fwu-boot: jump ... core_ns=N`, SysTick at the
# core clock: `Bootloader::boot`, the code the production bootloader runs), so N is the number
# of instructions (to within one SysTick period: 40 on an386, 50 on an505).
# Boots measured: no update (v1 active), install (v1 staged v2: verify, swap, trial), revert
# (cold restart of the unaccepted trial), with the smoke-test images (a few KiB) and with test
# applications padded to 64 KiB; and the no-update boot of a bootloader built without
# active-image authentication (feature no-auth-active).
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
# The boot core's instructions (core_ns: `Bootloader::boot` alone, what the production
# bootloader runs; the instrumented binary's console and stack painting are not counted).
ns() { grep '^fwu-boot: jump' "$1" | sed -n "${2}p" | sed -n 's/.*core_ns=\([0-9]*\).*/\1/p'; }
sizes=$(llvm-size -A "$WORK/bootloader.elf" | awk '$1 ~ /^\.(vector_table|text|rodata)$/ {f += $2} $1 ~ /^\.(data|bss)$/ {r += $2} END {print f, r}')
stack=$(grep -m1 '^fwu-boot: jump' "$WORK/boot-time-install.log" | sed -n 's/.*stack=\([0-9]*\).*/\1/p')

# The same boots with both applications padded to 64 KiB images.
qemu_build_app t-v1-64k 1.0.0 app-stage $((64 * 1024 - 0x200 - 0x200))
qemu_build_app t-v2-64k 2.0.0 "" $((64 * 1024 - 0x200 - 0x200))
qemu_sign "$WORK/t-v1-64k.bin" "$WORK/t-v1-64k.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200
qemu_sign "$WORK/t-v2-64k.bin" "$WORK/t-v2-64k.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200
F64=$WORK/boot-time-64k.flash
"${FLASHIMG[@]}" create "$F64"
"${FLASHIMG[@]}" put "$F64" $APP_PRIMARY "$WORK/t-v1-64k.signed"
"${FLASHIMG[@]}" put "$F64" $DATA_PRIMARY "$WORK/t-data.signed"
"${FLASHIMG[@]}" put "$F64" $APP_STAGING "$WORK/t-v2-64k.signed"
qemu_run "$F64" "$WORK/boot-time-64k-install.log"
qemu_run "$F64" "$WORK/boot-time-64k-revert.log"

# No-update boot without authenticating the active images.
(cd "$ROOT/boards" && cargo build --quiet --release -p "$PKG" --target "$TARGET" --bin bootloader-test --features no-auth-active)
cp "$ROOT/boards/target/$TARGET/release/bootloader-test" "$WORK/bootloader-noauth.elf"
(cd "$ROOT/boards" && cargo build --quiet --release -p "$PKG" --target "$TARGET" --bin bootloader-test)
F0=$WORK/boot-time-noauth.flash
"${FLASHIMG[@]}" create "$F0"
"${FLASHIMG[@]}" put "$F0" $APP_PRIMARY "$WORK/t-v2.signed"
"${FLASHIMG[@]}" put "$F0" $DATA_PRIMARY "$WORK/t-data.signed"
# The first boot of a blank state writes its first record; the second is the steady state.
qemu_run_elf "$WORK/bootloader-noauth.elf" "$F0" "$WORK/boot-time-noauth-first.log"
qemu_run_elf "$WORK/bootloader-noauth.elf" "$F0" "$WORK/boot-time-noauth.log"

echo "qemu-boot-time[$BOARD]: no-update boot (authenticate the active images of components 0 and 1) $(ns "$WORK/boot-time-install.log" 1) instructions"
echo "qemu-boot-time[$BOARD]: no-update boot without active-image authentication $(ns "$WORK/boot-time-noauth.log" 1) instructions (first boot of a blank state: $(ns "$WORK/boot-time-noauth-first.log" 1))"
echo "qemu-boot-time[$BOARD]: install boot (verify the staged v2, swap, authenticate the active images) $(ns "$WORK/boot-time-install.log" 2) instructions"
echo "qemu-boot-time[$BOARD]: revert boot $(ns "$WORK/boot-time-revert.log" 1) instructions"
echo "qemu-boot-time[$BOARD]: 64 KiB images: no-update boot $(ns "$WORK/boot-time-64k-install.log" 1), install boot $(ns "$WORK/boot-time-64k-install.log" 2), revert boot $(ns "$WORK/boot-time-64k-revert.log" 1) instructions"
echo "qemu-boot-time[$BOARD]: bootloader flash ${sizes% *} bytes (vector table + text + rodata), static RAM ${sizes#* } bytes, peak stack $stack bytes"
