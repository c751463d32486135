//! Test fixture: a shared handle on a simulated 4 KiB-sector NOR flash (so a test can inspect
//! it, inject failures and "reboot" by building a new service on the same cells), a two-
//! component layout, real signed images, and a stand-in for the bootloader's decisions.
//!
//! The STAGED → TRIAL / FAILED and TRIAL / REJECTED → FAILED transitions belong to the
//! bootloader. Here [`Harness::boot`] imitates their *outcome* by writing the transaction phase
//! (and, for a trial, the new image into the primary slot) directly; end-to-end runs with the
//! real bootloader engine are in the bootloader crate's tests.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Waker};
use embassy_futures::block_on;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embedded_storage::nor_flash::{NorFlash as BlockingNorFlash, ReadNorFlash as BlockingRead};
use embedded_storage_async::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::{scan_slice, KeyRing, PublicKey};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{BootLog, BootRecord, Catalog, ComponentRecord, Phase, StoredCounters};
use fwu_shared::version::{BuildNumber, Dependency};
use fwu_shared::{ComponentId, ComponentInfo, Error, FwuResult, ImageVersion, State, Success};
use fwu_sim_flash::{CutModel, FlashError, Geometry, SimFlash, Stats};
use fwu_updater::{Config, ResetHook, Updater, PSA_FWU_MAX_WRITE_SIZE};
use std::rc::Rc;

pub const SECTOR: u32 = 4096;
pub type Sim = SimFlash<4096, 4>;
pub const STATE: core::ops::Range<u32> = 0..6 * SECTOR;

/// Component 0: 16-sector slots (64 KiB images); component 1: 4-sector slots.
pub static SLOTS: [ComponentSlots; 2] = [
    ComponentSlots {
        id: 0,
        primary: 0x6000,
        secondary: 0x16000,
        sectors: 16,
    },
    ComponentSlots {
        id: 1,
        primary: 0x27000,
        secondary: 0x2b000,
        sectors: 4,
    },
];
pub const DEVICE_SECTORS: usize = 0x30000 / 4096;

pub fn layout() -> Layout<'static> {
    Layout {
        sector_size: SECTOR,
        components: &SLOTS,
        state: STATE,
    }
}

pub fn slots(c: ComponentId) -> ComponentSlots {
    *layout().component(c).unwrap()
}

/// Flash offset where image offset 0 of component `c` is staged.
pub fn staging(c: ComponentId) -> usize {
    slots(c).staging_offset(SECTOR) as usize
}

pub fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(&[0x42; 32])
}

pub fn other_signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(&[0x99; 32])
}

pub static KEYS: std::sync::LazyLock<[PublicKey; 1]> =
    std::sync::LazyLock::new(|| [signer().public_key()]);

pub fn config() -> Config<'static> {
    Config {
        layout: layout(),
        keys: KeyRing::new(&*KEYS),
        build_number: BuildNumber::Ignore,
    }
}

pub fn v(major: u8, minor: u8) -> ImageVersion {
    ImageVersion::new(major, minor, 0, 0)
}

/// A description of a test image.
#[derive(Clone, Copy)]
pub struct Img<'d> {
    pub version: ImageVersion,
    pub payload: usize,
    pub counter: Option<u32>,
    pub deps: &'d [Dependency],
    pub seed: u8,
    /// Vendor and class UUID TLVs.
    pub ids: (Option<[u8; 16]>, Option<[u8; 16]>),
}

impl Img<'static> {
    pub fn new(version: ImageVersion, payload: usize) -> Self {
        Img {
            version,
            payload,
            counter: None,
            deps: &[],
            seed: 1,
            ids: (None, None),
        }
    }
}

impl<'d> Img<'d> {
    pub fn counter(self, c: u32) -> Self {
        Img {
            counter: Some(c),
            ..self
        }
    }
    pub fn deps<'e>(self, deps: &'e [Dependency]) -> Img<'e> {
        Img {
            version: self.version,
            payload: self.payload,
            counter: self.counter,
            deps,
            seed: self.seed,
            ids: self.ids,
        }
    }
    pub fn ids(self, vendor: Option<[u8; 16]>, class: Option<[u8; 16]>) -> Self {
        Img {
            ids: (vendor, class),
            ..self
        }
    }
    pub fn seed(self, seed: u8) -> Self {
        Img { seed, ..self }
    }
    pub fn build(&self) -> Vec<u8> {
        self.build_with(&signer())
    }
    pub fn build_with(&self, s: &dyn Signer) -> Vec<u8> {
        let mut spec = ImageSpec::new(self.version);
        spec.security_counter = self.counter;
        spec.dependencies = self.deps;
        (spec.vendor_id, spec.class_id) = self.ids;
        let payload: Vec<u8> = (0..self.payload)
            .map(|i| (i as u8).wrapping_mul(31) ^ self.seed)
            .collect();
        let mut out = vec![0u8; spec.image_len(self.payload)];
        let built = build_image(&spec, &payload, s, &mut out).unwrap();
        assert_eq!(built.len, out.len());
        out
    }
}

/// The SHA-256 digest an image declares (and `query` reports once it is staged).
/// `image` with its Ed25519 signature (the last 64 bytes) replaced by the `S + L` twin: same
/// digest, and a verifier without the `S < L` check accepts it.
pub fn malleated(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    assert!(fwu_shared::image::build::malleate_signature(&mut out));
    out
}

pub fn digest(image: &[u8]) -> [u8; 32] {
    scan_slice(image, u32::MAX).unwrap().digest
}

// ---------------------------------------------------------------------------------------------
// The shared flash handle.

#[derive(Default)]
pub struct Controls {
    /// Return `Pending` once before each write or erase (lets `join` interleave tasks and lets
    /// a test drop a future in the middle of a call).
    pub yield_mutations: Cell<bool>,
    /// Fail every read (a flash read error).
    pub fail_reads: Cell<bool>,
}

/// A cloneable handle on one simulated flash device.
#[derive(Clone)]
pub struct TestFlash {
    pub sim: Rc<RefCell<Sim>>,
    pub ctl: Rc<Controls>,
}

impl TestFlash {
    pub fn new() -> Self {
        TestFlash {
            sim: Rc::new(RefCell::new(Sim::new(Geometry {
                sectors: DEVICE_SECTORS,
                erased: 0xff,
            }))),
            ctl: Rc::new(Controls::default()),
        }
    }
    pub fn contents(&self) -> Vec<u8> {
        self.sim.borrow().contents().to_vec()
    }
    pub fn bytes(&self, at: usize, len: usize) -> Vec<u8> {
        self.sim.borrow().contents()[at..at + len].to_vec()
    }
    pub fn stats(&self) -> Stats {
        self.sim.borrow().stats().clone()
    }
    pub fn reset_stats(&self) {
        self.sim.borrow_mut().reset_stats();
    }
    pub fn load(&self, at: usize, bytes: &[u8]) {
        self.sim.borrow_mut().load(at, bytes);
    }
    /// Make the next write or erase fail (and every flash call after it, until `power_on`).
    pub fn cut_next(&self) {
        let mut s = self.sim.borrow_mut();
        let at = s.op_index();
        s.arm_cut(at, CutModel::Skip, 1);
    }
    pub fn power_on(&self) {
        self.sim.borrow_mut().power_on();
    }
}

impl ErrorType for TestFlash {
    type Error = FlashError;
}

impl ReadNorFlash for TestFlash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        if self.ctl.fail_reads.get() {
            return Err(FlashError::OutOfBounds);
        }
        BlockingRead::read(&mut *self.sim.borrow_mut(), offset, bytes)
    }

    fn capacity(&self) -> usize {
        BlockingRead::capacity(&*self.sim.borrow())
    }
}

impl NorFlash for TestFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 4096;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        if self.ctl.yield_mutations.get() {
            embassy_futures::yield_now().await;
        }
        BlockingNorFlash::erase(&mut *self.sim.borrow_mut(), from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        if self.ctl.yield_mutations.get() {
            embassy_futures::yield_now().await;
        }
        BlockingNorFlash::write(&mut *self.sim.borrow_mut(), offset, bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// The service under test.

/// Reset hook that counts the resets requested.
#[derive(Clone, Default)]
pub struct Resets(pub Rc<Cell<u32>>);

impl ResetHook for Resets {
    fn reset(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

pub type Svc = Updater<'static, CriticalSectionRawMutex, TestFlash, Resets>;

/// One device: its flash, and the reset counter.
pub struct Harness {
    pub flash: TestFlash,
    pub resets: Resets,
}

impl Harness {
    pub fn new() -> Self {
        Harness {
            flash: TestFlash::new(),
            resets: Resets::default(),
        }
    }

    /// Start the service (a cold boot of the application).
    pub fn boot_app(&self) -> Svc {
        block_on(Updater::new(
            self.flash.clone(),
            config(),
            self.resets.clone(),
            StoredCounters,
        ))
        .unwrap()
    }

    /// Factory-program `image` as component `c`'s active image.
    pub fn install_active(&self, c: ComponentId, image: &[u8]) {
        let p = slots(c).primary as usize;
        let mut s = self.flash.sim.borrow_mut();
        BlockingNorFlash::erase(
            &mut *s,
            p as u32,
            p as u32 + slots(c).max_image_size(SECTOR),
        )
        .unwrap();
        s.load(p, image);
    }

    /// The boot log as the bootloader reads it.
    pub fn boot_log(&self) -> BootLog {
        let mut flash = self.flash.clone();
        block_on(BootLog::open(&mut flash, &layout())).unwrap()
    }

    /// The current transaction (flags and progress applied).
    pub fn txn(&self) -> BootRecord {
        self.boot_log().state()
    }

    /// Commit `txn` as the boot record.
    pub fn set_txn(&self, txn: &BootRecord) {
        let mut flash = self.flash.clone();
        let mut log = self.boot_log();
        block_on(log.commit(&mut flash, txn)).unwrap();
    }

    /// The component record of `c` in the catalog.
    pub fn record(&self, c: ComponentId) -> ComponentRecord {
        let mut flash = self.flash.clone();
        let cat = block_on(Catalog::open(&mut flash, &layout())).unwrap();
        cat.record(c).unwrap_or_default()
    }

    /// The bytes the checkpoint map says `c`'s current download has durably written (0 if none).
    pub fn checkpoint(&self, c: ComponentId) -> u32 {
        let download = self.record(c).download;
        let mut flash = self.flash.clone();
        let mut map = fwu_shared::state::CheckpointMap::new(&mut flash, &layout()).unwrap();
        block_on(map.get(c))
            .filter(|cp| cp.download == download)
            .map_or(0, |cp| cp.written)
    }

    /// The stored security counter floor of `c`.
    pub fn counter(&self, c: ComponentId) -> u32 {
        self.boot_log().counter(c)
    }

    /// Store `value` as `c`'s security counter floor.
    pub fn raise_counter(&self, c: ComponentId, value: u32) {
        let mut t = self.txn();
        t.counters[usize::from(c)] = value;
        self.set_txn(&t);
    }

    /// Imitate the bootloader's outcome of the reboot that follows an install, reject or
    /// trial: set the transaction to `phase` with `error` and, for a trial, put each member's
    /// staged image into its primary slot (the bootloader swaps them). The app is not running.
    pub fn boot(&self, phase: Phase, error: i32) {
        let txn = self.txn();
        assert_ne!(txn.phase, Phase::Idle, "no transaction to act on");
        if phase == Phase::Trial {
            for c in txn.members.iter() {
                let s = slots(c);
                let rec = self.record(c);
                let staged = self
                    .flash
                    .bytes(s.staging_offset(SECTOR) as usize, rec.staged.size as usize);
                self.install_active(c, &staged);
            }
        }
        self.set_txn(&BootRecord {
            phase,
            error,
            trial_booted: phase == Phase::Trial,
            done: 0,
            ..txn
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Client helpers.

pub fn run<T>(f: impl Future<Output = T>) -> T {
    block_on(f)
}

pub fn state(u: &Svc, c: ComponentId) -> State {
    State::from_u8(info(u, c).state).unwrap()
}

pub fn info(u: &Svc, c: ComponentId) -> ComponentInfo {
    run(u.query(c)).unwrap()
}

/// Write `image[from..]` in `PSA_FWU_MAX_WRITE_SIZE` blocks starting at `from`.
pub async fn send(u: &Svc, c: ComponentId, image: &[u8], from: usize) -> FwuResult {
    let mut off = from;
    while off < image.len() {
        let end = (off + PSA_FWU_MAX_WRITE_SIZE).min(image.len());
        u.write(c, off, &image[off..end]).await?;
        off = end;
    }
    Ok(Success::Done)
}

/// start + write all + finish.
pub fn download(u: &Svc, c: ComponentId, image: &[u8]) -> FwuResult {
    run(async {
        u.start(c, None).await?;
        send(u, c, image, 0).await?;
        u.finish(c).await
    })
}

/// Poll `fut` `polls` times (it must not complete), then drop it: an embassy `select` or
/// timeout cancelling a call in the middle.
pub fn poll_then_drop<F: Future>(fut: F, polls: usize) {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        if fut.as_mut().poll(&mut cx).is_ready() {
            panic!("the future completed before it could be dropped");
        }
    }
}

pub const BAD_STATE: FwuResult = Err(Error::BadState);
