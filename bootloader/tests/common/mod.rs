//! Test fixture: a 32 x 4 KiB-slot device with two components, real signed images, and the
//! records the update service writes, so the boot flow can be driven on the simulated flash.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use embassy_futures::block_on;
use fwu_bootloader::{BootConfig, BootReport, Bootloader};
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::{scan_slice, KeyRing, PublicKey};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::records::StagedImage;
use fwu_shared::state::{ComponentRecord, Members, Phase, StateStore, StoredCounters, TxnRecord};
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
        state: 0..4 * SECTOR,
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
    let mut spec = ImageSpec::new(version);
    spec.security_counter = Some(counter);
    spec.dependencies = deps;
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
    with_store(f, |st| block_on(st.set_component(c, &rec)).unwrap());
}

/// What `install` commits: one Staged transaction over `members`.
pub fn install(f: &mut Flash, members: &[ComponentId]) {
    with_store(f, |st| {
        let old = block_on(st.txn()).unwrap();
        let m = members.iter().fold(Members::NONE, |m, &c| m.with(c));
        block_on(st.set_txn(&TxnRecord {
            seq: old.seq + 1,
            phase: Phase::Staged,
            members: m,
            ..TxnRecord::default()
        }))
        .unwrap();
    });
}

/// Move the transaction to `phase` with `error` (what accept/reject commit).
pub fn set_phase(f: &mut Flash, phase: Phase, error: PsaStatus) {
    with_store(f, |st| {
        let t = block_on(st.txn()).unwrap();
        block_on(st.set_txn(&TxnRecord { phase, error, ..t })).unwrap();
    });
}

pub fn with_store<R>(f: &mut Flash, op: impl FnOnce(&mut StateStore<'_, Flash>) -> R) -> R {
    let mut st = StateStore::new(f, layout().state).unwrap();
    op(&mut st)
}

pub fn txn(f: &mut Flash) -> TxnRecord {
    with_store(f, |st| block_on(st.txn()).unwrap())
}

/// The state and error a component reports (transaction overrides its members).
pub fn state_of(f: &mut Flash, c: ComponentId) -> (State, PsaStatus) {
    with_store(f, |st| {
        let t = block_on(st.txn()).unwrap();
        let r = block_on(st.component(c)).unwrap();
        t.member_state(c).unwrap_or((r.state, r.error))
    })
}

pub fn counter(f: &mut Flash, c: ComponentId) -> u32 {
    with_store(f, |st| block_on(st.stored_counter(c)).unwrap())
}

/// One boot with a freshly built bootloader (a true cold start: nothing survives in RAM).
pub fn boot(f: &mut Flash) -> Result<BootReport, fwu_bootloader::BootError> {
    let keys = keys();
    let mut bl = Bootloader::new(
        layout(),
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
