#!/usr/bin/env python3
"""Planted mutants: deliberate defects in the code every promise of fwu rests on (state, swap,
counters, verification), each one a way the code could plausibly be wrong. Each is applied to
the source, built, and run against the test suites of fwu-shared, fwu-bootloader, fwu-updater
and fwu-sim; a mutant those do not catch is run through the bounded fault campaigns of fwu-sim
on the 1 KiB shape. A mutant nothing catches is a behaviour no check pins: it gets a test, or a
written reason in BENCHMARKS.md ("Mutation check").

Usage: scripts/planted-mutants.py [ID ...]   (all mutants without arguments)
Results: a Markdown table on stdout and in target/mutants/planted.md.
The source is restored after every mutant, also on failure or Ctrl-C.
"""

import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (id, file, [(original, mutated), ...], what the defect would do[, why no check can catch it])
# A mutant with a reason is equivalent under every input the rest of the code lets through: a
# miss is reported with that reason. Every other miss (and any mutant that does not build) fails
# the run.
MUTANTS = [
    ("staged-signature-skipped", "bootloader/src/verify.rs",
     [("let scanned = match authenticate(flash, keys, slots.staging_offset(sector), max) {",
       "let mut scan_buf = [0u8; SCAN_BUF];\n        let scanned = match scan_flash(flash, slots.staging_offset(sector), max, &mut scan_buf) {")],
     "the bootloader installs a staged image without checking its signature"),
    ("staged-counter-unchecked", "bootloader/src/verify.rs",
     [("if scanned.security_counter.unwrap_or(0) < floor(c) {", "if false {")],
     "the bootloader installs an image whose counter is below the floor"),
    ("staged-set-digest-unchecked", "bootloader/src/verify.rs",
     [("if set != txn.digest {", "if false {")],
     "the bootloader installs validly signed images other than the ones the service verified"),
    ("backup-unchecked", "bootloader/src/verify.rs",
     [("scanned.security_counter.unwrap_or(0) >= floor && scanned.total_size <= moved", "true")],
     "a revert restores a backup below the floor or larger than the revert moves"),
    ("copy-not-read-back", "bootloader/src/swap.rs",
     [("if readback != data {", "if false {")],
     "a swap copy that did not stick goes unnoticed and the next step destroys the source"),
    ("swap-bounds-unchecked", "bootloader/src/swap.rs",
     [("if !inside(slots, sector, src) || !inside(slots, sector, dst) {", "if false {")],
     "a record naming too many sectors makes the swap write outside the component's slots",
     "equivalent today: `BootLog::fits` refuses every record whose sectors exceed the slot, at "
     "open and at every commit, so the swap never sees one (`record-sectors-trusted` removes "
     "that guard and is caught); the swap's own check is the second guard issue 11 asks for"),
    ("swap-step-not-recorded", "bootloader/src/swap.rs",
     [("log.step_done_blocking(flash, dir, global)\n", "Ok::<(), ()>(())\n")],
     "swap progress is not recorded: a cut repeats steps that are not idempotent"),
    ("copy-not-retried", "bootloader/src/swap.rs",
     [("for _ in 1..COPY_ATTEMPTS {", "for _ in 1..1 {")],
     "one transient read error during a swap undoes the install"),
    ("restore-stops-at-a-bad-sector", "bootloader/src/swap.rs",
     [("if dir != Direction::Restore {", "if true {")],
     "one worn sector in a restore stops every boot of every component"),
    ("backend-floor-ignored", "bootloader/src/lib.rs",
     [("*f = log.counter(slots.id).max(external);", "*f = log.counter(slots.id);")],
     "the counter backend's floor is ignored at boot"),
    ("running-image-not-a-floor", "bootloader/src/lib.rs",
     [("*f = (*f).max(running);", "let _ = running;")],
     "an image below the running (factory) image's counter installs"),
    ("floor-raised-during-trial", "bootloader/src/lib.rs",
     [("            if on_trial.contains(id) {\n                continue;\n            }\n", "")],
     "a trial image's counter becomes the floor before accept, so the revert cannot run the old image"),
    ("install-undo-drops-half-pair", "bootloader/src/lib.rs",
     [("u16::try_from(stopped.steps.div_ceil(2)).unwrap_or(u16::MAX)", "u16::try_from(stopped.steps / 2).unwrap_or(u16::MAX)")],
     "an install undone after a flash error loses the sector of the interrupted pair"),
    ("revert-not-finished-as-restore", "bootloader/src/lib.rs",
     [("                    log.commit_blocking(flash, &restoring)?;\n                }\n                Err(e) => return Err(e.into()),",
       "                    let _ = restoring;\n                    return Err(BootError::Flash);\n                }\n                Err(e) => return Err(e.into()),")],
     "a worn secondary sector leaves the primary half reverted for good"),
    ("revert-restore-off-by-one", "bootloader/src/lib.rs",
     [("core::cmp::Ordering::Equal => n.saturating_sub(", "core::cmp::Ordering::Equal => n.saturating_sub(1).saturating_sub(")],
     "a revert finished as a restore leaves one sector of the trial image in the primary"),
    ("unreadable-log-stops-boot", "bootloader/src/lib.rs",
     [("                log.make_unreadable();\n                false\n", "                return Err(BootError::Flash);\n")],
     "a state partition that cannot be read stops every boot instead of booting what verifies"),
    ("counters-not-max-of-copies", "shared/src/state/opener.rs",
     [("            for (m, c) in counters.iter_mut().zip(b_rec.counters) {\n                *m = (*m).max(c);",
       "            for (m, c) in counters.iter_mut().zip(b_rec.counters) {\n                *m = c;")],
     "the floor is the second copy's counters, not the highest of both: a stale copy lowers it"),
    ("older-generation-wins", "shared/src/state/opener.rs",
     [("(Some(sa), Some(_)) if log.stored.gen > b_rec.gen =>", "(Some(sa), Some(_)) if log.stored.gen < b_rec.gen =>")],
     "the boot log's older copy is taken as the state"),
    ("state-write-not-read-back", "shared/src/state/slots.rs",
     [("    Ok(got == frame)\n}", "    let _ = got;\n    Ok(true)\n}")],
     "a state write of the service that did not stick counts as done: the copy lacks the state without anyone knowing"),
    ("boot-log-write-not-read-back", "shared/src/state/blocking.rs",
     [("    Ok(read(flash, addr, got).is_ok() && got == frame)\n}", "    let _ = read(flash, addr, got);\n    Ok(true)\n}")],
     "a boot log write of the bootloader that did not stick counts as done"),
    ("record-sectors-trusted", "shared/src/state/boot.rs",
     [("r.sectors_of(c) <= self.slot_sectors.get(usize::from(c)).copied().unwrap_or(0)", "r.sectors_of(c) <= u16::MAX")],
     "a record naming more sectors than the slot holds is accepted"),
    ("strict-s-dropped", "shared/src/image/ed25519.rs",
     [("if !is_canonical_scalar(s) || !is_canonical_point(r) || is_small_order(r) {", "if !is_canonical_point(r) || is_small_order(r) {")],
     "salty's S + L twin of a valid signature verifies (the malleability of issue 13)"),
    ("small-order-r-accepted", "shared/src/image/ed25519.rs",
     [("if !is_canonical_scalar(s) || !is_canonical_point(r) || is_small_order(r) {", "if !is_canonical_scalar(s) || !is_canonical_point(r) {")],
     "a signature with a small-order R is checked by the equation alone"),
    ("service-floor-unchecked", "updater/src/service.rs",
     [("        if staged.security_counter < floor\n", "        if false\n")],
     "finish accepts an image below the counter floor (the bootloader would refuse it later)"),
    ("checkpoint-ahead-of-prefix", "updater/src/service.rs",
     [("let reached = s.prefix / ss * ss;", "let reached = end / ss * ss;")],
     "a checkpoint covers data that was never written (a gap below a later block)"),
    ("checkpoint-before-data", "updater/src/service.rs",
     [("        match program_block(&mut self.flash, base + offset, block).await {\n            Ok(()) => {}\n            Err(Error::InvalidArgument) => {\n                // Different data is already there: refused, nothing was programmed.\n                self.session_mut(c)?.stale = false;\n                return Err(Error::InvalidArgument);\n            }\n            Err(e) => return Err(e),\n        }\n",
       ""),
      ("            s.checkpoint = reached;\n        }\n",
       "            s.checkpoint = reached;\n        }\n        match program_block(&mut self.flash, base + offset, block).await {\n            Ok(()) => {}\n            Err(Error::InvalidArgument) => {\n                self.session_mut(c)?.stale = false;\n                return Err(Error::InvalidArgument);\n            }\n            Err(e) => return Err(e),\n        }\n")],
     "the resume checkpoint is stored before the data it covers"),
    ("checkpoint-failure-fatal", "updater/src/service.rs",
     [("let _hint_only = map.put(c, &cp).await;", "map.put(c, &cp).await.map_err(state_error)?;")],
     "a failing checkpoint map sector fails every download"),
]

TESTS = ["cargo", "test", "--profile", "mutants", "-q", "-p", "fwu-shared", "-p",
         "fwu-bootloader", "-p", "fwu-updater", "-p", "fwu-sim"]
CAMPAIGN = ["cargo", "run", "--profile", "mutants", "-q", "-p", "fwu-sim", "--", "--shape", "1KiB"]


def run(cmd, log):
    with open(log, "w") as out:
        return subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode


def main():
    wanted = set(sys.argv[1:])
    unknown = wanted - {m[0] for m in MUTANTS}
    if unknown:
        sys.exit(f"planted-mutants: unknown mutant(s): {', '.join(sorted(unknown))}")
    outdir = ROOT / "target" / "mutants"
    outdir.mkdir(parents=True, exist_ok=True)
    print("planted-mutants: baseline build and tests", flush=True)
    if run(TESTS, outdir / "baseline.log") != 0:
        sys.exit(f"planted-mutants: the unmutated tests fail (see {outdir / 'baseline.log'})")
    rows = []
    for ident, rel, edits, what, *why in MUTANTS:
        if wanted and ident not in wanted:
            continue
        path = ROOT / rel
        original = path.read_text()
        mutated = original
        for old, new in edits:
            if mutated.count(old) != 1:
                sys.exit(f"planted-mutants: {ident}: the code to mutate is not found exactly once in {rel}")
            mutated = mutated.replace(old, new)
        start = time.time()
        log = outdir / f"{ident}.log"
        try:
            path.write_text(mutated)
            if run(TESTS, log) != 0:
                text = log.read_text(errors="replace")
                verdict = "unbuildable" if "error[E" in text else "caught by the tests"
            elif run(CAMPAIGN, outdir / f"{ident}.sim.log") != 0:
                verdict = "caught by the fault campaigns"
            elif why:
                verdict = f"missed, equivalent: {why[0]}"
            else:
                verdict = "MISSED"
        finally:
            path.write_text(original)
        secs = time.time() - start
        rows.append((ident, rel, what, verdict, secs))
        print(f"{ident}: {verdict} ({secs:.0f} s)", flush=True)
    caught = sum(1 for r in rows if r[3].startswith("caught"))
    missed = [r for r in rows if r[3] == "MISSED"]
    equivalent = sum(1 for r in rows if r[3].startswith("missed, equivalent"))
    table = ["| mutant | file | the defect | verdict | time (s) |", "|---|---|---|---|---:|"]
    table += [f"| `{i}` | `{f}` | {w} | {v} | {s:.0f} |" for i, f, w, v, s in rows]
    unbuildable = len(rows) - caught - len(missed) - equivalent
    table.append(f"\n{caught} caught, {len(missed)} missed, {equivalent} equivalent, {unbuildable} unbuildable")
    text = "\n".join(table) + "\n"
    (outdir / "planted.md").write_text(text)
    print(text)
    sys.exit(1 if missed or unbuildable else 0)


if __name__ == "__main__":
    main()
