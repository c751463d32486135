#!/usr/bin/env bash
# The fwu demo on QEMU: the real bootloader and the embassy demo application (`app` binary,
# boards/qemu-mps2/src/app.rs), driven over UART0 by scripts/demo_host.py.
#
# Builds the bootloader and the application variants, signs them with fwu-tool, creates the
# flash file (state partition empty, v1 in component 0's primary slot, a data image in
# component 1's) and runs one story with a transcript and PASS/FAIL per step:
#   1. v1 boots;
#   2. update to v2: download, finish, install (STAGED), reboot, TRIAL, self-test, accept
#      (UPDATED), clean (READY, v2);
#   3. v3 whose self-test fails: reject, reboot, rollback to v2 (FAILED), clean;
#   4. v4 that hangs on trial: watchdog reset, automatic rollback (error -4097), clean;
#   5. v5 with a flipped signature byte: finish -> PSA_ERROR_INVALID_SIGNATURE, clean;
#   6. v1.5, a downgrade below v2: finish -> PSA_ERROR_NOT_PERMITTED, clean;
#   7. v5 signed for another product (another --cid): finish -> PSA_ERROR_NOT_PERMITTED
#      (FWU_ERROR_WRONG_DEVICE), clean;
#   8. power cycle: v2 still runs.
# Exits non-zero if any step does not happen as described.
# Usage: scripts/demo-qemu.sh [an386|an505]     (images and logs under target/qemu/<board>/demo/)
set -euo pipefail
# shellcheck source=scripts/qemu-lib.sh
source "$(dirname "$0")/qemu-lib.sh"
WORK=${WORK:-$ROOT/target/qemu/${1:-an386}/demo}
qemu_board "${1:-an386}"
start=$SECONDS

# demo_build_app NAME VERSION SELFTEST: the embassy demo application -> $WORK/NAME.bin
demo_build_app() {
    (cd "$ROOT/boards" && FWU_APP_VERSION=$2 FWU_APP_SELFTEST=$3 cargo build --quiet --release \
        -p "$PKG" --target "$TARGET" --features app --bin app)
    cp "$ROOT/boards/target/$TARGET/release/app" "$WORK/$1.elf"
    objcopy_bin "$WORK/$1.elf" "$WORK/$1.bin"
}

# demo_images: bootloader, signed application variants and data image in $WORK
demo_images() {
    echo "demo[$BOARD]: building the bootloader and 6 application variants for $TARGET"
    qemu_build_bootloader
    demo_build_app v1 1.0.0 pass
    demo_build_app v2 2.0.0 pass
    demo_build_app v3 3.0.0 fail
    demo_build_app v4 4.0.0 hang
    demo_build_app v5 5.0.0 pass
    demo_build_app v1.5 1.5.0 pass
    echo "demo[$BOARD]: signing with fwu-tool (dev key, header 0x200, security counters)"
    qemu_sign "$WORK/v1.bin" "$WORK/v1.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200
    qemu_sign "$WORK/v2.bin" "$WORK/v2.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200
    qemu_sign "$WORK/v3.bin" "$WORK/v3.signed" 3.0.0 3 $APP_SLOT_SIZE 0x200
    qemu_sign "$WORK/v4.bin" "$WORK/v4.signed" 4.0.0 4 $APP_SLOT_SIZE 0x200
    qemu_sign "$WORK/v5.bin" "$WORK/v5.signed" 5.0.0 5 $APP_SLOT_SIZE 0x200
    qemu_sign "$WORK/v1.5.bin" "$WORK/v1.5.signed" 1.5.0 2 $APP_SLOT_SIZE 0x200
    # v5 signed by the trusted key for another product (image class): not for this device.
    qemu_sign "$WORK/v5.bin" "$WORK/v5-foreign.signed" 5.0.0 5 $APP_SLOT_SIZE 0x200 another-product
    # Bad signature: the last byte of the image is the last byte of the Ed25519 TLV.
    cp "$WORK/v5.signed" "$WORK/v5-badsig.signed"
    python3 - "$WORK/v5-badsig.signed" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-1] ^= 0x01
open(p, "wb").write(b)
PY
    printf 'fwu data component 1, version 1.0.0\n%.0s' {1..32} >"$WORK/data.bin"
    qemu_sign "$WORK/data.bin" "$WORK/data.signed" 1.0.0 1 $DATA_SLOT_SIZE 0x20
    for v in v1 v2 v3 v4 v5 v1.5 v5-foreign; do
        printf '  %-16s %6d bytes signed\n' "$v.signed" "$(stat -c %s "$WORK/$v.signed")"
    done
}

# demo_flash FILE: erased flash, v1 in component 0's primary, the data image in component 1's
demo_flash() {
    "${FLASHIMG[@]}" create "$1"
    "${FLASHIMG[@]}" put "$1" $APP_PRIMARY "$WORK/v1.signed"
    "${FLASHIMG[@]}" put "$1" $DATA_PRIMARY "$WORK/data.signed"
}

if [[ ${DEMO_LIB_ONLY:-} != 1 ]]; then
    demo_images
    demo_flash "$WORK/demo.flash"
    echo "demo[$BOARD]: images ready ($((SECONDS - start)) s); running the story"
    python3 "$ROOT/scripts/demo_host.py" story "$WORK" "$BOARD"
    echo "demo[$BOARD]: total $((SECONDS - start)) s"
fi
