//! The engine on every supported geometry: sectors from 1 KiB to 128 KiB and write sizes from
//! 4 to 32 bytes. Each device installs an update, reverts it automatically, installs it again
//! and keeps it after acceptance, with one erase per used sector per slot per swap.
#![allow(clippy::unwrap_used, clippy::panic)]

use embassy_futures::block_on;
use fwu_bootloader::{BootAction, BootConfig, Bootloader, ERROR_TRIAL_NOT_ACCEPTED};
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::{scan_slice, KeyRing};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::records::StagedImage;
use fwu_shared::state::{
    staged_set_digest, BootLog, BootRecord, Catalog, ComponentRecord, Members, Phase,
    StateGeometry, StoredCounters,
};
use fwu_shared::{ImageVersion, State};
use fwu_sim_flash::{Geometry, SimFlash};

fn image(version: ImageVersion, total: usize, seed: u8) -> Vec<u8> {
    let mut spec = ImageSpec::new(version);
    spec.security_counter = Some(u32::from(version.major));
    let payload: Vec<u8> = (0..total - spec.image_len(0))
        .map(|i| (i as u8) ^ seed)
        .collect();
    let mut out = vec![0u8; total];
    build_image(
        &spec,
        &payload,
        &Ed25519Signer::from_seed(&[3; 32]),
        &mut out,
    )
    .unwrap();
    out
}

/// Commit `rec` to the boot log of `layout` on `f`.
fn commit<const S: usize, const W: usize>(
    f: &mut SimFlash<S, W>,
    layout: &Layout,
    rec: &BootRecord,
) {
    let mut log = block_on(BootLog::open(f, layout)).unwrap();
    block_on(log.commit(f, rec)).unwrap();
}

fn txn<const S: usize, const W: usize>(f: &mut SimFlash<S, W>, layout: &Layout) -> BootRecord {
    block_on(BootLog::open(f, layout)).unwrap().state()
}

fn run<const S: usize, const W: usize>(sectors: u16, image_sectors: f64) {
    let s = S as u32;
    let probe = [ComponentSlots {
        id: 0,
        primary: 0,
        secondary: 0,
        sectors,
    }];
    let state = StateGeometry::sectors_needed(
        &Layout {
            sector_size: s,
            components: &probe,
            state: 0..0,
        },
        W as u32,
    );
    let slots = [ComponentSlots {
        id: 0,
        primary: state * s,
        secondary: (state + u32::from(sectors)) * s,
        sectors,
    }];
    let layout = Layout {
        sector_size: s,
        components: &slots,
        state: 0..state * s,
    };
    let total_sectors = state as usize + 2 * usize::from(sectors) + 1;
    let mut f = SimFlash::<S, W>::new(Geometry {
        sectors: total_sectors,
        erased: 0xff,
    });
    let len = ((image_sectors * S as f64) as usize).max(600);
    let old = image(ImageVersion::new(1, 0, 0, 0), len - 77, 1);
    let new = image(ImageVersion::new(2, 0, 0, 0), len, 2);
    f.load(slots[0].primary as usize, &old);
    f.load(slots[0].staging_offset(s) as usize, &new);
    let stage = |f: &mut SimFlash<S, W>| {
        let scanned = scan_slice(&new, new.len() as u32).unwrap();
        let rec = ComponentRecord {
            state: State::Candidate,
            staged: StagedImage {
                size: scanned.total_size,
                digest: scanned.digest,
                version: scanned.header.version,
                security_counter: 2,
                dependencies: scanned.dependencies,
            },
            ..ComponentRecord::default()
        };
        let mut cat = block_on(Catalog::open(f, &layout)).unwrap();
        block_on(cat.put(f, 0, &rec)).unwrap();
        let n = block_on(fwu_shared::state::plan::swap_sectors(
            f,
            &slots[0],
            s,
            scanned.total_size,
        ))
        .unwrap();
        let old = txn(f, &layout);
        let mut sectors = [0u16; 8];
        sectors[0] = n;
        commit(
            f,
            &layout,
            &BootRecord {
                seq: old.seq + 1,
                phase: Phase::Staged,
                members: Members(1),
                sectors,
                digest: staged_set_digest([(0u8, scanned.digest)].into_iter()),
                counters: old.counters,
                ..BootRecord::default()
            },
        );
    };
    let keys = [Ed25519Signer::from_seed(&[3; 32]).public_key()];
    let boot = |f: &mut SimFlash<S, W>| {
        Bootloader::new(
            layout.check_for(f).unwrap(),
            KeyRing::new(&keys),
            BootConfig::default(),
            StoredCounters,
        )
        .boot(f)
        .unwrap()
    };
    let p = slots[0].primary as usize;
    let used = new.len().div_ceil(S);

    stage(&mut f);
    f.reset_stats();
    assert_eq!(
        boot(&mut f).action,
        BootAction::Installed(Members(1)),
        "{S}/{W}"
    );
    assert_eq!(&f.contents()[p..p + new.len()], &new[..]);
    let first_p = (slots[0].primary / s) as usize;
    let first_s = (slots[0].secondary / s) as usize;
    for k in 0..used {
        assert_eq!(
            f.stats().sector_erases[first_p + k],
            1,
            "{S}/{W} primary {k}"
        );
        assert_eq!(
            f.stats().sector_erases[first_s + k],
            1,
            "{S}/{W} secondary {k}"
        );
    }
    assert_eq!(
        boot(&mut f).action,
        BootAction::Reverted(Members(1), ERROR_TRIAL_NOT_ACCEPTED)
    );
    assert_eq!(&f.contents()[p..p + old.len()], &old[..], "{S}/{W}");

    // The rejected image is second now; stage the original again (as after clean + download).
    let sec = slots[0].secondary as usize;
    let span = (usize::from(sectors) + 1) * S;
    let mut erased = f.clone();
    {
        use embedded_storage::nor_flash::NorFlash;
        NorFlash::erase(&mut erased, sec as u32, (sec + span) as u32).unwrap();
    }
    f = erased;
    f.load(slots[0].staging_offset(s) as usize, &new);
    let failed = txn(&mut f, &layout);
    assert_eq!(failed.phase, Phase::Failed);
    commit(&mut f, &layout, &failed.settled());
    stage(&mut f);
    assert_eq!(boot(&mut f).action, BootAction::Installed(Members(1)));
    let t = txn(&mut f, &layout);
    commit(
        &mut f,
        &layout,
        &BootRecord {
            phase: Phase::Updated,
            trial_booted: false,
            ..t
        },
    );
    assert_eq!(boot(&mut f).action, BootAction::None);
    assert_eq!(boot(&mut f).action, BootAction::None);
    assert_eq!(&f.contents()[p..p + new.len()], &new[..], "{S}/{W}");
}

#[test]
fn one_kib_sectors_four_byte_writes() {
    run::<1024, 4>(24, 10.5);
}

#[test]
fn two_kib_sectors_eight_byte_writes() {
    run::<2048, 8>(16, 16.0);
}

#[test]
fn four_kib_sectors_thirty_two_byte_writes() {
    run::<4096, 32>(8, 7.0);
}

#[test]
fn one_hundred_twenty_eight_kib_sectors_sixteen_byte_writes() {
    run::<131072, 16>(4, 2.5);
}
