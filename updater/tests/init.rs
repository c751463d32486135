//! Start-up: layout validation, the active versions read from the primary headers, settling a
//! finished transaction, and recovery from a corrupt state partition.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use fwu_shared::layout::{ComponentSlots, Layout, LayoutError};
use fwu_shared::state::guard::Guarded;
use fwu_shared::state::{Members, Phase, StoreError, StoredCounters, TxnRecord};
use fwu_shared::{ImageVersion, State, Success};
use fwu_updater::{Config, InitError, Updater};
use sequential_storage::cache::Cache;
use sequential_storage::map::{MapConfig, MapStorage};

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
            primary: 0x4000,
            secondary: 0x14000,
            sectors: 16,
        },
        ComponentSlots {
            id: 1,
            primary: 0x24000,
            secondary: 0x29000,
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
        primary: 0x4000,
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
    // The app accepted (phase Updated is durable) but was reset before settling.
    h.set_txn(&TxnRecord {
        phase: Phase::Updated,
        ..h.txn()
    });
    assert_eq!(h.counter(0), 0);
    let u = h.boot_app();
    assert_eq!(h.txn().phase, Phase::Idle);
    assert_eq!(h.counter(0), 4);
    assert_eq!(state(&u, 0), State::Updated);
    assert_eq!(h.record(0).state, State::Updated);
}

fn corrupt_the_transaction_record(h: &Harness) {
    let mut flash = h.flash.clone();
    // Through the erase guard, exactly as the state store sees the partition.
    let pages = (STATE.end - STATE.start) / 4096;
    let guarded = Guarded::new(&mut flash, STATE.start, pages);
    let range = 0..pages * Guarded::<TestFlash>::page_size();
    let mut map: MapStorage<u8, _, _> =
        MapStorage::new(guarded, MapConfig::new(range), Cache::new_uncached());
    let mut buf = [0u8; 64];
    // A well-formed map item whose value is not a record frame.
    let junk: &[u8] = &[0xc2, 1, 2, 3];
    run(map.store_item(&mut buf, &0x01u8, &junk)).unwrap();
}

#[test]
fn a_corrupt_state_partition_is_reported_and_can_be_formatted() {
    let h = Harness::new();
    let active = Img::new(v(1, 0), 3000).build();
    h.install_active(0, &active);
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 3000).build()).unwrap();
    drop(u);
    corrupt_the_transaction_record(&h);
    assert_eq!(
        new_with(&h, config()).err(),
        Some(InitError::State(StoreError::Corrupt))
    );
    let mut flash = h.flash.clone();
    assert_eq!(
        run(Svc::check_state(&mut flash, &config())),
        Err(InitError::State(StoreError::Corrupt))
    );
    let primary = h.flash.bytes(0x4000, 16 * 4096);
    assert_eq!(run(Svc::format_state(&mut flash, &layout())), Ok(()));
    assert_eq!(run(Svc::check_state(&mut flash, &config())), Ok(()));
    assert_eq!(
        h.flash.bytes(0x4000, 16 * 4096),
        primary,
        "the running image is untouched"
    );
    let u = h.boot_app();
    // The in-flight update is gone; the device updates again from READY.
    assert_eq!(state(&u, 0), State::Ready);
    assert_eq!(info(&u, 0).version, v(1, 0));
    assert_eq!(h.txn(), TxnRecord::default());
    let img = Img::new(v(2, 0), 3000).build();
    assert_eq!(download(&u, 0, &img), Ok(Success::Done));
    assert_eq!(run(u.install()), Ok(Success::Reboot));
    assert_eq!(h.txn().members, Members(1));
}

#[test]
fn check_and_format_validate_the_layout_first() {
    let h = Harness::new();
    let mut flash = h.flash.clone();
    let bad = Layout {
        sector_size: 2048,
        ..layout()
    };
    assert_eq!(
        run(Svc::format_state(&mut flash, &bad)),
        Err(InitError::Layout(LayoutError::SectorSize))
    );
    assert_eq!(
        run(Svc::check_state(
            &mut flash,
            &Config {
                layout: bad,
                ..config()
            }
        )),
        Err(InitError::Layout(LayoutError::SectorSize))
    );
    assert_eq!(run(Svc::check_state(&mut flash, &config())), Ok(()));
}
