#!/usr/bin/env bash
# Issue 12's anchor: embassy-boot 0.7's bootloader (boards/embassy-boot-anchor: prepare_boot over
# fwu's MappedNor, then embassy-boot-stm32's jump), built for QEMU mps2-an386 with the firmware
# workspace's release profile (opt-level "s", LTO, one codegen unit, panic abort), measured as
# fwu's production bootloader is:
#   anchor embassy-boot flash <N> bytes                        vector table + .text + .rodata + .data
#   anchor embassy-boot no-update boot <M> instructions        reset to the jump, exact
# plus a breakdown of M, and M with a 4-byte copy buffer (feature `min-buffer`) instead of the
# 4 KiB one embassy's bootloaders use (`BootLoader::prepare` zeroes it at every boot).
#
# No update: an erased STATE reads as embassy-boot's `Boot` state, so prepare_boot reads one
# word and returns; the application at the start of ACTIVE (`anchor-app`, unsigned: embassy-boot
# checks nothing at boot) exits QEMU with status 0, which proves the jump landed.
#
# Method: QEMU runs with `-singlestep -d exec,nochain`: every translation block is one guest
# instruction and every execution of a block is logged (no chaining between blocks), so each
# `Trace` line is one executed instruction. M is the number of lines from the first (the reset
# handler's first instruction) up to, not including, the first whose PC lies in ACTIVE (the
# application's reset handler): every instruction from reset through the branch into the
# application. Consecutive lines with the same PC count once: a block that QEMU enters and
# leaves before its instruction runs (an exit request) is logged again when it runs, and no
# instruction of these boot paths branches to itself (neither bootloader enables an interrupt).
# The log streams through a FIFO into awk (fwu's 2.3 M-instruction boot would be a 240 MB
# file). No `-icount`: with it QEMU re-executes every block that touches a device. Checked
# against the SysTick figure of scripts/qemu-boot-time.sh (`boot_ns` of fwu's
# `bootloader-test` under `-icount shift=0`, 40-instruction resolution): the trace of that same
# run (its re-executed blocks counted once), from SysTick's start to its read, is 2,490,394
# instructions against 2,490,320.
#
# --fwu: the same measurement of fwu's production bootloader on mps2-an386 (`bootloader`, which
# authenticates components 0 and 1: SHA-256 + Ed25519 each) with the bare-metal test
# application (a few KiB) and the 1,152-byte data component: its flash, and its no-update boot
# from reset to the jump, steady state (second boot) and first boot of a blank state.
# (BENCHMARKS.md's boot times are `core_ns`, `Bootloader::boot` alone, with the larger `app-stage`
# application; the production binary has no build without authentication.)
# Usage: scripts/anchor-embassy-boot.sh [--fwu]
set -euo pipefail
fwu=0
case ${1:-} in
--fwu) fwu=1 ;;
"") ;;
*)
    echo "usage: $0 [--fwu]" >&2
    exit 2
    ;;
esac
# shellcheck source=scripts/qemu-lib.sh
source "$(dirname "$0")/qemu-lib.sh"
qemu_board an386
A=$ROOT/target/qemu/anchor-embassy-boot
mkdir -p "$A"
# embassy-boot's ACTIVE partition in the flash window (fwu's component 0 primary slot): where
# the application runs. Zero-padded lowercase hex, compared as strings by awk.
ACTIVE_FIRST=21010000
ACTIVE_END=21090000

# flash_bytes ELF: vector table + .text + .rodata + .data (its load image), as scripts/size.sh.
flash_bytes() {
    llvm-size -A "$1" | awk '$1 ~ /^\.(vector_table|text|rodata|data)$/ { f += $2 } END { print f + 0 }'
}

# trace_boot ELF FLASH OUT: run ELF on FLASH under the instruction trace; OUT gets the number of
# instructions before the first one in ACTIVE, then one `count symbol` line per symbol.
trace_boot() {
    local elf=$1 flash=$2 out=$3 fifo=$A/trace.fifo rc=0
    rm -f "$fifo"
    mkfifo "$fifo"
    awk -F'[][/]' -v lo="$ACTIVE_FIRST" -v hi="$ACTIVE_END" '
        /^Trace/ && !done {
            pc = "x" $3
            if (pc >= "x" lo && pc < "x" hi) { done = 1; next }
            # A block entered and left before its instruction ran (an exit request) is logged,
            # then logged again when it runs: count one execution per run of the same PC.
            if (pc == prev) { again++; next }
            prev = pc
            n++
            sym = $NF; sub(/^ */, "", sym); per[sym]++
        }
        END {
            print (done ? n : -1)
            print again + 0, "(re-entered blocks)"
            for (s in per) print per[s], s
        }' <"$fifo" >"$out" &
    local reader=$!
    timeout 300 qemu-system-arm -singlestep -d exec,nochain -D "$fifo" \
        -machine "$MACHINE,memory-backend=fl" \
        -object "memory-backend-file,id=fl,mem-path=$flash,size=16M,share=on" \
        -display none -monitor none -serial stdio \
        -semihosting-config enable=on,target=native \
        -kernel "$elf" </dev/null >"$out.console" 2>&1 || rc=$?
    wait "$reader"
    rm -f "$fifo"
    if [[ $rc -ne 0 || $(head -n 1 "$out") -lt 0 ]]; then
        cat "$out.console" >&2
        echo "anchor-embassy-boot: $(basename "$elf") did not reach the application (QEMU exit $rc)" >&2
        exit 1
    fi
}

# instructions OUT: the count; in_symbols OUT REGEX: the instructions in symbols matching REGEX.
instructions() { head -n 1 "$1"; }
in_symbols() { tail -n +3 "$1" | awk -v re="$2" '$2 ~ re { n += $1 } END { print n + 0 }'; }

build_anchor() {
    local features=()
    [[ -n ${1:-} ]] && features=(--features "$1")
    (cd "$ROOT/boards" && cargo build --quiet --release -p fwu-embassy-boot-anchor --target "$TARGET" \
        --bin embassy-boot-anchor --bin anchor-app "${features[@]}")
}

build_anchor ""
cp "$ROOT/boards/target/$TARGET/release/embassy-boot-anchor" "$A/embassy-boot-anchor.elf"
cp "$ROOT/boards/target/$TARGET/release/anchor-app" "$A/anchor-app.elf"
build_anchor min-buffer
cp "$ROOT/boards/target/$TARGET/release/embassy-boot-anchor" "$A/embassy-boot-anchor-min-buffer.elf"

fmt=$(llvm-nm -C "$A/embassy-boot-anchor.elf" | grep -c 'core::fmt' || true)
objcopy_bin "$A/anchor-app.elf" "$A/anchor-app.bin"
F=$A/anchor.flash
"${FLASHIMG[@]}" create "$F"
"${FLASHIMG[@]}" put "$F" "$APP_PRIMARY" "$A/anchor-app.bin"
trace_boot "$A/embassy-boot-anchor.elf" "$F" "$A/boot.trace"
# prepare_boot only reads on this path (the state is erased, nothing is written), so the same
# flash serves the second variant.
trace_boot "$A/embassy-boot-anchor-min-buffer.elf" "$F" "$A/boot-min-buffer.trace"

t=$A/boot.trace
total=$(instructions "$t")
reset=$(in_symbols "$t" '^(Reset|__pre_init|DefaultPreInit)$')
zero=$(in_symbols "$t" 'mem(clr|set)')
jump=$(in_symbols "$t" '(4load17|bootload)')
echo "anchor embassy-boot flash $(flash_bytes "$A/embassy-boot-anchor.elf") bytes"
echo "anchor embassy-boot no-update boot $total instructions"
echo "  (cortex-m-rt reset handler $reset, zeroing the 4 KiB copy buffer $zero, prepare_boot and the rest of main $((total - reset - zero - jump)), jump $jump; core::fmt symbols: $fmt)"
echo "  with a 4-byte copy buffer (feature min-buffer): flash $(flash_bytes "$A/embassy-boot-anchor-min-buffer.elf") bytes, no-update boot $(instructions "$A/boot-min-buffer.trace") instructions"

if ((fwu)); then
    W=$A/fwu
    mkdir -p "$W"
    WORK=$W
    qemu_build_bootloader >/dev/null
    qemu_build_app f-v1 1.0.0 "" >/dev/null
    qemu_sign "$W/f-v1.bin" "$W/f-v1.signed" 1.0.0 1 "$APP_SLOT_SIZE" 0x200
    printf 'fwu data component 1, version 1.0.0\n%.0s' {1..32} >"$W/f-data.bin"
    qemu_sign "$W/f-data.bin" "$W/f-data.signed" 1.0.0 1 "$DATA_SLOT_SIZE" 0x20
    G=$W/fwu.flash
    "${FLASHIMG[@]}" create "$G"
    "${FLASHIMG[@]}" put "$G" "$APP_PRIMARY" "$W/f-v1.signed"
    "${FLASHIMG[@]}" put "$G" "$DATA_PRIMARY" "$W/f-data.signed"
    # The first boot of a blank state writes its first record; the second is the steady state.
    trace_boot "$W/bootloader-production.elf" "$G" "$W/first.trace"
    trace_boot "$W/bootloader-production.elf" "$G" "$W/steady.trace"
    echo "fwu production bootloader flash $(flash_bytes "$W/bootloader-production.elf") bytes"
    echo "fwu production bootloader no-update boot $(instructions "$W/steady.trace") instructions (authenticates components 0 and 1, images of $(stat -c %s "$W/f-v1.bin") and $(stat -c %s "$W/f-data.bin") bytes; first boot of a blank state: $(instructions "$W/first.trace"))"
fi
