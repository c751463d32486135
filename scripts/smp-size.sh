#!/usr/bin/env bash
# The SMP server's (fwu-smp) code size and RAM alone on the Cortex-M4 (thumbv7em-none-eabihf,
# the firmware's release profile: opt-level "s", LTO, one codegen unit, panic abort), from
# boards/smp-probe:
#   flash: vector table + .text + .rodata + .data of the probe (the real `serve::<1028, 512>`
#          over a mock UART and a mock update service fed by volatile reads) minus the same of
#          the `baseline` build (the same mocks driven without the server);
#   RAM:   .data + .bss of the probe, plus the `serve` future and the `Server` (their sizes
#          printed by the `future-size` build in QEMU, same types, target and profile), minus
#          the configured buffers (1,028-byte decoder, 512-byte response, 64-byte input).
#          Stack frames of the synchronous code under `serve` are not counted.
# Usage: scripts/smp-size.sh [--symbols]   (--symbols: also the 15 largest fwu_smp/minicbor/crc symbols)
set -euo pipefail
cd "$(dirname "$0")/../boards"
target=thumbv7em-none-eabihf
elf=target/$target/release/fwu-smp-probe
buffers=$((1028 + 512 + 64))

section() { llvm-size -A "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
flash() { echo $(( $(section "$1" .vector_table) + $(section "$1" .text) + $(section "$1" .rodata) + $(section "$1" .data) )); }
statics() { echo $(( $(section "$1" .data) + $(section "$1" .bss) )); }

build() { cargo build --quiet --release -p fwu-smp-probe --target "$target" --features "$1"; }

build baseline
base=$(flash "$elf")
build ""
probe=$(flash "$elf")
ram_statics=$(statics "$elf")
probe_elf=$(mktemp)
trap 'rm -f "$probe_elf"' EXIT
cp "$elf" "$probe_elf"
build future-size
out=$(timeout 60 qemu-system-arm -machine mps2-an386 -display none -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$elf" </dev/null)
read -r future server < <(sed -n 's/^smp-probe: serve future \([0-9]*\) bytes server \([0-9]*\) bytes$/\1 \2/p' <<<"$out")
[[ -n ${future:-} && -n ${server:-} ]] || { echo "$out" >&2; echo "smp-size: no future size from QEMU" >&2; exit 1; }

echo "smp server flash $((probe - base)) bytes (baseline $base, probe $probe)"
echo "smp server ram $((ram_statics + future + server - buffers)) bytes beyond the buffers (.data+.bss $ram_statics, serve future $future, Server $server, buffers $buffers)"
if [[ ${1:-} == --symbols ]]; then
    echo "largest fwu_smp/minicbor/crc symbols of the probe (bytes):"
    llvm-nm -C -S --size-sort "$probe_elf" | grep -E ' (fwu_smp|minicbor|crc)::' | tail -n 15 | sort -k2,2r |
        while read -r _ size _ name; do printf '%6d %s\n' "$((16#$size))" "$name"; done
fi
