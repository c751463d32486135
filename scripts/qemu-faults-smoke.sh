#!/usr/bin/env bash
# Deterministic power-cut sweeps of the real bootloader in QEMU, two scenarios:
#   install: v1 stages a signed v2 and resets, the bootloader installs v2 (qemu-smoke.sh c);
#   revert:  the device left by a clean install run (v2 ran on trial, never accepted) is
#            powered up again, and the bootloader rolls back to v1 (qemu-smoke.sh d).
#
# 1. A clean run numbers every flash write/erase from the QEMU cold start; the bootloader prints
#    the count at each boot's start and report (`fwu-boot: start|report ... ops=N`).
# 2. For every cut model M in $FAULT_MODELS and every operation k of the scenario (install:
#    v1's staging writes and the whole install boot; revert: the whole revert boot), a fresh
#    copy of the device is run with a cut at k (the control block, as scripts/flashimg.py cut;
#    the firmware applies M's partial effect and exits QEMU with 77), then QEMU is restarted on
#    the same flash file without a cut. That clean boot must print a valid report that refuses
#    nothing, run v1 or v2, and the run must end with exit code 0.
#
# Usage: scripts/qemu-faults-smoke.sh an386|an505
#   FAULT_MODELS="Skip TornPrefix TornBits" (default; also Garbage, After)   FAULT_JOBS=2
set -euo pipefail
# shellcheck source=scripts/qemu-lib.sh
source "$(dirname "$0")/qemu-lib.sh"
qemu_board "${1:-}"
MODELS=${FAULT_MODELS:-Skip TornPrefix TornBits}
JOBS=${FAULT_JOBS:-2}
start=$SECONDS
OUT=$WORK/faults
rm -rf "$OUT"
mkdir -p "$OUT"

fail() {
    echo "qemu-faults[$BOARD]: FAIL: $*" >&2
    exit 1
}

echo "qemu-faults[$BOARD]: building bootloader and test applications for $TARGET"
qemu_build_bootloader
qemu_build_app f-v1 1.0.0 app-stage
qemu_build_app f-v2 2.0.0 "" 13312
qemu_sign "$WORK/f-v1.bin" "$WORK/f-v1.signed" 1.0.0 1 $APP_SLOT_SIZE 0x200
qemu_sign "$WORK/f-v2.bin" "$WORK/f-v2.signed" 2.0.0 2 $APP_SLOT_SIZE 0x200
printf 'fwu data component 1, version 1.0.0\n%.0s' {1..32} >"$WORK/f-data.bin"
qemu_sign "$WORK/f-data.bin" "$WORK/f-data.signed" 1.0.0 1 $DATA_SLOT_SIZE 0x20
BASE=$OUT/base.flash
"${FLASHIMG[@]}" create "$BASE"
"${FLASHIMG[@]}" put "$BASE" $APP_PRIMARY "$WORK/f-v1.signed"
"${FLASHIMG[@]}" put "$BASE" $DATA_PRIMARY "$WORK/f-data.signed"
"${FLASHIMG[@]}" put "$BASE" $APP_STAGING "$WORK/f-v2.signed"

# Clean run of the install: learn the operation numbers.
cp "$BASE" "$OUT/clean.flash"
rc=0
qemu_run "$OUT/clean.flash" "$OUT/clean.log" || rc=$?
[[ $rc -eq 0 ]] || { cat "$OUT/clean.log" >&2; fail "clean install run: exit code $rc"; }
grep -q '^fwu-app: version=2.0.0' "$OUT/clean.log" || fail "clean install run did not run v2"
S=$(sed -n 's/^fwu-boot: start .*boot=2 .*ops=\([0-9]*\).*/\1/p' "$OUT/clean.log")
E=$(grep '^fwu-boot: report action=Installed' "$OUT/clean.log" | sed -n 's/.* ops=\([0-9]*\)$/\1/p')
[[ -n $S && -n $E ]] || fail "cannot read operation numbers from the clean install run"
echo "qemu-faults[$BOARD]: install: staging ops 1..$S, install boot ops $((S + 1))..$E"

# The revert scenario starts from the device the clean install left (trial booted, not accepted).
cp "$OUT/clean.flash" "$OUT/revert-base.flash"
cp "$OUT/clean.flash" "$OUT/revert-clean.flash"
rc=0
qemu_run "$OUT/revert-clean.flash" "$OUT/revert-clean.log" || rc=$?
[[ $rc -eq 0 ]] || { cat "$OUT/revert-clean.log" >&2; fail "clean revert run: exit code $rc"; }
R=$(grep '^fwu-boot: report action=Reverted' "$OUT/revert-clean.log" | sed -n 's/.* ops=\([0-9]*\)$/\1/p')
[[ -n $R ]] || fail "cannot read operation numbers from the clean revert run"
echo "qemu-faults[$BOARD]: revert: revert boot ops 1..$R"

# one_cut SCENARIO BASE MODEL K: writes $OUT/SCENARIO-MODEL-K.result
# ("ok <first version run> <first report action>" or "FAIL ...").
one_cut() {
    local base=$2 model=$3 k=$4 f=$OUT/$1-$3-$4 rc=0
    cp "$base" "$f.flash"
    qemu_cut "$f.flash" "$k" "$model" "$k"
    qemu_run "$f.flash" "$f.cut.log" || rc=$?
    if [[ $rc -ne 77 ]] || ! grep -q "^fwu-cut: op=$k " "$f.cut.log"; then
        echo "FAIL cut-run-exit-$rc" >"$f.result"
        return
    fi
    qemu_nocut "$f.flash"
    rc=0
    qemu_run "$f.flash" "$f.log" || rc=$?
    local report version action
    report=$(grep -m1 '^fwu-boot: report ' "$f.log" || true)
    version=$(sed -n 's/^fwu-app: version=\([^ ]*\) .*/\1/p' "$f.log" | head -n 1)
    action=$(sed -n 's/^fwu-boot: report action=\([A-Za-z]*\) .*/\1/p' "$f.log" | head -n 1)
    if [[ $rc -ne 0 ]]; then
        echo "FAIL exit-$rc" >"$f.result"
    elif [[ $report != *"invalid=0x00 refused=none"* ]] || grep -q '^fwu-boot: halt' "$f.log"; then
        echo "FAIL report: $report" >"$f.result"
    elif [[ $version != 1.0.0 && $version != 2.0.0 ]]; then
        echo "FAIL version '$version'" >"$f.result"
    else
        echo "ok $version $action" >"$f.result"
        rm -f "$f.flash"
    fi
}

SCENARIOS=("install $BASE $E" "revert $OUT/revert-base.flash $R")
points=0
for sc in "${SCENARIOS[@]}"; do
    read -r name base last <<<"$sc"
    for model in $MODELS; do
        for ((k = 1; k <= last; k++)); do
            while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
            one_cut "$name" "$base" "$model" "$k" &
            points=$((points + 1))
        done
    done
done
wait

failures=0
for sc in "${SCENARIOS[@]}"; do
    read -r name base last <<<"$sc"
    for model in $MODELS; do
        v1=0 v2=0 bad=0
        for ((k = 1; k <= last; k++)); do
            read -r verdict version _ <"$OUT/$name-$model-$k.result"
            if [[ $verdict != ok ]]; then
                bad=$((bad + 1))
                echo "qemu-faults[$BOARD]: $name, $model cut at op $k: $(cat "$OUT/$name-$model-$k.result") (logs: $OUT/$name-$model-$k.*log)" >&2
            elif [[ $version == 1.0.0 ]]; then
                v1=$((v1 + 1))
            else
                v2=$((v2 + 1))
            fi
        done
        failures=$((failures + bad))
        echo "qemu-faults[$BOARD]: $name, $model: $last cut points; the next boot ran v1 $v1 times, v2 $v2 times; failures $bad"
    done
done
elapsed=$((SECONDS - start))
if ((failures > 0)); then
    fail "$failures of $points cut points failed ($elapsed s)"
fi
echo "qemu-faults[$BOARD]: PASS: $points cut points (install + revert; $MODELS), 0 failures, $elapsed s"
