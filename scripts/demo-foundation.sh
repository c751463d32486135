#!/usr/bin/env bash
# The foundation, end to end, until the QEMU demo exists: generate a key, sign a payload with
# fwu-tool, verify and inspect it with fwu-tool and with MCUboot's imgtool, then show that a
# single corrupted byte is rejected. Exits non-zero if any step misbehaves.
#
# Needs ./scripts/setup.sh (for .venv/bin/imgtool). Set FWU_DEMO_KEEP=1 to keep the work dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
IMGTOOL=$ROOT/.venv/bin/imgtool

step=0
heading() {
    step=$((step + 1))
    printf '\n=== %d. %s ===\n' "$step" "$*"
}
run() {
    printf '$ %s\n' "$*"
    "$@"
}
fail() {
    printf '\ndemo: FAILED: %s\n' "$*" >&2
    exit 1
}

[[ -x $IMGTOOL ]] || fail "$IMGTOOL missing; run ./scripts/setup.sh"

heading "Build fwu-tool (release)"
run cargo build --release -p fwu-tool
FWU_TOOL=$ROOT/target/release/fwu-tool
[[ -x $FWU_TOOL ]] || fail "$FWU_TOOL was not built"

WORK=$(mktemp -d -t fwu-demo.XXXXXX)
if [[ ${FWU_DEMO_KEEP:-0} == 1 ]]; then
    echo "work dir (kept): $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
    echo "work dir: $WORK"
fi
cd "$WORK"
fwu_tool() { run "$FWU_TOOL" "$@"; }
imgtool() { run "$IMGTOOL" "$@"; }

heading "Generate an Ed25519 signing key"
fwu_tool keygen -k key.pem
fwu_tool getpub -k key.pem --lang rust

heading "Make a 10 KiB random payload"
echo '$ head -c 10240 /dev/urandom >payload.bin'
head -c 10240 /dev/urandom >payload.bin
ls -l payload.bin

heading "Sign it (version 1.2.3+4, 0x200 header, 128 KiB slot, security counter 5)"
fwu_tool sign -k key.pem --version 1.2.3+4 --header-size 0x200 --pad-header \
    --slot-size 0x20000 --security-counter 5 payload.bin signed.bin
ls -l signed.bin

heading "Verify with fwu-tool (the bootloader's scanner and key ring)"
fwu_tool verify -k key.pem signed.bin

heading "Inspect with fwu-tool"
fwu_tool info signed.bin

heading "Verify with MCUboot's imgtool"
imgtool verify -k key.pem signed.bin

heading "Inspect with MCUboot's imgtool"
imgtool dumpinfo signed.bin

heading "Corrupt one payload byte and verify again (must fail)"
cp signed.bin corrupted.bin
offset=$((0x200 + 1234))
old=$(od -An -tu1 -j "$offset" -N1 corrupted.bin | tr -d ' ')
new=$((old ^ 0x01))
printf "$(printf '\\%03o' "$new")" | dd of=corrupted.bin bs=1 seek="$offset" conv=notrunc status=none
printf 'flipped bit 0 of byte 0x%x: 0x%02x -> 0x%02x\n' "$offset" "$old" "$new"
if fwu_tool verify -k key.pem corrupted.bin; then
    fail "fwu-tool accepted the corrupted image"
fi
echo "fwu-tool rejected the corrupted image (as it must)"
if imgtool verify -k key.pem corrupted.bin; then
    echo "note: imgtool verify exited 0 on the corrupted image (check its message above)"
else
    echo "imgtool rejected the corrupted image too"
fi

printf '\ndemo: OK\n'
