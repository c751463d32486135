//! The boot flow on the simulated NOR flash: install, trial, accept, reject, automatic revert,
//! multi-component transactions with dependencies, verification failures that must move
//! nothing, image sizes from small to a full slot, and active-image authentication.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use fwu_bootloader::{
    BootAction, BootConfig, BootReport, Bootloader, Refusal, StateReport, ERROR_TRIAL_NOT_ACCEPTED,
};
use fwu_shared::image::ImageError;
use fwu_shared::image::KeyRing;
use fwu_shared::state::records::ERROR_WRONG_DEVICE;
use fwu_shared::state::{CounterError, SecurityCounters, StoredCounters};
use fwu_shared::state::{Members, Phase};
use fwu_shared::version::Dependency;
use fwu_shared::ComponentId;
use fwu_shared::{Error, State};

const FULL: usize = 32 * SECTOR as usize;

/// Old v1 active, new v2 staged and installed: the basic fixture of most tests.
fn staged_update(old_len: usize, new_len: usize) -> (Flash, Vec<u8>, Vec<u8>) {
    let mut f = new_flash();
    let old = image(v(1, 0), old_len, 1, &[], 0xa1);
    let new = image(v(2, 0), new_len, 2, &[], 0xb2);
    flash_active(&mut f, 0, &old);
    make_candidate(&mut f, 0, &new);
    install(&mut f, &[0]);
    (f, old, new)
}

#[test]
fn an_idle_device_boots_its_authenticated_image_and_changes_nothing() {
    let mut f = new_flash();
    flash_active(&mut f, 0, &image(v(1, 0), 5000, 1, &[], 1));
    flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 2));
    // The first boot of a factory-fresh device writes its first state, with the factory
    // images' counters as the floors.
    let r = boot(&mut f).unwrap();
    assert_eq!((r.action, r.state), (BootAction::None, StateReport::Fresh));
    assert_eq!((counter(&mut f, 0), counter(&mut f, 1)), (1, 1));
    f.reset_stats();
    let r = boot(&mut f).unwrap();
    assert_eq!(r.action, BootAction::None);
    assert!(!r.trial && r.refused.is_none() && r.state == StateReport::Ok);
    assert_eq!(
        f.stats().ops(),
        0,
        "a no-update boot must not write the flash"
    );
}

#[test]
fn a_layout_checked_for_another_flash_is_refused_before_any_access() {
    use fwu_bootloader::BootError;
    use fwu_shared::layout::LayoutError;
    let mut f = new_flash();
    flash_active(&mut f, 0, &image(v(1, 0), 5000, 1, &[], 1));
    let keys = keys();
    let layout = layout();
    let capacity = 0x80000u64;
    for (checked, want) in [
        // Checked for a larger device than the one booted.
        (
            layout.check(2 * capacity, SECTOR, 4),
            LayoutError::OutOfDevice,
        ),
        // Checked for 8-byte writes, booted on a 4-byte-write flash.
        (layout.check(capacity, SECTOR, 8), LayoutError::WriteSize),
    ] {
        let before = f.contents().to_vec();
        f.reset_stats();
        let got = Bootloader::new(
            checked.unwrap(),
            KeyRing::new(&keys),
            BootConfig::default(),
            StoredCounters,
        )
        .boot(&mut f);
        assert_eq!(got, Err(BootError::Layout(want)));
        assert_eq!(f.stats().ops(), 0);
        assert_eq!(f.contents(), &before[..]);
    }
}

#[test]
fn a_bootloader_with_an_identity_installs_and_runs_only_images_for_this_device() {
    let (vid, cid) = ([0x5au8; 16], [0xc1u8; 16]);
    let keys = keys();
    let layout = layout();
    let boot = |f: &mut Flash| {
        let ring = KeyRing::new(&keys).with_identity(fwu_shared::image::ImageIdentity {
            vendor_id: Some(vid),
            class_id: Some(cid),
        });
        Bootloader::new(
            layout.check_for(f).unwrap(),
            ring,
            BootConfig::default(),
            StoredCounters,
        )
        .boot(f)
        .unwrap()
    };
    let ours = |ver, seed| image_for(ver, 6000, 1, &[], seed, (Some(vid), Some(cid)));
    let mut f = new_flash();
    flash_active(&mut f, 0, &ours(v(1, 0), 1));
    flash_active(&mut f, 1, &ours(v(1, 0), 2));
    let r = boot(&mut f);
    assert!(r.may_run(0) && r.may_run(1) && r.refused.is_none());
    // A staged image of another class (authentic: the service of a device without an
    // identity would have let it through) is refused at boot and nothing moves.
    let active = primary(&f, 0, 6000).to_vec();
    let foreign = image_for(v(2, 0), 6000, 2, &[], 3, (Some(vid), Some([0xc2; 16])));
    make_candidate(&mut f, 0, &foreign);
    install(&mut f, &[0]);
    let r = boot(&mut f);
    assert_eq!(
        r.action,
        BootAction::InstallRefused(Members(1), ERROR_WRONG_DEVICE)
    );
    assert_eq!(primary(&f, 0, 6000), &active[..]);
    assert!(r.may_run(0));
    // An active image without the ids is not run.
    let mut f = new_flash();
    flash_active(&mut f, 0, &image(v(1, 0), 6000, 1, &[], 1));
    flash_active(&mut f, 1, &ours(v(1, 0), 2));
    let r = boot(&mut f);
    assert_eq!(
        r.refused,
        Some((0, Refusal::Image(ImageError::WrongDevice)))
    );
    assert!(!r.may_run(0) && r.may_run(1));
}

#[test]
fn install_trial_then_automatic_revert_for_each_image_size() {
    // Smaller than the slot, exactly the slot, one sector short of the slot, larger than old.
    for (old_len, new_len) in [
        (10_000, 7_000),
        (9_000, FULL),
        (FULL, FULL - SECTOR as usize),
        (3_000, 50_000),
    ] {
        let (mut f, old, new) = staged_update(old_len, new_len);
        let r = boot(&mut f).unwrap();
        assert_eq!(
            r.action,
            BootAction::Installed(Members(1)),
            "{old_len}->{new_len}"
        );
        assert!(r.trial);
        assert_eq!(primary(&f, 0, new.len()), &new[..]);
        assert_eq!(
            secondary(&f, 0, 0, old.len()),
            &old[..],
            "the old image is the backup at offset 0"
        );
        assert_eq!(state_of(&mut f, 0).0, State::Trial);
        assert!(txn(&mut f).trial_booted);

        // Reboot without accept: automatic rollback.
        let r = boot(&mut f).unwrap();
        assert_eq!(
            r.action,
            BootAction::Reverted(Members(1), ERROR_TRIAL_NOT_ACCEPTED)
        );
        assert!(!r.trial);
        assert_eq!(primary(&f, 0, old.len()), &old[..]);
        assert_eq!(
            secondary(&f, 0, SECTOR as usize, new.len()),
            &new[..],
            "the rejected image is second"
        );
        assert_eq!(
            state_of(&mut f, 0),
            (State::Failed, ERROR_TRIAL_NOT_ACCEPTED)
        );
        assert_eq!(
            counter(&mut f, 0),
            1,
            "the old image's floor, never the trial's"
        );
        // And it stays that way.
        assert_eq!(boot(&mut f).unwrap().action, BootAction::None);
        assert_eq!(primary(&f, 0, old.len()), &old[..]);
    }
}

#[test]
fn a_cut_between_install_and_hand_over_does_not_count_as_a_trial_boot() {
    let (mut f, _old, new) = staged_update(8000, 8000);
    let r = boot(&mut f).unwrap();
    assert!(r.trial);
    // Pretend the hand-over mark never made it: the Trial phase without trial_booted.
    let t = txn(&mut f);
    commit(
        &mut f,
        &fwu_shared::state::BootRecord {
            trial_booted: false,
            ..t
        },
    );
    let r = boot(&mut f).unwrap();
    assert_eq!(r.action, BootAction::None);
    assert!(r.trial, "the trial image gets its run");
    assert_eq!(primary(&f, 0, new.len()), &new[..]);
}

#[test]
fn install_then_accept_keeps_the_new_image_and_raises_the_counter() {
    let (mut f, old, new) = staged_update(12_000, 20_000);
    boot(&mut f).unwrap();
    assert_eq!(
        counter(&mut f, 0),
        0,
        "not raised to the trial image's counter"
    );
    accept(&mut f);
    assert_eq!(counter(&mut f, 0), 2, "raised by the acceptance itself");
    let r = boot(&mut f).unwrap();
    assert_eq!(r.action, BootAction::None);
    assert!(!r.trial);
    assert_eq!(state_of(&mut f, 0), (State::Updated, 0));
    assert_eq!(
        txn(&mut f).phase,
        Phase::Updated,
        "settling is the service's"
    );
    assert_eq!(counter(&mut f, 0), 2);
    assert_eq!(primary(&f, 0, new.len()), &new[..]);
    assert_eq!(secondary(&f, 0, 0, old.len()), &old[..]);
    boot(&mut f).unwrap();
    assert_eq!(primary(&f, 0, new.len()), &new[..]);
}

#[test]
fn install_then_reject_reverts_with_the_reject_code() {
    let (mut f, old, _new) = staged_update(12_000, 20_000);
    boot(&mut f).unwrap();
    set_phase(&mut f, Phase::Rejected, -77);
    assert_eq!(state_of(&mut f, 0), (State::Rejected, -77));
    let r = boot(&mut f).unwrap();
    assert_eq!(r.action, BootAction::Reverted(Members(1), -77));
    assert_eq!(primary(&f, 0, old.len()), &old[..]);
    assert_eq!(state_of(&mut f, 0), (State::Failed, -77));
}

#[test]
fn multi_component_install_and_revert_are_atomic_with_dependencies() {
    let mut f = new_flash();
    let app1 = image(v(1, 0), 40_000, 1, &[], 1);
    let radio1 = image(v(1, 0), 9_000, 1, &[], 2);
    flash_active(&mut f, 0, &app1);
    flash_active(&mut f, 1, &radio1);
    // app 2.0 needs radio >= 2.0; radio 2.0 needs app >= 2.0: only installable together.
    let app2 = image(
        v(2, 0),
        60_000,
        2,
        &[Dependency {
            component: 1,
            min_version: v(2, 0),
        }],
        3,
    );
    let radio2 = image(
        v(2, 0),
        20_000,
        2,
        &[Dependency {
            component: 0,
            min_version: v(2, 0),
        }],
        4,
    );
    make_candidate(&mut f, 0, &app2);
    make_candidate(&mut f, 1, &radio2);
    install(&mut f, &[0, 1]);
    let r = boot(&mut f).unwrap();
    assert_eq!(r.action, BootAction::Installed(Members(0b11)));
    assert_eq!(primary(&f, 0, app2.len()), &app2[..]);
    assert_eq!(primary(&f, 1, radio2.len()), &radio2[..]);
    assert_eq!(state_of(&mut f, 0).0, State::Trial);
    assert_eq!(state_of(&mut f, 1).0, State::Trial);
    let r = boot(&mut f).unwrap();
    assert_eq!(
        r.action,
        BootAction::Reverted(Members(0b11), ERROR_TRIAL_NOT_ACCEPTED)
    );
    assert_eq!(primary(&f, 0, app1.len()), &app1[..]);
    assert_eq!(primary(&f, 1, radio1.len()), &radio1[..]);
}

#[test]
fn an_unmet_dependency_at_boot_fails_every_member_and_moves_nothing() {
    let mut f = new_flash();
    let app1 = image(v(1, 0), 40_000, 1, &[], 1);
    let radio1 = image(v(1, 0), 9_000, 1, &[], 2);
    flash_active(&mut f, 0, &app1);
    flash_active(&mut f, 1, &radio1);
    let app2 = image(
        v(2, 0),
        60_000,
        2,
        &[Dependency {
            component: 1,
            min_version: v(3, 0),
        }],
        3,
    );
    let radio2 = image(v(2, 0), 20_000, 2, &[], 4);
    make_candidate(&mut f, 0, &app2);
    make_candidate(&mut f, 1, &radio2);
    install(&mut f, &[0, 1]);
    let before = f.contents().to_vec();
    let r = boot(&mut f).unwrap();
    assert_eq!(
        r.action,
        BootAction::InstallRefused(Members(0b11), Error::DependencyNeeded.code())
    );
    assert_eq!(
        state_of(&mut f, 0),
        (State::Failed, Error::DependencyNeeded.code())
    );
    assert_eq!(
        state_of(&mut f, 1),
        (State::Failed, Error::DependencyNeeded.code())
    );
    let state_end = (6 * SECTOR) as usize;
    assert_eq!(
        &f.contents()[state_end..],
        &before[state_end..],
        "no slot byte changed"
    );
}

#[test]
fn staged_images_that_fail_verification_are_refused_and_nothing_moves() {
    type Tamper = Box<dyn Fn(&mut Flash, &[u8])>;
    let cases: Vec<(&str, Tamper, i32)> = vec![
        (
            "flipped payload byte",
            Box::new(|f: &mut Flash, new: &[u8]| {
                let mut bad = new.to_vec();
                bad[5000] ^= 1;
                f.load(slots(0).staging_offset(SECTOR) as usize, &bad);
            }),
            Error::InvalidSignature.code(),
        ),
        (
            "another validly signed image than the one finished",
            Box::new(|f: &mut Flash, _new: &[u8]| {
                let other = image(v(2, 0), 20_000, 2, &[], 0x77);
                f.load(slots(0).staging_offset(SECTOR) as usize, &other);
            }),
            Error::InvalidSignature.code(),
        ),
        (
            "security counter below the stored one",
            Box::new(|f: &mut Flash, _new: &[u8]| {
                // The running image has counter 1, the stored floor is 1, the candidate has 0.
                raise_counter(f, 0, 1);
                make_candidate(f, 0, &image(v(2, 0), 20_000, 0, &[], 0xb3));
            }),
            Error::NotPermitted.code(),
        ),
        (
            "the staged signature replaced by its S + L twin (same digest)",
            Box::new(|f: &mut Flash, new: &[u8]| {
                f.load(slots(0).staging_offset(SECTOR) as usize, &malleated(new));
            }),
            Error::InvalidSignature.code(),
        ),
        (
            "garbage header",
            Box::new(|f: &mut Flash, _new: &[u8]| {
                f.load(slots(0).staging_offset(SECTOR) as usize, &[0u8; 64]);
            }),
            Error::InvalidArgument.code(),
        ),
    ];
    for (what, tamper, code) in cases {
        let mut f = new_flash();
        let old = image(v(1, 0), 10_000, 1, &[], 0xa1);
        let new = image(v(2, 0), 20_000, 2, &[], 0xb2);
        flash_active(&mut f, 0, &old);
        // Build the candidate on a scratch copy, then tamper with the staging area the way an
        // untrusted writer could (the load bypasses NOR checks like a fault would).
        make_candidate(&mut f, 0, &new);
        tamper(&mut f, &new);
        install(&mut f, &[0]);
        let r = boot(&mut f).unwrap();
        assert_eq!(
            r.action,
            BootAction::InstallRefused(Members(1), code),
            "{what}"
        );
        assert_eq!(state_of(&mut f, 0), (State::Failed, code), "{what}");
        assert_eq!(primary(&f, 0, old.len()), &old[..], "{what}");
        assert!(r.may_run(0), "{what}: the old image still runs");
    }
}

#[test]
fn a_corrupted_active_image_is_refused_when_no_backup_exists() {
    let mut f = new_flash();
    let mut img = image(v(1, 0), 10_000, 1, &[], 1);
    img[3000] ^= 0x40;
    flash_active(&mut f, 0, &img);
    flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 2));
    let r = boot(&mut f).unwrap();
    assert_eq!(
        r.refused,
        Some((0, Refusal::Image(ImageError::HashMismatch)))
    );
    assert!(!r.may_run(0) && r.may_run(1));
}

#[test]
fn an_active_image_with_a_malleated_signature_is_refused() {
    let mut f = new_flash();
    flash_active(&mut f, 0, &malleated(&image(v(1, 0), 10_000, 1, &[], 1)));
    flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 2));
    let r = boot(&mut f).unwrap();
    assert_eq!(
        r.refused,
        Some((0, Refusal::Image(ImageError::NonCanonicalSignature)))
    );
    assert!(!r.may_run(0) && r.may_run(1));
}

#[test]
fn an_active_image_below_the_stored_counter_is_refused() {
    let mut f = new_flash();
    flash_active(&mut f, 0, &image(v(1, 0), 10_000, 3, &[], 1));
    flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 2));
    raise_counter(&mut f, 0, 4);
    let r = boot(&mut f).unwrap();
    assert_eq!(
        r.refused,
        Some((0, Refusal::SecurityCounter { image: 3, floor: 4 }))
    );
}

/// A board's own counter store (OTP, a hardware monotonic counter): fixed floors, or an error.
struct Backend(Result<[u32; 2], CounterError>);

impl SecurityCounters for Backend {
    fn floor(&mut self, c: ComponentId) -> Result<u32, CounterError> {
        self.0.map(|f| f.get(usize::from(c)).copied().unwrap_or(0))
    }

    fn raise(&mut self, _c: ComponentId, _value: u32) -> Result<(), CounterError> {
        Ok(())
    }
}

fn boot_with(f: &mut Flash, backend: Backend) -> BootReport {
    let keys = keys();
    let layout = layout();
    Bootloader::new(
        layout.check_for(f).unwrap(),
        KeyRing::new(&keys),
        BootConfig::default(),
        backend,
    )
    .boot(f)
    .unwrap()
}

#[test]
fn the_counter_backend_is_a_floor_and_its_failure_stops_every_action() {
    // The backend's floor above the stored one: the active image below it is refused, and a
    // staged image below it is never installed.
    let (mut f, _old, _new) = staged_update(10_000, 9_000);
    let r = boot_with(&mut f, Backend(Ok([3, 0])));
    assert_eq!(
        r.refused,
        Some((0, Refusal::SecurityCounter { image: 1, floor: 3 }))
    );
    assert!(
        matches!(r.action, BootAction::InstallRefused(m, _) if m == Members(1)),
        "{:?}",
        r.action
    );
    // A backend that cannot be read: nothing is acted on (the staged update stays staged),
    // the state counts as unreadable, and what verifies above the stored floors still runs.
    let (mut f, _old, _new) = staged_update(10_000, 9_000);
    let r = boot_with(&mut f, Backend(Err(CounterError)));
    assert_eq!(
        (r.action, r.state),
        (BootAction::None, StateReport::Unreadable)
    );
    assert!(r.may_run(0));
    assert_eq!(txn(&mut f).phase, Phase::Staged);
}

#[test]
fn an_updated_component_whose_image_rots_is_recovered_from_its_backup() {
    let (mut f, old, new) = staged_update(12_000, 20_000);
    flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 2));
    boot(&mut f).unwrap();
    accept(&mut f);
    settle(&mut f);
    boot(&mut f).unwrap();
    assert_eq!(state_of(&mut f, 0), (State::Updated, 0));
    // Bit rot in the new image; the backup (v1, counter 1) is still acceptable only if the
    // stored counter allows it: accept raised it to 2, so recovery must be refused...
    let p = slots(0).primary as usize;
    let mut rotten = new.clone();
    rotten[100] ^= 1;
    f.load(p, &rotten);
    let r = boot(&mut f).unwrap();
    assert_eq!(
        r.refused,
        Some((0, Refusal::Image(ImageError::HashMismatch)))
    );
    assert_eq!(
        r.action,
        BootAction::None,
        "a backup below the counter is not a recovery"
    );
    // ...while a backup with the same counter is.
    let (mut f, old2, new2) = {
        let mut f = new_flash();
        let old = image(v(1, 0), 12_000, 2, &[], 0xa1);
        let new = image(v(2, 0), 20_000, 2, &[], 0xb2);
        flash_active(&mut f, 0, &old);
        flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 2));
        make_candidate(&mut f, 0, &new);
        install(&mut f, &[0]);
        (f, old, new)
    };
    boot(&mut f).unwrap();
    accept(&mut f);
    settle(&mut f);
    boot(&mut f).unwrap();
    let mut rotten = new2.clone();
    rotten[100] ^= 1;
    f.load(p, &rotten);
    let r = boot(&mut f).unwrap();
    assert_eq!(r.action, BootAction::Recovered(0));
    assert!(r.refused.is_none());
    assert_eq!(primary(&f, 0, old2.len()), &old2[..]);
    assert_eq!(state_of(&mut f, 0).0, State::Failed);
    let _ = old;
}

#[test]
fn a_corrupted_state_partition_boots_the_authenticated_image_safely() {
    let mut f = new_flash();
    let img = image(v(1, 0), 10_000, 1, &[], 1);
    flash_active(&mut f, 0, &img);
    flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 2));
    let junk: Vec<u8> = (0..6 * SECTOR as usize)
        .map(|i| (i * 151 % 251) as u8)
        .collect();
    f.load(0, &junk);
    let before = f.contents().to_vec();
    let r = boot(&mut f).unwrap();
    assert_eq!(r.state, StateReport::Corrupt);
    assert!(r.refused.is_none());
    assert_eq!(primary(&f, 0, img.len()), &img[..]);
    assert_eq!(
        f.contents(),
        &before[..],
        "nothing is written, nothing reformatted"
    );
}

#[test]
fn an_install_costs_one_erase_per_used_sector_per_slot() {
    let (mut f, _old, _new) = staged_update(10 * SECTOR as usize - 100, 12 * SECTOR as usize - 100);
    f.reset_stats();
    boot(&mut f).unwrap();
    let per_sector = f.stats().sector_erases.clone();
    let p0 = (slots(0).primary / SECTOR) as usize;
    let s0 = (slots(0).secondary / SECTOR) as usize;
    for k in 0..12 {
        assert_eq!(per_sector[p0 + k], 1, "primary sector {k}");
        assert_eq!(per_sector[s0 + k], 1, "secondary sector {k}");
    }
    for k in 12..32 {
        assert_eq!(per_sector[p0 + k], 0, "unused primary sector {k} untouched");
    }
    assert_eq!(
        per_sector[s0 + 12],
        0,
        "the last staged sector is only read"
    );
}

#[test]
fn a_trial_member_failing_authentication_rolls_back_the_whole_transaction() {
    let mut f = new_flash();
    let app1 = image(v(1, 0), 40_000, 1, &[], 1);
    let radio1 = image(v(1, 0), 9_000, 1, &[], 2);
    flash_active(&mut f, 0, &app1);
    flash_active(&mut f, 1, &radio1);
    let app2 = image(v(2, 0), 30_000, 2, &[], 3);
    let radio2 = image(v(2, 0), 12_000, 2, &[], 4);
    make_candidate(&mut f, 0, &app2);
    make_candidate(&mut f, 1, &radio2);
    install(&mut f, &[0, 1]);
    assert_eq!(
        boot(&mut f).unwrap().action,
        BootAction::Installed(Members(0b11))
    );
    // As if power failed before the hand-over was recorded, and the radio image then rotted.
    let t = txn(&mut f);
    commit(
        &mut f,
        &fwu_shared::state::BootRecord {
            trial_booted: false,
            ..t
        },
    );
    let mut rotten = radio2.clone();
    rotten[200] ^= 4;
    f.load(slots(1).primary as usize, &rotten);
    let r = boot(&mut f).unwrap();
    assert_eq!(
        r.action,
        BootAction::Reverted(Members(0b11), fwu_bootloader::ERROR_ACTIVE_INVALID)
    );
    assert!(
        r.may_run(0) && r.may_run(1),
        "both old images pass the re-check"
    );
    assert!(!r.trial);
    assert_eq!(primary(&f, 0, app1.len()), &app1[..]);
    assert_eq!(primary(&f, 1, radio1.len()), &radio1[..]);
    assert_eq!(
        state_of(&mut f, 1),
        (State::Failed, fwu_bootloader::ERROR_ACTIVE_INVALID)
    );
}

#[test]
fn a_revert_whose_backup_does_not_verify_moves_nothing_and_keeps_the_trial_image() {
    for how in ["reboot without accept", "reject"] {
        let (mut f, old, new) = staged_update(12_000, 20_000);
        flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 2));
        assert_eq!(
            boot(&mut f).unwrap().action,
            BootAction::Installed(Members(1))
        );
        // The backup (the old image, now at offset 0 of the secondary slot) rots.
        assert_eq!(secondary(&f, 0, 0, old.len()), &old[..]);
        let at = slots(0).secondary as usize + 700;
        let b = f.contents()[at] ^ 0x20;
        f.load(at, &[b]);
        if how == "reject" {
            set_phase(&mut f, Phase::Rejected, -5);
        }
        let before = f.contents()[slots(0).primary as usize..][..new.len()].to_vec();
        let r = boot(&mut f).unwrap();
        assert_eq!(r.action, BootAction::RevertRefused(Members(1)), "{how}");
        assert!(
            r.may_run(0) && !r.trial,
            "{how}: the trial image keeps booting"
        );
        assert_eq!(
            primary(&f, 0, new.len()),
            &before[..],
            "{how}: nothing moved"
        );
        assert_eq!(
            state_of(&mut f, 0),
            (State::Failed, fwu_bootloader::ERROR_BACKUP_INVALID),
            "{how}"
        );
        // And it stays that way: the next boot does not try again.
        assert_eq!(boot(&mut f).unwrap().action, BootAction::None, "{how}");
        assert_eq!(primary(&f, 0, new.len()), &new[..], "{how}");
    }
}
