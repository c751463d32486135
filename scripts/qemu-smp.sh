#!/usr/bin/env bash
# The embassy demo application on QEMU updated by the stock mcumgr tools over SMP: smpclient
# (PyPI, installed in .venv by scripts/setup.sh) talks to the device's UART0 through the
# pseudo-terminal QEMU exposes (`-serial pty`). scripts/smp_story.py tells the story with a
# PASS/FAIL transcript: echo and MCUmgr parameters; image state (v1 active and confirmed);
# upload v2 (stopped a third of the way, as if the tool were killed, then resumed by a new
# client from the device's offset); test; reset; v2 on trial (not confirmed); confirm; an upload with a bad signature
# refused (INVALID_HASH) and a downgrade refused (CURRENT_VERSION_IS_NEWER), each with the
# error the tool reports.
# Usage: scripts/qemu-smp.sh [an386|an505]     (images and logs under target/qemu/<board>/smp/)
set -euo pipefail
# shellcheck source=scripts/qemu-lib.sh
source "$(dirname "$0")/qemu-lib.sh"
WORK=${WORK:-$ROOT/target/qemu/${1:-an386}/smp}
qemu_board "${1:-an386}"
PY=$ROOT/.venv/bin/python
"$PY" -c 'import smpclient' 2>/dev/null || { echo "smp[$BOARD]: smpclient missing in .venv; run ./scripts/setup.sh" >&2; exit 1; }
start=$SECONDS

# smp_build_app NAME VERSION SELFTEST -> $WORK/NAME.bin
smp_build_app() {
    (cd "$ROOT/boards" && FWU_APP_VERSION=$2 FWU_APP_SELFTEST=$3 cargo build --quiet --release \
        -p "$PKG" --target "$TARGET" --features app --bin app)
    cp "$ROOT/boards/target/$TARGET/release/app" "$WORK/$1.elf"
    objcopy_bin "$WORK/$1.elf" "$WORK/$1.bin"
}

echo "smp[$BOARD]: building the bootloader and 3 application variants for $TARGET"
qemu_build_bootloader
smp_build_app v1 1.0.0 pass
smp_build_app v2 2.0.0 host
smp_build_app v0.9 0.9.0 pass
qemu_sign "$WORK/v1.bin" "$WORK/v1.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200
qemu_sign "$WORK/v2.bin" "$WORK/v2.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200
qemu_sign "$WORK/v0.9.bin" "$WORK/v0.9.signed" 0.9.0 2 $APP_SLOT_SIZE 0x200
cp "$WORK/v2.signed" "$WORK/v2-badsig.signed"
"$PY" - "$WORK/v2-badsig.signed" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-1] ^= 0x01  # the last byte of the Ed25519 signature TLV
open(p, "wb").write(b)
PY
printf 'fwu data component 1, version 1.0.0\n%.0s' {1..32} >"$WORK/data.bin"
qemu_sign "$WORK/data.bin" "$WORK/data.signed" 1.0.0 1 $DATA_SLOT_SIZE 0x20
"${FLASHIMG[@]}" create "$WORK/smp.flash"
"${FLASHIMG[@]}" put "$WORK/smp.flash" $APP_PRIMARY "$WORK/v1.signed"
"${FLASHIMG[@]}" put "$WORK/smp.flash" $DATA_PRIMARY "$WORK/data.signed"
echo "smp[$BOARD]: images ready ($((SECONDS - start)) s); running the story"
"$PY" "$ROOT/scripts/smp_story.py" "$WORK" "$BOARD"
echo "smp[$BOARD]: total $((SECONDS - start)) s"
