#!/usr/bin/env python3
"""Attribute every instruction byte of an ELF's .text to the source file (innermost inlined
frame) and the function symbol it belongs to, with llvm-objdump and llvm-symbolizer; print
the largest. Usage: scripts/size-breakdown.py ELF [N]"""
import collections
import subprocess
import sys

elf = sys.argv[1]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
dis = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", elf],
                     capture_output=True, text=True, check=True).stdout
addrs = sorted({int(l.split(":")[0], 16) for l in dis.splitlines()
                if l[:1] == " " and ":" in l and l.split(":")[0].strip().isalnum()
                and all(c in "0123456789abcdef" for c in l.split(":")[0].strip())})
sizes = [min(b - a, 4) for a, b in zip(addrs, addrs[1:])] + [2]
out = subprocess.run(["llvm-symbolizer", "--obj=" + elf, "--inlining=false", "--functions=linkage", "--demangle"],
                     input="\n".join(hex(a) for a in addrs), capture_output=True, text=True).stdout
by_file, by_fn = collections.Counter(), collections.Counter()
for size, block in zip(sizes, out.strip().split("\n\n")):
    lines = block.split("\n")
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
    by_fn[fn[:100]] += size
print(f"{sum(sizes)} bytes of code")
print("\nby source file (innermost inlined frame):")
for k, v in by_file.most_common(top):
    print(f"{v:7} {k}")
print("\nby function symbol:")
for k, v in by_fn.most_common(top):
    print(f"{v:7} {k}")
