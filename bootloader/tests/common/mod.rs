//! Test fixture: a 32 x 4 KiB-slot device with two components, real signed images, and the
//! records the update service writes, so the boot flow can be driven on the simulated flash.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use embassy_futures::block_on;
use fwu_bootloader::{BootConfig, BootReport, Bootloader};
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::{scan_slice, KeyRing, PublicKey};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::plan::swap_sectors;
use fwu_shared::state::records::StagedImage;
use fwu_shared::state::{
    staged_set_digest, BootLog, BootRecord, Catalog, ComponentRecord, Health, Members, Phase,
    StoredCounters,
};
use fwu_shared::version::Dependency;
use fwu_shared::{ComponentId, ImageVersion, PsaStatus, State};
use fwu_sim_flash::{Geometry, SimFlash};

pub const SECTOR: u32 = 4096;
pub type Flash = SimFlash<4096, 4>;

pub const SLOTS: [ComponentSlots; 2] = [
    ComponentSlots {
        id: 0,
        primary: 0x10000,
        secondary: 0x30000,
        sectors: 32,
    },
    ComponentSlots {
        id: 1,
        primary: 0x60000,
        secondary: 0x70000,
        sectors: 8,
    },
];

pub fn layout() -> Layout<'static> {
    Layout {
        sector_size: SECTOR,
        components: &SLOTS,
        state: 0..6 * SECTOR,
    }
}

pub fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(&[0x11; 32])
}

pub fn keys() -> [PublicKey; 1] {
    [signer().public_key()]
}

pub fn new_flash() -> Flash {
    Flash::new(Geometry {
        sectors: 0x80000 / 4096,
        erased: 0xff,
    })
}

/// A signed image of exactly `total` bytes (header 32, payload filled from `seed`).
pub fn image(
    version: ImageVersion,
    total: usize,
    counter: u32,
    deps: &[Dependency],
    seed: u8,
) -> Vec<u8> {
    image_for(version, total, counter, deps, seed, (None, None))
}

/// [`image`] with vendor and class UUID TLVs.
pub fn image_for(
    version: ImageVersion,
    total: usize,
    counter: u32,
    deps: &[Dependency],
    seed: u8,
    ids: (Option<[u8; 16]>, Option<[u8; 16]>),
) -> Vec<u8> {
    let mut spec = ImageSpec::new(version);
    spec.security_counter = Some(counter);
    spec.dependencies = deps;
    (spec.vendor_id, spec.class_id) = ids;
    let overhead = spec.image_len(0);
    let payload: Vec<u8> = (0..total - overhead)
        .map(|i| (i as u8).wrapping_mul(13) ^ seed)
        .collect();
    let mut out = vec![0u8; total];
    build_image(&spec, &payload, &signer(), &mut out).unwrap();
    out
}

/// `image` with its Ed25519 signature (the last 64 bytes) replaced by the `S + L` twin: same
/// digest, and a verifier without the `S < L` check accepts it.
pub fn malleated(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    assert!(fwu_shared::image::build::malleate_signature(&mut out));
    out
}

pub fn v(major: u8, minor: u8) -> ImageVersion {
    ImageVersion::new(major, minor, 0, 0)
}

pub fn slots(c: ComponentId) -> &'static ComponentSlots {
    SLOTS.iter().find(|s| s.id == c).unwrap()
}

/// Factory-program the active image of `c`.
pub fn flash_active(f: &mut Flash, c: ComponentId, img: &[u8]) {
    f.load(slots(c).primary as usize, img);
}

/// What the update service leaves after start/write/finish: the image in the staging area and a
/// CANDIDATE record describing it.
pub fn make_candidate(f: &mut Flash, c: ComponentId, img: &[u8]) {
    let s = slots(c);
    f.load(s.staging_offset(SECTOR) as usize, img);
    let scanned = scan_slice(img, img.len() as u32).unwrap();
    let rec = ComponentRecord {
        state: State::Candidate,
        staged: StagedImage {
            size: scanned.total_size,
            digest: scanned.digest,
            version: scanned.header.version,
            security_counter: scanned.security_counter.unwrap_or(0),
            dependencies: scanned.dependencies,
        },
        ..ComponentRecord::default()
    };
    let mut cat = block_on(Catalog::open(f, &layout())).unwrap();
    block_on(cat.put(f, c, &rec)).unwrap();
}

/// The component record of `c` in the catalog.
pub fn record(f: &mut Flash, c: ComponentId) -> ComponentRecord {
    let cat = block_on(Catalog::open(f, &layout())).unwrap();
    cat.record(c).unwrap_or_default()
}

/// The boot log as the bootloader reads it.
pub fn boot_log(f: &mut Flash) -> BootLog {
    block_on(BootLog::open(f, &layout())).unwrap()
}

/// Commit `rec` as the boot record (the generation is the log's).
pub fn commit(f: &mut Flash, rec: &BootRecord) {
    let mut log = boot_log(f);
    block_on(log.commit(f, rec)).unwrap();
}

/// What `install` commits: one Staged transaction over `members`, with the swap plan and the
/// digest of the staged set computed from the candidates.
pub fn install(f: &mut Flash, members: &[ComponentId]) {
    let old = txn(f);
    let m = members.iter().fold(Members::NONE, |m, &c| m.with(c));
    let mut sectors = [0u16; 8];
    let mut digests = Vec::new();
    for &c in members {
        let rec = record(f, c);
        sectors[usize::from(c)] =
            block_on(swap_sectors(f, slots(c), SECTOR, rec.staged.size)).unwrap();
        digests.push((c, rec.staged.digest));
    }
    digests.sort();
    commit(
        f,
        &BootRecord {
            seq: old.seq + 1,
            phase: Phase::Staged,
            members: m,
            sectors,
            digest: staged_set_digest(digests.into_iter()),
            backups: Members(old.backups.0 & !m.0),
            counters: old.counters,
            ..BootRecord::default()
        },
    );
}

/// Move the transaction to `phase` with `error` (what reject commits).
pub fn set_phase(f: &mut Flash, phase: Phase, error: PsaStatus) {
    let t = txn(f);
    commit(
        f,
        &BootRecord {
            phase,
            error,
            trial_booted: false,
            done: 0,
            ..t
        },
    );
}

/// What `accept` commits: `Updated`, the members' counters raised to their images', their
/// backups kept.
pub fn accept(f: &mut Flash) {
    let t = txn(f);
    assert_eq!(t.phase, Phase::Trial);
    let mut counters = t.counters;
    for c in t.members.iter() {
        let image = record(f, c).staged.security_counter;
        counters[usize::from(c)] = counters[usize::from(c)].max(image);
    }
    commit(
        f,
        &BootRecord {
            phase: Phase::Updated,
            error: 0,
            trial_booted: false,
            backups: Members(t.backups.0 | t.members.0),
            counters,
            ..t
        },
    );
}

/// What the service does with a finished transaction: the members' component records take its
/// outcome, then the transaction is released (`Idle`).
pub fn settle(f: &mut Flash) {
    let t = txn(f);
    let state = match t.phase {
        Phase::Failed => State::Failed,
        Phase::Updated => State::Updated,
        other => panic!("settle in {other:?}"),
    };
    for c in t.members.iter() {
        let old = record(f, c);
        let rec = ComponentRecord {
            state,
            error: if state == State::Failed { t.error } else { 0 },
            ..old
        };
        let mut cat = block_on(Catalog::open(f, &layout())).unwrap();
        block_on(cat.put(f, c, &rec)).unwrap();
    }
    commit(f, &t.settled());
}

/// Store `value` as `c`'s security counter floor.
pub fn raise_counter(f: &mut Flash, c: ComponentId, value: u32) {
    let mut t = txn(f);
    t.counters[usize::from(c)] = value;
    commit(f, &t);
}

/// The current transaction (flags and progress applied).
pub fn txn(f: &mut Flash) -> BootRecord {
    boot_log(f).state()
}

/// How the boot log reads.
pub fn health(f: &mut Flash) -> Health {
    boot_log(f).health()
}

/// The state and error a component reports (transaction overrides its members).
pub fn state_of(f: &mut Flash, c: ComponentId) -> (State, PsaStatus) {
    let t = txn(f);
    let r = record(f, c);
    let own = if r.state == State::Failed {
        (r.state, r.error)
    } else {
        (r.state, 0)
    };
    t.member_state(c).unwrap_or(own)
}

pub fn counter(f: &mut Flash, c: ComponentId) -> u32 {
    boot_log(f).counter(c)
}

/// One boot with a freshly built bootloader (a true cold start: nothing survives in RAM).
pub fn boot(f: &mut Flash) -> Result<BootReport, fwu_bootloader::BootError> {
    let keys = keys();
    let layout = layout();
    let mut bl = Bootloader::new(
        layout
            .check_for(f)
            .map_err(fwu_bootloader::BootError::Layout)?,
        KeyRing::new(&keys),
        BootConfig::default(),
        StoredCounters,
    );
    bl.boot(f)
}

pub fn primary(f: &Flash, c: ComponentId, len: usize) -> &[u8] {
    let p = slots(c).primary as usize;
    &f.contents()[p..p + len]
}

pub fn secondary(f: &Flash, c: ComponentId, offset: usize, len: usize) -> &[u8] {
    let s = slots(c).secondary as usize + offset;
    &f.contents()[s..s + len]
}
