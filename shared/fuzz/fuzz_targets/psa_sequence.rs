//! Fuzz target `psa_sequence`: random sequences of PSA FWU calls on a simulated device — the real
//! update service (`fwu_updater::Updater`) and, at every reboot, the real bootloader
//! (`fwu_bootloader::Bootloader::boot`, default policy) on the same simulated NOR flash —
//! interleaved with reboots and power cuts, checked against a reference model of the spec's
//! state machine for the complete model (reboot required, trial required, non-volatile staging:
//! the table of the PSA FWU digest §3.2 and the reboot column of §3.3, as in
//! `updater/tests/state_table.rs`).
//!
//! The device: the two-component layout of `fwu_shared_fuzz::layout` (ids 0 and 2, 1 KiB
//! sectors, 4-byte words), factory images in both primary slots, the signed images of
//! `fwu_shared_fuzz::images` to download. Input: one byte picks a device that has booted once or
//! a factory-fresh one; then up to 64 operations: `query`, `start` (with no, an empty or a
//! detached manifest), `write` (any offset and length; data from a signed image, damaged or not,
//! or garbage), a whole image written block by block, `finish`, `cancel`, `clean`, `install`,
//! `request_reboot`, `reject` (any error value), `accept`, a reboot (at most 8 per input), and
//! a power cut armed at one of the flash operations of the next call or reboot (any of the
//! simulator's five cut models), after which the device powers on and reboots. Component ids
//! are mostly the configured ones, sometimes the gap (1) or ids the device does not have.
//!
//! The model predicts each call's status code and each component's next state, error and active
//! version; the few outcomes that depend on flash contents are computed from them: whether a
//! `write` contradicts data already written (a shadow of the download, word by word), and what
//! `finish` finds in the staging area (scanned and authenticated by the oracle of
//! `fwu_shared_fuzz::images`, against the stored floor and the active version).
//!
//! Properties checked (besides "no panic"):
//! * every status code is the one the model gives for that state and call: `DOES_NOT_EXIST` for
//!   an unknown id, `BAD_STATE` outside the table's cells, `INVALID_ARGUMENT` for a detached
//!   manifest, a bad offset or length, or data that contradicts what was written,
//!   `DEPENDENCY_NEEDED`, the verification error of `finish`, `SUCCESS_REBOOT` for `install` and
//!   for `reject` of a trial; no `STORAGE_FAILURE` without a fault;
//! * after every call and every reboot, `query` of every component gives the state, the error
//!   and the active version of the model (after a cut: those of one of the states the model
//!   allows — the state before the call or the one it produces, each carried through the
//!   reboot; after a cut during a boot, one or two reboot transitions);
//! * a call refused with `BAD_STATE`, `DOES_NOT_EXIST`, or `INVALID_ARGUMENT` for its
//!   arguments changes no byte of the flash;
//! * each call writes and erases only where it may: the state partition, plus the secondary slot
//!   of the component for `write` and `clean`; the bootloader only the state partition and the
//!   slots;
//! * every boot succeeds and lets every component run, and each primary slot then holds the
//!   image the model expects (the staged one after an install, the backup after a rollback),
//!   which verifies against the trusted key with a counter at least the floor before the boot;
//! * the stored security counters never decrease, and after `accept` they are at least the
//!   accepted images' counters;
//! * a download's resume offset (`impl_.resume_offset`) is sector aligned and never covers data
//!   that was not written in this download: the flash below it holds exactly what was written;
//!   after `clean` the secondary slot is erased; a backup the boot record names verifies.
//!
#![no_main]

use core::cell::RefCell;
use embassy_futures::block_on;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embedded_storage::nor_flash::{
    NorFlash as BlockingNorFlash, ReadNorFlash as BlockingReadNorFlash,
};
use embedded_storage_async::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use fwu_bootloader::{BootConfig, BootReport, Bootloader, ERROR_TRIAL_NOT_ACCEPTED};
use fwu_shared::image::{KeyRing, ScannedImage};
use fwu_shared::state::records::{ERROR_CANCELLED, ERROR_UNKNOWN_DEPENDENCY};
use fwu_shared::state::{BootLog, StoredCounters};
use fwu_shared::version::BuildNumber;
use fwu_shared::{ComponentId, Error, FwuResult, ImageVersion, State, Success};
use fwu_shared_fuzz::flash::Checked;
use fwu_shared_fuzz::images::{images, keys, verify, FACTORY_0, FACTORY_2};
use fwu_shared_fuzz::input::Input;
use fwu_shared_fuzz::layout::{Geo, IDS};
use fwu_shared_fuzz::paint::put;
use fwu_shared_fuzz::trace;
use fwu_sim_flash::{CutModel, FlashError, Geometry, SimFlash};
use fwu_updater::{Config, ResetHook, Updater, PSA_FWU_MAX_WRITE_SIZE};
use libfuzzer_sys::fuzz_target;
use std::cmp::Ordering;
use std::ops::Range;
use std::rc::Rc;
use std::sync::OnceLock;

const S: usize = 1024;
const W: usize = 4;
const MAX_OPS: usize = 64;
const MAX_REBOOTS: usize = 8;

type Cells = Rc<RefCell<Checked<S, W>>>;
type Svc = Updater<'static, NoopRawMutex, Handle, Recorder, StoredCounters>;

fn geo() -> &'static Geo {
    static GEO: OnceLock<Geo> = OnceLock::new();
    GEO.get_or_init(|| Geo::new(S as u32, W as u32))
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let fresh = input.u8().is_multiple_of(8);
    let mut h = Harness::new(fresh);
    let mut reboots = 0;
    let mut cut = None;
    for _ in 0..MAX_OPS {
        if input.is_empty() || h.stopped {
            break;
        }
        let op = decode(&mut input);
        if let Op::Cut(at, model, seed) = op {
            cut = Some((at, model, seed));
            continue;
        }
        if matches!(op, Op::Reboot) {
            if reboots == MAX_REBOOTS {
                continue;
            }
            reboots += 1;
        }
        let armed = cut.take();
        match op {
            Op::WriteImage(c, k) => {
                let bytes = &images()[k].bytes;
                for (i, block) in bytes.chunks(PSA_FWU_MAX_WRITE_SIZE).enumerate() {
                    h.step(
                        &Op::Write(c, i * PSA_FWU_MAX_WRITE_SIZE, block.to_vec()),
                        armed.filter(|_| i == 0),
                    );
                }
            }
            op => h.step(&op, armed),
        }
    }
});

/// One decoded operation.
#[derive(Clone, Debug)]
enum Op {
    Query(ComponentId),
    Start(ComponentId, Option<Vec<u8>>),
    Write(ComponentId, usize, Vec<u8>),
    WriteImage(ComponentId, usize),
    Finish(ComponentId),
    Cancel(ComponentId),
    Clean(ComponentId),
    Install,
    RequestReboot,
    Reject(i32),
    Accept,
    Reboot,
    Cut(u64, CutModel, u64),
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Query(_) => "query",
            Op::Start(..) => "start",
            Op::Write(..) | Op::WriteImage(..) => "write",
            Op::Finish(_) => "finish",
            Op::Cancel(_) => "cancel",
            Op::Clean(_) => "clean",
            Op::Install => "install",
            Op::RequestReboot => "request_reboot",
            Op::Reject(_) => "reject",
            Op::Accept => "accept",
            Op::Reboot => "reboot",
            Op::Cut(..) => "cut",
        }
    }
}

fn decode_id(input: &mut Input) -> ComponentId {
    match input.u8() % 16 {
        0 => 1,
        1 => 8,
        2 => input.u8(),
        n => IDS[usize::from(n) % 2],
    }
}

fn decode(input: &mut Input) -> Op {
    match input.u8() % 16 {
        0 => Op::Query(decode_id(input)),
        1 => {
            let c = decode_id(input);
            let manifest = match input.u8() % 8 {
                0 => {
                    let n = 1 + input.below(16);
                    Some(input.bytes(n).to_vec())
                }
                1 => Some(Vec::new()),
                _ => None,
            };
            Op::Start(c, manifest)
        }
        2..=4 => {
            let c = decode_id(input);
            let set = images();
            let k = &set[input.below(set.len())].bytes;
            let offset = match input.u8() % 4 {
                0 | 1 => input.below(5) * PSA_FWU_MAX_WRITE_SIZE,
                2 => usize::from(input.u16() % 0x1400) & !3,
                _ => usize::from(input.u16() % 0x1400),
            };
            let len = match input.u8() % 4 {
                0 | 1 => PSA_FWU_MAX_WRITE_SIZE,
                2 => k.len().saturating_sub(offset),
                _ => input.below(PSA_FWU_MAX_WRITE_SIZE + 64),
            };
            let mut data = match input.u8() % 8 {
                0 => input.bytes(len.min(64)).to_vec(),
                _ => k
                    .get(offset.min(k.len())..(offset + len).min(k.len()))
                    .unwrap_or(&[])
                    .to_vec(),
            };
            if !data.is_empty() && input.u8().is_multiple_of(8) {
                let i = input.below(data.len());
                data[i] ^= 1 << (input.u8() % 8);
            }
            Op::Write(c, offset, data)
        }
        5 => Op::Finish(decode_id(input)),
        6 => Op::Cancel(decode_id(input)),
        7 => Op::Clean(decode_id(input)),
        8 => Op::Install,
        9 => Op::RequestReboot,
        10 => Op::Reject(match input.u8() % 4 {
            0 => 0,
            1 => -7,
            _ => input.u32() as i32,
        }),
        11 => Op::Accept,
        12 => Op::Reboot,
        13 => {
            let c = decode_id(input);
            Op::WriteImage(c, input.below(images().len()))
        }
        14 => Op::Cut(
            u64::from(input.u8()),
            CutModel::ALL[input.below(CutModel::ALL.len())],
            u64::from(input.u16()),
        ),
        _ => Op::Query(IDS[input.below(2)]),
    }
}

/// The application's flash driver: one operation at a time on the shared cells.
#[derive(Clone)]
struct Handle(Cells);

impl ErrorType for Handle {
    type Error = FlashError;
}

impl ReadNorFlash for Handle {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        BlockingReadNorFlash::read(&mut *self.0.borrow_mut(), offset, bytes)
    }

    fn capacity(&self) -> usize {
        BlockingReadNorFlash::capacity(&*self.0.borrow())
    }
}

impl NorFlash for Handle {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = S;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        BlockingNorFlash::erase(&mut *self.0.borrow_mut(), from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        BlockingNorFlash::write(&mut *self.0.borrow_mut(), offset, bytes)
    }
}

/// The board's reset: recorded, the harness reboots when the input says so.
#[derive(Default)]
struct Recorder;

impl ResetHook for Recorder {
    fn reset(&mut self) {}
}

/// A word of the download shadow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Word {
    /// Not written in this download (erased before it is programmed).
    Erased,
    /// Written with these bytes.
    Data([u8; 4]),
    /// Being written when power was cut: these bytes or not at all.
    Torn([u8; 4]),
}

const FF: [u8; 4] = [0xff; 4];

/// The model of one component.
#[derive(Clone, Debug, PartialEq)]
struct Comp {
    state: State,
    error: i32,
    /// The verified staged image (from CANDIDATE on), as an index into the image set.
    staged: Option<usize>,
    /// The image in the primary slot (an index into the image set).
    active: usize,
    /// The image at the start of the secondary slot after an install (the backup).
    backup: Option<usize>,
    /// The current download, word by word.
    shadow: Vec<Word>,
    /// The secondary slot must read erased (after `clean`, until the next write).
    clean: bool,
}

impl Comp {
    fn new(active: usize, words: usize) -> Self {
        Comp {
            state: State::Ready,
            error: 0,
            staged: None,
            active,
            backup: None,
            shadow: vec![Word::Erased; words],
            clean: false,
        }
    }

    fn reported_error(&self) -> i32 {
        match self.state {
            State::Failed | State::Rejected => self.error,
            _ => 0,
        }
    }

    fn version(&self) -> ImageVersion {
        images()[self.active].scanned.header.version
    }

    fn set(&mut self, state: State, error: i32) {
        self.state = state;
        self.error = error;
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Model {
    comps: [Comp; 2],
}

impl Model {
    fn index(c: ComponentId) -> Option<usize> {
        IDS.iter().position(|&id| id == c)
    }

    fn any(&self, states: &[State]) -> bool {
        self.comps.iter().any(|m| states.contains(&m.state))
    }

    /// What one (complete) boot does (digest §3.3, complete model, non-volatile staging).
    fn rebooted(&self) -> Model {
        let mut m = self.clone();
        if self.any(&[State::Staged]) {
            for c in m.comps.iter_mut().filter(|c| c.state == State::Staged) {
                c.backup = Some(c.active);
                c.active = c
                    .staged
                    .unwrap_or_else(|| panic!("STAGED without an image"));
                c.set(State::Trial, 0);
            }
        } else {
            for c in m.comps.iter_mut() {
                let error = match c.state {
                    State::Trial => ERROR_TRIAL_NOT_ACCEPTED,
                    State::Rejected => c.error,
                    _ => continue,
                };
                c.active = c
                    .backup
                    .take()
                    .unwrap_or_else(|| panic!("rollback without backup"));
                c.set(State::Failed, error);
            }
        }
        m
    }
}

struct Harness {
    cells: Cells,
    svc: Option<Svc>,
    model: Model,
    /// The input ran into a known, reported product finding: stop checking it.
    stopped: bool,
}

impl Harness {
    fn new(fresh: bool) -> Harness {
        let template = template(fresh);
        let words = |i: usize| geo().slots[i].max_image_size(S as u32) as usize / W;
        let mut h = Harness {
            cells: Rc::new(RefCell::new(template.clone())),
            svc: None,
            model: Model {
                comps: [
                    Comp::new(FACTORY_0, words(0)),
                    Comp::new(FACTORY_2, words(1)),
                ],
            },
            stopped: false,
        };
        if fresh {
            let report = h.boot();
            h.check_boot(&report, &[0, 0]);
        }
        h.start_service();
        h.observe(std::slice::from_ref(&h.model.clone()), "start", true)
            .unwrap_or_else(|e| panic!("{e}"));
        h
    }

    fn flash_bytes(&self) -> Vec<u8> {
        self.cells.borrow().sim.contents().to_vec()
    }

    fn allow(&self, ranges: Vec<Range<u32>>, what: &'static str) {
        self.cells.borrow_mut().allow(ranges, what);
    }

    fn floors(&self) -> [u32; 2] {
        let mut cells = self.cells.borrow_mut();
        let log = block_on(BootLog::open(&mut cells.sim, &geo().layout()))
            .unwrap_or_else(|e| panic!("BootLog::open: {e:?}"));
        trace!("  log {:?} {:?}", log.health(), log.state());
        IDS.map(|c| log.counter(c))
    }

    /// One run of the bootloader (the service is gone: this is a reset).
    fn boot_raw(&mut self) -> Result<BootReport, fwu_bootloader::BootError> {
        self.svc = None;
        let geo = geo();
        let mut allowed = geo.slot_ranges();
        allowed.push(geo.state.clone());
        self.allow(allowed, "the state partition and the slots (boot)");
        let layout = geo.layout();
        let mut cells = self.cells.borrow_mut();
        let checked = layout
            .check_for(&*cells)
            .map_err(fwu_bootloader::BootError::Layout)?;
        let mut bootloader = Bootloader::new(
            checked,
            KeyRing::new(keys()),
            BootConfig::default(),
            StoredCounters,
        );
        let report = bootloader.boot(&mut *cells);
        drop(cells);
        trace!("boot: {report:?}");
        report
    }

    fn boot(&mut self) -> BootReport {
        self.boot_raw()
            .unwrap_or_else(|e| panic!("the boot failed: {e:?}"))
    }

    fn start_service(&mut self) {
        let geo = geo();
        self.allow(
            vec![geo.state.clone()],
            "the state partition (service start)",
        );
        let config = Config {
            layout: geo.layout(),
            keys: KeyRing::new(keys()),
            build_number: BuildNumber::Ignore,
        };
        let svc = block_on(Updater::new(
            Handle(self.cells.clone()),
            config,
            Recorder,
            StoredCounters,
        ))
        .unwrap_or_else(|e| panic!("the update service did not start: {e:?}"));
        self.svc = Some(svc);
    }

    fn svc(&self) -> &Svc {
        self.svc.as_ref().unwrap_or_else(|| panic!("no service"))
    }

    /// Every component may run and holds a verifying image with a counter >= the floor.
    fn check_boot(&self, report: &BootReport, floors: &[u32; 2]) {
        let contents = self.cells.borrow().sim.contents().to_vec();
        for (i, &c) in IDS.iter().enumerate() {
            assert!(
                report.may_run(c),
                "component {c} refused at boot: {report:?}"
            );
            let s = geo().slots[i];
            let max = s.max_image_size(S as u32);
            let bytes = &contents[s.primary as usize..(s.primary + max) as usize];
            let scanned = verify(bytes, max)
                .unwrap_or_else(|e| panic!("component {c} boots an image that fails: {e:?}"));
            let counter = scanned.security_counter.unwrap_or(0);
            assert!(
                counter >= floors[i],
                "component {c} boots counter {counter} below the floor {}",
                floors[i]
            );
        }
    }

    /// Query every component and find the first model of `allowed` that matches; adopt it and
    /// check what it says about the flash.
    fn observe(&mut self, allowed: &[Model], what: &str, rebooted: bool) -> Result<(), String> {
        let mut seen = Vec::new();
        for &c in &IDS {
            let info = block_on(self.svc().query(c))
                .map_err(|e| format!("{what}: query({c}) failed: {e:?}"))?;
            seen.push(info);
        }
        let Some(m) = allowed.iter().find(|m| {
            m.comps.iter().zip(&seen).all(|(mc, info)| {
                info.state == mc.state as u8
                    && info.error == mc.reported_error()
                    && info.version == mc.version()
            })
        }) else {
            let states: Vec<_> = seen
                .iter()
                .map(|i| (State::from_u8(i.state), i.error, i.version))
                .collect();
            let want: Vec<Vec<_>> = allowed
                .iter()
                .map(|m| {
                    m.comps
                        .iter()
                        .map(|c| (c.state, c.reported_error(), c.version()))
                        .collect()
                })
                .collect();
            return Err(format!(
                "{what}: the device reports {states:?}, the model allows {want:?}"
            ));
        };
        let mut m = m.clone();
        let backups = {
            let mut cells = self.cells.borrow_mut();
            block_on(BootLog::open(&mut cells.sim, &geo().layout()))
                .unwrap_or_else(|e| panic!("BootLog::open: {e:?}"))
                .state()
                .backups
        };
        let cells = self.cells.borrow();
        let contents = cells.sim.contents();
        let g = geo();
        for (i, (mc, info)) in m.comps.iter_mut().zip(&seen).enumerate() {
            let s = g.slots[i];
            let max = s.max_image_size(S as u32);
            assert_eq!(info.max_size, max, "max_size");
            assert_eq!(info.location, s.primary, "location");
            assert_eq!(info.flags, 0, "flags");
            let active = &images()[mc.active].bytes;
            let p = s.primary as usize;
            assert!(
                contents[p..p + active.len()] == active[..],
                "{what}: the primary slot of {} does not hold {}",
                IDS[i],
                images()[mc.active].name
            );
            if let (Some(b), State::Trial | State::Rejected | State::Updated) =
                (mc.backup, mc.state)
            {
                let backup = &images()[b].bytes;
                let at = s.secondary as usize;
                assert!(
                    contents[at..at + backup.len()] == backup[..],
                    "{what}: the secondary slot of {} does not hold the backup {}",
                    IDS[i],
                    images()[b].name
                );
            }
            if mc.clean {
                let r = s.secondary_range(S as u32);
                assert!(
                    contents[r.start as usize..r.end as usize]
                        .iter()
                        .all(|&b| b == 0xff),
                    "{what}: the secondary slot of {} is not erased after clean",
                    IDS[i]
                );
            }
            if let (State::Candidate | State::Staged, Some(k)) = (mc.state, mc.staged) {
                let img = &images()[k].scanned;
                assert_eq!(
                    info.impl_.staged_size, img.total_size,
                    "{what}: staged size"
                );
                assert_eq!(
                    info.impl_.staged_digest, img.digest,
                    "{what}: staged digest"
                );
            }
            if mc.state == State::Writing {
                let resume = info.impl_.resume_offset;
                assert!(
                    resume.is_multiple_of(S as u32) && resume <= max,
                    "{what}: resume offset {resume:#x}"
                );
                let staging = s.staging_offset(S as u32) as usize;
                for w in 0..resume as usize / W {
                    let at = staging + w * W;
                    let got: [u8; 4] = contents[at..at + W]
                        .try_into()
                        .unwrap_or_else(|_| panic!("word"));
                    match mc.shadow[w] {
                        Word::Data(d) | Word::Torn(d) => assert!(
                            got == d,
                            "{what}: {}: below the resume offset {resume:#x}, word {w} reads {got:x?}, {d:x?} was written",
                            IDS[i]
                        ),
                        Word::Erased => panic!(
                            "{what}: {}: the resume offset {resume:#x} covers word {w}, never written in this download",
                            IDS[i]
                        ),
                    }
                    mc.shadow[w] = match mc.shadow[w] {
                        Word::Torn(d) => Word::Data(d),
                        other => other,
                    };
                }
                if rebooted {
                    // A new session restarts from the checkpoint: what lies past it is erased
                    // before it is programmed again.
                    for w in mc.shadow.iter_mut().skip(resume as usize / W) {
                        *w = Word::Erased;
                    }
                }
            }
        }
        // A backup the boot record names must be there: the bootloader may restore it.
        for (i, &c) in IDS.iter().enumerate() {
            if backups.contains(c) {
                let s = g.slots[i];
                let max = s.max_image_size(S as u32);
                let at = s.secondary as usize;
                assert!(
                    verify(&contents[at..at + max as usize], max).is_ok(),
                    "{what}: the boot record names a backup of {c} that does not verify"
                );
            }
        }
        drop(cells);
        self.model = m;
        Ok(())
    }

    /// Run one operation (`cut`: with a power cut armed at one of its flash operations).
    fn step(&mut self, op: &Op, cut: Option<(u64, CutModel, u64)>) {
        match op {
            Op::Write(c, offset, data) => {
                trace!(
                    "op Write({c}, {offset:#x}, {} bytes) cut {cut:?}",
                    data.len()
                )
            }
            op => trace!("op {op:?} cut {cut:?}"),
        }
        let floors = self.floors();
        if let Op::Reboot = op {
            self.reboot(cut, floors);
            return;
        }
        let (want, next, scope) = self.predict(op, &floors);
        let before = scope.unchanged(&want).then(|| self.flash_bytes());
        trace!("  predicted {want:?}");
        self.allow(scope.ranges(), "the ranges of this call");
        if let Some((at, model, seed)) = cut {
            let mut cells = self.cells.borrow_mut();
            let at = cells.sim.op_index() + at;
            cells.sim.arm_cut(at, model, seed);
        }
        let got = self.call(op);
        trace!("  got {got:?}");
        let was_cut = self.cells.borrow().sim.is_cut();
        if cut.is_some() && !was_cut {
            self.cells.borrow_mut().sim.disarm();
        }
        if was_cut {
            // Power is back: the bootloader runs, then the application.
            self.cells.borrow_mut().sim.power_on();
            let mut pre = self.model.clone();
            let mut post = next.clone();
            if let Op::Write(c, offset, data) = op {
                if let Some(i) = Model::index(*c) {
                    for m in [&mut pre, &mut post] {
                        tear(&mut m.comps[i], *offset, data);
                    }
                }
            }
            if let Op::Clean(c) = op {
                // `clean` gives the backup up (in the boot record) before it erases the slot.
                if let Some(i) = Model::index(*c) {
                    pre.comps[i].backup = None;
                }
            } else {
                post.comps.iter_mut().for_each(|c| c.clean = false);
            }
            pre.comps.iter_mut().for_each(|c| c.clean = false);
            let allowed = [pre.rebooted(), post.rebooted()];
            let report = self.boot();
            self.after_boot(&report, &allowed, floors, "boot after a cut call");
            return;
        }
        if got != want {
            panic!(
                "{op:?}: got {got:?}, the model says {want:?} (model {:?})",
                self.model
            );
        }
        if let Some(before) = before {
            assert!(
                self.cells.borrow().sim.contents() == &before[..],
                "{op:?} returned {want:?} but changed the flash"
            );
        }
        self.observe(&[next], op.name(), false)
            .unwrap_or_else(|e| panic!("{e} ({op:?})"));
        let now = self.floors();
        for i in 0..2 {
            assert!(
                now[i] >= floors[i],
                "{op:?} lowered the floor of {}",
                IDS[i]
            );
        }
        if matches!(op, Op::Accept) {
            for (i, c) in self.model.comps.iter().enumerate() {
                if c.state == State::Updated {
                    let counter = images()[c.active].counter();
                    assert!(
                        now[i] >= counter,
                        "accept left the floor of {} at {} below the image's {counter}",
                        IDS[i],
                        now[i]
                    );
                }
            }
        }
    }

    fn reboot(&mut self, cut: Option<(u64, CutModel, u64)>, floors: [u32; 2]) {
        let mut allowed = vec![self.model.rebooted()];
        let Some((at, model, seed)) = cut else {
            let report = self.boot();
            self.after_boot(&report, &allowed, floors, "boot");
            return;
        };
        {
            let mut cells = self.cells.borrow_mut();
            let at = cells.sim.op_index() + at;
            cells.sim.arm_cut(at, model, seed);
        }
        let first = self.boot_raw();
        if self.cells.borrow().sim.is_cut() {
            self.cells.borrow_mut().sim.power_on();
            // The cut boot may have handed over to the trial already (its last step), and the
            // next boot then rolls it back.
            allowed.push(allowed[0].rebooted());
            let report = self.boot();
            self.after_boot(&report, &allowed, floors, "boot after a cut boot");
        } else {
            self.cells.borrow_mut().sim.disarm();
            let report = first.unwrap_or_else(|e| panic!("the boot failed: {e:?}"));
            self.after_boot(&report, &allowed, floors, "boot");
        }
    }

    /// Check a boot, start the service, and match its report against `allowed`.
    fn after_boot(&mut self, report: &BootReport, allowed: &[Model], floors: [u32; 2], what: &str) {
        self.check_boot(report, &floors);
        self.start_service();
        if let Err(e) = self.observe(allowed, what, true) {
            panic!("{e}");
        }
        let now = self.floors();
        for i in 0..2 {
            assert!(
                now[i] >= floors[i],
                "{what} lowered the floor of {}",
                IDS[i]
            );
        }
    }

    fn call(&mut self, op: &Op) -> FwuResult {
        let svc = self.svc();
        block_on(async {
            match op {
                Op::Query(c) => svc.query(*c).await.map(|_| Success::Done),
                Op::Start(c, m) => svc.start(*c, m.as_deref()).await,
                Op::Write(c, offset, data) => svc.write(*c, *offset, data).await,
                Op::Finish(c) => svc.finish(*c).await,
                Op::Cancel(c) => svc.cancel(*c).await,
                Op::Clean(c) => svc.clean(*c).await,
                Op::Install => svc.install().await,
                Op::RequestReboot => svc.request_reboot().await,
                Op::Reject(e) => svc.reject(*e).await,
                Op::Accept => svc.accept().await,
                Op::Reboot | Op::WriteImage(..) | Op::Cut(..) => Ok(Success::Done),
            }
        })
    }

    /// The model's answer to `op`: the status code, the next model, and where the call may
    /// write.
    fn predict(&self, op: &Op, floors: &[u32; 2]) -> (FwuResult, Model, Scope) {
        let m = &self.model;
        let mut next = m.clone();
        let done = Ok(Success::Done);
        let per = |c: &ComponentId| Model::index(*c);
        let (result, scope) = match op {
            Op::Query(c) => match per(c) {
                None => (Err(Error::DoesNotExist), Scope::Nothing),
                Some(_) => (done, Scope::State),
            },
            Op::Start(c, manifest) => match per(c) {
                None => (Err(Error::DoesNotExist), Scope::Nothing),
                Some(i) if m.comps[i].state != State::Ready => {
                    (Err(Error::BadState), Scope::Nothing)
                }
                // Any detached manifest, even an empty one.
                Some(_) if manifest.is_some() => (Err(Error::InvalidArgument), Scope::Nothing),
                Some(i) => {
                    let c = &mut next.comps[i];
                    c.set(State::Writing, 0);
                    c.shadow.fill(Word::Erased);
                    (done, Scope::State)
                }
            },
            Op::Write(c, offset, data) => match per(c) {
                None => (Err(Error::DoesNotExist), Scope::Nothing),
                Some(i) if m.comps[i].state != State::Writing => {
                    (Err(Error::BadState), Scope::Nothing)
                }
                Some(i) => {
                    let max = geo().slots[i].max_image_size(S as u32) as usize;
                    if data.is_empty()
                        || data.len() > PSA_FWU_MAX_WRITE_SIZE
                        || !offset.is_multiple_of(W)
                        || offset + data.len() > max
                    {
                        (Err(Error::InvalidArgument), Scope::Nothing)
                    } else if conflicts(&m.comps[i].shadow, *offset, data) {
                        // Refused after the lazy erase of sectors nothing was written to.
                        (Err(Error::InvalidArgument), Scope::Slot(i))
                    } else {
                        let c = &mut next.comps[i];
                        for (w, word) in words(*offset, data) {
                            c.shadow[w] = Word::Data(word);
                        }
                        c.clean = false;
                        (done, Scope::Slot(i))
                    }
                }
            },
            Op::WriteImage(..) | Op::Cut(..) | Op::Reboot => (done, Scope::Nothing),
            Op::Finish(c) => match per(c) {
                None => (Err(Error::DoesNotExist), Scope::Nothing),
                Some(i) if m.comps[i].state != State::Writing => {
                    (Err(Error::BadState), Scope::Nothing)
                }
                Some(i) => {
                    let s = geo().slots[i];
                    let max = s.max_image_size(S as u32);
                    let staging = s.staging_offset(S as u32) as usize;
                    let bytes = self.cells.borrow().sim.contents()[staging..staging + max as usize]
                        .to_vec();
                    let c = &mut next.comps[i];
                    let r = match verify(&bytes, max) {
                        Ok(img) => finish_policy(&img, floors[i], m.comps[i].version()),
                        Err(e) => Err((e.psa_error(), e.psa_error().code())),
                    };
                    match r {
                        Ok(img) => {
                            c.staged = Some(known_index(&img));
                            c.set(State::Candidate, 0);
                        }
                        Err((_, recorded)) => {
                            c.staged = None;
                            c.set(State::Failed, recorded);
                        }
                    }
                    (r.map(|_| Success::Done).map_err(|(e, _)| e), Scope::State)
                }
            },
            Op::Cancel(c) => match per(c) {
                None => (Err(Error::DoesNotExist), Scope::Nothing),
                Some(i) if matches!(m.comps[i].state, State::Writing | State::Candidate) => {
                    next.comps[i].set(State::Failed, ERROR_CANCELLED);
                    (done, Scope::State)
                }
                Some(_) => (Err(Error::BadState), Scope::Nothing),
            },
            Op::Clean(c) => match per(c) {
                None => (Err(Error::DoesNotExist), Scope::Nothing),
                Some(i) if matches!(m.comps[i].state, State::Failed | State::Updated) => {
                    let c = &mut next.comps[i];
                    c.set(State::Ready, 0);
                    c.staged = None;
                    c.backup = None;
                    c.clean = true;
                    (done, Scope::Slot(i))
                }
                Some(_) => (Err(Error::BadState), Scope::Nothing),
            },
            Op::Install => {
                if m.any(&[State::Staged, State::Trial, State::Rejected])
                    || !m.any(&[State::Candidate])
                {
                    (Err(Error::BadState), Scope::Nothing)
                } else if !dependencies_met(m) {
                    (Err(Error::DependencyNeeded), Scope::Nothing)
                } else {
                    for c in next
                        .comps
                        .iter_mut()
                        .filter(|c| c.state == State::Candidate)
                    {
                        c.set(State::Staged, 0);
                    }
                    (Ok(Success::Reboot), Scope::State)
                }
            }
            Op::RequestReboot => (done, Scope::Nothing),
            Op::Reject(e) => {
                if m.any(&[State::Staged]) {
                    for c in next.comps.iter_mut().filter(|c| c.state == State::Staged) {
                        c.set(State::Failed, *e);
                    }
                    (done, Scope::State)
                } else if m.any(&[State::Trial]) {
                    for c in next.comps.iter_mut().filter(|c| c.state == State::Trial) {
                        c.set(State::Rejected, *e);
                    }
                    (Ok(Success::Reboot), Scope::State)
                } else {
                    (Err(Error::BadState), Scope::Nothing)
                }
            }
            Op::Accept => {
                if m.any(&[State::Trial]) {
                    for c in next.comps.iter_mut().filter(|c| c.state == State::Trial) {
                        c.set(State::Updated, 0);
                    }
                    (done, Scope::State)
                } else {
                    (Err(Error::BadState), Scope::Nothing)
                }
            }
        };
        (result, next, scope)
    }
}

/// Where a call may write.
#[derive(Clone, Copy, Debug)]
enum Scope {
    /// Nowhere: the call is refused before it touches anything.
    Nothing,
    /// The state partition.
    State,
    /// The state partition and the secondary slot of component index `i`.
    Slot(usize),
}

impl Scope {
    fn ranges(self) -> Vec<Range<u32>> {
        let g = geo();
        match self {
            // A refused call may still refresh the state first; that it changed nothing is
            // checked on the whole flash for the codes that promise it.
            Scope::Nothing | Scope::State => vec![g.state.clone()],
            Scope::Slot(i) => vec![g.state.clone(), g.slots[i].secondary_range(S as u32)],
        }
    }

    /// Whether the result promises that nothing changed.
    fn unchanged(self, result: &FwuResult) -> bool {
        matches!(self, Scope::Nothing)
            || matches!(result, Err(Error::BadState | Error::DoesNotExist))
    }
}

/// The flash words of `data` written at `offset`, padded with erased bytes.
fn words(offset: usize, data: &[u8]) -> Vec<(usize, [u8; 4])> {
    data.chunks(W)
        .enumerate()
        .map(|(j, chunk)| {
            let mut w = FF;
            w[..chunk.len()].copy_from_slice(chunk);
            (offset / W + j, w)
        })
        .collect()
}

/// Whether writing `data` at `offset` contradicts a word already programmed in this download.
fn conflicts(shadow: &[Word], offset: usize, data: &[u8]) -> bool {
    words(offset, data)
        .into_iter()
        .any(|(w, new)| match shadow[w] {
            Word::Data(d) | Word::Torn(d) => d != FF && d != new,
            Word::Erased => false,
        })
}

/// Mark the words of a write cut by a power loss as torn.
fn tear(c: &mut Comp, offset: usize, data: &[u8]) {
    if c.state != State::Writing {
        return;
    }
    let max = c.shadow.len() * W;
    if data.is_empty()
        || !offset.is_multiple_of(W)
        || offset + data.len() > max
        || conflicts(&c.shadow, offset, data)
    {
        return;
    }
    for (w, new) in words(offset, data) {
        if c.shadow[w] != Word::Data(new) {
            c.shadow[w] = Word::Torn(new);
        }
    }
}

/// `finish`'s policy on a verified image: counter at least the floor, version at least the
/// active one.
fn finish_policy(
    img: &ScannedImage,
    floor: u32,
    active: ImageVersion,
) -> Result<ScannedImage, (Error, i32)> {
    // A dependency on a component the device does not have: refused, with its own reason.
    if img
        .dependencies
        .as_slice()
        .iter()
        .any(|d| Model::index(d.component).is_none())
    {
        return Err((Error::InvalidArgument, ERROR_UNKNOWN_DEPENDENCY));
    }
    if img.security_counter.unwrap_or(0) < floor
        || img.header.version.compare(&active, BuildNumber::Ignore) == Ordering::Less
    {
        return Err((Error::NotPermitted, Error::NotPermitted.code()));
    }
    Ok(*img)
}

/// The index of a verified image in the image set (only they are signed by the trusted key).
fn known_index(img: &ScannedImage) -> usize {
    images()
        .iter()
        .position(|k| k.scanned.digest == img.digest)
        .unwrap_or_else(|| panic!("a verified image that is not in the image set"))
}

/// `install`'s dependency check: candidates at their staged versions, the others at their
/// active versions, components the device does not have never met.
fn dependencies_met(m: &Model) -> bool {
    let version_of = |id: ComponentId| {
        let i = Model::index(id)?;
        let c = &m.comps[i];
        Some(match (c.state, c.staged) {
            (State::Candidate, Some(k)) => images()[k].scanned.header.version,
            _ => c.version(),
        })
    };
    m.comps
        .iter()
        .filter(|c| c.state == State::Candidate)
        .all(|c| {
            let deps = images()[c
                .staged
                .unwrap_or_else(|| panic!("candidate without image"))]
            .scanned
            .dependencies;
            deps.first_unmet(version_of, BuildNumber::Ignore).is_none()
        })
}

/// The device every input starts from: factory images in both primary slots, booted once and
/// with its service started once (or factory-fresh when `fresh`).
fn template(fresh: bool) -> Checked<S, W> {
    static TEMPLATES: OnceLock<[Checked<S, W>; 2]> = OnceLock::new();
    let t = TEMPLATES.get_or_init(|| {
        let g = geo();
        let mut sim = SimFlash::<S, W>::new(Geometry {
            sectors: g.sectors,
            erased: 0xff,
        });
        let set = images();
        put(&mut sim, g.slots[0].primary, &set[FACTORY_0].bytes);
        put(&mut sim, g.slots[1].primary, &set[FACTORY_2].bytes);
        let mut allowed = g.slot_ranges();
        allowed.push(g.state.clone());
        let factory = Checked::new(sim, allowed, "the state partition and the slots");
        let mut h = Harness {
            cells: Rc::new(RefCell::new(factory.clone())),
            svc: None,
            model: Model {
                comps: [Comp::new(FACTORY_0, 0), Comp::new(FACTORY_2, 0)],
            },
            stopped: false,
        };
        let report = h.boot();
        h.check_boot(&report, &[0, 0]);
        h.start_service();
        h.svc = None;
        let booted = h.cells.borrow().clone();
        [factory, booted]
    });
    t[usize::from(!fresh)].clone()
}
