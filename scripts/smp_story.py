#!/usr/bin/env python3
"""The SMP story on QEMU with the stock `smpclient` library (scripts/qemu-smp.sh builds the
images and runs this in .venv).

  smp_story.py WORK BOARD     WORK/smp.flash holds v1; WORK/*.signed are the images

QEMU runs the fwu bootloader and the embassy demo application with UART0 on a pseudo-terminal
(`-serial pty`); smpclient opens it as a serial port. Exit status 0 when every step happened
as described; a transcript with PASS/FAIL per step.
"""
import asyncio
import hashlib
import os
import re
import subprocess
import sys
import time

from smpclient import SMPClient
from smpclient.exceptions import SMPUploadError
from smpclient.generics import error, success
from smpclient.requests.image_management import ImageStatesRead, ImageStatesWrite
from smpclient.requests.os_management import EchoWrite, MCUMgrParametersRead, ResetWrite
from smpclient.transport.serial import SMPSerialTransport

MACHINES = {"an386": "mps2-an386", "an505": "mps2-an505"}


class Deviation(Exception):
    """A step did not happen as described."""


def start_qemu(work, board):
    cmd = [
        "qemu-system-arm", "-machine", f"{MACHINES[board]},memory-backend=fl",
        "-object", f"memory-backend-file,id=fl,mem-path={os.path.join(work, 'smp.flash')},"
                   "size=16M,share=on",
        "-display", "none", "-monitor", "none", "-serial", "pty",
        "-semihosting-config", "enable=on,target=native",
        "-kernel", os.path.join(work, "bootloader.elf"),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    line = proc.stdout.readline().decode()
    m = re.search(r"(/dev/pts/\d+)", line)
    if not m:
        proc.kill()
        raise Deviation(f"QEMU did not report its pseudo-terminal: {line!r}")
    return proc, m.group(1)


def image_hash(path):
    """The image's SHA-256 as its hash TLV holds it: over header, payload and protected TLVs."""
    data = open(path, "rb").read()
    hdr_size = int.from_bytes(data[8:10], "little")
    prot = int.from_bytes(data[10:12], "little")
    img_size = int.from_bytes(data[12:16], "little")
    return hashlib.sha256(data[: hdr_size + img_size + prot]).digest()


def count_writes(client):
    """Count the bytes smpclient writes to the serial port from now on (a one-element list).
    Reaches into smpclient's transport: for the measurement only."""
    conn = client._transport._conn
    sent = [0]
    write = conn.write

    def counted(data):
        sent[0] += len(data)
        return write(data)

    conn.write = counted
    return sent


def slot(states, image, slot_no):
    for s in states.images:
        if s.image == image and s.slot == slot_no:
            return s
    return None


class Story:
    def __init__(self):
        self.passed = 0
        self.t0 = time.monotonic()

    async def step(self, name, coro):
        try:
            await coro
        except Deviation as e:
            print(f"FAIL: {name}: {e}", flush=True)
            raise
        self.passed += 1
        print(f"PASS: {name}   [{time.monotonic() - self.t0:.1f} s]", flush=True)


async def request(client, req, timeout=10.0, tries=1):
    for attempt in range(tries):
        try:
            return await client.request(req, timeout_s=timeout)
        except TimeoutError:
            if attempt + 1 == tries:
                raise Deviation(f"{type(req).__name__}: no answer within {timeout} s")
    raise Deviation("unreachable")


async def states(client, tries=1):
    r = await request(client, ImageStatesRead(), tries=tries)
    if not success(r):
        raise Deviation(f"image state read failed: {r}")
    return r


async def expect_refused(client, path, rc_name):
    """Upload `path`; the upload must fail with image-group error `rc_name`."""
    data = open(path, "rb").read()
    sent = count_writes(client)
    t = time.monotonic()
    try:
        async for _ in client.upload(data):
            pass
    except SMPUploadError as e:
        text = str(e)
        print(f"    | a whole upload: {len(data)} image bytes, {sent[0]} bytes sent on the UART "
              f"({len(data) / max(sent[0], 1):.3f} image bytes per UART byte), "
              f"{time.monotonic() - t:.1f} s", flush=True)
        print(f"    | smpclient: {text}", flush=True)
        if rc_name not in text:
            raise Deviation(f"refused, but not with {rc_name}: {text}")
        return
    raise Deviation(f"{os.path.basename(path)} was accepted")


async def story(work, board):
    proc, pty = start_qemu(work, board)
    print(f"    | QEMU UART0 on {pty}", flush=True)
    s = Story()
    client = SMPClient(SMPSerialTransport(), pty, timeout_s=10.0)
    try:
        await client.connect()
        v2 = os.path.join(work, "v2.signed")
        v2_hash = image_hash(v2)

        async def echo():
            r = await request(client, EchoWrite(d="fwu"), tries=5)
            if not success(r) or r.r != "fwu":
                raise Deviation(f"echo: {r}")
            p = await request(client, MCUMgrParametersRead())
            print(f"    | MCUmgr parameters: buf_size={p.buf_size} buf_count={p.buf_count}")

        await s.step("echo and MCUmgr parameters", echo())

        async def v1_state():
            st = await states(client)
            s0 = slot(st, 0, 0)
            print(f"    | image 0 slot 0: version={s0.version} confirmed={s0.confirmed} "
                  f"active={s0.active}", flush=True)
            if s0.version != "1.0.0" or not s0.confirmed or not s0.active:
                raise Deviation(f"slot 0: {s0}")

        await s.step("image state: v1 active and confirmed", v1_state())

        async def upload_v2():
            data = open(v2, "rb").read()
            # The host tool stops (as if killed) after about a third of the image...
            reached = 0
            async for off in client.upload(data):
                reached = off
                if off > len(data) // 3:
                    break
            await client.disconnect()
            print(f"    | upload stopped at offset {reached}; a new smpclient starts over",
                  flush=True)
            # ... and a new one uploads the same image: the device answers its first chunk with
            # the offset it reached, and the upload goes on from there.
            await client.connect()
            sent = count_writes(client)
            t = time.monotonic()
            first = None
            async for off in client.upload(data):
                if first is None:
                    first = off
            image_bytes = len(data) - (first or 0)
            print(f"    | resumed at offset {first}; {image_bytes} bytes in "
                  f"{time.monotonic() - t:.1f} s; {sent[0]} bytes sent on the UART: "
                  f"{image_bytes / max(sent[0], 1):.3f} image bytes per UART byte", flush=True)
            if first is None or first < reached:
                raise Deviation(f"the upload did not resume: first offset {first}, "
                                f"reached {reached}")
            s1 = slot(await states(client), 0, 1)
            if s1 is None or s1.version != "2.0.0" or s1.hash != v2_hash or s1.pending:
                raise Deviation(f"slot 1 after the upload: {s1}")

        await s.step("upload v2, interrupted and resumed from the device's offset "
                     "(slot 1: 2.0.0, its hash, not pending)", upload_v2())

        async def test_v2():
            r = await request(client, ImageStatesWrite(hash=v2_hash, confirm=False))
            if not success(r):
                raise Deviation(f"test: {r}")
            s1 = slot(r, 0, 1)
            if s1 is None or not s1.pending:
                raise Deviation(f"slot 1 not pending: {s1}")

        await s.step("test v2 (install for the next boot: pending)", test_v2())

        async def reset_trial():
            r = await request(client, ResetWrite())
            if not success(r):
                raise Deviation(f"reset: {r}")
            await asyncio.sleep(2.0)
            s0 = slot(await states(client, tries=10), 0, 0)
            print(f"    | image 0 slot 0: version={s0.version} confirmed={s0.confirmed}")
            if s0.version != "2.0.0" or s0.confirmed:
                raise Deviation(f"after the reset: {s0}")

        await s.step("reset: v2 runs on trial (not confirmed)", reset_trial())

        async def confirm():
            r = await request(client, ImageStatesWrite(confirm=True))
            if not success(r):
                raise Deviation(f"confirm: {r}")
            s0 = slot(r, 0, 0)
            if s0.version != "2.0.0" or not s0.confirmed:
                raise Deviation(f"after confirm: {s0}")

        await s.step("confirm: v2 permanent", confirm())

        await s.step("an image with a bad signature is refused (INVALID_HASH)",
                     expect_refused(client, os.path.join(work, "v2-badsig.signed"),
                                    "INVALID_HASH"))
        await s.step("a downgrade (v0.9) is refused (CURRENT_VERSION_IS_NEWER)",
                     expect_refused(client, os.path.join(work, "v0.9.signed"),
                                    "CURRENT_VERSION_IS_NEWER"))
        await client.disconnect()

        async def smpmgr_reads():
            smpmgr = os.path.join(os.path.dirname(sys.executable), "smpmgr")
            out = subprocess.run([smpmgr, "--port", pty, "--timeout", "10", "image", "state-read"],
                                 capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "COLUMNS": "200"})
            for line in out.stdout.splitlines():
                if line.strip():
                    print(f"    | smpmgr: {line.rstrip()}", flush=True)
            if out.returncode != 0 or "2.0.0" not in out.stdout:
                raise Deviation(f"smpmgr image state-read: exit {out.returncode}: {out.stderr}")

        await s.step("smpmgr --port PTY image state-read shows 2.0.0", smpmgr_reads())
    except Deviation:
        print(f"\nsmp[{board}]: FAIL after {s.passed} passed steps")
        return 1
    finally:
        try:
            await client.disconnect()
        except Exception:  # noqa: BLE001 - the port may already be gone
            pass
        proc.kill()
        proc.wait()
    print(f"\nsmp[{board}]: PASS ({s.passed} steps, {time.monotonic() - s.t0:.1f} s)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(story(sys.argv[1], sys.argv[2])))
