#!/usr/bin/env python3
"""Host side of the fwu QEMU demo: drives the embassy demo application (`app` binary of the
boards, protocol in boards/qemu-mps2/src/app.rs) over UART0 (`-serial stdio`, pipes).

  demo_host.py story WORK BOARD     the demo story on WORK/demo.flash with WORK/*.signed
  demo_host.py kill N WORK BOARD [SEED]   N random SIGKILLs during v1 -> v2 updates (the
                                    image goes in over semihosting: LOAD), from WORK/kill-base.flash

Python 3 standard library only. Exit status 0 when every step happened as described.
"""
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

MACHINES = {"an386": "mps2-an386", "an505": "mps2-an505"}
# Lines of the per-block transfer protocol: counted, not shown, in the transcript.
QUIET = re.compile(r"^fwu-app: (send off=|write c=\d+ off=\d+ -> PSA_SUCCESS$)")
FATAL = re.compile(r"^(fwu-fatal:|fwu-boot: halt|fwu-boot: error)")


class Deviation(Exception):
    """A step did not happen as described."""


class Device:
    """One QEMU process on a flash file; console lines arrive through a reader thread."""

    def __init__(self, work, board, flash, echo=True, log=None):
        self.work, self.board, self.flash, self.echo = work, board, flash, echo
        self.lines = queue.Queue()
        self.log = log
        self.history = []
        self.quiet = 0
        cmd = [
            "qemu-system-arm", *os.environ.get("QEMU_EXTRA", "").split(), "-machine", f"{MACHINES[board]},memory-backend=fl",
            "-object", f"memory-backend-file,id=fl,mem-path={flash},size=16M,share=on",
            "-display", "none", "-monitor", "none", "-serial", "stdio",
            "-semihosting-config", "enable=on,target=native",
            "-kernel", os.path.join(work, "bootloader.elf"),
        ]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self.lines.put(None)

    def show(self, line):
        if self.log is not None:
            self.log.write(line + "\n")
        if QUIET.match(line):
            self.quiet += 1
            return
        if self.echo:
            if self.quiet:
                print(f"    | ... {self.quiet} block transfer lines (send/write -> PSA_SUCCESS)")
                self.quiet = 0
            print(f"    | {line}", flush=True)

    def next_line(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return ""
        if line is None:
            self.lines.put(None)
            raise Deviation(f"QEMU exited (code {self.proc.wait()})")
        self.show(line)
        self.history.append(line)
        if FATAL.match(line):
            raise Deviation(f"device reported: {line}")
        return line

    def expect(self, pattern, timeout=30.0):
        """Consume console lines until one matches `pattern`; return the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Deviation(f"no console line matched /{pattern}/ within {timeout:.0f} s")
            line = self.next_line(min(left, 0.5))
            m = rx.search(line) if line else None
            if m:
                return m

    def send(self, text):
        if self.echo:
            print(f"    > {text}", flush=True)
        self.write(text.encode() + b"\n")

    def write(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise Deviation(f"cannot write to QEMU: {e}") from e

    def command(self, text, result, timeout=30.0):
        """Send a command, expect `fwu-app: <result>` and the next `ready` prompt."""
        self.send(text)
        m = self.expect(r"^fwu-app: " + result, timeout)
        self.expect(r"^fwu-app: ready$", timeout)
        return m

    def update(self, comp, path, finish, timeout=60.0):
        """UPDATE: start, every block after its `send` line, finish; expect finish -> `finish`."""
        data = open(path, "rb").read()
        if self.echo:
            print(f"    (host: {os.path.basename(path)}, {len(data)} bytes)", flush=True)
        self.send(f"UPDATE {comp} {len(data)}")
        self.expect(rf"^fwu-app: start c={comp} size={len(data)} -> PSA_SUCCESS$", timeout)
        rx = re.compile(r"^fwu-app: (send off=(\d+) len=(\d+)|finish c=\d+ -> (\S+)|update aborted)")
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(0.5)
            if time.monotonic() > deadline:
                raise Deviation("update: timeout")
            m = rx.search(line) if line else None
            if not m:
                continue
            if m.group(2) is not None:
                off, n = int(m.group(2)), int(m.group(3))
                self.write(data[off:off + n])
            elif m.group(4) is not None:
                if m.group(4) != finish:
                    raise Deviation(f"finish returned {m.group(4)}, expected {finish}")
                break
            else:
                raise Deviation("update aborted by the device")
        self.expect(r"^fwu-app: ready$", timeout)

    def load(self, comp, path, finish, timeout=60.0):
        """LOAD: the device reads the image from `path` through semihosting."""
        self.send(f"LOAD {comp} {os.path.abspath(path)}")
        self.expect(rf"^fwu-app: start c={comp} size=\d+ -> PSA_SUCCESS$", timeout)
        m = self.expect(r"^fwu-app: (finish c=\d+ -> (\S+)|update aborted|load error)", timeout)
        if m.group(2) != finish:
            raise Deviation(f"load: {m.group(1)}, expected finish -> {finish}")
        self.expect(r"^fwu-app: ready$", timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.reader.join(timeout=5)
        # Drain what arrived before the kill (for the log).
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                break
            self.show(line)
            self.history.append(line)


# ---------------------------------------------------------------------------------------------
# The demo story


class Story:
    def __init__(self):
        self.passed = 0
        self.t0 = time.monotonic()

    def step(self, what, fn):
        try:
            fn()
        except Deviation as e:
            print(f"FAIL: {what}: {e}", flush=True)
            raise
        self.passed += 1
        print(f"PASS: {what}   [{time.monotonic() - self.t0:.1f} s]", flush=True)


def banner(text):
    print(f"\n=== {text}", flush=True)


def story(work, board):
    img = lambda name: os.path.join(work, name + ".signed")  # noqa: E731
    flash = os.path.join(work, "demo.flash")
    s = Story()
    dev = Device(work, board, flash)
    try:
        banner("1. v1 boots from a fresh flash (bootloader + signed v1)")
        s.step("bootloader authenticates v1 and jumps", lambda: (
            dev.expect(r"^fwu-boot: report action=None .*state=(ok|fresh) invalid=0x00 refused=none"),
            dev.expect(r"^fwu-boot: jump ")))
        s.step("v1 runs: version 1.0.0, component 0 READY", lambda: (
            dev.expect(r"^fwu-app: version=1\.0\.0 "),
            dev.expect(r"^fwu-app: states state\[0\]=READY error\[0\]=0 active\[0\]=1\.0\.0"),
            dev.expect(r"^fwu-app: ready$")))

        banner("2. update to v2: download, finish, install, reboot, trial, self-test, accept, clean")
        s.step("v2 downloaded (start, write x N, finish -> PSA_SUCCESS)",
               lambda: dev.update(0, img("v2"), "PSA_SUCCESS"))
        s.step("query: CANDIDATE", lambda: dev.command("QUERY", r"query c=0 state=CANDIDATE "))
        s.step("install -> PSA_SUCCESS_REBOOT",
               lambda: dev.command("INSTALL", r"install -> PSA_SUCCESS_REBOOT$"))
        s.step("query: STAGED", lambda: dev.command("QUERY", r"query c=0 state=STAGED "))
        s.step("request_reboot: the bootloader installs v2 on trial", lambda: (
            dev.send("REBOOT"),
            dev.expect(r"^fwu-boot: report action=Installed members=0x01 error=0 trial=1 .*refused=none"),
            dev.expect(r"^fwu-boot: watchdog ms=")))
        s.step("v2 runs in TRIAL, self-test passes, accept -> PSA_SUCCESS, UPDATED", lambda: (
            dev.expect(r"^fwu-app: version=2\.0\.0 selftest=pass"),
            dev.expect(r"^fwu-app: states state\[0\]=TRIAL "),
            dev.expect(r"^fwu-app: selftest result=pass$"),
            dev.expect(r"^fwu-app: accept -> PSA_SUCCESS$"),
            dev.expect(r"^fwu-app: states state\[0\]=UPDATED error\[0\]=0 active\[0\]=2\.0\.0"),
            dev.expect(r"^fwu-app: ready$")))
        s.step("clean -> PSA_SUCCESS; READY running v2", lambda: (
            dev.command("CLEAN 0", r"clean c=0 -> PSA_SUCCESS$"),
            dev.command("QUERY", r"query c=0 state=READY error=0 active=2\.0\.0")))

        banner("3. update to v3 whose self-test fails: reject, reboot, rollback to v2")
        s.step("v3 downloaded and installed", lambda: (
            dev.update(0, img("v3"), "PSA_SUCCESS"),
            dev.command("INSTALL", r"install -> PSA_SUCCESS_REBOOT$")))
        s.step("reboot: v3 installed on trial", lambda: (
            dev.send("REBOOT"),
            dev.expect(r"^fwu-boot: report action=Installed members=0x01 error=0 trial=1 "),
            dev.expect(r"^fwu-app: version=3\.0\.0 selftest=fail"),
            dev.expect(r"^fwu-app: states state\[0\]=TRIAL ")))
        s.step("self-test fails: reject -> PSA_SUCCESS_REBOOT, request_reboot", lambda: (
            dev.expect(r"^fwu-app: selftest result=fail$"),
            dev.expect(r"^fwu-app: reject code=-132 -> PSA_SUCCESS_REBOOT$"),
            dev.expect(r"^fwu-app: request_reboot$")))
        s.step("the bootloader rolls back to v2; v3 FAILED", lambda: (
            dev.expect(r"^fwu-boot: report action=Reverted members=0x01 .*refused=none"),
            dev.expect(r"^fwu-app: version=2\.0\.0 "),
            dev.expect(r"^fwu-app: states state\[0\]=FAILED error\[0\]=-?\d+ active\[0\]=2\.0\.0"),
            dev.expect(r"^fwu-app: ready$")))
        s.step("clean -> PSA_SUCCESS; READY running v2", lambda: (
            dev.command("CLEAN 0", r"clean c=0 -> PSA_SUCCESS$"),
            dev.command("QUERY", r"query c=0 state=READY error=0 active=2\.0\.0")))

        banner("4. update to v4 that hangs on trial: watchdog reset, automatic rollback")
        s.step("v4 downloaded, installed, reboot", lambda: (
            dev.update(0, img("v4"), "PSA_SUCCESS"),
            dev.command("INSTALL", r"install -> PSA_SUCCESS_REBOOT$"),
            dev.send("REBOOT"),
            dev.expect(r"^fwu-boot: report action=Installed members=0x01 error=0 trial=1 ")))
        s.step("v4 runs in TRIAL and hangs without feeding the watchdog", lambda: (
            dev.expect(r"^fwu-app: version=4\.0\.0 selftest=hang"),
            dev.expect(r"^fwu-app: states state\[0\]=TRIAL "),
            dev.expect(r"^fwu-app: hanging ")))
        s.step("watchdog reset; the bootloader reverts (error=-4097)", lambda: (
            dev.expect(r"^fwu-boot: start .*cold=0", timeout=10),
            dev.expect(r"^fwu-boot: report action=Reverted members=0x01 error=-4097 trial=0 .*refused=none")))
        s.step("v2 runs again; v4 FAILED with error -4097", lambda: (
            dev.expect(r"^fwu-app: version=2\.0\.0 "),
            dev.expect(r"^fwu-app: states state\[0\]=FAILED error\[0\]=-4097 active\[0\]=2\.0\.0"),
            dev.expect(r"^fwu-app: ready$")))
        s.step("clean -> PSA_SUCCESS; READY running v2", lambda: (
            dev.command("CLEAN 0", r"clean c=0 -> PSA_SUCCESS$"),
            dev.command("QUERY", r"query c=0 state=READY error=0 active=2\.0\.0")))

        banner("5. image with a bad signature (v5, one signature byte flipped): refused at finish")
        s.step("finish -> PSA_ERROR_INVALID_SIGNATURE",
               lambda: dev.update(0, img("v5-badsig"), "PSA_ERROR_INVALID_SIGNATURE"))
        s.step("query: FAILED; clean -> READY running v2", lambda: (
            dev.command("QUERY", r"query c=0 state=FAILED error=-149 "),
            dev.command("CLEAN 0", r"clean c=0 -> PSA_SUCCESS$"),
            dev.command("QUERY", r"query c=0 state=READY error=0 active=2\.0\.0")))

        banner("6. downgrade to v1.5 (below the active v2): refused at finish")
        s.step("finish -> PSA_ERROR_NOT_PERMITTED",
               lambda: dev.update(0, img("v1.5"), "PSA_ERROR_NOT_PERMITTED"))
        s.step("query: FAILED; clean -> READY running v2", lambda: (
            dev.command("QUERY", r"query c=0 state=FAILED error=-133 "),
            dev.command("CLEAN 0", r"clean c=0 -> PSA_SUCCESS$"),
            dev.command("QUERY", r"query c=0 state=READY error=0 active=2\.0\.0")))

        banner("7. an image for another product (v5 signed by the trusted key, another --cid): "
               "refused at finish")
        s.step("finish -> PSA_ERROR_NOT_PERMITTED",
               lambda: dev.update(0, img("v5-foreign"), "PSA_ERROR_NOT_PERMITTED"))
        s.step("query: FAILED with FWU_ERROR_WRONG_DEVICE (-4104); clean -> READY running v2", lambda: (
            dev.command("QUERY", r"query c=0 state=FAILED error=-4104 "),
            dev.command("CLEAN 0", r"clean c=0 -> PSA_SUCCESS$"),
            dev.command("QUERY", r"query c=0 state=READY error=0 active=2\.0\.0")))

        banner("8. power cycle (QEMU killed and restarted on the same flash): v2 still runs")
        dev.kill()
        dev = Device(work, board, flash)
        s.step("v2 boots with no bootloader action, READY", lambda: (
            dev.expect(r"^fwu-boot: start .*boot=1 cold=1"),
            dev.expect(r"^fwu-boot: report action=None .*refused=none"),
            dev.expect(r"^fwu-app: version=2\.0\.0 "),
            dev.expect(r"^fwu-app: states state\[0\]=READY error\[0\]=0 active\[0\]=2\.0\.0"),
            dev.expect(r"^fwu-app: ready$")))
    except Deviation:
        dev.kill()
        print(f"\ndemo[{board}]: FAIL after {s.passed} passed steps "
              f"({time.monotonic() - s.t0:.1f} s)")
        return 1
    dev.kill()
    print(f"\ndemo[{board}]: PASS ({s.passed} steps, {time.monotonic() - s.t0:.1f} s)")
    return 0


# ---------------------------------------------------------------------------------------------
# Random SIGKILLs

STATES = ("READY", "WRITING", "CANDIDATE", "STAGED", "FAILED", "TRIAL", "REJECTED", "UPDATED")


def drive_update(dev, image, acks, ready=True):
    """The v1 -> v2 update the kill interrupts; `acks` records each acknowledged step."""
    if ready:
        dev.expect(r"^fwu-app: ready$")
    dev.load(0, image, "PSA_SUCCESS")
    acks.append("finish")
    dev.command("INSTALL", r"install -> PSA_SUCCESS_REBOOT$")
    acks.append("install")
    dev.send("REBOOT")
    dev.expect(r"^fwu-app: version=2\.0\.0 ")
    dev.expect(r"^fwu-app: accept -> PSA_SUCCESS$")
    acks.append("accept")
    dev.expect(r"^fwu-app: ready$")
    dev.command("CLEAN 0", r"clean c=0 -> PSA_SUCCESS$")
    acks.append("clean")


def check_after(dev, acks):
    """Boot after the kill: a signed image runs, its states are allowed, nothing acked is lost."""
    rep = dev.expect(r"^fwu-boot: report action=(\w+) .*refused=(\S+)", timeout=20)
    if rep.group(2) != "none" and rep.group(2).startswith("0:"):
        raise Deviation(f"component 0 refused: {rep.group(2)}")
    m = dev.expect(r"^fwu-app: version=(\S+) ", timeout=20)
    ver = m.group(1)
    st = dev.expect(r"^fwu-app: states state\[0\]=(\w+) error\[0\]=(-?\d+) active\[0\]=(\S+)")
    state = st.group(1)
    if state not in STATES:
        raise Deviation(f"unknown state {state}")
    last = acks[-1] if acks else None
    if ver == "1.0.0":
        allowed = {None: {"READY", "WRITING", "CANDIDATE", "FAILED"},
                   "finish": {"CANDIDATE", "FAILED"},
                   "install": {"FAILED"}}.get(last, set())
        # FAILED after finish only through a revert of an (unacknowledged) trial.
        if state == "FAILED" and last in ("finish", "install") and rep.group(1) != "Reverted" \
                and st.group(2) != "-4097":
            raise Deviation(f"v1 FAILED error={st.group(2)} after {last} without a revert")
    elif ver == "2.0.0":
        # v2 runs only once the install record is durable; UPDATED without an acknowledged
        # accept: the device accepted just before the kill.
        allowed = {None: {"TRIAL"}, "finish": {"TRIAL"}, "install": {"TRIAL", "UPDATED"},
                   "accept": {"UPDATED", "READY"}, "clean": {"READY"}}.get(last, set())
    else:
        raise Deviation(f"unexpected version {ver}")
    if state not in allowed:
        raise Deviation(f"v{ver} in {state} after the last acknowledged step {last}")
    if state == "TRIAL":
        dev.expect(r"^fwu-app: accept -> PSA_SUCCESS$")
    dev.expect(r"^fwu-app: ready$")
    return ver, state


def finish_update(dev, ver, state, image):
    """After the checks: the device is still updatable; bring it to v2 READY."""
    if state in ("WRITING", "CANDIDATE"):
        dev.command("CANCEL 0", r"cancel c=0 -> PSA_SUCCESS$")
        state = "FAILED"
    if state in ("FAILED", "UPDATED", "TRIAL"):
        dev.command("CLEAN 0", r"clean c=0 -> PSA_SUCCESS$")
    if ver == "1.0.0":
        drive_update(dev, image, [], ready=False)
    dev.command("QUERY", r"query c=0 state=READY error=0 active=2\.0\.0")


def kill_runs(n, work, board, seed):
    rng = random.Random(seed)
    base = os.path.join(work, "kill-base.flash")
    flash = os.path.join(work, "kill.flash")
    image = os.path.join(work, "v2.signed")
    logdir = os.path.join(work, "kill-logs")
    os.makedirs(logdir, exist_ok=True)
    # Learn the length of an uninterrupted run (console lines and time) to spread the kills.
    shutil.copyfile(base, flash)
    dev = Device(work, board, flash, echo=False)
    t0 = time.monotonic()
    acks = []
    drive_update(dev, image, acks)
    total_time = time.monotonic() - t0
    dev.kill()
    print(f"qemu-kill-faults[{board}]: uninterrupted update {total_time:.2f} s, "
          f"{len(dev.history)} console lines; seed {seed}", flush=True)
    passed = failed = 0
    outcomes = {}
    start = time.monotonic()
    for i in range(n):
        shutil.copyfile(base, flash)
        kill_at = rng.uniform(0.0, total_time * 1.1)
        with open(os.path.join(logdir, f"run-{i}.log"), "w") as log:
            dev = Device(work, board, flash, echo=False, log=log)
            acks = []
            worker_err = []

            def work_fn():
                try:
                    drive_update(dev, image, acks)
                except Deviation as e:
                    worker_err.append(e)
            t = threading.Thread(target=work_fn, daemon=True)
            t.start()
            t.join(timeout=kill_at)
            seen = list(acks)
            dev.kill()
            t.join(timeout=5)
            log.write(f"--- SIGKILL at {kill_at:.3f} s, acknowledged: {seen}\n")
            dev2 = Device(work, board, flash, echo=False, log=log)
            try:
                ver, state = check_after(dev2, seen)
                finish_update(dev2, ver, state, image)
                passed += 1
                key = f"{seen[-1] if seen else 'none'}->{ver}:{state}"
                outcomes[key] = outcomes.get(key, 0) + 1
                log.write(f"--- PASS {key}\n")
            except Deviation as e:
                failed += 1
                log.write(f"--- FAIL {e}\n")
                print(f"qemu-kill-faults[{board}]: run {i}: FAIL: {e} "
                      f"(kill at {kill_at:.3f} s, acknowledged {seen}; log {log.name})", flush=True)
            dev2.kill()
        if (i + 1) % 50 == 0:
            print(f"qemu-kill-faults[{board}]: {i + 1}/{n} runs, {failed} failed, "
                  f"{time.monotonic() - start:.0f} s", flush=True)
    print(f"qemu-kill-faults[{board}]: outcomes (last ack -> version:state after restart): "
          + ", ".join(f"{k} x{v}" for k, v in sorted(outcomes.items())))
    print(f"qemu-kill-faults[{board}]: {time.monotonic() - start:.0f} s for {n} runs")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def bench(work, board, label):
    """Under QEMU_EXTRA="-icount shift=0": boot v1, LOAD v2-hang (timed by the device),
    install, reboot (install boot), watchdog (revert boot). Prints instruction counts."""
    dev = Device(work, board, os.path.join(work, "bench.flash"), echo=False)
    ns = lambda: int(dev.expect(r"^fwu-boot: jump .*boot_ns=(\d+)", 120).group(1))  # noqa: E731
    try:
        plain = ns()
        dev.expect(r"^fwu-app: ready$")
        dev.load(0, os.path.join(work, "v2-hang.signed"), "PSA_SUCCESS", timeout=300)
    except Deviation as e:
        dev.kill()
        print(f"bench[{board}]: FAIL {e}")
        return 1
    m = [ln for ln in dev.history if ln.startswith("fwu-app: load ")]
    size, ms = (int(x) for x in re.search(r"bytes=(\d+) ms=(\d+)", m[-1]).groups())
    try:
        dev.command("INSTALL", r"install -> PSA_SUCCESS_REBOOT$")
        dev.send("REBOOT")
        dev.expect(r"^fwu-boot: report action=Installed", 120)
        install = ns()
        dev.expect(r"^fwu-boot: report action=Reverted", 600)
        revert = ns()
    except Deviation as e:
        dev.kill()
        print(f"bench[{board}]: FAIL {e}")
        return 1
    dev.kill()
    print(f"bench[{board}] {label}: image {size} bytes; update start..finish {ms} ms virtual "
          f"= {ms * 1e6 / (size / 1024):.0f} instructions/KiB (1 ms = 1e6 instructions); "
          f"boot without update {plain}, install boot {install}, revert boot {revert} instructions")
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "bench":
        return bench(argv[2], argv[3], argv[4])
    if len(argv) >= 4 and argv[1] == "story":
        return story(argv[2], argv[3])
    if len(argv) >= 5 and argv[1] == "kill":
        seed = int(argv[5]) if len(argv) > 5 else random.randrange(1 << 30)
        return kill_runs(int(argv[2]), argv[3], argv[4], seed)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
