#!/usr/bin/env python3
"""Edit the 16 MiB flash file that QEMU maps as the fwu boards' emulated NOR flash.

  flashimg.py create FILE                 16 MiB of 0xFF (an erased device)
  flashimg.py put FILE OFFSET INPUT       copy INPUT's bytes to OFFSET
  flashimg.py flip FILE OFFSET [MASK]     XOR the byte at OFFSET with MASK (default 0x01)
  flashimg.py garbage FILE OFFSET LEN [SEED]  fill LEN bytes at OFFSET with pseudo-random bytes
  flashimg.py cut FILE AT MODEL [SEED]    configure a power cut at write/erase operation AT
  flashimg.py nocut FILE                  clear the control block (no cut)
  flashimg.py dump FILE OFFSET LEN        hex dump

MODEL is Skip, TornPrefix, TornBits, Garbage or After (boards/qemu-mps2/src/fault.rs). The
control block is the file's last 4 KiB sector: b"FWUCUT01", at, model, seed (u32 LE each).
Offsets accept 0x prefixes.
"""
import struct
import sys

SIZE = 16 * 1024 * 1024
SECTOR = 4096
CONTROL = SIZE - SECTOR
MODELS = ["Skip", "TornPrefix", "TornBits", "Garbage", "After"]


def num(s):
    return int(s, 0)


def write_at(path, offset, data):
    if offset < 0 or offset + len(data) > SIZE:
        sys.exit(f"flashimg: {len(data)} bytes at {offset:#x} do not fit the flash")
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, path = argv[1], argv[2]
    args = argv[3:]
    if cmd == "create":
        with open(path, "wb") as f:
            f.write(b"\xff" * SIZE)
    elif cmd == "put":
        with open(args[1], "rb") as f:
            data = f.read()
        write_at(path, num(args[0]), data)
    elif cmd == "flip":
        offset = num(args[0])
        mask = num(args[1]) if len(args) > 1 else 1
        with open(path, "r+b") as f:
            f.seek(offset)
            b = f.read(1)[0]
            f.seek(offset)
            f.write(bytes([b ^ mask]))
    elif cmd == "garbage":
        offset, length = num(args[0]), num(args[1])
        x = num(args[2]) if len(args) > 2 else 1
        data = bytearray()
        for _ in range(length):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            data.append((x >> 16) & 0xFF)
        write_at(path, offset, bytes(data))
    elif cmd == "cut":
        at, model = num(args[0]), args[1]
        seed = num(args[2]) if len(args) > 2 else 1
        if model not in MODELS:
            sys.exit(f"flashimg: unknown model {model}; one of {', '.join(MODELS)}")
        block = b"FWUCUT01" + struct.pack("<III", at, MODELS.index(model), seed)
        write_at(path, CONTROL, block + b"\xff" * (SECTOR - len(block)))
    elif cmd == "nocut":
        write_at(path, CONTROL, b"\xff" * SECTOR)
    elif cmd == "dump":
        offset, length = num(args[0]), num(args[1])
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(length)
        for i in range(0, len(data), 16):
            print(f"{offset + i:08x}: {data[i:i + 16].hex(' ')}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
