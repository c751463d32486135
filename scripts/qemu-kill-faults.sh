#!/usr/bin/env bash
# Random power cuts by SIGKILL: N runs, each on a fresh flash (v1 active) driving an update to
# v2 through the embassy demo application (download over semihosting with LOAD, finish,
# install, reboot, trial, accept, clean), killing QEMU at a random moment (uniform over the
# duration of an uninterrupted update), then restarting QEMU on the same flash file and
# checking from the console that:
#   * the bootloader refuses no component 0 image and a signed application runs;
#   * the states it reports are ones the spec allows for how far the update got;
#   * nothing acknowledged is lost: after `finish -> PSA_SUCCESS` the candidate survives (or
#     the install went further), after `install -> PSA_SUCCESS_REBOOT` v2 runs on TRIAL or the
#     trial was reverted (v1, FAILED), after `accept -> PSA_SUCCESS` v2 runs UPDATED/READY.
# Prints `N passed, M failed` last; exits non-zero on any failure. Logs: WORK/kill-logs/.
# Usage: scripts/qemu-kill-faults.sh N [an386|an505] [SEED]
set -euo pipefail
N=${1:?usage: $0 N [an386|an505] [SEED]}
BOARD_ARG=${2:-an386}
WORK=${WORK:-$(cd "$(dirname "$0")/.." && pwd)/target/qemu/$BOARD_ARG/kill}
DEMO_LIB_ONLY=1
# shellcheck source=scripts/demo-qemu.sh
source "$(dirname "$0")/demo-qemu.sh" "$BOARD_ARG"
qemu_build_bootloader
demo_build_app v1 1.0.0 pass
demo_build_app v2 2.0.0 pass
qemu_sign "$WORK/v1.bin" "$WORK/v1.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200
qemu_sign "$WORK/v2.bin" "$WORK/v2.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200
printf 'fwu data component 1, version 1.0.0\n%.0s' {1..32} >"$WORK/data.bin"
qemu_sign "$WORK/data.bin" "$WORK/data.signed" 1.0.0 1 $DATA_SLOT_SIZE 0x20
demo_flash "$WORK/kill-base.flash"
rm -rf "$WORK/kill-logs"
python3 "$ROOT/scripts/demo_host.py" kill "$N" "$WORK" "$BOARD" ${3:+"$3"}
