//! The oracle of every fault campaign: what a device run is checked against.
//!
//! A run is driven by a [`Driver`], which plays a scenario's steps the way a careful client and
//! board do: the board boots again when the bootloader stops with an error (at most
//! [`BOOT_ATTEMPTS`] times), the client re-sends a download from `impl_.resume_offset` after a
//! restart or a failed `write`, retries a call once after `PSA_ERROR_STORAGE_FAILURE`, reboots
//! again when its install is still STAGED after a reboot (the bootloader could not read the
//! staged image and deferred it), and calls `recover_state` when the service reports
//! `PSA_ERROR_DATA_CORRUPT`. Along the run a [`Watch`] checks, at every boot and after every
//! step:
//!
//! * **only verifying images run**: each component the bootloader lets run has a primary slot
//!   that starts with one of the scenario's signed images (or, failing that, that verifies
//!   against the trusted key), and that image's security counter is not below the highest
//!   stored counter seen so far;
//! * **counters never decrease**: the stored security counter of every component (the highest
//!   of both boot log copies, read from the raw cells so that the oracle neither sees nor
//!   consumes an injected fault) never goes below the highest value seen in the run;
//! * **what the state says is on flash** ([`check_state`], at every observation): a CANDIDATE
//!   or STAGED component's staged image (the one it downloaded, by digest) is at the staging
//!   offset; a TRIAL, REJECTED or UPDATED component, and every component the boot log lists as
//!   having a backup, has a signed image at offset 0 of its secondary slot (the backup a revert
//!   or recovery restores; any other secondary content is never restored, so it cannot boot); a
//!   WRITING download holds the downloaded image's bytes below its reported resume offset;
//! * **no accepted image is lost**: the image each component last committed (the factory
//!   image, then every image seen UPDATED) is in its primary slot whenever the component is
//!   outside a trial, and in its primary or secondary slot during one.
//!
//! [`Observation`] is what a cold restart shows; campaigns compare observations and the
//! driver's [`Logged`] results with fault-free references (see `campaign`).

use crate::device::{query, Device, Service};
use crate::scenario::{run_call, Scenario, Step};
use embassy_futures::block_on;
use embedded_storage_async::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use fwu_bootloader::{
    BootAction, BootReport, StateReport, ERROR_ACTIVE_INVALID, ERROR_INSTALL_FLASH_FAILURE,
};
use fwu_shared::image::{scan_slice, verify_slice, KeyRing};
use fwu_shared::layout::Layout;
use fwu_shared::state::{BootLog, Catalog, Phase, MAX_COMPONENTS};
use fwu_shared::{ComponentId, ComponentInfo, Error, FwuResult, State};
use fwu_sim_flash::FlashError;
use fwu_updater::PSA_FWU_MAX_WRITE_SIZE;

/// Boots the board tries before giving up on a bootloader that keeps stopping with an error.
pub const BOOT_ATTEMPTS: usize = 3;

/// A read-only view of raw cells, as a flash: the oracle reads the state through it.
pub struct RawView<'a, const S: usize, const W: usize>(pub &'a [u8]);

impl<const S: usize, const W: usize> ErrorType for RawView<'_, S, W> {
    type Error = FlashError;
}

impl<const S: usize, const W: usize> ReadNorFlash for RawView<'_, S, W> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let start = offset as usize;
        let src = self
            .0
            .get(start..start + bytes.len())
            .ok_or(FlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.0.len()
    }
}

impl<const S: usize, const W: usize> NorFlash for RawView<'_, S, W> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = S;

    async fn erase(&mut self, _from: u32, _to: u32) -> Result<(), FlashError> {
        Err(FlashError::EraseFailed)
    }

    async fn write(&mut self, _offset: u32, _bytes: &[u8]) -> Result<(), FlashError> {
        Err(FlashError::WriteFailed)
    }
}

/// The boot log of the raw cells of `dev` (`None` if it cannot be opened).
pub fn raw_boot_log<const S: usize, const W: usize>(dev: &Device<S, W>) -> Option<BootLog> {
    let flash = dev.flash();
    let mut view = RawView::<S, W>(flash.contents());
    block_on(BootLog::open(&mut view, dev.layout())).ok()
}

/// What the oracle knows about a scenario's images and components.
#[derive(Clone, Debug)]
pub struct Facts {
    /// Configured component ids, in layout order (observations are indexed like this).
    pub ids: Vec<ComponentId>,
    /// Security counter of each scenario image.
    pub counters: Vec<u32>,
    /// SHA-256 of each scenario image.
    pub digests: Vec<[u8; 32]>,
    /// The image each component downloads in the scenario (by layout position).
    pub download: Vec<Option<usize>>,
    /// The factory image of each component (by layout position).
    pub factory: Vec<Option<usize>>,
}

impl Facts {
    /// The facts of `sc` on a device with `layout`.
    pub fn of(layout: &Layout<'_>, sc: &Scenario) -> Facts {
        let ids: Vec<ComponentId> = layout.components.iter().map(|s| s.id).collect();
        let (mut counters, mut digests) = (Vec::new(), Vec::new());
        for img in &sc.images {
            let s = scan_slice(img, u32::try_from(img.len()).unwrap_or(u32::MAX))
                .unwrap_or_else(|e| panic!("scenario image does not scan: {e:?}"));
            counters.push(s.security_counter.unwrap_or(0));
            digests.push(s.digest);
        }
        let pos = |c: ComponentId| ids.iter().position(|&x| x == c);
        let mut download = vec![None; ids.len()];
        let mut factory = vec![None; ids.len()];
        for step in &sc.steps {
            if let Step::Write { c, image, .. } = *step {
                if let Some(k) = pos(c) {
                    download[k] = Some(image);
                }
            }
        }
        for &(c, i) in &sc.factory {
            if let Some(k) = pos(c) {
                factory[k] = Some(i);
            }
        }
        Facts {
            ids,
            counters,
            digests,
            download,
            factory,
        }
    }

    /// Layout position of component `c`.
    pub fn pos(&self, c: ComponentId) -> usize {
        self.ids.iter().position(|&x| x == c).unwrap_or(0)
    }
}

/// Signals a run showed to the board or the client: what makes a changed outcome *reported*
/// rather than silent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// Boots that stopped with an error.
    pub boot_errors: u64,
    /// Boot reports with `StateReport::Corrupt` or `StateReport::Unreadable`.
    pub corrupt: u64,
    /// Boot reports with `StateReport::Repaired` (a masked fault: not a signal of a change).
    pub repaired: u64,
    /// Other abnormal state reports (the state is held by one copy only).
    pub degraded: u64,
    /// Boot reports refusing an active image, per component id.
    pub refused: [u64; MAX_COMPONENTS],
    /// Installs refused at boot.
    pub install_refused: u64,
    /// Installs abandoned and undone after a flash failure (`ERROR_INSTALL_FLASH_FAILURE`).
    pub flash_failure_undone: u64,
    /// Rollbacks of a trial (or recoveries) because an active image failed authentication
    /// (`ERROR_ACTIVE_INVALID`).
    pub active_invalid: u64,
    /// Other reverts.
    pub reverted: u64,
    /// Reverts refused because a backup does not verify.
    pub revert_refused: u64,
    /// Active images recovered from their backup.
    pub recovered: u64,
    /// Boot actions of other kinds (an install deferred because the flash could not be read).
    pub other_actions: u64,
    /// Service start-ups that failed.
    pub service_errors: u64,
    /// Calls (or queries) that returned `PSA_ERROR_STORAGE_FAILURE`.
    pub storage_failures: u64,
    /// Queries that reported `PSA_ERROR_DATA_CORRUPT`.
    pub data_corrupt: u64,
    /// Calls that returned any other error.
    pub other_errors: u64,
    /// `recover_state` calls made by the client.
    pub recoveries: u64,
    /// Experiments whose outcome differed from the fault-free run, with the change reported
    /// (set by the degraded verdicts, not by a run).
    pub changed: u64,
}

impl Signals {
    /// Add `other`'s counts.
    pub fn add(&mut self, o: &Signals) {
        self.boot_errors += o.boot_errors;
        self.corrupt += o.corrupt;
        self.repaired += o.repaired;
        self.degraded += o.degraded;
        for (a, b) in self.refused.iter_mut().zip(o.refused) {
            *a += b;
        }
        self.active_invalid += o.active_invalid;
        self.install_refused += o.install_refused;
        self.flash_failure_undone += o.flash_failure_undone;
        self.reverted += o.reverted;
        self.revert_refused += o.revert_refused;
        self.recovered += o.recovered;
        self.other_actions += o.other_actions;
        self.service_errors += o.service_errors;
        self.storage_failures += o.storage_failures;
        self.data_corrupt += o.data_corrupt;
        self.other_errors += o.other_errors;
        self.recoveries += o.recoveries;
        self.changed += o.changed;
    }

    /// Counts of the signals that report a fault or a changed outcome (everything but repairs
    /// and ordinary reverts), for comparing a run with its fault-free reference.
    fn alarms(&self) -> Vec<u64> {
        let mut v = vec![
            self.boot_errors,
            self.corrupt,
            self.degraded,
            self.install_refused,
            self.flash_failure_undone,
            self.active_invalid,
            self.revert_refused,
            self.recovered,
            self.other_actions,
            self.service_errors,
            self.storage_failures,
            self.data_corrupt,
            self.other_errors,
        ];
        v.extend(self.refused);
        v
    }

    /// Whether this run raised an alarm its reference did not.
    pub fn alarmed_beyond(&self, reference: &Signals) -> bool {
        self.alarms()
            .iter()
            .zip(reference.alarms())
            .any(|(&a, b)| a > b)
    }

    /// The counts added since `earlier` was taken from the same run.
    pub fn since(&self, earlier: &Signals) -> Signals {
        let mut out = *self;
        for (a, b) in out.refused.iter_mut().zip(earlier.refused) {
            *a = a.saturating_sub(b);
        }
        for (a, b) in [
            (&mut out.boot_errors, earlier.boot_errors),
            (&mut out.corrupt, earlier.corrupt),
            (&mut out.repaired, earlier.repaired),
            (&mut out.degraded, earlier.degraded),
            (&mut out.active_invalid, earlier.active_invalid),
            (&mut out.install_refused, earlier.install_refused),
            (&mut out.flash_failure_undone, earlier.flash_failure_undone),
            (&mut out.reverted, earlier.reverted),
            (&mut out.revert_refused, earlier.revert_refused),
            (&mut out.recovered, earlier.recovered),
            (&mut out.other_actions, earlier.other_actions),
            (&mut out.service_errors, earlier.service_errors),
            (&mut out.storage_failures, earlier.storage_failures),
            (&mut out.data_corrupt, earlier.data_corrupt),
            (&mut out.other_errors, earlier.other_errors),
            (&mut out.recoveries, earlier.recoveries),
            (&mut out.changed, earlier.changed),
        ] {
            *a = a.saturating_sub(b);
        }
        out
    }

    /// Refusals summed over components.
    pub fn refusals(&self) -> u64 {
        self.refused.iter().sum()
    }

    fn note_boot(&mut self, r: &BootReport) {
        match r.state {
            StateReport::Corrupt | StateReport::Unreadable => self.corrupt += 1,
            StateReport::Repaired => self.repaired += 1,
            StateReport::Ok | StateReport::Fresh => {}
            // Any other report (the state held by one copy only) says a fault is there.
            #[allow(unreachable_patterns)]
            _ => self.degraded += 1,
        }
        for (c, n) in self.refused.iter_mut().enumerate() {
            if r.invalid.contains(c as ComponentId) {
                *n += 1;
            }
        }
        match r.action {
            BootAction::InstallRefused(..) => self.install_refused += 1,
            BootAction::Reverted(_, e) if e == ERROR_INSTALL_FLASH_FAILURE => {
                self.flash_failure_undone += 1
            }
            BootAction::Reverted(_, e) if e == ERROR_ACTIVE_INVALID => self.active_invalid += 1,
            BootAction::Reverted(..) => self.reverted += 1,
            BootAction::RevertRefused(_) => self.revert_refused += 1,
            BootAction::Recovered(_) => self.recovered += 1,
            BootAction::None | BootAction::Installed(_) => {}
            // Any other action (an install deferred because the flash could not be read).
            #[allow(unreachable_patterns)]
            _ => self.other_actions += 1,
        }
    }

    fn note_result(&mut self, r: &FwuResult) {
        match r {
            Ok(_) => {}
            Err(Error::StorageFailure) => self.storage_failures += 1,
            Err(_) => self.other_errors += 1,
        }
    }
}

/// What the oracle tracks along one run.
#[derive(Clone, Debug)]
pub struct Watch {
    /// Highest stored security counter seen, per component (layout position).
    pub max_counters: Vec<u32>,
    /// The image each component last committed (factory image, then each image seen UPDATED).
    pub committed: Vec<Option<usize>>,
    /// Invariant violations, in the order found.
    pub violations: Vec<String>,
    /// Signals the run showed.
    pub signals: Signals,
}

impl Watch {
    /// A watch for a run of `sc` starting on `dev`: counters as stored now; as committed image
    /// of each component, its backup while it is a member of a trial (or a rejected trial), its
    /// active image otherwise (the factory image if the primary holds no scenario image).
    pub fn start<const S: usize, const W: usize>(
        dev: &Device<S, W>,
        sc: &Scenario,
        facts: &Facts,
    ) -> Watch {
        let txn = raw_boot_log(dev).map(|l| l.state());
        let committed = facts
            .ids
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                let on_trial = txn.is_some_and(|t| {
                    t.members.contains(c) && matches!(t.phase, Phase::Trial | Phase::Rejected)
                });
                let found = if on_trial {
                    image_at(dev, sc, dev.slots(c).secondary)
                } else {
                    image_in_primary(dev, sc, c)
                };
                found.or(facts.factory.get(k).copied().flatten())
            })
            .collect();
        let mut w = Watch {
            max_counters: vec![0; facts.ids.len()],
            committed,
            violations: Vec::new(),
            signals: Signals::default(),
        };
        w.track(dev, sc, facts);
        w
    }

    fn violation(&mut self, what: String) {
        if self.violations.len() < 8 {
            self.violations.push(what);
        }
    }

    /// Check that no stored counter decreased, and remember the highest; take as committed
    /// the active image of every component the raw state shows UPDATED.
    pub fn track<const S: usize, const W: usize>(
        &mut self,
        dev: &Device<S, W>,
        sc: &Scenario,
        facts: &Facts,
    ) {
        let Some(log) = raw_boot_log(dev) else {
            return;
        };
        for (k, &c) in facts.ids.iter().enumerate() {
            let v = log.counter(c);
            if let Some(m) = self.max_counters.get_mut(k) {
                if v < *m {
                    let m = *m;
                    self.violation(format!(
                        "stored security counter of component {c} decreased from {m} to {v}"
                    ));
                } else {
                    *m = v;
                }
            }
        }
        let txn = log.state();
        let catalog = {
            let flash = dev.flash();
            let mut view = RawView::<S, W>(flash.contents());
            block_on(Catalog::open(&mut view, dev.layout())).ok()
        };
        for (k, &c) in facts.ids.iter().enumerate() {
            let updated = if txn.members.contains(c) {
                txn.phase == Phase::Updated
            } else {
                catalog
                    .as_ref()
                    .and_then(|cat| cat.record(c))
                    .is_some_and(|r| r.state == State::Updated)
            };
            if updated {
                if let Some(i) = image_in_primary(dev, sc, c) {
                    self.committed[k] = Some(i);
                }
            }
        }
    }

    /// After a boot that returned `report`: every component allowed to run has a verifying
    /// image whose counter is not below the highest stored counter seen.
    pub fn ran<const S: usize, const W: usize>(
        &mut self,
        dev: &Device<S, W>,
        sc: &Scenario,
        facts: &Facts,
        report: &BootReport,
    ) {
        for (k, &c) in facts.ids.iter().enumerate() {
            if !report.may_run(c) {
                continue;
            }
            let counter = match image_in_primary(dev, sc, c) {
                Some(i) => facts.counters.get(i).copied().unwrap_or(0),
                None => {
                    let slots = dev.slots(c);
                    let len = slots.max_image_size(dev.layout().sector_size) as usize;
                    let p = slots.primary as usize;
                    let flash = dev.flash();
                    let bytes = flash.contents().get(p..p + len).unwrap_or(&[]);
                    match verify_slice(bytes, len as u32, &KeyRing::new(dev.keys())) {
                        Ok(s) => s.security_counter.unwrap_or(0),
                        Err(e) => {
                            self.violation(format!(
                                "the bootloader let component {c} run an image that does not verify ({e:?})"
                            ));
                            continue;
                        }
                    }
                }
            };
            let floor = self.max_counters.get(k).copied().unwrap_or(0);
            if counter < floor {
                self.violation(format!(
                    "the bootloader let component {c} run an image with security counter {counter} below the stored {floor}"
                ));
            }
        }
    }
}

/// Index of the scenario image component `c`'s primary slot starts with.
pub fn image_in_primary<const S: usize, const W: usize>(
    dev: &Device<S, W>,
    sc: &Scenario,
    c: ComponentId,
) -> Option<usize> {
    sc.images.iter().position(|img| dev.runs(c, img))
}

/// Index of the scenario image at `addr`.
fn image_at<const S: usize, const W: usize>(
    dev: &Device<S, W>,
    sc: &Scenario,
    addr: u32,
) -> Option<usize> {
    let flash = dev.flash();
    let a = addr as usize;
    sc.images
        .iter()
        .position(|img| flash.contents().get(a..a + img.len()) == Some(img.as_slice()))
}

/// What a cold restart shows: boot, start the service, query every component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Whether the bootloader completed (within [`BOOT_ATTEMPTS`]).
    pub booted: bool,
    /// `query` of every component; `None` if the service did not start or a query failed.
    pub info: Option<Vec<ComponentInfo>>,
    /// Index (into the scenario's images) of the image each primary slot holds, if any.
    pub running: Vec<Option<usize>>,
    /// Whether the bootloader lets each component run (all false if it did not complete).
    pub may_run: Vec<bool>,
    /// Stored security counter of every component (empty if the boot log cannot be opened).
    pub counters: Vec<u32>,
}

impl Observation {
    /// Whether `self` equals `want` except that downloads may resume from an earlier offset
    /// (a checkpoint lost to a fault only costs re-sent data).
    pub fn matches_resuming_earlier(&self, want: &Observation) -> bool {
        if self == want {
            return true;
        }
        let (Some(a), Some(b)) = (&self.info, &want.info) else {
            return false;
        };
        let relaxed = |x: &ComponentInfo, y: &ComponentInfo| {
            x.impl_.resume_offset <= y.impl_.resume_offset
                && ComponentInfo {
                    impl_: fwu_shared::ImplInfo {
                        resume_offset: 0,
                        ..x.impl_
                    },
                    ..*x
                } == ComponentInfo {
                    impl_: fwu_shared::ImplInfo {
                        resume_offset: 0,
                        ..y.impl_
                    },
                    ..*y
                }
        };
        self.booted == want.booted
            && a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| relaxed(x, y))
            && self.running == want.running
            && self.may_run == want.may_run
            && self.counters == want.counters
    }
}

/// One boot with the oracle's checks; the board boots again after an error, up to
/// [`BOOT_ATTEMPTS`] times. `None` if every attempt failed.
pub fn boot<const S: usize, const W: usize>(
    dev: &Device<S, W>,
    sc: &Scenario,
    facts: &Facts,
    watch: &mut Watch,
) -> Option<BootReport> {
    for _ in 0..BOOT_ATTEMPTS {
        if dev.flash().is_cut() {
            return None;
        }
        let r = dev.boot();
        watch.track(dev, sc, facts);
        match r {
            Ok(report) => {
                watch.signals.note_boot(&report);
                watch.ran(dev, sc, facts, &report);
                return Some(report);
            }
            Err(_) => watch.signals.boot_errors += 1,
        }
    }
    None
}

/// Start the update service (as the application does after a boot): a second attempt after an
/// error. `None` if both failed.
pub fn start_service<const S: usize, const W: usize>(
    dev: &Device<S, W>,
    sc: &Scenario,
    facts: &Facts,
    watch: &mut Watch,
) -> Option<Service<S, W>> {
    for _ in 0..2 {
        if dev.flash().is_cut() {
            return None;
        }
        let r = dev.service();
        watch.track(dev, sc, facts);
        match r {
            Ok(s) => return Some(s),
            Err(_) => watch.signals.service_errors += 1,
        }
    }
    None
}

/// `query` with one retry after an error.
fn query_retry<const S: usize, const W: usize>(
    svc: &Service<S, W>,
    c: ComponentId,
    watch: &mut Watch,
) -> Option<ComponentInfo> {
    for _ in 0..2 {
        match query(svc, c) {
            Ok(i) => {
                if i.error == Error::DataCorrupt.code() {
                    watch.signals.data_corrupt += 1;
                }
                return Some(i);
            }
            Err(e) => watch.signals.note_result(&Err(e)),
        }
    }
    None
}

/// Cold restart and look: boot, start the service, query everything, then check what the
/// state says against the slots ([`check_state`]).
pub fn observe<const S: usize, const W: usize>(
    dev: &Device<S, W>,
    sc: &Scenario,
    facts: &Facts,
    watch: &mut Watch,
) -> Observation {
    let report = boot(dev, sc, facts, watch);
    let mut info = None;
    if report.is_some() {
        if let Some(svc) = start_service(dev, sc, facts, watch) {
            info = facts
                .ids
                .iter()
                .map(|&c| query_retry(&svc, c, watch))
                .collect::<Option<Vec<_>>>();
        }
    }
    watch.track(dev, sc, facts);
    let obs = Observation {
        booted: report.is_some(),
        info,
        running: facts
            .ids
            .iter()
            .map(|&c| image_in_primary(dev, sc, c))
            .collect(),
        may_run: facts
            .ids
            .iter()
            .map(|&c| report.is_some_and(|r| r.may_run(c)))
            .collect(),
        counters: raw_boot_log(dev)
            .map(|log| facts.ids.iter().map(|&c| log.counter(c)).collect())
            .unwrap_or_default(),
    };
    if !dev.flash().is_cut() {
        // (A restart that was itself cut is not a state to check.)
        check_state(dev, sc, facts, &obs, watch);
    }
    obs
}

/// Check the slots against what `obs` and the boot log say (see the module docs), and track
/// the committed images.
pub fn check_state<const S: usize, const W: usize>(
    dev: &Device<S, W>,
    sc: &Scenario,
    facts: &Facts,
    obs: &Observation,
    watch: &mut Watch,
) {
    let ss = dev.layout().sector_size;
    let txn = raw_boot_log(dev).map(|l| l.state());
    let backups = txn.map(|t| t.backups);
    for (k, &c) in facts.ids.iter().enumerate() {
        let slots = dev.slots(c);
        let info = obs.info.as_ref().and_then(|v| v.get(k));
        let state = info.and_then(|i| State::from_u8(i.state));
        let corrupt = info.is_some_and(|i| i.error == Error::DataCorrupt.code());
        let in_txn = txn.is_some_and(|t| {
            t.members.contains(c)
                && matches!(
                    t.phase,
                    Phase::Installing | Phase::Trial | Phase::Rejected | Phase::Reverting
                )
        });
        let in_trial = matches!(state, Some(State::Trial | State::Rejected)) || corrupt || in_txn;
        // The staged image: the one this component downloaded, at the staging offset.
        if let (Some(i), Some(State::Candidate | State::Staged)) = (info, state) {
            let want = facts
                .download
                .get(k)
                .copied()
                .flatten()
                .filter(|&d| facts.digests.get(d) == Some(&i.impl_.staged_digest));
            match want {
                None => watch.violation(format!(
                    "component {c} is {state:?} with a staged digest that is not its download's"
                )),
                Some(d) => {
                    if image_at(dev, sc, slots.staging_offset(ss)) != Some(d) {
                        watch.violation(format!(
                            "component {c} is {state:?} but its staging area does not hold the staged image"
                        ));
                    }
                }
            }
        }
        // The backup a revert or a recovery would restore (an UPDATED component keeps one
        // until `clean`, which first takes it off the boot log's list: then it may be partly
        // erased).
        let needs_backup = matches!(state, Some(State::Trial | State::Rejected))
            || backups.is_some_and(|b| b.contains(c));
        if needs_backup && !corrupt && image_at(dev, sc, slots.secondary).is_none() {
            watch.violation(format!(
                "component {c} ({state:?}) has no signed backup at offset 0 of its secondary slot"
            ));
        }
        // An interrupted download keeps its data below the resume offset.
        if let (Some(i), Some(State::Writing)) = (info, state) {
            if let Some(d) = facts.download.get(k).copied().flatten() {
                let r = i.impl_.resume_offset as usize;
                let img = &sc.images[d];
                let at = slots.staging_offset(ss) as usize;
                let flash = dev.flash();
                let ok = r <= img.len() && flash.contents().get(at..at + r) == img.get(..r);
                drop(flash);
                if !ok {
                    watch.violation(format!(
                        "component {c} is WRITING with resume offset {r} but the data below it is not the image's"
                    ));
                }
            }
        }
        // No accepted image lost.
        let running = obs.running.get(k).copied().flatten();
        if state == Some(State::Updated) {
            if let Some(r) = running {
                watch.committed[k] = Some(r);
            }
        }
        if let Some(want) = watch.committed.get(k).copied().flatten() {
            let here = running == Some(want);
            let in_backup = image_at(dev, sc, slots.secondary) == Some(want);
            let ok = here || (in_trial && in_backup) || (!obs.booted && in_backup);
            if !ok {
                watch.violation(format!(
                    "component {c} lost its accepted image {want} (state {state:?}, primary holds {running:?})"
                ));
            }
        }
    }
}

/// The outcome of one step as the client or board saw it (after its retries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logged {
    /// A call's result.
    Call(FwuResult),
    /// A reboot: the boot action and whether trial images run (`None`: the bootloader never
    /// completed).
    Boot(Option<(BootAction, bool)>),
    /// A call that could not be made: the service was not running.
    NoService,
}

/// Plays scenario steps on a device as the client and the board do (see the module docs).
pub struct Driver<'a, const S: usize, const W: usize> {
    dev: &'a Device<S, W>,
    sc: &'a Scenario,
    facts: &'a Facts,
    steps: &'a [Step],
    svc: Option<Service<S, W>>,
    /// Whether this power session already re-synchronised each component's download.
    synced: Vec<bool>,
    /// Whether the service was started in this power session.
    started: bool,
    /// The oracle's watch.
    pub watch: Watch,
    /// One entry per step played.
    pub log: Vec<Logged>,
}

impl<'a, const S: usize, const W: usize> Driver<'a, S, W> {
    /// A driver for `steps` of `sc` on `dev`, powered up in the middle of a session (the
    /// service is started before the first call).
    pub fn new(
        dev: &'a Device<S, W>,
        sc: &'a Scenario,
        facts: &'a Facts,
        steps: &'a [Step],
        watch: Watch,
    ) -> Self {
        Driver {
            dev,
            sc,
            facts,
            steps,
            svc: None,
            synced: vec![false; facts.ids.len()],
            started: false,
            watch,
            log: Vec::new(),
        }
    }

    /// Power off: the service (the application's RAM) is gone.
    pub fn power_off(&mut self) {
        drop(self.svc.take());
        self.started = false;
        self.synced.fill(false);
    }

    /// Play steps `from..` (stopping early if the power is cut).
    pub fn run(&mut self, from: usize) {
        for i in from..self.steps.len() {
            if self.dev.flash().is_cut() {
                break;
            }
            self.step(i);
        }
    }

    fn ensure_service(&mut self) {
        if !self.started {
            self.started = true;
            self.svc = start_service(self.dev, self.sc, self.facts, &mut self.watch);
        }
    }

    fn reboot(&mut self) -> Logged {
        self.power_off();
        let mut report = boot(self.dev, self.sc, self.facts, &mut self.watch);
        if report.is_none() {
            // The bootloader never hands over: no application, no service.
            self.started = true;
            return Logged::Boot(None);
        }
        self.ensure_service();
        // An install still STAGED after the reboot was deferred by the bootloader (it could not
        // read the staged images): the client asks for another reboot, at most twice.
        for _ in 0..2 {
            let staged = self.svc.as_ref().is_some_and(|s| {
                self.facts
                    .ids
                    .iter()
                    .any(|&c| query(s, c).is_ok_and(|i| i.state == State::Staged as u8))
            });
            if !staged {
                break;
            }
            self.power_off();
            report = boot(self.dev, self.sc, self.facts, &mut self.watch);
            if report.is_none() {
                self.started = true;
                return Logged::Boot(None);
            }
            self.ensure_service();
        }
        // A service that reports its state corrupt is recovered by the client.
        let corrupt = self.svc.as_ref().is_some_and(|s| {
            self.facts
                .ids
                .iter()
                .any(|&c| query(s, c).is_ok_and(|i| i.error == Error::DataCorrupt.code()))
        });
        if corrupt {
            self.watch.signals.data_corrupt += 1;
            self.watch.signals.recoveries += 1;
            if let Some(s) = &self.svc {
                let r = block_on(s.recover_state());
                self.watch.signals.note_result(&r);
            }
        }
        Logged::Boot(report.map(|r| (r.action, r.trial)))
    }

    /// Re-send `c`'s download from the resume offset the service reports up to `offset`.
    fn resync(&mut self, c: ComponentId, image: usize, offset: usize) {
        let Some(svc) = &self.svc else {
            return;
        };
        let Some(info) = query_retry(svc, c, &mut self.watch) else {
            return;
        };
        if info.state != State::Writing as u8 {
            return;
        }
        let mut o = info.impl_.resume_offset as usize;
        while o < offset {
            let r = run_call(
                svc,
                &Step::Write {
                    c,
                    image,
                    offset: o,
                },
                &self.sc.images,
            );
            self.watch.signals.note_result(&r);
            if r.is_err() {
                break;
            }
            o += PSA_FWU_MAX_WRITE_SIZE;
        }
    }

    fn call(&mut self, step: &Step) -> Logged {
        self.ensure_service();
        if self.svc.is_none() {
            return Logged::NoService;
        }
        let mut result = Err(Error::GenericError);
        for attempt in 0..2 {
            if let Step::Write { c, image, offset } = *step {
                let k = self.facts.pos(c);
                if !self.synced.get(k).copied().unwrap_or(true) {
                    self.resync(c, image, offset);
                    if let Some(s) = self.synced.get_mut(k) {
                        *s = true;
                    }
                }
            }
            let Some(svc) = &self.svc else {
                return Logged::NoService;
            };
            result = run_call(svc, step, &self.sc.images);
            self.watch.signals.note_result(&result);
            match (step, &result) {
                (Step::Start(c), Ok(_)) => {
                    let k = self.facts.pos(*c);
                    if let Some(s) = self.synced.get_mut(k) {
                        *s = true;
                    }
                }
                (Step::Write { c, .. }, Err(_)) => {
                    // The client queries and re-sends from the resume offset.
                    let k = self.facts.pos(*c);
                    if let Some(s) = self.synced.get_mut(k) {
                        *s = false;
                    }
                }
                _ => {}
            }
            let retry = result == Err(Error::StorageFailure) && !self.dev.flash().is_cut();
            if !retry || attempt == 1 {
                break;
            }
        }
        Logged::Call(result)
    }

    /// Play step `i`.
    pub fn step(&mut self, i: usize) {
        let step = self.steps[i].clone();
        let logged = if step == Step::Reboot {
            self.reboot()
        } else {
            self.call(&step)
        };
        self.watch.track(self.dev, self.sc, self.facts);
        self.log.push(logged);
    }

    /// Finish: power off and observe a cold restart.
    pub fn finish(mut self) -> (Vec<Logged>, Observation, Watch) {
        self.power_off();
        let obs = observe(self.dev, self.sc, self.facts, &mut self.watch);
        (self.log, obs, self.watch)
    }
}
