#!/usr/bin/env bash
# Deterministic power-cut sweep of the real bootloader in QEMU (install scenario of
# qemu-smoke.sh c): v1 stages a signed v2, resets, the bootloader installs it.
#
# 1. A clean run numbers every flash write/erase from the QEMU cold start and prints where the
#    install boot starts and ends (`fwu-boot: start ... ops=S`, `fwu-boot: report ... ops=E`).
# 2. For every cut model M in $FAULT_MODELS and every operation k in 1..E (v1's staging writes
#    and the whole install), a fresh copy of the device is run with a cut at k
#    (scripts/flashimg.py cut; the firmware applies M's partial effect and exits QEMU with 77),
#    then QEMU is restarted on the same flash file without a cut. That clean boot must print a
#    valid report that refuses nothing, run v1 or v2, and the run must end with exit code 0.
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

# Clean run: learn the operation numbers.
cp "$BASE" "$OUT/clean.flash"
rc=0
qemu_run "$OUT/clean.flash" "$OUT/clean.log" || rc=$?
[[ $rc -eq 0 ]] || { cat "$OUT/clean.log" >&2; fail "clean run: exit code $rc"; }
grep -q '^fwu-app: version=2.0.0' "$OUT/clean.log" || fail "clean run did not run v2"
S=$(sed -n 's/^fwu-boot: start .*boot=2 .*ops=\([0-9]*\).*/\1/p' "$OUT/clean.log")
E=$(grep '^fwu-boot: report action=Installed' "$OUT/clean.log" | sed -n 's/.* ops=\([0-9]*\)$/\1/p')
T=$(sed -n 's/^fwu-app: exit .* ops=\([0-9]*\) .*/\1/p' "$OUT/clean.log")
[[ -n $S && -n $E && -n $T ]] || fail "cannot read operation numbers from the clean run"
echo "qemu-faults[$BOARD]: clean run: staging ops 1..$S, install boot ops $((S + 1))..$E, $T ops in all"

# one_cut MODEL K: writes $OUT/MODEL-K.result ("ok <first version> <first action>" or "FAIL ...").
one_cut() {
    local model=$1 k=$2 f=$OUT/$1-$2 rc=0
    cp "$BASE" "$f.flash"
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

points=0
for model in $MODELS; do
    for ((k = 1; k <= E; k++)); do
        while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
        one_cut "$model" "$k" &
        points=$((points + 1))
    done
done
wait

failures=0
for model in $MODELS; do
    v1=0 v2=0 bad=0
    for ((k = 1; k <= E; k++)); do
        read -r verdict version _ <"$OUT/$model-$k.result"
        if [[ $verdict != ok ]]; then
            bad=$((bad + 1))
            echo "qemu-faults[$BOARD]: $model cut at op $k: $(cat "$OUT/$model-$k.result") (logs: $OUT/$model-$k.*log)" >&2
        elif [[ $version == 1.0.0 ]]; then
            v1=$((v1 + 1))
        else
            v2=$((v2 + 1))
        fi
    done
    failures=$((failures + bad))
    echo "qemu-faults[$BOARD]: $model: $E cut points; next boot ran v1 first $v1 times, v2 $v2 times; failures $bad"
done
elapsed=$((SECONDS - start))
if ((failures > 0)); then
    fail "$failures of $points cut points failed ($elapsed s)"
fi
echo "qemu-faults[$BOARD]: PASS: $points cut points ($MODELS), 0 failures, $elapsed s"
