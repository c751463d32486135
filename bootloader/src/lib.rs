//! `fwu-bootloader`: the board-independent boot flow of the fwu bootloader (digest §3.6).
//!
//! On every boot [`Bootloader::boot`]:
//! 1. reads the boot log (two copies of the transaction table, `docs/on-flash-contract.md`);
//!    a copy that lacks the current record is rewritten from the other, a fresh device gets its
//!    first record, and a log that is corrupt beyond repair is acted on not at all;
//! 2. resumes an install or revert in progress from its durable progress;
//! 3. verifies every STAGED member (hash, signature, security counter, the swap plan and the
//!    digest of the staged set `install` recorded, dependencies); any failure marks them all
//!    FAILED and nothing moves; otherwise it installs them as one transaction and marks them
//!    TRIAL;
//! 4. reverts a TRIAL that was already booted once without `accept`, or a REJECTED one, and marks
//!    the members FAILED with [`ERROR_TRIAL_NOT_ACCEPTED`] or the `reject` argument — after
//!    checking that every backup verifies: if one does not, nothing moves, the trial images stay
//!    and the members are FAILED with [`ERROR_BACKUP_INVALID`];
//! 5. authenticates every active image (unless disabled) against its counter floor — the highest
//!    of every stored copy, the board's [`SecurityCounters`] and the counter of the verified
//!    image itself once it is no longer on trial: a failing trial image is rolled back, a
//!    component with a valid backup is recovered from it, otherwise the image is refused and
//!    [`BootReport::refused`] says why;
//! 6. returns a [`BootReport`]; the jump itself lives in the board crates.
//!
//! The engine is generic over blocking `embedded_storage::nor_flash::NorFlash` and blocking
//! throughout: it reads and writes the boot log through `fwu_shared::state::blocking` and
//! scans images with `fwu_shared::image::scan_flash`, so a boot needs no async runtime and its
//! stack holds plain frames rather than nested futures.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::expect_used))]

pub mod swap;
pub mod verify;

use embedded_storage::nor_flash::NorFlash;
use fwu_shared::image::{DecodedKeyRing, ImageError, KeyRing};
use fwu_shared::layout::{CheckedLayout, Layout, LayoutError};
pub use fwu_shared::state::records::{
    ERROR_ACTIVE_INVALID, ERROR_BACKUP_INVALID, ERROR_INSTALL_FLASH_FAILURE, ERROR_STAGED_MISMATCH,
    ERROR_TRIAL_NOT_ACCEPTED,
};
use fwu_shared::state::{
    BootLog, BootRecord, Direction, Flag, Health, Members, Phase, SecurityCounters, StateError,
    MAX_COMPONENTS,
};
use fwu_shared::version::BuildNumber;
use fwu_shared::{ComponentId, PsaStatus};
use swap::SwapError;
use verify::Verdict;

/// Boot policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootConfig {
    /// Authenticate every active image before handing over (on by default).
    pub authenticate_active: bool,
    /// Whether dependency checks compare build numbers.
    pub build_number: BuildNumber,
}

impl Default for BootConfig {
    fn default() -> Self {
        BootConfig {
            authenticate_active: true,
            build_number: BuildNumber::Ignore,
        }
    }
}

/// What this boot did to the firmware store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BootAction {
    /// Nothing to do.
    #[default]
    None,
    /// The staged members were installed and run on trial.
    Installed(Members),
    /// The staged members failed verification and were marked FAILED with this error.
    InstallRefused(Members, PsaStatus),
    /// The members were rolled back and marked FAILED with this error.
    Reverted(Members, PsaStatus),
    /// A rollback was due but a backup does not verify: nothing moved, the members were marked
    /// FAILED with [`ERROR_BACKUP_INVALID`] and their trial images stay active.
    RevertRefused(Members),
    /// A component whose active image failed authentication was restored from its backup and
    /// marked FAILED.
    Recovered(ComponentId),
    /// An install or a revert of these members was due, but the flash could not be read (a
    /// read error says nothing about the images): nothing changed, the next boot tries again.
    Deferred(Members),
}

/// How the persisted state was found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StateReport {
    /// Both copies held the current state.
    #[default]
    Ok,
    /// One copy lacked it (a cut between the copies, or a fault at rest) and was rewritten from
    /// the other.
    Repaired,
    /// One copy lacked the state and could not be rewritten (a flash that fails there): the
    /// state is intact but held by one copy only.
    Degraded,
    /// A new device: the first state was written.
    Fresh,
    /// The state could not be trusted (neither copy holds a valid record, and they are not
    /// blank): no install or revert was attempted; active images were checked against the
    /// highest counters any readable record shows.
    Corrupt,
    /// The state could not be read (no read of the boot log succeeded, or the counter backend
    /// failed): a flash or backend that fails, not bad contents. As for `Corrupt`, nothing was
    /// installed or reverted and active images were checked against the floors at hand.
    Unreadable,
}

/// Why an active image may not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It failed to parse or authenticate.
    Image(ImageError),
    /// Its security counter is below the floor (a rollback).
    SecurityCounter {
        /// The image's counter.
        image: u32,
        /// The floor.
        floor: u32,
    },
}

/// The outcome of a boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootReport {
    /// What was installed, refused or reverted.
    pub action: BootAction,
    /// Whether the images about to run are on trial (the app must `accept`).
    pub trial: bool,
    /// How the persisted state was found.
    pub state: StateReport,
    /// The first component whose active image must not run, and why.
    pub refused: Option<(ComponentId, Refusal)>,
    /// Every component whose active image must not run.
    pub invalid: Members,
}

impl BootReport {
    /// Whether component `c`'s active image may be run.
    pub fn may_run(&self, c: ComponentId) -> bool {
        !self.invalid.contains(c)
    }

    /// Whether the persisted state could be used.
    pub fn state_readable(&self) -> bool {
        !matches!(self.state, StateReport::Corrupt | StateReport::Unreadable)
    }

    #[inline(never)]
    fn refuse(&mut self, c: ComponentId, why: Refusal) {
        self.refused = self.refused.or(Some((c, why)));
        self.invalid = self.invalid.with(c);
    }
}

/// Errors that stop the boot flow (the board resets and the next boot resumes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootError {
    /// The layout does not fit the flash.
    Layout(LayoutError),
    /// The flash failed while moving data or recording progress.
    Flash,
    /// A record names a swap the layout cannot hold.
    State,
}

impl From<StateError> for BootError {
    #[inline(never)]
    fn from(e: StateError) -> Self {
        match e {
            StateError::Layout | StateError::Corrupt => BootError::State,
            StateError::Flash | StateError::WriteFailed => BootError::Flash,
        }
    }
}

/// The `Restoring` record that undoes `txn` after the flash stopped its swap:
/// `sectors(member, n)` says how many of a member's `n` sectors still hold the trial image
/// over a backup in `S[0..]`; the restore puts those back, one step per sector.
fn restoring(
    txn: &BootRecord,
    error: PsaStatus,
    sectors: impl Fn(ComponentId, u16) -> u16,
) -> BootRecord {
    let mut count = [0u16; MAX_COMPONENTS];
    for c in txn.members.iter() {
        if let Some(s) = count.get_mut(usize::from(c)) {
            *s = sectors(c, txn.sectors_of(c));
        }
    }
    BootRecord {
        phase: Phase::Restoring,
        error,
        sectors: count,
        done: 0,
        trial_booted: false,
        ..*txn
    }
}

/// The bootloader: layout, trusted keys, policy and the anti-rollback counter backend.
pub struct Bootloader<'a, C: SecurityCounters> {
    checked: CheckedLayout<'a>,
    keys: DecodedKeyRing<'a>,
    config: BootConfig,
    counters: C,
}

/// Counter floors this boot uses: the boot log's (highest copy) and the backend's.
struct Floors {
    floor: [u32; MAX_COMPONENTS],
}

impl Floors {
    fn of(&self, c: ComponentId) -> u32 {
        self.floor.get(usize::from(c)).copied().unwrap_or(u32::MAX)
    }
}

impl<'a, C: SecurityCounters> Bootloader<'a, C> {
    /// A bootloader for `layout` (checked against the flash it boots: see
    /// [`Layout::check`], in a `const` on a board), accepting images signed by `keys`.
    pub fn new(
        layout: CheckedLayout<'a>,
        keys: KeyRing<'a>,
        config: BootConfig,
        counters: C,
    ) -> Self {
        Bootloader {
            checked: layout,
            keys: DecodedKeyRing::new(keys),
            config,
            counters,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout<'a> {
        self.checked.layout()
    }

    /// Run the boot flow on a blocking flash.
    pub fn boot<F: NorFlash>(&mut self, flash: &mut F) -> Result<BootReport, BootError> {
        self.checked
            .fits(flash.capacity(), F::ERASE_SIZE, F::WRITE_SIZE)
            .map_err(BootError::Layout)?;
        // Read in place: the log is a few hundred bytes, and every move of it is a copy.
        let mut log = BootLog::of_checked(self.checked.layout(), *self.checked.geometry());
        let readable = match log.read_blocking(flash) {
            Ok(()) => true,
            // Not one read of it succeeded: an unreadable (corrupt) log, so that the boot acts
            // on nothing but still runs what verifies, instead of stopping every boot of a
            // device whose state sectors fail. (One failed read never gets here: the opener
            // reads that copy as missing and takes the state from the other.)
            Err(StateError::Flash) => {
                log.make_unreadable();
                false
            }
            Err(e) => return Err(e.into()),
        };
        self.run(flash, &mut log, readable)
    }

    /// Steps 1–6 once the boot log is read (`readable`: some read of it succeeded).
    fn run<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        readable: bool,
    ) -> Result<BootReport, BootError> {
        let mut report = BootReport::default();
        // The floors: every stored copy's highest, and the backend's; a backend that cannot be
        // read makes the state unusable for acting (never a lower floor).
        let mut floors = Floors {
            floor: [0; MAX_COMPONENTS],
        };
        let mut backend_ok = true;
        for slots in self.checked.layout().components {
            let external = match self.counters.floor(slots.id) {
                Ok(v) => v,
                Err(_) => {
                    backend_ok = false;
                    0
                }
            };
            if let Some(f) = floors.floor.get_mut(usize::from(slots.id)) {
                *f = log.counter(slots.id).max(external);
            }
        }
        report.state = match log.health() {
            Health::Ok => StateReport::Ok,
            // A repair that cannot be written leaves the state as read: the boot goes on.
            Health::Degraded => match log.repair_blocking(flash) {
                Ok(_) if log.health() == Health::Ok => StateReport::Repaired,
                _ => StateReport::Degraded,
            },
            Health::Fresh => StateReport::Fresh,
            Health::Corrupt => StateReport::Corrupt,
        };
        if !readable || !backend_ok {
            report.state = StateReport::Unreadable;
        }
        if !report.state_readable() {
            if self.config.authenticate_active {
                self.check_active(flash, log, &floors, &mut report, false)?;
            }
            return Ok(report);
        }
        self.advance(flash, log, &floors, &mut report)?;
        if self.config.authenticate_active {
            self.check_active(flash, log, &floors, &mut report, true)?;
        } else if log.health() == Health::Fresh {
            log.commit_blocking(flash, &BootRecord::default())?;
        }
        self.mark_trial_booted(flash, log, &report)?;
        report.trial = log.state().phase == Phase::Trial;
        Ok(report)
    }

    /// Steps 1–4: act on the transaction.
    fn advance<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        floors: &Floors,
        report: &mut BootReport,
    ) -> Result<(), BootError> {
        let txn = log.state();
        match txn.phase {
            Phase::Staged => self.install(flash, log, floors, report),
            Phase::Installing => self.continue_install(flash, log, report),
            Phase::Trial if txn.trial_booted => {
                self.revert(flash, log, floors, Flag::Revert, report)
            }
            Phase::Rejected => self.revert(flash, log, floors, Flag::Revert, report),
            Phase::Reverting | Phase::Restoring => self.continue_revert(flash, log, report),
            Phase::Idle | Phase::Trial | Phase::Failed | Phase::Updated => Ok(()),
        }
    }

    fn install<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        floors: &Floors,
        report: &mut BootReport,
    ) -> Result<(), BootError> {
        let txn = log.state();
        // Never below the verified image that runs now, whatever is stored (a device whose
        // state was written before its first boot stored none yet).
        let mut floor = floors.floor;
        for c in txn.members.iter() {
            match verify::active_counter(flash, self.checked.layout(), &mut self.keys, c) {
                Ok(Some(running)) => {
                    if let Some(f) = floor.get_mut(usize::from(c)) {
                        *f = (*f).max(running);
                    }
                }
                Ok(None) => {}
                Err(_) => {
                    report.action = BootAction::Deferred(txn.members);
                    return Ok(());
                }
            }
        }
        let floors = Floors { floor };
        let verdict = verify::verify_staged(
            flash,
            self.checked.layout(),
            &mut self.keys,
            &txn,
            |c| floors.of(c),
            self.config.build_number,
        );
        match verdict {
            // The flash could not be read: keep the set STAGED, boot what runs.
            Err(Verdict::Defer) => {
                report.action = BootAction::Deferred(txn.members);
                Ok(())
            }
            Err(Verdict::Refuse(code)) => {
                log.commit_blocking(
                    flash,
                    &BootRecord {
                        phase: Phase::Failed,
                        error: code,
                        ..txn
                    },
                )?;
                report.action = BootAction::InstallRefused(txn.members, code);
                Ok(())
            }
            Ok(()) => {
                log.set_flag_blocking(flash, Flag::Installing)?;
                self.continue_install(flash, log, report)
            }
        }
    }

    fn continue_install<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        report: &mut BootReport,
    ) -> Result<(), BootError> {
        match swap::run(flash, log, self.checked.layout(), Direction::Install) {
            Ok(_) => {
                log.set_flag_blocking(flash, Flag::Trial)?;
                let txn = log.state();
                report.action = BootAction::Installed(txn.members);
                report.trial = true;
                Ok(())
            }
            Err(SwapError::Flash(stopped)) => {
                // The flash failed (not a power cut: after a cut nothing below runs). Undo what
                // was installed: members before the failing one fully, the failing one by its
                // complete step pairs; a pair's second step (`P[k] <- S[k+1]`) may have erased
                // `P[k]`, so that sector is put back too (from `S[k]`, which the first step
                // saved).
                let txn = log.state();
                let restoring = restoring(&txn, ERROR_INSTALL_FLASH_FAILURE, |c, n| {
                    match c.cmp(&stopped.member) {
                        core::cmp::Ordering::Less => n,
                        core::cmp::Ordering::Equal => {
                            u16::try_from(stopped.steps.div_ceil(2)).unwrap_or(u16::MAX)
                        }
                        core::cmp::Ordering::Greater => 0,
                    }
                });
                log.commit_blocking(flash, &restoring)?;
                self.continue_revert(flash, log, report)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Roll the transaction back (flag `how`), after checking every backup.
    fn revert<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        floors: &Floors,
        how: Flag,
        report: &mut BootReport,
    ) -> Result<(), BootError> {
        let txn = log.state();
        for c in txn.members.iter() {
            let sectors = txn.sectors_of(c);
            match verify::backup(
                flash,
                self.checked.layout(),
                &mut self.keys,
                c,
                floors.of(c),
                sectors,
            ) {
                verify::Backup::Valid => {}
                verify::Backup::Unreadable => {
                    report.action = BootAction::Deferred(txn.members);
                    return Ok(());
                }
                verify::Backup::Invalid => {
                    log.commit_blocking(
                        flash,
                        &BootRecord {
                            phase: Phase::Failed,
                            error: ERROR_BACKUP_INVALID,
                            trial_booted: false,
                            ..txn
                        },
                    )?;
                    report.action = BootAction::RevertRefused(txn.members);
                    report.trial = false;
                    return Ok(());
                }
            }
        }
        log.set_flag_blocking(flash, how)?;
        self.continue_revert(flash, log, report)
    }

    /// Finish a revert (or a restore). A revert the flash stops is finished as a restore:
    /// `P[k] <- S[k]` needs only the backup, not the secondary's copy of the trial image that
    /// each revert pair saves first (the write a worn secondary sector refuses).
    fn continue_revert<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        report: &mut BootReport,
    ) -> Result<(), BootError> {
        if log.state().phase != Phase::Restoring {
            match swap::run(flash, log, self.checked.layout(), Direction::Revert) {
                Ok(_) => {}
                Err(SwapError::Flash(stopped)) => {
                    // Revert pairs run from the last sector down: members before the failing
                    // one are done, the failing one has sectors `0..n - pairs` to restore (its
                    // sectors above were reverted, their secondary copies already overwritten),
                    // members after it all of theirs.
                    let txn = log.state();
                    let restoring =
                        restoring(&txn, txn.error, |c, n| match c.cmp(&stopped.member) {
                            core::cmp::Ordering::Less => 0,
                            core::cmp::Ordering::Equal => n.saturating_sub(
                                u16::try_from(stopped.steps / 2).unwrap_or(u16::MAX),
                            ),
                            core::cmp::Ordering::Greater => n,
                        });
                    log.commit_blocking(flash, &restoring)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if log.state().phase == Phase::Restoring {
            // Sectors that cannot be restored leave their member's image damaged: the
            // authentication of step 5 refuses it, and the other members still run.
            swap::run(flash, log, self.checked.layout(), Direction::Restore)?;
        }
        let txn = log.state();
        log.set_flag_blocking(flash, Flag::Reverted)?;
        report.action = BootAction::Reverted(txn.members, txn.error);
        report.trial = false;
        Ok(())
    }

    /// Step 5: authenticate every active image, rolling back or recovering where possible
    /// (`act`), then store as the floor the counter of every verified image that is no longer
    /// on trial.
    ///
    /// One pass acts (at most one rollback or recovery per component per boot); if it changed
    /// any slot, a second pass re-checks every component without acting.
    fn check_active<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        floors: &Floors,
        report: &mut BootReport,
        act: bool,
    ) -> Result<(), BootError> {
        let layout = self.checked.layout().clone();
        let mut acted = false;
        let mut running = [None::<u32>; MAX_COMPONENTS];
        for slots in layout.components {
            let c = slots.id;
            let refusal = match self.check_one(flash, c, floors) {
                Ok(counter) => {
                    if let Some(r) = running.get_mut(usize::from(c)) {
                        *r = Some(counter);
                    }
                    continue;
                }
                Err(refusal) => refusal,
            };
            // Without a verdict (the image could not be read) nothing is acted on: the image
            // does not run this time, and nothing changes.
            if !act || refusal == Refusal::Image(ImageError::Storage) {
                report.refuse(c, refusal);
                continue;
            }
            let txn = log.state();
            if txn.phase == Phase::Trial && txn.members.contains(c) {
                self.revert(flash, log, floors, Flag::RevertInvalid, report)?;
                acted = true;
            } else if txn.phase == Phase::Idle
                && txn.backups.contains(c)
                && verify::backup(
                    flash,
                    self.checked.layout(),
                    &mut self.keys,
                    c,
                    floors.of(c),
                    slots.sectors,
                ) == verify::Backup::Valid
            {
                let mut sectors = [0u16; MAX_COMPONENTS];
                if let Some(s) = sectors.get_mut(usize::from(c)) {
                    *s = slots.sectors;
                }
                let recovery = BootRecord {
                    seq: txn.seq.wrapping_add(1),
                    phase: Phase::Reverting,
                    members: Members::NONE.with(c),
                    error: ERROR_ACTIVE_INVALID,
                    trial_booted: false,
                    backups: txn.backups.without(c),
                    done: 0,
                    sectors,
                    ..txn
                };
                log.commit_blocking(flash, &recovery)?;
                self.continue_revert(flash, log, report)?;
                report.action = BootAction::Recovered(c);
                acted = true;
            } else {
                report.refuse(c, refusal);
            }
        }
        if acted {
            // A rollback replaces every member of the transaction, including ones that passed.
            running = [None; MAX_COMPONENTS];
            for slots in layout.components {
                if report.invalid.contains(slots.id) {
                    continue;
                }
                match self.check_one(flash, slots.id, floors) {
                    Ok(counter) => {
                        if let Some(r) = running.get_mut(usize::from(slots.id)) {
                            *r = Some(counter);
                        }
                    }
                    Err(refusal) => report.refuse(slots.id, refusal),
                }
            }
        }
        if act {
            self.store_floors(flash, log, &running)?;
        }
        Ok(())
    }

    /// Raise the stored floor of every component whose verified active image is not on trial to
    /// that image's counter (and write the first record of a fresh device).
    fn store_floors<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        running: &[Option<u32>; MAX_COMPONENTS],
    ) -> Result<(), BootError> {
        let txn = log.state();
        let on_trial = match txn.phase {
            Phase::Idle | Phase::Failed | Phase::Updated | Phase::Staged => Members::NONE,
            _ => txn.members,
        };
        let mut next = txn;
        let mut changed = log.health() == Health::Fresh;
        for (c, counter) in running.iter().enumerate() {
            let (Some(counter), Ok(id)) = (counter, ComponentId::try_from(c)) else {
                continue;
            };
            if on_trial.contains(id) {
                continue;
            }
            if let Some(stored) = next.counters.get_mut(c) {
                if *counter > *stored {
                    *stored = *counter;
                    changed = true;
                }
            }
        }
        if changed {
            log.commit_blocking(flash, &next)?;
        }
        Ok(())
    }

    /// Authenticate `c`'s active image and check its security counter; returns the counter.
    fn check_one<F: NorFlash>(
        &mut self,
        flash: &mut F,
        c: ComponentId,
        floors: &Floors,
    ) -> Result<u32, Refusal> {
        let slots = self
            .checked
            .layout()
            .component(c)
            .ok_or(Refusal::Image(ImageError::Storage))?;
        let max = slots.max_image_size(self.checked.layout().sector_size);
        let scanned = verify::authenticate(flash, &mut self.keys, slots.primary, max)
            .map_err(Refusal::Image)?;
        let floor = floors.of(c);
        let image = scanned.security_counter.unwrap_or(0);
        if image < floor {
            return Err(Refusal::SecurityCounter { image, floor });
        }
        Ok(image)
    }

    /// Step 6 (bookkeeping): the first hand-over to trial images is recorded, so that the next
    /// boot without `accept` rolls back. Not when a trial member itself was refused: then the
    /// trial does not run.
    fn mark_trial_booted<F: NorFlash>(
        &mut self,
        flash: &mut F,
        log: &mut BootLog,
        report: &BootReport,
    ) -> Result<(), BootError> {
        let txn = log.state();
        let refused_member = txn.members.iter().any(|c| report.invalid.contains(c));
        if txn.phase == Phase::Trial && !txn.trial_booted && !refused_member {
            log.set_flag_blocking(flash, Flag::Booted)?;
        }
        Ok(())
    }
}
