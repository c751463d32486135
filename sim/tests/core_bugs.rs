//! Minimal reproductions of defects of the bootloader and the update service that the fault
//! campaigns of `fwu-sim` found (issue 11, "Fault models and proof"; bugs 9 and 9b came from
//! probing the counter floor rules). Each test asserts the behaviour the design promises; all
//! are fixed and kept as regression tests. Each names the campaign model that found it
//! (`fwu-sim --faults MODEL --shape 1KiB` prints the same kind of failure).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;

use fwu_bootloader::{
    BootAction, BootConfig, Bootloader, StateReport, ERROR_ACTIVE_INVALID,
    ERROR_INSTALL_FLASH_FAILURE, ERROR_STAGED_MISMATCH,
};
use fwu_shared::image::KeyRing;
use fwu_shared::state::Phase;
use fwu_shared::state::StoredCounters;
use fwu_shared::Error;
use fwu_sim::device::{call, download, DONE, REBOOT};
use fwu_sim_flash::{CutModel, Wear};

/// Boot as the board does: again after an error, at most three times.
fn boot_retrying(dev: &Dev) -> Option<fwu_bootloader::BootReport> {
    (0..3).find_map(|_| dev.boot().ok())
}

/// Bug 1 (`--faults readerr`, persistent read error on one boot log sector): one unreadable
/// copy of the boot log makes every boot fail with `BootError::Flash` (`BootLog::open`
/// propagates the read error instead of using the other copy), so nothing boots ever again;
/// with both copies (or the whole state partition) unreadable the bootloader should still boot
/// what verifies and report the state unreadable, and it does not either.
#[test]
fn an_unreadable_boot_log_copy_does_not_stop_the_boot() {
    let dev = device();
    let v1 = img(1, 1, 1);
    dev.factory(0, &v1);
    dev.boot().unwrap();
    let g = geo(&dev);
    let both = g.boot[0].base..g.boot[1].base + g.boot[1].len;
    for (what, region) in [
        ("copy A", g.boot[0].range()),
        ("copy B", g.boot[1].range()),
        ("both copies", both),
        ("the state partition", dev.layout().state.clone()),
    ] {
        let d = dev.clone();
        d.flash_mut().add_unreadable(region);
        let r = boot_retrying(&d);
        assert!(
            r.is_some_and(|r| r.may_run(0)),
            "{what} unreadable: no boot ({:?})",
            d.boot()
        );
        if what.starts_with("both") || what.starts_with("the state") {
            assert_eq!(r.map(|r| r.state), Some(StateReport::Unreadable), "{what}");
        }
    }
}

/// Bug 2 (`--faults readerr`, persistent read error on one catalog or boot log sector): the
/// update service does not start (`InitError::State(Flash)`) when one copy of either store
/// cannot be read, although the other copy holds the state.
#[test]
fn the_service_starts_with_one_unreadable_copy() {
    let dev = device();
    dev.factory(0, &img(1, 1, 1));
    dev.boot().unwrap();
    let g = geo(&dev);
    for region in [
        g.boot[0].range(),
        g.boot[1].range(),
        g.catalog[0].range(),
        g.catalog[1].range(),
    ] {
        let d = dev.clone();
        d.flash_mut().add_unreadable(region.clone());
        assert!(d.service().is_ok(), "{region:?} unreadable");
    }
}

/// The reads of the next boot of `dev` (on a copy).
fn reads_of_next_boot(dev: &Dev) -> std::ops::Range<u64> {
    let probe = dev.clone();
    let first = probe.flash().read_index();
    let _ = probe.boot();
    let last = probe.flash().read_index();
    first..last
}

/// Bug 3 (`--faults readerr`, transient, "automatic revert" / "reject in trial"): a read error
/// while the bootloader checks the backup before a revert counts as "the backup does not
/// verify" (`verify::backup_valid` maps every error to `false`): the revert is refused, the
/// unaccepted trial image stays for good (FAILED with `ERROR_BACKUP_INVALID`), and its counter
/// becomes the floor, so the valid previous image can never come back.
#[test]
fn a_read_error_in_the_backup_check_never_makes_a_trial_permanent() {
    let (dev, v1, v2) = running_v1();
    into_trial(&dev, &v2);
    // The next boot is the automatic revert.
    for read in reads_of_next_boot(&dev) {
        let d = dev.clone();
        d.flash_mut().fail_read(read);
        let r = boot_retrying(&d).unwrap();
        assert!(
            !matches!(r.action, fwu_bootloader::BootAction::RevertRefused(_)),
            "read {read}: revert refused"
        );
        let _ = d.boot();
        assert!(d.runs(0, &v1), "read {read}: the unaccepted trial stayed");
        assert_eq!(d.counters().unwrap()[0], 1, "read {read}");
    }
}

/// Bug 4 (`--faults readerr`, transient, "automatic revert" install boot): a read error while
/// the bootloader authenticates the active images counts as an invalid image
/// (`Refusal::Image(ImageError::Storage)`), so a good trial image is rolled back with
/// `ERROR_ACTIVE_INVALID` (and an idle component with a backup would be "recovered" from it).
#[test]
fn a_read_error_while_authenticating_never_rolls_back_a_valid_image() {
    let (dev, _, _) = install_pending();
    for read in reads_of_next_boot(&dev) {
        let d = dev.clone();
        d.flash_mut().fail_read(read);
        let r = boot_retrying(&d).unwrap();
        assert!(
            !matches!(r.action, BootAction::Reverted(_, e) if e == ERROR_ACTIVE_INVALID),
            "read {read}: {:?}",
            r.action
        );
    }
}

/// Bug 5 (`--faults readerr`, transient, install boot): a read error while the bootloader
/// recomputes the swap plan (`plan::active_extent` reads the active image's extent and falls
/// back to the whole slot on any error) refuses the staged set for good with
/// `ERROR_STAGED_MISMATCH`, where a read error of the staged image itself defers the install.
#[test]
fn a_read_error_in_the_swap_plan_never_refuses_the_install() {
    let (dev, _, _) = install_pending();
    for read in reads_of_next_boot(&dev) {
        let d = dev.clone();
        d.flash_mut().fail_read(read);
        let r = boot_retrying(&d).unwrap();
        assert!(
            !matches!(r.action, BootAction::InstallRefused(_, e) if e == ERROR_STAGED_MISMATCH),
            "read {read}: {:?}",
            r.action
        );
    }
}

/// Found by the planted mutant `copy-not-retried` (`just mutants`): the readerr campaign accepts
/// an install undone with a reported `ERROR_INSTALL_FLASH_FAILURE`, so nothing required the
/// swap to retry a copy. One transient read error anywhere in the install boot must cost at
/// most a deferred boot: the install completes and v2 runs on trial, never an undo.
#[test]
fn a_transient_read_error_never_undoes_an_install() {
    let (dev, _, v2) = install_pending();
    for read in reads_of_next_boot(&dev) {
        let d = dev.clone();
        d.flash_mut().fail_read(read);
        let r = boot_retrying(&d).unwrap();
        let r = if matches!(r.action, BootAction::Deferred(_)) {
            boot_retrying(&d).unwrap()
        } else {
            r
        };
        assert!(
            matches!(r.action, BootAction::Installed(_)) && d.runs(0, &v2),
            "read {read}: {:?}",
            r.action
        );
    }
}

/// Bug 6 (`--faults readerr`, transient, install boots of every shape; also `--faults wearout`
/// on primary sectors): when the install's swap fails in the second half of a step pair
/// (`P[k] <- S[k+1]`, after `P[k]` was erased), the undo reverts only the `k` complete pairs
/// (`stopped.steps / 2` in `continue_install`): its first step overwrites `S[k]`, the only
/// copy of the previous `P[k]`, and `P[k]` is never restored. The install is reported undone
/// (`ERROR_INSTALL_FLASH_FAILURE`) but the primary slot holds neither image: the component
/// never runs again. (Undoing the interrupted pair too, `P[k]` restored from `S[k]` before
/// `S[k]` is reused, keeps the previous image.)
#[test]
fn an_install_undone_after_a_flash_error_keeps_the_previous_image() {
    let (dev, v1, v2) = install_pending();
    for read in reads_of_next_boot(&dev) {
        let d = dev.clone();
        d.flash_mut().fail_read(read);
        let first = boot_retrying(&d).unwrap();
        // The read error is gone at the next boot (which may also finish what the first began).
        let r = boot_retrying(&d).unwrap();
        assert!(
            r.may_run(0) && (d.runs(0, &v1) || d.runs(0, &v2)),
            "read {read}: {:?}, then {:?}: the primary slot holds no image",
            first.action,
            r.action
        );
    }
}

/// Found by the planted mutant `install-undo-drops-half-pair`: since sector copies are
/// retried, a transient read error no longer reaches the undo of an install (the test above),
/// so a persistent one must: the staged sector that a pair's second step (`P[k] <- S[k+1]`,
/// after erasing `P[k]`) reads becomes unreadable right after the pair's first step (a cut
/// there, the fault while off). The undo must put `P[k]` back too, from `S[k]`, and v1 runs.
#[test]
fn an_install_undone_mid_pair_restores_the_pairs_primary_sector() {
    let (dev, v1, _) = install_pending();
    let k = 1u32;
    let start = dev.flash().op_index();
    let end = {
        let probe = dev.clone();
        let _ = probe.boot();
        let end = probe.flash().op_index();
        end
    };
    let d = (start..end)
        .find_map(|at| {
            let d = dev.clone();
            d.flash_mut().arm_cut(at, CutModel::After, 1);
            let _ = d.boot();
            d.flash_mut().power_on();
            let st = log(&d).state();
            (st.phase == Phase::Installing && st.done == 2 * k + 1).then_some(d)
        })
        .expect("a cut right after the first step of pair k");
    let sector = SECTOR as u32;
    let s = d.slots(0).secondary + (k + 1) * sector;
    d.flash_mut().add_unreadable(s..s + sector);
    let r = d.boot().unwrap();
    assert!(
        matches!(r.action, BootAction::Reverted(_, e) if e == ERROR_INSTALL_FLASH_FAILURE),
        "{:?}",
        r.action
    );
    d.flash_mut().clear_faults();
    let r = boot_retrying(&d).unwrap();
    assert!(r.may_run(0) && d.runs(0, &v1), "{:?}", r.action);
}

/// Bug 7 (`--faults wearout`, a secondary sector whose erase or write fails during an install
/// or a revert): every revert step, and every step of the undo of an install after a flash
/// failure, starts by rewriting a secondary sector (`S[k+1] <- P[k]`, putting the trial image
/// back where it was staged); when that sector is worn the step fails, every boot stops with
/// `BootError::Flash` in the `Reverting` phase, the primary slot stays half swapped and the
/// component never runs again (with several components, none does), although every sector of
/// the previous image is intact in one slot or the other: restoring the primary does not need
/// the secondary's copy of the trial image.
#[test]
fn a_worn_secondary_sector_never_leaves_the_primary_half_swapped() {
    for revert in [false, true] {
        for model in Wear::ALL {
            let dev = device();
            let v1 = img(1, 1, 1);
            let v2 = img(2, 2, 2);
            dev.factory(0, &v1);
            dev.boot().unwrap();
            if revert {
                // The next boot is the automatic revert of the unaccepted trial.
                into_trial(&dev, &v2);
            } else {
                let svc = dev.service().unwrap();
                assert_eq!(download(&svc, 0, &v2), DONE);
                assert_eq!(call(svc.install()), REBOOT);
            }
            // Secondary sector 2 wears out from its next operation of that kind on.
            let sector = dev.slots(0).secondary as usize / SECTOR + 2;
            let k = usize::from(model == Wear::EraseError);
            let after = dev.flash().lifetime_ops(sector)[k];
            dev.flash_mut().wear_out(sector, model, after);
            let _ = boot_retrying(&dev);
            let r = boot_retrying(&dev);
            let runs = dev.runs(0, &v1) || (!revert && dev.runs(0, &v2));
            assert!(
                r.is_some_and(|r| r.may_run(0)) && runs,
                "revert {revert}, {model:?}: {:?}",
                dev.boot()
            );
        }
    }
}

/// Bug 8 (`--faults wearout`, `WriteNoStick` on the secondary's first sector during the
/// install): the swap never reads back what it copied (`swap::copy_sector`), so a backup write
/// that does not stick goes unnoticed, the install then erases the only copy of that primary
/// sector, and the revert of the unaccepted trial is refused (`ERROR_BACKUP_INVALID`): the
/// trial image becomes permanent and the previous image is lost.
#[test]
fn a_backup_write_that_does_not_stick_never_loses_the_previous_image() {
    let (dev, v1, _) = install_pending();
    let sector = dev.slots(0).secondary as usize / SECTOR;
    let after = dev.flash().lifetime_ops(sector)[0];
    dev.flash_mut().wear_out(sector, Wear::WriteNoStick, after);
    let _ = boot_retrying(&dev);
    drop(dev.service().unwrap());
    // The trial was not accepted: the next boot must bring v1 back (or the install must never
    // have destroyed it).
    let _ = boot_retrying(&dev);
    assert!(dev.runs(0, &v1), "the previous image is lost");
}

/// Bug 9 (anti-rollback without active-image authentication, `BootConfig::authenticate_active
/// = false`, the boards' `no-auth-active` build): the running image's security counter only
/// becomes a floor in `check_active`, which that configuration skips, and the service's
/// `finish` only consults the stored floor: an image with counter 4 is downloaded, installed
/// and booted over a running factory image with counter 5.
#[test]
fn a_lower_counter_is_refused_without_active_image_authentication() {
    let dev = device();
    let v5 = img(5, 5, 5);
    let v6_counter4 = Dev::image(v(6), 12_000, 4, &[], 6);
    dev.factory(0, &v5);
    let boot = |dev: &Dev| {
        let config = BootConfig {
            authenticate_active: false,
            ..BootConfig::default()
        };
        let mut flash = dev.flash_mut();
        Bootloader::new(
            dev.layout().check_for(&*flash).unwrap(),
            KeyRing::new(dev.keys()),
            config,
            StoredCounters,
        )
        .boot(&mut *flash)
        .unwrap()
    };
    boot(&dev);
    {
        let svc = dev.service().unwrap();
        let r = download(&svc, 0, &v6_counter4);
        if r.is_ok() {
            assert_eq!(call(svc.install()), REBOOT);
        } else {
            assert_eq!(r, Err(Error::NotPermitted));
        }
    }
    boot(&dev);
    assert!(
        dev.runs(0, &v5),
        "an image with counter 4 replaced the running counter-5 image"
    );
}

/// Bug 9b (the same gap on a device whose boot log holds no record yet): a `Staged` record
/// present at the first boot is verified against the stored floor only (0), not against the
/// running image's counter, so an image with counter 4 replaces a running counter-5 image.
/// Reaching this needs the state partition written before the first boot (or erased under a
/// running device), so it is less likely than bug 8.
#[test]
fn the_first_boot_never_installs_below_the_running_counter() {
    let dev = device();
    let v5 = img(5, 5, 5);
    let v6_counter4 = Dev::image(v(6), 12_000, 4, &[], 6);
    dev.factory(0, &v5);
    stage_directly(&dev, &v6_counter4);
    let r = dev.boot().unwrap();
    assert!(dev.runs(0, &v5) && r.may_run(0), "{:?}", r.action);
}

/// Bug 10 (`--faults readerr`, both boot log copies unreadable, with the client calling
/// `recover_state` on `PSA_ERROR_DATA_CORRUPT`; seen on the working tree after bug 1 was
/// addressed): `recover_state` erases both boot log copies before it knows it can write the
/// new record; the write cannot be read back, the call fails with `STORAGE_FAILURE`, and the
/// stored security counters are gone (the raw boot log is blank: floor 0).
#[test]
fn recover_state_never_erases_the_floor_it_cannot_rewrite() {
    let (dev, _, v2) = running_v1();
    update_and_accept(&dev, &v2);
    assert_eq!(log(&dev).counter(0), 2);
    let g = geo(&dev);
    dev.flash_mut()
        .add_unreadable(g.boot[0].base..g.boot[1].base + g.boot[1].len);
    let _ = dev.boot();
    if let Ok(svc) = dev.service() {
        let _ = call(svc.recover_state());
    }
    // The cells still hold a floor of 2 (read without the fault).
    assert_eq!(log(&dev).counter(0), 2, "the stored floor was erased");
}

/// Bug 11 (`--faults wearout` / `readerr` on one checkpoint map sector): the checkpoint map
/// only holds resume hints, yet a checkpoint that cannot be stored (a worn map sector) or read
/// (an unreadable one) fails the `write` with `PSA_ERROR_STORAGE_FAILURE`, so no download can
/// complete; a lost hint should only cost resumability.
#[test]
fn a_failing_checkpoint_map_sector_only_costs_resumability() {
    let v1 = img(1, 1, 1);
    let v2 = img(2, 2, 2);
    for unreadable in [false, true] {
        let dev = device();
        dev.factory(0, &v1);
        dev.boot().unwrap();
        let (start, end) = geo(&dev).checkpoints;
        for sector in (start as usize / SECTOR)..(end as usize / SECTOR) {
            if unreadable {
                let a = (sector * SECTOR) as u32;
                dev.flash_mut().add_unreadable(a..a + SECTOR as u32);
            } else {
                dev.flash_mut().wear_out(sector, Wear::WriteError, 0);
            }
        }
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, &v2), DONE, "map unreadable: {unreadable}");
        assert_eq!(call(svc.install()), REBOOT);
    }
}

/// Bug 12 (`--faults wearout` on a primary sector of component 0 in the two- and
/// three-component scenarios): when a primary sector wears out during an install, the undo
/// (or the revert) needs that sector too and fails, and the bootloader stops every boot with
/// `BootError::Flash` from then on: no component runs any more, not even the ones whose slots
/// are intact. A sector whose erase fails still holds its old content, so component 0's
/// previous image is intact too in that case.
#[test]
fn a_worn_primary_sector_never_stops_the_other_components() {
    for model in Wear::ALL {
        let (dev, v1, _) = install_pending();
        let sector = dev.slots(0).primary as usize / SECTOR + 1;
        let k = usize::from(model == Wear::EraseError);
        let after = dev.flash().lifetime_ops(sector)[k];
        dev.flash_mut().wear_out(sector, model, after);
        let _ = boot_retrying(&dev);
        let r = boot_retrying(&dev);
        assert!(
            r.is_some_and(|r| r.may_run(1)),
            "{model:?}: {:?}",
            dev.boot()
        );
        if model == Wear::EraseError {
            assert!(
                r.is_some_and(|r| r.may_run(0)) && dev.runs(0, &v1),
                "{model:?}: component 0's intact previous image does not run"
            );
        }
    }
}
