#!/usr/bin/env bash
# End-to-end smoke of the real bootloader and test application binaries in QEMU on one board,
# with the file-backed emulated flash:
#   0) the flash driver's on-target self-test (NOR rules, bounds, counters) passes, and the
#      SysTick embassy-time driver keeps time under the embassy executor;
#   a) v1 boots and exits 0;
#   b) a corrupted primary image is refused (QEMU exits 3);
#   c) v1 stages v2 (CANDIDATE + Staged transaction) and resets; the bootloader installs v2
#      on trial with the watchdog armed; v2 runs and exits 0;
#   d) a cold restart of that device (v2 never accepted) rolls back to v1;
#   e) a v2 that hangs is reset by the watchdog and the bootloader rolls back to v1;
#   f) a bit flipped in the state is repaired; g) a corrupt state still boots what verifies;
#   h) the production bootloader (no console) does c) and d) and refuses a corrupted primary.
# Usage: scripts/qemu-smoke.sh an386|an505      (logs and images under target/qemu/<board>/)
set -euo pipefail
# shellcheck source=scripts/qemu-lib.sh
source "$(dirname "$0")/qemu-lib.sh"
qemu_board "${1:-}"
start=$SECONDS

fail() {
    echo "qemu-smoke[$BOARD]: FAIL: $*" >&2
    exit 1
}
# expect LOG PATTERN...: every extended regex must match a line of LOG
expect() {
    local log=$1
    shift
    for p in "$@"; do
        grep -Eq -- "$p" "$log" || { sed 's/^/    /' "$log" >&2; fail "$(basename "$log"): no line matches /$p/"; }
    done
}
# run NAME EXPECTED_RC: boot $WORK/NAME.flash, log to $WORK/NAME.log
run() {
    local rc=0
    qemu_run "$WORK/$1.flash" "$WORK/$1.log" 60 || rc=$?
    [[ $rc -eq $2 ]] || { sed 's/^/    /' "$WORK/$1.log" >&2; fail "$1: QEMU exit code $rc, expected $2"; }
}

echo "qemu-smoke[$BOARD]: building bootloader and test applications for $TARGET"
qemu_build_bootloader
# Signed, v1-stage spans 6 sectors and v2 4: the swap moves 6 sectors each way.
qemu_build_app v1-exit 1.0.0 "" 9216
qemu_build_app v1-stage 1.0.0 app-stage
qemu_build_app v2-exit 2.0.0 "" 13312
qemu_build_app v2-hang 2.0.0 app-hang 13312
for v in v1-exit v1-stage; do qemu_sign "$WORK/$v.bin" "$WORK/$v.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200; done
for v in v2-exit v2-hang; do qemu_sign "$WORK/$v.bin" "$WORK/$v.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200; done
printf 'fwu data component 1, version 1.0.0\n%.0s' {1..32} >"$WORK/data.bin"
qemu_sign "$WORK/data.bin" "$WORK/data.signed" 1.0.0 1 $DATA_SLOT_SIZE 0x20

# new_flash NAME PRIMARY_IMAGE [STAGED_IMAGE]
new_flash() {
    local f=$WORK/$1.flash
    "${FLASHIMG[@]}" create "$f"
    "${FLASHIMG[@]}" put "$f" $APP_PRIMARY "$WORK/$2.signed"
    "${FLASHIMG[@]}" put "$f" $DATA_PRIMARY "$WORK/data.signed"
    [[ -z ${3:-} ]] || "${FLASHIMG[@]}" put "$f" $APP_STAGING "$WORK/$3.signed"
}

# 0) flash driver self-test on a file-backed flash
"${FLASHIMG[@]}" create "$WORK/selftest.flash"
rc=0
qemu_run_elf "$WORK/selftest.elf" "$WORK/selftest.flash" "$WORK/selftest.log" 60 || rc=$?
[[ $rc -eq 0 ]] || { sed 's/^/    /' "$WORK/selftest.log" >&2; fail "selftest: QEMU exit code $rc"; }
expect "$WORK/selftest.log" '^fwu-selftest: PASS'
(cd "$ROOT/boards" && cargo build --quiet --release -p "$PKG" --target "$TARGET" --features embassy --bin timecheck)
rc=0
qemu_run_elf "$ROOT/boards/target/$TARGET/release/timecheck" "$WORK/selftest.flash" "$WORK/timecheck.log" 60 || rc=$?
[[ $rc -eq 0 ]] || { sed 's/^/    /' "$WORK/timecheck.log" >&2; fail "timecheck: QEMU exit code $rc"; }
expect "$WORK/timecheck.log" '^fwu-timecheck: PASS'
echo "qemu-smoke[$BOARD]: 0) flash driver self-test and time driver check: ok"

# a) plain boot
new_flash a v1-exit
run a 0
expect "$WORK/a.log" '^fwu-boot: start .*boot=1 cold=1' \
    '^fwu-boot: report action=None .*trial=0 state=fresh invalid=0x00 refused=none' \
    '^fwu-app: version=1.0.0 mode=Exit' '^fwu-app: exit code=0'
echo "qemu-smoke[$BOARD]: a) v1 boots and exits 0: ok"

# b) corrupted primary image (one payload byte flipped)
new_flash b v1-exit
"${FLASHIMG[@]}" flip "$WORK/b.flash" $((APP_PRIMARY + 0x400))
run b 3
expect "$WORK/b.log" '^fwu-boot: report .*invalid=0x01 refused=0:Image\(HashMismatch\)' \
    '^fwu-boot: halt reason=component-0-refused'
! grep -q '^fwu-app:' "$WORK/b.log" || fail "b: the application ran"
echo "qemu-smoke[$BOARD]: b) corrupted primary refused: ok"

# c) staged v2 installed on trial, runs
new_flash c v1-stage v2-exit
run c 0
expect "$WORK/c.log" '^fwu-app: version=1.0.0 mode=Stage' '^fwu-app: staged version=2.0.0' \
    '^fwu-boot: start .*boot=2 cold=0' \
    '^fwu-boot: report action=Installed members=0x01 error=0 trial=1 state=ok invalid=0x00 refused=none' \
    '^fwu-boot: watchdog ms=' '^fwu-app: version=2.0.0 mode=Exit' '^fwu-app: exit code=0'
echo "qemu-smoke[$BOARD]: c) staged v2 installed on trial and run: ok"

# d) power cycle during the trial without accept: rollback to v1
cp "$WORK/c.flash" "$WORK/d.flash"
run d 0
expect "$WORK/d.log" '^fwu-boot: start .*boot=1 cold=1' \
    '^fwu-boot: report action=Reverted members=0x01 error=-4097 trial=0 state=ok invalid=0x00 refused=none' \
    '^fwu-app: version=1.0.0 mode=Stage' '^fwu-app: state=Failed error=-4097'
echo "qemu-smoke[$BOARD]: d) unaccepted trial rolled back after a power cycle: ok"

# e) v2 hangs on trial: watchdog reset, rollback to v1
new_flash e v1-stage v2-hang
run e 0
expect "$WORK/e.log" '^fwu-boot: report action=Installed members=0x01' '^fwu-app: version=2.0.0 mode=Hang' \
    '^fwu-boot: start .*boot=3 cold=0' \
    '^fwu-boot: report action=Reverted members=0x01 error=-4097 trial=0 state=ok invalid=0x00 refused=none' \
    '^fwu-app: state=Failed error=-4097'
[[ $(grep -c '^fwu-app: version=1.0.0' "$WORK/e.log") -eq 2 ]] || fail "e: v1 did not run again after the rollback"
echo "qemu-smoke[$BOARD]: e) hanging v2 reset by the watchdog and rolled back: ok"

# f) a bit flipped at rest in the newest boot record of copy A during the trial: the other copy
# holds the state, the bad copy is rewritten, and the unaccepted trial is still rolled back.
# Boot log slots are 1288 bytes (docs/on-flash-contract.md); the trial's record is in slot 1.
cp "$WORK/c.flash" "$WORK/f.flash"
"${FLASHIMG[@]}" flip "$WORK/f.flash" $((1288 + 9)) 0x04
run f 0
expect "$WORK/f.log" \
    '^fwu-boot: report action=Reverted members=0x01 error=-4097 trial=0 state=repaired invalid=0x00 refused=none' \
    '^fwu-app: version=1.0.0 mode=Stage' '^fwu-app: state=Failed error=-4097'
echo "qemu-smoke[$BOARD]: f) flipped bit in the state repaired, trial still rolled back: ok"

# g) both boot log copies garbage: nothing is trusted, nothing is written, the verified v1 runs.
cp "$WORK/a.flash" "$WORK/g.flash"
"${FLASHIMG[@]}" garbage "$WORK/g.flash" 0 0x4000 7
run g 0
expect "$WORK/g.log" '^fwu-boot: report action=None .*state=corrupt invalid=0x00 refused=none' \
    '^fwu-app: version=1.0.0 mode=Exit' '^fwu-app: exit code=0'
echo "qemu-smoke[$BOARD]: g) corrupt state reported, verified image still boots: ok"

# h) the production bootloader: silent, the same core. Install on trial, rollback after a power
# cycle, a corrupted primary refused (QEMU exits 3).
new_flash h v1-stage v2-exit
rc=0
qemu_run_elf "$WORK/bootloader-production.elf" "$WORK/h.flash" "$WORK/h.log" 60 || rc=$?
[[ $rc -eq 0 ]] || { sed 's/^/    /' "$WORK/h.log" >&2; fail "h: QEMU exit code $rc, expected 0"; }
expect "$WORK/h.log" '^fwu-app: version=1.0.0 mode=Stage' '^fwu-app: staged version=2.0.0' \
    '^fwu-app: version=2.0.0 mode=Exit' '^fwu-app: exit code=0'
! grep -q '^fwu-boot:' "$WORK/h.log" || fail "h: the production bootloader printed"
qemu_run_elf "$WORK/bootloader-production.elf" "$WORK/h.flash" "$WORK/h2.log" 60 || fail "h: restart failed"
expect "$WORK/h2.log" '^fwu-app: version=1.0.0 mode=Stage' '^fwu-app: state=Failed error=-4097'
new_flash h3 v1-exit
"${FLASHIMG[@]}" flip "$WORK/h3.flash" $((APP_PRIMARY + 0x400))
rc=0
qemu_run_elf "$WORK/bootloader-production.elf" "$WORK/h3.flash" "$WORK/h3.log" 60 || rc=$?
[[ $rc -eq 3 ]] || { sed 's/^/    /' "$WORK/h3.log" >&2; fail "h: corrupted primary: QEMU exit code $rc, expected 3"; }
! grep -q '^fwu-app:' "$WORK/h3.log" || fail "h: the application ran over a corrupted primary"
echo "qemu-smoke[$BOARD]: h) production bootloader: install on trial, rollback, refusal: ok"

echo "qemu-smoke[$BOARD]: PASS (9 scenarios, $((SECONDS - start)) s)"
