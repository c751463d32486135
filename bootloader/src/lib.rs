//! `fwu-bootloader`: the board-independent boot flow of the fwu bootloader (digest §3.6).
//!
//! On every boot [`Bootloader::boot`]:
//! 1. opens the state partition (the map repairs an interrupted write on first access) and
//!    reads the transaction record;
//! 2. resumes an install or revert in progress from its durable progress;
//! 3. verifies every STAGED member (hash, signature, the digest the service accepted, security
//!    counter, dependencies); any failure marks them all FAILED and nothing moves; otherwise it
//!    installs them as one transaction and marks them TRIAL;
//! 4. reverts a TRIAL that was already booted once without `accept`, or a REJECTED one, and marks
//!    the members FAILED with [`ERROR_TRIAL_NOT_ACCEPTED`] or the `reject` argument;
//! 5. authenticates every active image (unless disabled): a failing trial image is rolled back, an
//!    UPDATED component with a valid backup is recovered from it, otherwise the image is refused
//!    and [`BootReport::refused`] says why;
//! 6. returns a [`BootReport`]; the jump itself lives in the board crates.
//!
//! The engine is generic over blocking `embedded_storage::nor_flash::NorFlash`. Internally it
//! runs the shared async state store through `embassy_embedded_hal::adapter::BlockingAsync`,
//! whose futures complete on their first poll.
//!
//! A state partition that cannot be read (corrupted beyond the map's repair) is handled safely:
//! no install or revert is attempted, active images are still authenticated, and
//! [`BootReport::state_readable`] is false.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::expect_used))]

pub mod swap;
pub mod verify;

use embassy_embedded_hal::adapter::BlockingAsync;
use embedded_storage_async::nor_flash::NorFlash as AsyncNorFlash;
use fwu_shared::image::{ImageError, KeyRing};
use fwu_shared::layout::{Layout, LayoutError};
pub use fwu_shared::state::records::{
    ERROR_ACTIVE_INVALID, ERROR_INSTALL_FLASH_FAILURE, ERROR_TRIAL_NOT_ACCEPTED,
};
use fwu_shared::state::{
    Direction, Members, Phase, SecurityCounters, StateStore, StoreError, TxnRecord, MAX_COMPONENTS,
};
use fwu_shared::version::BuildNumber;
use fwu_shared::{ComponentId, PsaStatus, State};
use swap::SwapError;

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
    /// An UPDATED component whose active image failed authentication was restored from its
    /// backup and marked FAILED.
    Recovered(ComponentId),
}

/// Why an active image may not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It failed to parse or authenticate.
    Image(ImageError),
    /// Its security counter is below the stored one (a rollback).
    SecurityCounter {
        /// The image's counter.
        image: u32,
        /// The stored counter.
        floor: u32,
    },
}

/// The outcome of a boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootReport {
    /// What was installed, refused or reverted.
    pub action: BootAction,
    /// Whether the images about to run are on trial (the app must `accept`).
    pub trial: bool,
    /// Whether the state partition could be read.
    pub state_readable: bool,
    /// The first component whose active image must not run, and why.
    pub refused: Option<(ComponentId, Refusal)>,
    /// Every component whose active image must not run.
    pub invalid: Members,
}

impl Default for BootReport {
    fn default() -> Self {
        BootReport {
            action: BootAction::None,
            trial: false,
            state_readable: true,
            refused: None,
            invalid: Members::NONE,
        }
    }
}

impl BootReport {
    /// Whether component `c`'s active image may be run.
    pub fn may_run(&self, c: ComponentId) -> bool {
        !self.invalid.contains(c)
    }

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
    /// A transaction names a component the layout lacks, or the state partition is full.
    State,
}

/// Internal outcome of a store access.
enum Step {
    /// The state partition cannot be trusted: stop acting on it.
    Unreadable,
    /// Stop the boot with this error.
    Fail(BootError),
}

impl From<StoreError> for Step {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt => Step::Unreadable,
            StoreError::Flash => Step::Fail(BootError::Flash),
            StoreError::Full | StoreError::Config => Step::Fail(BootError::State),
        }
    }
}

impl From<SwapError> for Step {
    fn from(e: SwapError) -> Self {
        Step::Fail(e.into())
    }
}

/// The bootloader: layout, trusted keys, policy and the anti-rollback counter backend.
pub struct Bootloader<'a, C: SecurityCounters> {
    layout: Layout<'a>,
    keys: KeyRing<'a>,
    config: BootConfig,
    counters: C,
}

impl<'a, C: SecurityCounters> Bootloader<'a, C> {
    /// A bootloader for `layout`, accepting images signed by `keys`.
    pub fn new(layout: Layout<'a>, keys: KeyRing<'a>, config: BootConfig, counters: C) -> Self {
        Bootloader {
            layout,
            keys,
            config,
            counters,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout<'a> {
        &self.layout
    }

    /// Run the boot flow on a blocking flash.
    pub fn boot<F: embedded_storage::nor_flash::NorFlash>(
        &mut self,
        flash: &mut F,
    ) -> Result<BootReport, BootError> {
        let mut adapter = BlockingAsync::new(flash);
        embassy_futures::block_on(self.boot_async(&mut adapter))
    }

    /// Run the boot flow on an async flash (what [`Bootloader::boot`] does after adapting).
    pub async fn boot_async<F: AsyncNorFlash>(
        &mut self,
        flash: &mut F,
    ) -> Result<BootReport, BootError> {
        let capacity = u64::try_from(flash.capacity()).unwrap_or(u64::MAX);
        let erase = u32::try_from(F::ERASE_SIZE).unwrap_or(0);
        let write = u32::try_from(F::WRITE_SIZE).unwrap_or(0);
        self.layout
            .validate(capacity, erase, write)
            .map_err(BootError::Layout)?;
        let mut store =
            StateStore::new(flash, self.layout.state.clone()).map_err(|_| BootError::State)?;
        let mut report = BootReport::default();
        match self.advance(&mut store, &mut report).await {
            Ok(()) => {}
            Err(Step::Unreadable) => report.state_readable = false,
            Err(Step::Fail(e)) => return Err(e),
        }
        if self.config.authenticate_active {
            match self.check_active(&mut store, &mut report).await {
                Ok(()) => {}
                Err(Step::Unreadable) => report.state_readable = false,
                Err(Step::Fail(e)) => return Err(e),
            }
        }
        if report.state_readable {
            match self.mark_trial_booted(&mut store, &mut report).await {
                Ok(()) => {}
                Err(Step::Unreadable) => report.state_readable = false,
                Err(Step::Fail(e)) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Steps 1–4: act on the transaction record.
    async fn advance<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        report: &mut BootReport,
    ) -> Result<(), Step> {
        let txn = store.txn().await?;
        match txn.phase {
            Phase::Staged => self.install(store, txn, report).await,
            Phase::Installing => self.continue_install(store, txn, report).await,
            Phase::Trial if txn.trial_booted => {
                self.revert(store, txn, ERROR_TRIAL_NOT_ACCEPTED, report)
                    .await
            }
            Phase::Rejected => self.revert(store, txn, txn.error, report).await,
            Phase::Reverting => self.continue_revert(store, txn, report).await,
            Phase::Failed | Phase::Updated => store
                .settle(&mut self.counters)
                .await
                .map(|_| ())
                .map_err(Step::from),
            Phase::Idle | Phase::Trial => Ok(()),
        }
    }

    async fn install<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        txn: TxnRecord,
        report: &mut BootReport,
    ) -> Result<(), Step> {
        let verdict = verify::verify_staged(
            store,
            &self.layout,
            &self.keys,
            &mut self.counters,
            &txn,
            self.config.build_number,
        )
        .await;
        match verdict {
            Err(fwu_shared::Error::StorageFailure) => Err(Step::Fail(BootError::Flash)),
            Err(e) => {
                store
                    .set_txn(&TxnRecord {
                        phase: Phase::Failed,
                        error: e.code(),
                        ..txn
                    })
                    .await?;
                report.action = BootAction::InstallRefused(txn.members, e.code());
                Ok(())
            }
            Ok(sectors) => {
                let installing = TxnRecord {
                    phase: Phase::Installing,
                    sectors,
                    ..txn
                };
                store.set_txn(&installing).await?;
                self.continue_install(store, installing, report).await
            }
        }
    }

    async fn continue_install<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        txn: TxnRecord,
        report: &mut BootReport,
    ) -> Result<(), Step> {
        match swap::run(store, &self.layout, &txn, Direction::Install).await {
            Ok(()) => {
                store
                    .set_txn(&TxnRecord {
                        phase: Phase::Trial,
                        trial_booted: false,
                        ..txn
                    })
                    .await?;
                report.action = BootAction::Installed(txn.members);
                report.trial = true;
                Ok(())
            }
            Err(SwapError::Flash(stopped)) => {
                // The flash failed (not a power cut: after a cut nothing below runs). Undo what
                // was installed: members before the failing one fully, the failing one by its
                // complete step pairs.
                let mut sectors = [0u16; MAX_COMPONENTS];
                for c in txn.members.iter() {
                    let pairs = match c.cmp(&stopped.member) {
                        core::cmp::Ordering::Less => txn.sectors_of(c),
                        core::cmp::Ordering::Equal => stopped.steps / 2,
                        core::cmp::Ordering::Greater => 0,
                    };
                    if let Some(s) = sectors.get_mut(usize::from(c)) {
                        *s = pairs;
                    }
                }
                let reverting = TxnRecord {
                    phase: Phase::Reverting,
                    error: ERROR_INSTALL_FLASH_FAILURE,
                    sectors,
                    ..txn
                };
                store.set_txn(&reverting).await?;
                self.continue_revert(store, reverting, report).await
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn revert<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        txn: TxnRecord,
        error: PsaStatus,
        report: &mut BootReport,
    ) -> Result<(), Step> {
        let reverting = TxnRecord {
            phase: Phase::Reverting,
            error,
            ..txn
        };
        store.set_txn(&reverting).await?;
        self.continue_revert(store, reverting, report).await
    }

    async fn continue_revert<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        txn: TxnRecord,
        report: &mut BootReport,
    ) -> Result<(), Step> {
        swap::run(store, &self.layout, &txn, Direction::Revert).await?;
        store
            .set_txn(&TxnRecord {
                phase: Phase::Failed,
                ..txn
            })
            .await?;
        report.action = BootAction::Reverted(txn.members, txn.error);
        report.trial = false;
        Ok(())
    }

    /// Step 5: authenticate every active image, rolling back or recovering where possible.
    ///
    /// One pass acts (at most one rollback or recovery per component per boot); if it changed
    /// any slot, a second pass re-checks every component without acting.
    async fn check_active<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        report: &mut BootReport,
    ) -> Result<(), Step> {
        let layout = self.layout.clone();
        let mut acted = false;
        for slots in layout.components {
            let c = slots.id;
            let Err(refusal) = self.check_one(store, c, report.state_readable).await else {
                continue;
            };
            if !report.state_readable {
                report.refuse(c, refusal);
                continue;
            }
            let txn = store.txn().await?;
            if txn.phase == Phase::Trial && txn.members.contains(c) {
                self.revert(store, txn, ERROR_ACTIVE_INVALID, report)
                    .await?;
                acted = true;
            } else if store.component(c).await?.state == State::Updated
                && self.backup_valid(store, c).await?
            {
                let mut sectors = [0u16; MAX_COMPONENTS];
                if let Some(s) = sectors.get_mut(usize::from(c)) {
                    *s = slots.sectors;
                }
                let recovery = TxnRecord {
                    seq: txn.seq.wrapping_add(1),
                    phase: Phase::Reverting,
                    members: Members::NONE.with(c),
                    error: ERROR_ACTIVE_INVALID,
                    trial_booted: false,
                    sectors,
                };
                store.set_txn(&recovery).await?;
                self.continue_revert(store, recovery, report).await?;
                report.action = BootAction::Recovered(c);
                acted = true;
            } else {
                report.refuse(c, refusal);
            }
        }
        if acted {
            // A rollback replaces every member of the transaction, including ones that passed.
            for slots in layout.components {
                if report.invalid.contains(slots.id) {
                    continue;
                }
                if let Err(refusal) = self.check_one(store, slots.id, true).await {
                    report.refuse(slots.id, refusal);
                }
            }
        }
        Ok(())
    }

    /// Authenticate `c`'s active image and check its security counter.
    async fn check_one<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        c: ComponentId,
        counters_readable: bool,
    ) -> Result<(), Refusal> {
        let slots = self
            .layout
            .component(c)
            .ok_or(Refusal::Image(ImageError::Storage))?;
        let max = slots.max_image_size(self.layout.sector_size);
        let scanned = verify::authenticate(store.flash(), &self.keys, slots.primary, max)
            .await
            .map_err(Refusal::Image)?;
        if counters_readable {
            let floor = self.counters.read(store, c).await.unwrap_or(0);
            let image = scanned.security_counter.unwrap_or(0);
            if image < floor {
                return Err(Refusal::SecurityCounter { image, floor });
            }
        }
        Ok(())
    }

    /// Whether `c`'s backup (the previous image, at offset 0 of the secondary slot after an
    /// install) authenticates and respects the stored security counter.
    async fn backup_valid<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        c: ComponentId,
    ) -> Result<bool, Step> {
        let Some(slots) = self.layout.component(c) else {
            return Ok(false);
        };
        let max = slots.max_image_size(self.layout.sector_size);
        let Ok(scanned) =
            verify::authenticate(store.flash(), &self.keys, slots.secondary, max).await
        else {
            return Ok(false);
        };
        let floor = self.counters.read(store, c).await?;
        Ok(scanned.security_counter.unwrap_or(0) >= floor)
    }

    /// Step 6 (bookkeeping): the first hand-over to trial images is recorded, so that the next
    /// boot without `accept` rolls back. Not when a trial member itself was refused: then the
    /// trial does not run.
    async fn mark_trial_booted<F: AsyncNorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        report: &mut BootReport,
    ) -> Result<(), Step> {
        let txn = store.txn().await?;
        let refused_member = txn.members.iter().any(|c| report.invalid.contains(c));
        if txn.phase == Phase::Trial && !txn.trial_booted && !refused_member {
            store
                .set_txn(&TxnRecord {
                    trial_booted: true,
                    ..txn
                })
                .await?;
        }
        report.trial = txn.phase == Phase::Trial;
        Ok(())
    }
}
