#!/usr/bin/env python3
"""Attribute every instruction byte of an ELF's .text to the source file (innermost inlined
frame outside the Rust standard library) and the function symbol it belongs to, with llvm-objdump and llvm-symbolizer; print
the largest. Usage: scripts/size-breakdown.py ELF [N]"""
import collections
import subprocess
import sys

PARTS = [  # (part, substrings of the source path), first match wins
    ("Ed25519 (fwu's verifier + salty's field and SHA-512)", ("image/ed25519", "salty-")),
    ("SHA-256 (fwu's, or sha2)", ("image/sha256.rs", "sha2-", "block-buffer-", "digest-", "generic-array-")),
    ("image scan and key ring", ("image/",)),
    ("boot log (state)", ("state/", "record.rs")),
    ("boot flow and swap (fwu-bootloader)", ("fwu-bootloader", "bootloader/src")),
    ("layout", ("layout.rs",)),
    ("board (QEMU driver, jump, vectors)", ("qemu-mps2", "cortex-m")),
    ("mem* (fwu-tiny-mem or compiler_builtins)", ("tiny-mem", "mem/impls", "arm.rs")),
]


def part_of(path):
    for name, keys in PARTS:
        if any(k in path for k in keys):
            return name
    return "core library glue (iterators, Option/Result, integer ops) and unattributed"


elf = sys.argv[1]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
dis = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", elf],
                     capture_output=True, text=True, check=True).stdout
addrs = sorted({int(l.split(":")[0], 16) for l in dis.splitlines()
                if l[:1] == " " and ":" in l and l.split(":")[0].strip().isalnum()
                and all(c in "0123456789abcdef" for c in l.split(":")[0].strip())})
sizes = [min(b - a, 4) for a, b in zip(addrs, addrs[1:])] + [2]
out = subprocess.run(["llvm-symbolizer", "--obj=" + elf, "--inlining=true", "--functions=linkage", "--demangle"],
                     input="\n".join(hex(a) for a in addrs), capture_output=True, text=True).stdout
by_file, by_fn, by_part = collections.Counter(), collections.Counter(), collections.Counter()
for size, block in zip(sizes, out.strip().split("\n\n")):
    frames = block.split("\n")
    # Frames come innermost first, as (function, location) pairs: attribute the byte to the
    # innermost frame outside the Rust standard library, so that inlined core glue (iterators,
    # Option, integer operations) counts for the code that used it.
    pairs = list(zip(frames[0::2], frames[1::2])) or [("?", "?")]
    own = [f for f in pairs if "/rustc/" not in f[1] and "/library/" not in f[1]]
    lines = list(own[0] if own else pairs[0])
    fn = lines[0]
    loc = lines[1].rsplit(":", 2)[0] if len(lines) > 1 else "?"
    for marker in ("/src/", "/library/"):
        if marker in loc:
            loc = loc.split(marker)[-1]
            break
    crate = ""
    for part in lines[1].split("/"):
        if part.endswith(tuple("0123456789")) and "-" in part:
            crate = part
    by_file[(crate + ":" if crate else "") + loc] += size
    by_part[part_of(lines[1] if len(lines) > 1 else "?")] += size
    by_fn[fn[:100]] += size
print(f"{sum(sizes)} bytes of code")
print("\nby part:")
for k, v in by_part.most_common():
    print(f"{v:7} {k}")
print("\nby source file (innermost inlined frame):")
for k, v in by_file.most_common(top):
    print(f"{v:7} {k}")
print("\nby function symbol:")
for k, v in by_fn.most_common(top):
    print(f"{v:7} {k}")
