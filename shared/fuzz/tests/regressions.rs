//! Reproductions of what the fuzz targets found in the product, as plain tests that assert the
//! behaviour the product promises (`cargo test` in `shared/fuzz`). The fuzz inputs that first
//! showed each one are in `regressions/` (replay one with `cargo +nightly fuzz run -s none
//! TARGET fuzz/regressions/FILE` from `shared/`); the targets check these properties as they
//! are. A finding that is not fixed yet is `#[ignore]`d with the reason (run it with
//! `cargo test -- --ignored`).
#![allow(clippy::unwrap_used, clippy::panic)]

use embassy_futures::block_on;
use fwu_shared::state::{BootLog, BootRecord, Health, MAX_COMPONENTS};
use fwu_shared_fuzz::layout::Geo;
use fwu_shared_fuzz::paint::put;
use fwu_sim_flash::{CutModel, Geometry, SimFlash};

type Flash = SimFlash<1024, 4>;

fn device(geo: &Geo) -> Flash {
    Flash::new(Geometry {
        sectors: geo.sectors,
        erased: 0xff,
    })
}

/// Run `op` on copies of `flash` and `store` with a power cut at each of its flash operations
/// in turn, in each of `models`, and hand each flash after power-on to `check` with the model
/// and the operation cut.
fn each_cut<T: Clone>(
    flash: &Flash,
    store: &T,
    models: &[CutModel],
    op: impl Fn(&mut T, &mut Flash),
    mut check: impl FnMut(&mut Flash, CutModel, u64),
) {
    let ops = {
        let (mut f, mut s) = (flash.clone(), store.clone());
        let start = f.op_index();
        op(&mut s, &mut f);
        f.op_index() - start
    };
    for k in 0..ops {
        for &model in models {
            let (mut f, mut s) = (flash.clone(), store.clone());
            let at = f.op_index() + k;
            f.arm_cut(at, model, 3);
            op(&mut s, &mut f);
            f.power_on();
            check(&mut f, model, k);
        }
    }
}

/// A boot log whose copies are full but for their last slot, which holds an install of one
/// sector of component 2 staged (the next commit erases a copy).
fn staged_in_the_last_slots(geo: &Geo) -> (Flash, BootLog) {
    let mut flash = device(geo);
    let mut log = block_on(BootLog::open(&mut flash, &geo.layout())).unwrap();
    for _ in 0..geo.state_geometry().boot[0].slots - 1 {
        block_on(log.commit(&mut flash, &BootRecord::default())).unwrap();
    }
    block_on(log.commit(
        &mut flash,
        &boot_record(fwu_shared::state::Phase::Staged, 2, 1),
    ))
    .unwrap();
    (flash, log)
}

/// A boot record in `phase` with `sectors` sectors of component `c` as its one member.
fn boot_record(phase: fwu_shared::state::Phase, c: usize, sectors: u16) -> BootRecord {
    let mut r = BootRecord {
        seq: 1,
        phase,
        members: fwu_shared::state::Members(1 << c),
        ..BootRecord::default()
    };
    r.sectors[c] = sectors;
    r
}

/// `regressions/state_store-fresh-garbage-cut` (found by `state_store`).
///
/// A boot log is `Fresh` when neither copy holds a record and at least one copy is blank. If
/// the other copy is not blank (a fault at rest on a new device, or an erase of that copy cut
/// by an earlier power loss), a power cut during the first commit must not leave both copies
/// non-blank without a valid record: the log would read `Corrupt`, the bootloader would no
/// longer install or roll back anything and the update service would refuse every change until
/// `recover_state`. (The first commit wrote the blank copy first; it now writes the non-blank
/// one first.) Checked with a cut at each operation of that commit, in every cut model.
#[test]
fn a_fresh_log_with_one_garbage_copy_survives_a_cut_first_commit() {
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let sg = geo.state_geometry();
    let mut flash = device(&geo);
    // Copy B is not blank: a few programmed bytes in its first slot.
    put(&mut flash, sg.boot[1].base, &[0x00; 16]);
    let log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    // The first commit (the bootloader's, on the device's first boot), cut.
    each_cut(
        &flash,
        &log,
        &CutModel::ALL,
        |l, f| {
            let _ = block_on(l.commit(f, &BootRecord::default()));
        },
        |f, model, k| {
            let reread = block_on(BootLog::open(f, &layout)).unwrap();
            assert_ne!(
            reread.health(),
            Health::Corrupt,
            "a single power cut ({model:?} at operation {k}) turned a fresh log into a corrupt one"
        );
        },
    );
}

/// `regressions/state_store-format-cut` (found by `state_store`).
///
/// `BootLog::format` (the recovery of a corrupt log, `Updater::recover_state`) erases both
/// copies before it writes the new record. A power cut between the erases and the write leaves
/// a blank (`Fresh`) log: the counter floors the recovery had salvaged from every readable record
/// are gone, and the next boot stores only the running images' counters. A cut after the first
/// erase leaves the other copy alone, which may show an older state or read `Corrupt`. Writing
/// the new record into one copy before erasing the other would keep the floors through a cut.
///
/// Fixed: `format` now rewrites the copies one after the other.
#[test]
fn a_cut_format_keeps_the_counter_floors() {
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let mut flash = device(&geo);
    let mut log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    let mut counters = [0u32; MAX_COMPONENTS];
    counters[0] = 5;
    counters[2] = 3;
    let rec = BootRecord {
        counters,
        ..BootRecord::default()
    };
    block_on(log.commit(&mut flash, &rec)).unwrap();
    assert_eq!((log.counter(0), log.counter(2)), (5, 3));
    // Format as the recovery does (a fresh idle record; the floors are the log's own), with a
    // cut at each of its flash operations in turn.
    each_cut(
        &flash,
        &log,
        &[CutModel::Skip],
        |l, f| {
            let _ = block_on(l.format(f, &BootRecord::default()));
        },
        |f, _, k| {
            let reread = block_on(BootLog::open(f, &layout)).unwrap();
            assert!(
                reread.counter(0) >= 5 && reread.counter(2) >= 3,
                "a format cut at its operation {k} lowered the floors to {} and {} ({:?})",
                reread.counter(0),
                reread.counter(2),
                reread.health()
            );
        },
    );
}

/// `regressions/state_store-fresh-format-cut` (found by `state_store`).
///
/// The twin of `state_store-fresh-garbage-cut` in `BootLog::format`, which its docs offer for a
/// fresh device too: on a `Fresh` log whose first copy is blank and whose second is not (a
/// fault at rest, or an erase cut by an earlier power loss), `format` rewrites the first copy
/// first; a power cut while it writes the record there leaves both copies non-blank without a
/// valid record, and the log reads `Corrupt`. `commit` writes the non-blank copy first on a
/// fresh log; `format` keeps the order 0, 1 whatever the copies hold. No caller formats a fresh
/// log today (`Updater::recover_state` formats only a corrupt one), so this is reachable through
/// the API only. Writing the non-blank copy first would keep the log `Fresh` through the cut.
#[test]
fn a_cut_format_of_a_fresh_log_with_one_garbage_copy_never_corrupts_it() {
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let sg = geo.state_geometry();
    let mut flash = device(&geo);
    // Copy B is not blank: a few programmed bytes in its first slot.
    put(&mut flash, sg.boot[1].base, &[0x00; 16]);
    let log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    assert_eq!(log.health(), Health::Fresh);
    each_cut(
        &flash,
        &log,
        &CutModel::ALL,
        |l, f| {
            let _ = block_on(l.format(f, &BootRecord::default()));
        },
        |f, model, k| {
            let reread = block_on(BootLog::open(f, &layout)).unwrap();
            assert_ne!(
            reread.health(),
            Health::Corrupt,
            "a single power cut ({model:?} at operation {k}) of a format turned a fresh log into a corrupt one"
        );
        },
    );
}

/// `regressions/state_store-degraded-format-cut` (found by `state_store`).
///
/// `BootLog::format` rewrites copy 0, then copy 1, whatever the copies hold. When copy 0 is the
/// only one holding the state (a power cut between the copies of the commit before, or of a
/// flag, which leaves the log `Degraded`), a cut after its erase leaves copy 1's older state in
/// charge:
/// the state goes back a generation and the counter floors go down (6 to 0 here). The same
/// order loses the floors `Updater::recover_state` salvaged from a corrupt log when only copy 0's
/// frames showed them (a cut after the erase leaves copy 1's garbage and a blank copy 0: a
/// `Fresh` log with no floors). Rewriting first the copy that does not hold the state (or the
/// highest counters) would keep them through a cut.
#[test]
fn a_cut_format_of_a_degraded_log_keeps_its_floors() {
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let mut flash = device(&geo);
    let mut log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    block_on(log.commit(&mut flash, &BootRecord::default())).unwrap();
    // The next commit raises the floor of component 0 to 6 and is cut before copy 1 takes it.
    let mut counters = [0u32; MAX_COMPONENTS];
    counters[0] = 6;
    let rec = BootRecord {
        counters,
        ..BootRecord::default()
    };
    let at = flash.op_index() + 1;
    flash.arm_cut(at, CutModel::Skip, 0);
    let _ = block_on(log.commit(&mut flash, &rec));
    flash.power_on();
    let log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    assert_eq!((log.health(), log.counter(0)), (Health::Degraded, 6));
    each_cut(
        &flash,
        &log,
        &CutModel::ALL,
        |l, f| {
            let _ = block_on(l.format(f, &BootRecord::default()));
        },
        |f, model, k| {
            let reread = block_on(BootLog::open(f, &layout)).unwrap();
            assert!(
            reread.counter(0) >= 6,
            "a format cut ({model:?} at its operation {k}) lowered the floor of component 0 from 6 to {} ({:?})",
            reread.counter(0),
            reread.health()
        );
        },
    );
}

/// `regressions/state_store-fresh-catalog-format-cut` (found by `state_store`).
///
/// The catalog half of `state_store-fresh-format-cut`: `Catalog::format` erases copy 0, then
/// copy 1. On a `Fresh` catalog whose copy 0 is blank and copy 1 is not, a cut erase of copy 0
/// (the sector left with random bytes) leaves both copies non-blank without an entry: the
/// catalog reads `Corrupt`. Only a corrupt catalog is formatted today (`recover_state`), so
/// this is reachable through the API only; erasing the non-blank copy first would close it.
///
/// Fixed: `Catalog::format` erases first the copy worth less (the one not blank on a fresh
/// catalog, else the one lacking a current entry).
#[test]
fn a_cut_format_of_a_fresh_catalog_with_one_garbage_copy_never_corrupts_it() {
    use fwu_shared::state::Catalog;
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let sg = geo.state_geometry();
    let mut flash = device(&geo);
    put(&mut flash, sg.catalog[1].base, &[0x00; 16]);
    let cat = block_on(Catalog::open(&mut flash, &layout)).unwrap();
    assert_eq!(cat.health(), Health::Fresh);
    each_cut(
        &flash,
        &cat,
        &CutModel::ALL,
        |c, f| {
            let _ = block_on(c.format(f));
        },
        |f, model, k| {
            let reread = block_on(Catalog::open(f, &layout)).unwrap();
            assert_ne!(
            reread.health(),
            Health::Corrupt,
            "a single power cut ({model:?} at operation {k}) of a format turned a fresh catalog into a corrupt one"
        );
        },
    );
}

/// `regressions/state_store-degraded-catalog-format-cut` (found by `state_store`).
///
/// The same order with two power cuts and nothing else: the first `put` of a fresh catalog is
/// cut in copy 1 (copy 0 holds the entry, copy 1 a torn frame: `Degraded`), then a `format`
/// is cut while it erases copy 0 (left with random bytes): both copies hold garbage and the
/// catalog reads `Corrupt`. Erasing first the copy that holds no entry would close it.
///
/// Fixed: `Catalog::format` erases first the copy worth less (the one not blank on a fresh
/// catalog, else the one lacking a current entry).
#[test]
fn two_cuts_never_corrupt_a_catalog_through_format() {
    use fwu_shared::state::{Catalog, ComponentRecord};
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let mut flash = device(&geo);
    let cat = block_on(Catalog::open(&mut flash, &layout)).unwrap();
    let count = |f: &mut Flash, c: &mut Catalog, format: bool| {
        let start = f.op_index();
        if format {
            block_on(c.format(f)).unwrap();
        } else {
            block_on(c.put(f, 0, &ComponentRecord::default())).unwrap();
        }
        f.op_index() - start
    };
    let puts = count(&mut flash.clone(), &mut cat.clone(), false);
    for k in 0..puts {
        for model in CutModel::ALL {
            let (mut f, mut c) = (flash.clone(), cat.clone());
            let at = f.op_index() + k;
            f.arm_cut(at, model, 0);
            let _ = block_on(c.put(&mut f, 0, &ComponentRecord::default()));
            f.power_on();
            let cut = block_on(Catalog::open(&mut f, &layout)).unwrap();
            let formats = count(&mut f.clone(), &mut cut.clone(), true);
            for k2 in 0..formats {
                for model2 in CutModel::ALL {
                    let (mut f2, mut c2) = (f.clone(), cut.clone());
                    let at = f2.op_index() + k2;
                    f2.arm_cut(at, model2, 0);
                    let _ = block_on(c2.format(&mut f2));
                    f2.power_on();
                    let reread = block_on(Catalog::open(&mut f2, &layout)).unwrap();
                    assert_ne!(
                        reread.health(),
                        Health::Corrupt,
                        "a put cut ({model:?} at {k}), then a format cut ({model2:?} at {k2}): corrupt"
                    );
                }
            }
        }
    }
}

/// `regressions/state_store-degraded-catalog-format-stale` (found by `state_store`).
///
/// The same order again: a `put` cut before copy 1 takes it leaves copy 0 the only holder of
/// the component's current record (`Degraded`); a `format` cut after it erased copy 0 and
/// before it erased copy 1 brings back copy 1's older record: the component reads neither what
/// it read before the format nor nothing.
///
/// Fixed: `Catalog::format` erases first the copy worth less (the one not blank on a fresh
/// catalog, else the one lacking a current entry).
#[test]
fn a_cut_format_of_a_degraded_catalog_never_brings_back_an_older_record() {
    use fwu_shared::state::{Catalog, ComponentRecord};
    use fwu_shared::State;
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let mut flash = device(&geo);
    let mut cat = block_on(Catalog::open(&mut flash, &layout)).unwrap();
    let record = |state| ComponentRecord {
        state,
        ..ComponentRecord::default()
    };
    block_on(cat.put(&mut flash, 2, &record(State::Failed))).unwrap();
    let at = flash.op_index() + 1;
    flash.arm_cut(at, CutModel::Skip, 0);
    let _ = block_on(cat.put(&mut flash, 2, &record(State::Ready)));
    flash.power_on();
    let cat = block_on(Catalog::open(&mut flash, &layout)).unwrap();
    assert_eq!(
        (cat.health(), cat.record(2).map(|r| r.state)),
        (Health::Degraded, Some(State::Ready))
    );
    each_cut(
        &flash,
        &cat,
        &[CutModel::Skip],
        |c, f| {
            let _ = block_on(c.format(f));
        },
        |f, _, k| {
            let reread = block_on(Catalog::open(f, &layout)).unwrap();
            let now = reread.record(2).map(|r| r.state);
            assert!(
                matches!(now, None | Some(State::Ready)),
                "a format cut at its operation {k} brought back {now:?}"
            );
        },
    );
}

/// `regressions/state_store-set-flag-during-swap` (found by `state_store`).
///
/// `BootLog::set_flag` resets the swap progress it keeps in RAM whenever the folded phase is a
/// swap and differs from the *stored* record's phase, even when the flag does not move the
/// phase (here `Revert` on a revert already started by `RevertInvalid`): the log in RAM then
/// says 0 steps done while the flash (and every later `open`) says 1. The bootloader never sets
/// such a flag during a swap, so this is an API inconsistency rather than a reachable fault:
/// comparing with the phase before the flag would keep RAM and flash equal.
///
/// Fixed: `set_flag` now compares with the phase before the flag.
#[test]
fn set_flag_during_a_swap_keeps_the_progress() {
    use fwu_shared::state::{Direction, Flag, Phase};
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let mut flash = device(&geo);
    let mut log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    let trial = boot_record(Phase::Trial, 0, 4);
    block_on(log.commit(&mut flash, &trial)).unwrap();
    block_on(log.set_flag(&mut flash, Flag::RevertInvalid)).unwrap();
    assert_eq!(log.state().phase, Phase::Reverting);
    block_on(log.step_done(&mut flash, Direction::Revert, 0)).unwrap();
    assert_eq!(log.state().done, 1);
    block_on(log.set_flag(&mut flash, Flag::Revert)).unwrap();
    let reread = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    assert_eq!(
        log.state(),
        reread.state(),
        "the log in RAM and the flash disagree after set_flag"
    );
}

/// `regressions/state_store-torn-flag-keeps-other-copy-steps` (found by `state_store` in CI's
/// short run).
///
/// Swap step `s` is one word in copy `s % 2`. Since a copy whose flag words lack a flag the
/// other holds is no longer a holder of the state (so that a repair writes it first), `open`
/// also stopped reading *its* swap steps: a flag torn in copy 1 during a revert then lost step
/// 1 (held by copy 1 alone) although nothing of it was damaged, and the log read a step done
/// fewer than before the flag. Only a flag that leaves the swap running shows it, and the
/// bootloader sets none (each of its flags during a swap ends the swap), so this broke the
/// store's promise without a reachable fault. Fixed: the steps of a copy are read whenever it
/// holds the record.
#[test]
fn a_flag_torn_in_one_copy_keeps_the_steps_the_other_copy_holds() {
    use fwu_shared::state::{Direction, Flag, Phase};
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    for model in CutModel::ALL {
        for seed in 0..8 {
            let mut flash = device(&geo);
            let mut log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
            let trial = boot_record(Phase::Trial, 0, 4);
            block_on(log.commit(&mut flash, &trial)).unwrap();
            block_on(log.set_flag(&mut flash, Flag::Revert)).unwrap();
            block_on(log.step_done(&mut flash, Direction::Revert, 0)).unwrap();
            block_on(log.step_done(&mut flash, Direction::Revert, 1)).unwrap();
            let before = log.state();
            assert_eq!((before.phase, before.done), (Phase::Reverting, 2));
            // A flag that does not move the phase on (the bootloader sets none during a swap,
            // but a cut flag write must leave the state before or after it, whatever the
            // flag), written to copy 0, then copy 1: cut the second write.
            let at = flash.op_index() + 1;
            flash.arm_cut(at, model, seed);
            let _ = block_on(log.set_flag(&mut flash, Flag::RevertInvalid));
            flash.power_on();
            let now = block_on(BootLog::open(&mut flash, &layout))
                .unwrap()
                .state();
            assert_eq!(
                now, before,
                "{model:?}/{seed}: a cut flag write lost a swap step"
            );
        }
    }
}

/// The catalog half of `regressions/state_store-fresh-garbage-cut` (found by `state_store`):
/// a fresh catalog whose other copy is not blank becomes `Corrupt` when its first `put` is cut.
#[test]
fn a_fresh_catalog_with_one_garbage_copy_survives_a_cut_first_put() {
    use fwu_shared::state::{Catalog, ComponentRecord};
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let sg = geo.state_geometry();
    let mut flash = device(&geo);
    put(&mut flash, sg.catalog[1].base, &[0x00; 16]);
    let mut cat = block_on(Catalog::open(&mut flash, &layout)).unwrap();
    assert_eq!(cat.health(), Health::Fresh);
    let at = flash.op_index();
    flash.arm_cut(at, CutModel::TornPrefix, 3);
    assert!(block_on(cat.put(&mut flash, 0, &ComponentRecord::default())).is_err());
    flash.power_on();
    let cat = block_on(Catalog::open(&mut flash, &layout)).unwrap();
    assert_ne!(
        cat.health(),
        Health::Corrupt,
        "a single power cut turned a fresh catalog into a corrupt one"
    );
}

/// `regressions/boot_flow-revert-short-backup` (found by `boot_flow`).
///
/// Before a rollback the bootloader checks that every member's backup (the image at the start
/// of its secondary slot) verifies, then swaps back the number of sectors the boot record gives
/// for that member. Nothing checks that the backup fits in those sectors: a record whose count
/// is smaller than the backup (it passes every layout check) makes the rollback move only the
/// head of the backup, and the component, which ran a valid trial image before the boot, is left
/// with no image that verifies. Checking `total_size <= sectors * sector_size` with the backup
/// would refuse that rollback (`ERROR_BACKUP_INVALID`) and keep the trial image. A record like
/// this is not produced by the writers (an install records enough sectors for both images) nor
/// by a fault at rest (its CRC would fail); it takes a well-formed record with a wrong count.
///
/// Fixed: the bootloader now checks that the backups fit the revert.
#[test]
fn a_rollback_never_leaves_a_truncated_backup() {
    use fwu_bootloader::{BootConfig, Bootloader};
    use fwu_shared::image::KeyRing;
    use fwu_shared::state::{Members, Phase, StoredCounters};
    use fwu_shared_fuzz::images::{images, keys, verify, FACTORY_0, FACTORY_2};
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let mut flash = device(&geo);
    let set = images();
    let (c0, c2) = (geo.slots[0], geo.slots[1]);
    put(&mut flash, c0.primary, &set[FACTORY_0].bytes);
    // Component 2 runs a trial image (one sector) and has a two-sector backup.
    put(&mut flash, c2.primary, &set[FACTORY_2].bytes);
    put(&mut flash, c2.secondary, &set[2].bytes);
    assert!(set[2].bytes.len() > 1024 && set[2].trusted);
    let mut log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    let mut sectors = [0u16; MAX_COMPONENTS];
    sectors[2] = 1;
    let trial = BootRecord {
        phase: Phase::Trial,
        members: Members(1 << 2),
        trial_booted: true,
        sectors,
        ..BootRecord::default()
    };
    block_on(log.commit(&mut flash, &trial)).unwrap();
    let mut bootloader = Bootloader::new(
        layout.check_for(&flash).unwrap(),
        KeyRing::new(keys()),
        BootConfig::default(),
        StoredCounters,
    );
    let report = bootloader.boot(&mut flash).unwrap();
    let max = c2.max_image_size(geo.sector) as usize;
    let primary = &flash.contents()[c2.primary as usize..c2.primary as usize + max];
    assert!(
        report.may_run(2) && verify(primary, max as u32).is_ok(),
        "component 2 ran a valid image before the boot and has none after it: {report:?}"
    );
}

/// `regressions/psa_sequence-torn-flag-compaction` (found by `psa_sequence`: an `accept` cut by
/// a power loss made the next boot re-verify an install that had completed and accepted, and
/// mark it FAILED while the new image kept running).
///
/// Flags are written to both copies of the boot log. When a power cut stops the write of a
/// flag in the second copy (here `Installing`, on the boot that starts an install), `open`
/// still reads the flag from the first copy and reports the log `Ok`: both copies hold the same
/// record frame, and the difference in their flag words is never repaired. Every later flag and
/// step lands in both copies, so all looks well until a commit must compact the first copy
/// (erase, then write): a cut in between leaves the second copy alone, whose record without the
/// lost flag folds to a phase long past (`Staged` instead of `Trial`), neither the state before
/// the commit nor the one it wrote. Reporting the log `Degraded` when the copies' flag words
/// differ (so that `repair` rewrites the state as a full record in both) would close it.
///
/// Fixed: `open` now reports such a log `Degraded`, and the next write repairs it.
#[test]
fn a_flag_lost_in_one_copy_is_repaired_before_it_matters() {
    use fwu_shared::state::{Direction, Flag, Members, Phase};
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let (mut flash, mut log) = staged_in_the_last_slots(&geo);
    // The boot that starts the install: the Installing flag is torn in the second copy.
    let at = flash.op_index() + 1;
    flash.arm_cut(at, CutModel::TornPrefix, 0);
    assert!(block_on(log.set_flag(&mut flash, Flag::Installing)).is_err());
    flash.power_on();
    let mut log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    assert_eq!(log.state().phase, Phase::Installing);
    // The next boot completes the install and hands over to the trial.
    block_on(log.step_done(&mut flash, Direction::Install, 0)).unwrap();
    block_on(log.step_done(&mut flash, Direction::Install, 1)).unwrap();
    block_on(log.set_flag(&mut flash, Flag::Trial)).unwrap();
    block_on(log.set_flag(&mut flash, Flag::Booted)).unwrap();
    let trial = log.state();
    assert_eq!((trial.phase, log.health()), (Phase::Trial, Health::Ok));
    // `accept` commits Updated; the first copy is full, so it is erased and rewritten, and
    // power is cut just after the erase.
    let updated = BootRecord {
        phase: Phase::Updated,
        trial_booted: false,
        backups: Members(1 << 2),
        ..trial
    };
    let at = flash.op_index() + 1;
    flash.arm_cut(at, CutModel::Skip, 0);
    let _ = block_on(log.commit(&mut flash, &updated));
    flash.power_on();
    let log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    let phase = log.state().phase;
    assert!(
        matches!(phase, Phase::Trial | Phase::Updated),
        "after the cut the log reads {phase:?}: neither the trial before the commit nor the accepted update"
    );
}

/// `regressions/state_store-flag-copy-erased-first` (found by `state_store`, power cuts only).
///
/// The sequel of `psa_sequence-torn-flag-compaction`: `open` now reports a log whose copies
/// differ in their flag words `Degraded`, and the next write commits the state as a full record
/// to repair it. But `BootLog::write_order` only asks whether each copy holds the current
/// *record*: when both hold it (one without the flag) and both are full, it rewrites copy 0
/// first, and if copy 0 is the one holding the flag, a cut after its erase leaves copy 1's
/// record without the flag in charge: the state goes back a phase (`Installing` to `Staged`
/// here; `Trial` to `Installing` with no step done in the fuzz input, which would run a finished
/// install again). The bootloader's own repair at the next boot is such a write. Writing first
/// the copy whose flags fold to an older phase (it holds nothing the other lacks) would close it.
#[test]
fn a_cut_repair_never_loses_a_flag_only_one_copy_holds() {
    use fwu_shared::state::{Flag, Phase};
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let (mut flash, mut log) = staged_in_the_last_slots(&geo);
    // The boot that starts the install: the Installing flag reaches copy 0, not copy 1.
    let at = flash.op_index() + 1;
    flash.arm_cut(at, CutModel::Skip, 0);
    assert!(block_on(log.set_flag(&mut flash, Flag::Installing)).is_err());
    flash.power_on();
    let log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    assert_eq!(
        (log.state().phase, log.health()),
        (Phase::Installing, Health::Degraded)
    );
    // The next boot repairs the log, with a cut at each of its operations in turn.
    each_cut(
        &flash,
        &log,
        &[CutModel::Skip],
        |l, f| {
            let _ = block_on(l.repair(f));
        },
        |f, _, k| {
            let reread = block_on(BootLog::open(f, &layout)).unwrap();
            assert_eq!(
                reread.state().phase,
                Phase::Installing,
                "a repair cut at its operation {k} took the log back to {:?}",
                reread.state().phase
            );
        },
    );
}

/// `regressions/boot_flow-stale-counters-cut` (found by `boot_flow`).
///
/// The floor is the highest counter of both copies' newest records. When the newest record of
/// one copy is a stale one (an older generation) that shows a higher counter than the current
/// record, the floor comes from it alone; a commit (here the bootloader's repair) that has to
/// rewrite that copy erases it first, and a cut before the new record lands lowers the floor
/// (3 to 0 here). The writers never leave such a history behind (every commit keeps the highest
/// counters), and a fault at rest cannot forge one (CRC), so this takes a well-formed stale
/// record; writing first the copy that does not hold the highest counters would close it.
///
/// This scenario is fixed (the commit keeps the floor through the cut), but `boot_flow` still
/// finds the pattern on a degraded log whose copy 1 ends with a stale record of higher
/// counters behind the current one (`regressions/boot_flow-stale-counters-cut-degraded`: the
/// floor 3 of component 0 read before a cut boot is 0 after it, and the image with counter 1
/// runs). It takes a forged record (no writer leaves one, no fault at rest forges a CRC), so the
/// target goes on against the floors after the cut there (`inspect::stale_high_counters`).
#[test]
fn a_cut_repair_never_lowers_the_floor() {
    use fwu_shared::state::slots::encode;
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let sg = geo.state_geometry();
    let mut flash = device(&geo);
    let mut log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    for _ in 0..3 {
        block_on(log.commit(&mut flash, &BootRecord::default())).unwrap();
    }
    // A stale record (generation 2) with counter 3, last in the second copy.
    let mut counters = [0u32; MAX_COMPONENTS];
    counters[0] = 3;
    let stale = BootRecord {
        gen: 2,
        counters,
        ..BootRecord::default()
    };
    let (frame, len) = encode(&stale, 4).unwrap();
    let last = sg.boot[1].slot(sg.boot[1].slots - 1);
    put(&mut flash, last, &frame[..len]);
    let mut log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    assert_eq!((log.counter(0), log.health()), (3, Health::Degraded));
    // The repair rewrites the second copy (full): erase, then write; the write is cut.
    let erases = u64::from(sg.boot[1].len / geo.sector);
    let at = flash.op_index() + erases;
    flash.arm_cut(at, CutModel::Skip, 0);
    let _ = block_on(log.repair(&mut flash));
    flash.power_on();
    let log = block_on(BootLog::open(&mut flash, &layout)).unwrap();
    assert!(
        log.counter(0) >= 3,
        "a cut repair lowered the floor of component 0 to {}",
        log.counter(0)
    );
}

/// `regressions/state_store-split-catalog-cut` (found by `state_store`).
///
/// `Catalog::put` completes first the copy that lacks current entries, so that "a copy that
/// holds them all is never erased while it is the only one". When *neither* copy holds them all
/// (each is the only holder of some component's current record: two faults, such as a bit
/// flipped in one copy's entry and a put cut between the copies) it completes the first copy,
/// which compacts it when full: the erase destroys the only current record of a component, and
/// a power cut before the rewrite lands loses that record (it reads as never written, or as an
/// older one). Completing a copy only by appending, or rewriting the copy whose lost entries the
/// other one holds, would keep every record through the cut.
///
/// Not fixed: two faults, outside the promise of a single fault (the `state_store` target
/// checks the after-cut properties only on a store that a cut meets as its only fault).
#[test]
#[ignore = "product finding, not fixed yet: two faults (a record lost in one copy at rest, then a cut between the copies), outside the single-fault promise"]
fn a_cut_put_never_loses_another_components_record() {
    use fwu_shared::state::catalog::Entry;
    use fwu_shared::state::slots::encode;
    use fwu_shared::state::{Catalog, ComponentRecord};
    use fwu_shared::State;
    let geo = Geo::new(1024, 4);
    let layout = geo.layout();
    let sg = geo.state_geometry();
    let mut flash = device(&geo);
    let record = |state| ComponentRecord {
        state,
        ..ComponentRecord::default()
    };
    let mut place = |copy: usize, slot: u32, id: u8, gen: u32, state: State| {
        let (frame, len) = encode(
            &Entry {
                gen,
                id,
                record: record(state),
            },
            4,
        )
        .unwrap();
        put(&mut flash, sg.catalog[copy].slot(slot), &frame[..len]);
    };
    // Copy 0 is full and the only holder of component 2's current record (generation 50);
    // copy 1 is the only holder of component 0's (generation 60).
    let last = sg.catalog[0].slots - 1;
    place(0, 0, 0, 1, State::Ready);
    for slot in 1..last {
        place(0, slot, 2, slot + 1, State::Writing);
    }
    place(0, last, 2, 50, State::Candidate);
    place(1, 0, 0, 60, State::Failed);
    let cat = block_on(Catalog::open(&mut flash, &layout)).unwrap();
    assert_eq!(cat.health(), Health::Degraded);
    assert_eq!(cat.record(2).map(|r| r.state), Some(State::Candidate));
    assert_eq!(cat.record(0).map(|r| r.state), Some(State::Failed));
    let new = record(State::Ready);
    each_cut(
        &flash,
        &cat,
        &[CutModel::Skip],
        |c, f| {
            let _ = block_on(c.put(f, 0, &new));
        },
        |f, _, k| {
            let reread = block_on(Catalog::open(f, &layout)).unwrap();
            assert_eq!(
                reread.record(2).map(|r| r.state),
                Some(State::Candidate),
                "a put of component 0 cut at its operation {k} lost component 2's record"
            );
        },
    );
}
