//! Start-up: layout validation, the active versions read from the primary headers, settling a
//! finished transaction, and recovery from a corrupt state partition.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use fwu_shared::layout::{ComponentSlots, Layout, LayoutError};
use fwu_shared::state::{BootRecord, Health, Members, Phase, StoredCounters};
use fwu_shared::{Error, ImageVersion, State, Success};
use fwu_updater::{Config, InitError, Updater};

fn new_with(h: &Harness, config: Config<'static>) -> Result<Svc, InitError> {
    run(Updater::new(
        h.flash.clone(),
        config,
        h.resets.clone(),
        StoredCounters,
    ))
}

#[test]
fn a_layout_that_does_not_fit_the_flash_is_refused() {
    let h = Harness::new();
    let wrong_sector = Config {
        layout: Layout {
            sector_size: 2048,
            ..layout()
        },
        ..config()
    };
    assert_eq!(
        new_with(&h, wrong_sector).err(),
        Some(InitError::Layout(LayoutError::SectorSize))
    );
    static OVERLAP: [ComponentSlots; 2] = [
        ComponentSlots {
            id: 0,
            primary: 0x6000,
            secondary: 0x16000,
            sectors: 16,
        },
        ComponentSlots {
            id: 1,
            primary: 0x26000,
            secondary: 0x2b000,
            sectors: 4,
        },
    ];
    let overlap = Config {
        layout: Layout {
            components: &OVERLAP,
            ..layout()
        },
        ..config()
    };
    assert_eq!(
        new_with(&h, overlap).err(),
        Some(InitError::Layout(LayoutError::Overlap))
    );
    static TOO_BIG: [ComponentSlots; 1] = [ComponentSlots {
        id: 0,
        primary: 0x6000,
        secondary: 0x100000,
        sectors: 16,
    }];
    let outside = Config {
        layout: Layout {
            components: &TOO_BIG,
            ..layout()
        },
        ..config()
    };
    assert_eq!(
        new_with(&h, outside).err(),
        Some(InitError::Layout(LayoutError::OutOfDevice))
    );
    static MISALIGNED: [ComponentSlots; 1] = [ComponentSlots {
        id: 0,
        primary: 0x6100,
        secondary: 0x16000,
        sectors: 16,
    }];
    let misaligned = Config {
        layout: Layout {
            components: &MISALIGNED,
            ..layout()
        },
        ..config()
    };
    assert_eq!(
        new_with(&h, misaligned).err(),
        Some(InitError::Layout(LayoutError::Misaligned))
    );
    let small_state = Config {
        layout: Layout {
            state: 0..5 * SECTOR,
            ..layout()
        },
        ..config()
    };
    assert_eq!(
        new_with(&h, small_state).err(),
        Some(InitError::Layout(LayoutError::StateTooSmall { needed: 6 }))
    );
    // Nothing was written by the refused configurations.
    assert!(h.flash.contents().iter().all(|&b| b == 0xff));
}

#[test]
fn active_versions_come_from_the_primary_headers() {
    let h = Harness::new();
    // Component 0: a valid image. Component 1: an image whose signature is broken (the
    // updater does not authenticate the active image: the bootloader did).
    h.install_active(0, &Img::new(ImageVersion::new(3, 4, 5, 6), 3000).build());
    let mut broken = Img::new(ImageVersion::new(1, 2, 3, 4), 3000).build();
    let n = broken.len();
    broken[n - 1] ^= 0xff;
    h.install_active(1, &broken);
    let u = h.boot_app();
    assert_eq!(info(&u, 0).version, ImageVersion::new(3, 4, 5, 6));
    assert_eq!(info(&u, 1).version, ImageVersion::new(1, 2, 3, 4));
    drop(u);
    // An erased or garbage primary slot reads as 0.0.0+0.
    h.install_active(1, &[0x12; 64]);
    let u = h.boot_app();
    assert_eq!(info(&u, 1).version, ImageVersion::default());
    let h = Harness::new();
    assert_eq!(info(&h.boot_app(), 0).version, ImageVersion::default());
}

#[test]
fn a_finished_transaction_is_settled_at_start_up() {
    let h = Harness::new();
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 3000).counter(4).build()).unwrap();
    run(u.install()).unwrap();
    drop(u);
    h.boot(Phase::Trial, 0);
    // The app accepted (the Updated record, with the raised counter, is durable) but was reset
    // before settling.
    let t = h.txn();
    let mut counters = t.counters;
    counters[0] = 4;
    h.set_txn(&BootRecord {
        phase: Phase::Updated,
        trial_booted: false,
        counters,
        ..t
    });
    assert_eq!(h.counter(0), 4);
    assert_eq!(h.record(0).state, State::Candidate);
    let u = h.boot_app();
    assert_eq!(h.txn().phase, Phase::Idle);
    assert_eq!(h.counter(0), 4);
    assert_eq!(state(&u, 0), State::Updated);
    assert_eq!(h.record(0).state, State::Updated);
}

/// Fill both copies of the boot log with garbage (two faults: beyond automatic repair).
fn corrupt_both_boot_copies(h: &Harness) {
    let junk: Vec<u8> = (0..2 * SECTOR as usize)
        .map(|i| (i * 131 % 251) as u8)
        .collect();
    h.flash.load(0, &junk);
}

#[test]
fn a_corrupt_state_is_reported_refused_and_recovered_only_on_request() {
    let h = Harness::new();
    let active = Img::new(v(1, 0), 3000).counter(6).build();
    h.install_active(0, &active);
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 3000).counter(7).build()).unwrap();
    assert_eq!(
        run(u.recover_state()),
        Err(Error::BadState),
        "nothing to recover"
    );
    drop(u);
    corrupt_both_boot_copies(&h);
    let before = h.flash.contents();
    // The service starts, and says what happened.
    let u = h.boot_app();
    let health = run(u.state_health()).unwrap();
    assert_eq!(health.boot, Health::Corrupt);
    assert!(health.corrupt());
    for c in [0, 1] {
        let i = info(&u, c);
        assert_eq!(
            (i.state, i.error),
            (State::Failed as u8, Error::DataCorrupt.code())
        );
    }
    assert_eq!(info(&u, 0).version, v(1, 0));
    // Every change is refused, and nothing is written.
    assert_eq!(run(u.start(1, None)), Err(Error::StorageFailure));
    assert_eq!(run(u.install()), Err(Error::StorageFailure));
    assert_eq!(run(u.clean(0)), Err(Error::StorageFailure));
    assert_eq!(run(u.accept()), Err(Error::StorageFailure));
    assert_eq!(
        h.flash.contents(),
        before,
        "nothing is reformatted silently"
    );
    // The explicit recovery rebuilds the state from what verifies on flash.
    assert_eq!(run(u.recover_state()), Ok(Success::Done));
    assert!(!run(u.state_health()).unwrap().corrupt());
    assert_eq!(
        h.flash.bytes(slots(0).primary as usize, active.len()),
        active,
        "the running image is untouched"
    );
    assert_eq!(
        h.counter(0),
        6,
        "the floor is the verified active image's counter"
    );
    // The catalog was intact: the downloaded candidate is still there.
    assert_eq!(state(&u, 0), State::Candidate);
    assert_eq!(state(&u, 1), State::Ready);
    assert_eq!(run(u.install()), Ok(Success::Reboot));
    assert_eq!(h.txn().members, Members(1));
}
