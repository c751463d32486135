//! Regressions for the problems of issue 11's first section, each written against the
//! redundant state (boot log and catalog in two copies, checkpoint map for resume hints) and
//! asserting the safe behaviour:
//!
//! 1. a flipped bit in a state header (a boot log slot's record header, the checkpoint map's
//!    page header) changes nothing: no wiped page, no lost counter, no permanent trial;
//! 2. a corrupt newest record is not read as the previous one: the other copy's newest wins;
//! 3. a read error while the bootloader reads the counters never lowers the floor;
//! 4. a record whose sector count exceeds the slot (a correct CRC, written the way
//!    `BootLog::commit` writes records) moves nothing outside the slots it names;
//! 5. a record claiming more swap steps than the swap has is not believed;
//! 6. a revert never overwrites a valid trial image with a backup that does not verify;
//! 7. the running factory image's counter is a floor from the first boot;
//! 8. an image with counter 4 is never installed over a running counter-5 image;
//!
//! plus both copies of the boot log lost: the bootloader boots what verifies and reports
//! `Corrupt`, the service reports FAILED / `PSA_ERROR_DATA_CORRUPT` until `recover_state`.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use fwu_bootloader::{BootAction, StateReport, ERROR_BACKUP_INVALID};
use fwu_shared::state::records::ERROR_TRIAL_NOT_ACCEPTED;
use fwu_shared::state::{BootRecord, Health, Members, Phase};
use fwu_shared::{Error, State};
use fwu_sim::device::{call, download, query, DONE, REBOOT};

mod common;
use common::*;

#[test]
fn flipped_bits_in_state_headers_change_nothing() {
    let dev = device();
    let v1 = img(1, 1, 1);
    let v2 = img(2, 2, 2);
    let v3 = img(3, 3, 3);
    dev.factory(0, &v1);
    dev.boot().unwrap();
    update_and_accept(&dev, &v2);
    into_trial(&dev, &v3);
    let before = log(&dev).state();
    assert_eq!((before.phase, before.counters[0]), (Phase::Trial, 2));
    // Every bit of the first 16 bytes (the record frame's header and first fields) of the
    // newest record of each copy: the other copy's record stays in charge, the counter stays,
    // and the unaccepted trial still reverts at the next boot.
    for copy in 0..2 {
        let at = newest_slot(&dev, copy) as usize;
        for bit in 0..16 * 8 {
            let d = dev.clone();
            d.flash_mut().flip_bit(at + bit / 8, (bit % 8) as u8);
            let l = log(&d);
            assert_eq!(l.health(), Health::Degraded, "copy {copy} bit {bit}");
            assert_eq!(l.state(), before, "copy {copy} bit {bit}");
            if bit % 16 == 0 {
                let r = d.boot().unwrap();
                assert_eq!(
                    r.action,
                    BootAction::Reverted(Members(1), ERROR_TRIAL_NOT_ACCEPTED),
                    "copy {copy} bit {bit}"
                );
                assert_eq!(r.state, StateReport::Repaired);
                assert!(d.runs(0, &v2) && r.may_run(0));
                assert_eq!(d.counters().unwrap()[0], 2);
            }
        }
    }
}

#[test]
fn a_flipped_bit_in_a_checkpoint_page_header_never_wipes_state() {
    let (dev, _, v2) = running_v1();
    let resume = {
        let svc = dev.service().unwrap();
        call(svc.start(0, None)).unwrap();
        for o in (0..9 * 1024).step_by(1024) {
            call(svc.write(0, o, &v2[o..o + 1024])).unwrap();
        }
        query(&svc, 0).unwrap().impl_.resume_offset
    };
    assert_eq!(resume, 8192);
    let g = geo(&dev);
    let (start, end) = g.checkpoints;
    let boot_before = log(&dev).state();
    for page in (start..end).step_by(SECTOR) {
        for bit in (0..64 * 8).step_by(3) {
            let d = dev.clone();
            d.flash_mut()
                .flip_bit(page as usize + bit / 8, (bit % 8) as u8);
            let svc = d.service().unwrap();
            let info = query(&svc, 0).unwrap();
            // The download may only resume from an earlier offset, and the state is intact.
            assert_eq!(info.state, State::Writing as u8, "page {page:#x} bit {bit}");
            assert!(
                info.impl_.resume_offset <= resume,
                "page {page:#x} bit {bit}"
            );
            drop(svc);
            assert_eq!(log(&d).state(), boot_before, "page {page:#x} bit {bit}");
        }
    }
}

#[test]
fn a_corrupt_newest_record_is_not_read_as_the_previous_one() {
    let dev = device();
    let v1 = img(1, 1, 1);
    let v2 = img(2, 2, 2);
    let v3 = img(3, 3, 3);
    dev.factory(0, &v1);
    dev.boot().unwrap();
    update_and_accept(&dev, &v2);
    {
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, &v3), DONE);
        assert_eq!(call(svc.install()), REBOOT);
    }
    let staged = log(&dev).state();
    assert_eq!(staged.phase, Phase::Staged);
    for copy in 0..2 {
        for garbage in [[0u8; 4], [0x5a; 4], [0xff; 4]] {
            let d = dev.clone();
            // A corrupt word in the middle of the newest record of one copy.
            let at = newest_slot(&d, copy) as usize + 24;
            d.flash_mut().set_raw(at, &garbage);
            let l = log(&d);
            assert_eq!(l.state(), staged, "copy {copy}");
            assert_eq!(l.counter(0), 2, "copy {copy}");
            let r = d.boot().unwrap();
            assert_eq!(r.action, BootAction::Installed(Members(1)), "copy {copy}");
            assert!(d.runs(0, &v3));
        }
    }
}

#[test]
fn a_read_error_while_reading_the_counters_never_lowers_the_floor() {
    let (dev, v1, v2) = running_v1();
    update_and_accept(&dev, &v2);
    assert_eq!(dev.counters().unwrap()[0], 2);
    // The primary slot is rolled back to v1 behind the bootloader's back.
    dev.factory(0, &v1);
    let first = dev.flash().read_index();
    let probe = dev.clone();
    assert!(!probe.boot().unwrap().may_run(0));
    let reads = probe.flash().read_index() - first;
    assert!(reads > 20);
    for k in 0..reads {
        let d = dev.clone();
        d.flash_mut().fail_read(first + k);
        if let Ok(r) = d.boot() {
            assert!(
                !r.may_run(0),
                "read {k} failing let the rolled-back image run"
            );
        }
    }
    // Either boot log copy unreadable for good: still refused.
    for copy in geo(&dev).boot {
        let d = dev.clone();
        d.flash_mut().add_unreadable(copy.range());
        if let Ok(r) = d.boot() {
            assert!(!r.may_run(0));
        }
    }
}

#[test]
fn a_record_whose_sectors_exceed_the_slot_moves_nothing_outside_it() {
    let dev = device();
    let v1 = img(1, 1, 1);
    dev.factory(0, &v1);
    dev.boot().unwrap();
    let current = log(&dev).state();
    let slots1 = dev.slots(1);
    let mut sectors = [0u16; 8];
    sectors[1] = slots1.sectors + 5;
    for phase in [Phase::Staged, Phase::Installing, Phase::Reverting] {
        let d = dev.clone();
        let forged = BootRecord {
            gen: current.gen + 1,
            seq: current.seq + 1,
            phase,
            members: Members(0b10),
            sectors,
            ..current
        };
        append_raw(&d, &forged, &[0, 1]);
        let before = d.flash().contents().to_vec();
        let _ = d.boot();
        let after = d.flash().contents().to_vec();
        let ss = SECTOR as u32;
        let allowed = |a: u32| {
            a < d.layout().state.end
                || slots1.primary_range(ss).contains(&a)
                || slots1.secondary_range(ss).contains(&a)
        };
        for (a, (x, y)) in before.iter().zip(&after).enumerate() {
            assert!(
                x == y || allowed(a as u32),
                "{phase:?}: byte {a:#x} outside component 1's slots changed"
            );
        }
        // Component 0 still runs v1, and component 1 was not touched at all.
        assert!(d.runs(0, &v1));
        let p = slots1.primary as usize;
        assert_eq!(before[p..p + 4096], after[p..p + 4096], "{phase:?}");
    }
}

#[test]
fn a_record_claiming_more_steps_than_the_swap_is_not_believed() {
    let (dev, v1, v2) = running_v1();
    {
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, &v2), DONE);
        assert_eq!(call(svc.install()), REBOOT);
    }
    let staged = log(&dev).state();
    for done in [staged.total_steps() + 1, 65_535] {
        let d = dev.clone();
        let forged = BootRecord {
            gen: staged.gen + 1,
            phase: Phase::Installing,
            done,
            ..staged
        };
        append_raw(&d, &forged, &[0, 1]);
        // Not a record: the staged transaction stays the state; the boot installs it for real.
        assert_eq!(log(&d).state(), staged, "done {done}");
        let r = d.boot().unwrap();
        assert_eq!(r.action, BootAction::Installed(Members(1)), "done {done}");
        assert!(d.runs(0, &v2) && r.may_run(0));
        // And the revert of that trial restores v1 entirely.
        drop(d.service().unwrap());
        let r = d.boot().unwrap();
        assert_eq!(
            r.action,
            BootAction::Reverted(Members(1), ERROR_TRIAL_NOT_ACCEPTED)
        );
        assert!(d.runs(0, &v1) && r.may_run(0));
    }
}

#[test]
fn a_revert_keeps_a_valid_trial_when_the_backup_does_not_verify() {
    let (dev, v1, v2) = running_v1();
    into_trial(&dev, &v2);
    let backup = dev.slots(0).secondary as usize;
    assert!(dev.flash().contents()[backup..].starts_with(&v1));
    // One bit of the backup's payload flipped at rest.
    dev.flash_mut().flip_bit(backup + 5000, 2);
    for reject in [false, true] {
        let d = dev.clone();
        if reject {
            let svc = d.service().unwrap();
            assert_eq!(call(svc.reject(-7)), REBOOT);
        }
        // Automatic revert (reset without accept), or the rejection.
        let r = d.boot().unwrap();
        assert_eq!(r.action, BootAction::RevertRefused(Members(1)), "{reject}");
        assert!(d.runs(0, &v2) && r.may_run(0), "the trial image must stay");
        let svc = d.service().unwrap();
        let info = query(&svc, 0).unwrap();
        assert_eq!(
            (info.state, info.error, info.version),
            (State::Failed as u8, ERROR_BACKUP_INVALID, v(2))
        );
        drop(svc);
        // And it keeps booting.
        let r = d.boot().unwrap();
        assert!(d.runs(0, &v2) && r.may_run(0));
    }
}

#[test]
fn the_running_factory_image_sets_the_floor_from_the_first_boot() {
    let dev = device();
    let v5 = img(5, 5, 5);
    dev.factory(0, &v5);
    let r = dev.boot().unwrap();
    assert_eq!(r.state, StateReport::Fresh);
    assert_eq!(dev.counters().unwrap()[0], 5);
    // A newer version with a lower counter is refused at finish.
    let svc = dev.service().unwrap();
    let v6_counter4 = Dev::image(v(6), 12_000, 4, &[], 6);
    assert_eq!(download(&svc, 0, &v6_counter4), Err(Error::NotPermitted));
    let info = query(&svc, 0).unwrap();
    assert_eq!(
        (info.state, info.error),
        (State::Failed as u8, Error::NotPermitted.code())
    );
}

#[test]
fn a_lower_counter_is_never_installed_over_a_running_image() {
    let v5 = img(5, 5, 5);
    let v6_counter4 = Dev::image(v(6), 12_000, 4, &[], 6);
    // The running image came from the factory, or from an accepted update.
    for via_update in [false, true] {
        let dev = device();
        if via_update {
            dev.factory(0, &img(1, 1, 1));
            dev.boot().unwrap();
            update_and_accept(&dev, &v5);
        } else {
            dev.factory(0, &v5);
            dev.boot().unwrap();
        }
        stage_directly(&dev, &v6_counter4);
        let r = dev.boot().unwrap();
        assert_eq!(
            r.action,
            BootAction::InstallRefused(Members(1), Error::NotPermitted.code()),
            "via update: {via_update}"
        );
        assert!(dev.runs(0, &v5) && r.may_run(0));
    }
}

#[test]
fn both_boot_log_copies_lost_boot_what_verifies_and_report_until_recovered() {
    let (dev, v1, v2) = running_v1();
    update_and_accept(&dev, &v2);
    // Garbage over the first word of every slot of both copies.
    let g = geo(&dev);
    for copy in g.boot {
        for slot in 0..copy.slots {
            dev.flash_mut()
                .set_raw(copy.slot(slot) as usize + 8, &[0x00, 0x5a, 0x00, 0xa5]);
        }
    }
    let r = dev.boot().unwrap();
    assert_eq!(r.state, StateReport::Corrupt);
    assert_eq!(r.action, BootAction::None);
    assert!(dev.runs(0, &v2) && r.may_run(0));
    let svc = dev.service().unwrap();
    let info = query(&svc, 0).unwrap();
    assert_eq!(
        (info.state, info.error),
        (State::Failed as u8, Error::DataCorrupt.code())
    );
    assert_eq!(call(svc.start(0, None)), Err(Error::StorageFailure));
    assert_eq!(call(svc.recover_state()), DONE);
    assert_eq!(query(&svc, 0).unwrap().state, State::Ready as u8);
    drop(svc);
    // The floor survives the recovery (the running image's counter): v1 is refused.
    assert_eq!(dev.counters().unwrap()[0], 2);
    let r = dev.boot().unwrap();
    assert_eq!(r.state, StateReport::Ok);
    let svc = dev.service().unwrap();
    assert_eq!(download(&svc, 0, &v1), Err(Error::NotPermitted));
}
