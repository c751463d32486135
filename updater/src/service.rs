//! The [`Updater`]: PSA FWU operations over the slots and the persisted state of the on-flash
//! contract (boot log, catalog, checkpoint map).

use crate::PSA_FWU_MAX_WRITE_SIZE;
use core::cmp::Ordering;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::Mutex;
use embedded_storage_async::nor_flash::NorFlash;
use fwu_shared::image::read::read_async;
use fwu_shared::image::{scan_flash_async, ImageError, ImageHeader, KeyRing, IMAGE_HEADER_SIZE};
use fwu_shared::layout::{ComponentSlots, Layout, LayoutError, MIN_WRITE_SIZE};
use fwu_shared::state::plan::swap_sectors;
use fwu_shared::state::records::{failure_code, ERROR_CANCELLED, ERROR_UNKNOWN_DEPENDENCY};
use fwu_shared::state::{
    staged_set_digest, BootLog, BootRecord, Catalog, Checkpoint, CheckpointMap, ComponentRecord,
    Flag, Health, Members, Phase, SecurityCounters, StagedImage, StateError, StoredCounters,
    MAX_COMPONENTS,
};
use fwu_shared::version::BuildNumber;
use fwu_shared::{
    ComponentId, ComponentInfo, Error, FwuResult, ImageVersion, ImplInfo, PsaStatus, State, Success,
};

/// Resets the system: supplied by the board.
///
/// On hardware `reset` does not return (e.g. `SCB::sys_reset`); a test double records the call
/// and returns, and [`Updater::request_reboot`] then reports success.
pub trait ResetHook {
    /// Reset the system (or record that a reset was requested).
    fn reset(&mut self);
}

/// Static configuration of the service.
#[derive(Clone, Debug)]
pub struct Config<'a> {
    /// The flash layout shared with the bootloader.
    pub layout: Layout<'a>,
    /// The keys images must be signed with.
    pub keys: KeyRing<'a>,
    /// Whether the build number takes part in the downgrade check and in dependency checks.
    pub build_number: BuildNumber,
}

/// Why [`Updater::new`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// The layout does not fit the flash (geometry, alignment, overlap, state partition size).
    Layout(LayoutError),
    /// The state partition could not be read or written (a flash error). A state that reads
    /// but is corrupt is not an error here: the service starts and reports it (see
    /// [`Updater::state_health`], [`Updater::recover_state`]).
    State(StateError),
}

impl From<LayoutError> for InitError {
    fn from(e: LayoutError) -> Self {
        InitError::Layout(e)
    }
}

impl From<StateError> for InitError {
    fn from(e: StateError) -> Self {
        InitError::State(e)
    }
}

/// How the two redundant stores of the state were found at the last (re)load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateHealth {
    /// The boot log (transaction table, counters).
    pub boot: Health,
    /// The catalog (component records).
    pub catalog: Health,
}

impl StateHealth {
    /// Whether either store is corrupt beyond automatic repair: every component reports FAILED
    /// with `PSA_ERROR_DATA_CORRUPT` and only [`Updater::recover_state`] changes anything.
    pub fn corrupt(&self) -> bool {
        self.boot == Health::Corrupt || self.catalog == Health::Corrupt
    }
}

/// The PSA error for a state failure.
fn state_error(e: StateError) -> Error {
    match e {
        StateError::Layout => Error::InsufficientStorage,
        StateError::Flash | StateError::WriteFailed | StateError::Corrupt => Error::StorageFailure,
    }
}

/// Bytes read per flash read while comparing or blank-checking.
const CHUNK: usize = 64;
/// Buffer the image scanner reads through.
const SCAN_BUFFER: usize = 256;
/// Largest number of flash words in one block (smallest supported write size).
const MAX_WORDS: usize = PSA_FWU_MAX_WRITE_SIZE / MIN_WRITE_SIZE as usize;
/// Largest supported flash write size (the padding buffer).
const MAX_WORD: usize = fwu_shared::layout::MAX_WRITE_SIZE as usize;
/// Value of an erased flash byte.
const ERASED: u8 = 0xff;

/// The download session of one component, in RAM.
#[derive(Clone, Copy, Debug, Default)]
struct Session {
    /// Contiguous bytes written from image offset 0.
    prefix: u32,
    /// Image offset (sector aligned) below which every sector may be programmed: erased in this
    /// session, known erased after `clean`, or part of the durable prefix.
    erase_mark: u32,
    /// The durable checkpoint, as last stored or read.
    checkpoint: u32,
    /// A flash-modifying call did not run to completion: distrust this session and restart
    /// from the durable checkpoint.
    stale: bool,
}

/// Everything behind the mutex.
struct Inner<'a, F, R, C> {
    flash: F,
    config: Config<'a>,
    reset: R,
    counters: C,
    /// Version of each component's active image, read at start-up.
    active: [ImageVersion; MAX_COMPONENTS],
    /// The boot log and the catalog as last read or written; trusted only while `fresh`: a
    /// call that may have stopped half-way through a write (an error, a dropped future) clears
    /// it, and the next call reads both again from flash.
    boot: BootLog,
    catalog: Catalog,
    fresh: bool,
    sessions: [Session; MAX_COMPONENTS],
}

/// The PSA FWU update service.
///
/// `M` is the raw mutex kind (`CriticalSectionRawMutex` to share between executors or
/// interrupts, `NoopRawMutex` for one executor), `F` the flash holding slots and state
/// partition, `R` the board's reset, `C` where counters are kept besides the state partition.
pub struct Updater<'a, M, F, R, C = StoredCounters>
where
    M: RawMutex,
    F: NorFlash,
    R: ResetHook,
    C: SecurityCounters,
{
    inner: Mutex<M, Inner<'a, F, R, C>>,
}

fn slots_of<'a>(layout: &Layout<'a>, c: ComponentId) -> Result<&'a ComponentSlots, Error> {
    layout.component(c).ok_or(Error::DoesNotExist)
}

fn validate<F: NorFlash>(flash: &F, layout: &Layout<'_>) -> Result<(), InitError> {
    let capacity = u64::try_from(flash.capacity()).unwrap_or(u64::MAX);
    let erase = u32::try_from(F::ERASE_SIZE).map_err(|_| LayoutError::SectorSize)?;
    let write = u32::try_from(F::WRITE_SIZE).map_err(|_| LayoutError::WriteSize)?;
    layout.validate(capacity, erase, write)?;
    Ok(())
}

/// Read `out.len()` bytes at `addr`, directly when the read is aligned to `READ_SIZE`.
async fn read_at<F: NorFlash>(flash: &mut F, addr: u32, out: &mut [u8]) -> Result<(), Error> {
    let rs = F::READ_SIZE.max(1);
    let aligned = (addr as usize).is_multiple_of(rs) && out.len().is_multiple_of(rs);
    if aligned {
        flash
            .read(addr, out)
            .await
            .map_err(|_| Error::StorageFailure)
    } else {
        read_async(flash, addr, out)
            .await
            .map_err(|_| Error::StorageFailure)
    }
}

/// The `i`-th byte of `block` padded with erased bytes.
fn padded(block: &[u8], i: usize) -> u8 {
    block.get(i).copied().unwrap_or(ERASED)
}

fn bit(map: &[u8; MAX_WORDS / 8], i: usize) -> bool {
    map.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn set_bit(map: &mut [u8; MAX_WORDS / 8], i: usize) {
    if let Some(b) = map.get_mut(i / 8) {
        *b |= 1 << (i % 8);
    }
}

/// Open both logs, write the first boot record of a fresh device, and repair a copy that lags.
/// A corrupt store is left as found.
async fn load_state<F: NorFlash>(
    flash: &mut F,
    layout: &Layout<'_>,
) -> Result<(BootLog, Catalog), StateError> {
    let mut boot = BootLog::open(flash, layout).await?;
    // A first record or a repair that cannot be written leaves the state as read: the next
    // write tries again.
    match boot.health() {
        Health::Fresh => {
            let _ = boot.commit(flash, &BootRecord::default()).await;
        }
        Health::Degraded => {
            let _ = boot.repair(flash).await;
        }
        Health::Ok | Health::Corrupt => {}
    }
    let mut catalog = Catalog::open(flash, layout).await?;
    if catalog.health() == Health::Degraded {
        let _ = catalog.repair(flash).await;
    }
    Ok((boot, catalog))
}

/// The version in the header of each component's primary slot (0.0.0+0 when unreadable).
async fn active_versions<F: NorFlash>(
    flash: &mut F,
    layout: &Layout<'_>,
) -> [ImageVersion; MAX_COMPONENTS] {
    let mut active = [ImageVersion::default(); MAX_COMPONENTS];
    for slot in layout.components {
        let mut header = [0u8; IMAGE_HEADER_SIZE];
        let version = match read_async(flash, slot.primary, &mut header).await {
            Ok(()) => ImageHeader::parse(&header)
                .map(|h| h.version)
                .unwrap_or_default(),
            Err(_) => ImageVersion::default(),
        };
        if let Some(v) = active.get_mut(usize::from(slot.id)) {
            *v = version;
        }
    }
    active
}

impl<'a, M, F, R, C> Updater<'a, M, F, R, C>
where
    M: RawMutex,
    F: NorFlash,
    R: ResetHook,
    C: SecurityCounters,
{
    /// `PSA_FWU_MAX_WRITE_SIZE`.
    pub const MAX_WRITE_SIZE: usize = PSA_FWU_MAX_WRITE_SIZE;
    /// `PSA_FWU_LOG2_WRITE_ALIGN` for this flash.
    pub const LOG2_WRITE_ALIGN: u32 = crate::log2_write_align::<F>();

    /// Start the service: validate the layout against the flash, read the state (writing the
    /// first record of a fresh device and rewriting a copy that lags), settle a finished
    /// transaction (folding its outcome into the component records), and read the active
    /// image versions from the primary slots (an unreadable header reads as 0.0.0+0; the
    /// bootloader has authenticated what runs).
    ///
    /// A state that is corrupt beyond automatic repair does not fail the start: every
    /// component then reports FAILED with `PSA_ERROR_DATA_CORRUPT`, every change is refused
    /// with `PSA_ERROR_STORAGE_FAILURE`, and [`Updater::recover_state`] rebuilds the state.
    pub async fn new(
        mut flash: F,
        config: Config<'a>,
        reset: R,
        counters: C,
    ) -> Result<Self, InitError> {
        validate(&flash, &config.layout)?;
        let (boot, catalog) = load_state(&mut flash, &config.layout).await?;
        let active = active_versions(&mut flash, &config.layout).await;
        // Sessions start stale: the first write resumes from the durable checkpoint.
        let sessions = [Session {
            stale: true,
            ..Session::default()
        }; MAX_COMPONENTS];
        let mut inner = Inner {
            flash,
            config,
            reset,
            counters,
            active,
            boot,
            catalog,
            fresh: true,
            sessions,
        };
        if !inner.health().corrupt() {
            inner.settle().await.map_err(|_| StateError::Flash)?;
        }
        Ok(Updater {
            inner: Mutex::new(inner),
        })
    }

    /// Give back the flash, the reset hook and the counters backend.
    pub fn release(self) -> (F, R, C) {
        let inner = self.inner.into_inner();
        (inner.flash, inner.reset, inner.counters)
    }

    /// How the persisted state was found at the last load (refreshed after any call that
    /// could not complete).
    pub async fn state_health(&self) -> Result<StateHealth, Error> {
        let mut inner = self.inner.lock().await;
        inner.refresh().await?;
        Ok(inner.health())
    }

    /// Rebuild a state that is corrupt beyond automatic repair from what verifies on flash:
    /// each corrupt store is erased and started again — the boot log with no transaction and,
    /// as every component's counter floor, the highest of every counter any readable record
    /// showed and of the verified active image; the catalog with every component READY (the
    /// secondary slots are not known to be erased, so the next download erases as it goes);
    /// the checkpoint map empty. A store that is intact is kept as it is, including a
    /// transaction in progress. Primary slots are never touched.
    ///
    /// `PSA_ERROR_BAD_STATE` if nothing is corrupt (this is not a way to cancel an update).
    pub async fn recover_state(&self) -> FwuResult {
        self.inner.lock().await.recover_state().await
    }

    /// `psa_fwu_query`: the state, error, active version and slot information of `c`.
    pub async fn query(&self, c: ComponentId) -> Result<ComponentInfo, Error> {
        self.inner.lock().await.query(c).await
    }

    /// The SHA-256 digest of `c`'s active image, computed over it as its hash TLV is (what
    /// mcumgr's image state reports as the slot's `hash`); `None` when the primary slot holds
    /// nothing that parses as an image. Not an authentication: the bootloader authenticated
    /// what runs.
    pub async fn active_digest(&self, c: ComponentId) -> Result<Option<[u8; 32]>, Error> {
        self.inner.lock().await.active_digest(c).await
    }

    /// The image verified at `finish` for `c` (size, digest, version, counter, dependencies),
    /// from CANDIDATE on, as `query` reports its size and digest; `None` in READY and WRITING,
    /// and when nothing was verified (a FAILED download).
    pub async fn staged_image(&self, c: ComponentId) -> Result<Option<StagedImage>, Error> {
        let mut inner = self.inner.lock().await;
        let info = inner.query(c).await?;
        Ok((info.impl_.staged_size != 0).then(|| inner.record(c).staged))
    }

    /// `psa_fwu_start`: READY → WRITING. `manifest` must be `None` (images carry their manifest,
    /// MCUboot style); any detached manifest, even empty, is `INVALID_ARGUMENT` and leaves READY.
    pub async fn start(&self, c: ComponentId, manifest: Option<&[u8]>) -> FwuResult {
        self.inner.lock().await.start(c, manifest).await
    }

    /// `psa_fwu_write`: store `block` at `image_offset` of the image being downloaded.
    ///
    /// `INVALID_ARGUMENT` (state stays WRITING) for an offset not aligned to the flash write
    /// size, an empty block, a block over [`PSA_FWU_MAX_WRITE_SIZE`], a region past the slot,
    /// or a block that contradicts data already written. Re-sending identical data succeeds.
    pub async fn write(&self, c: ComponentId, image_offset: usize, block: &[u8]) -> FwuResult {
        self.inner.lock().await.write(c, image_offset, block).await
    }

    /// `psa_fwu_finish`: WRITING → CANDIDATE after authenticating the image and checking the
    /// anti-rollback and downgrade policy; on failure → FAILED with the error in `info.error`.
    pub async fn finish(&self, c: ComponentId) -> FwuResult {
        self.inner.lock().await.finish(c).await
    }

    /// `psa_fwu_cancel`: WRITING or CANDIDATE → FAILED (error 0). Erases nothing.
    pub async fn cancel(&self, c: ComponentId) -> FwuResult {
        self.inner.lock().await.cancel(c).await
    }

    /// `psa_fwu_clean`: FAILED or UPDATED → READY, erasing the secondary slot (sectors that are
    /// already blank are skipped).
    pub async fn clean(&self, c: ComponentId) -> FwuResult {
        self.inner.lock().await.clean(c).await
    }

    /// `psa_fwu_install`: every CANDIDATE → STAGED in one record write, after checking their
    /// dependencies. Returns `Success::Reboot`.
    pub async fn install(&self) -> FwuResult {
        self.inner.lock().await.install().await
    }

    /// `psa_fwu_request_reboot`: call the board's [`ResetHook`].
    pub async fn request_reboot(&self) -> FwuResult {
        self.inner.lock().await.reset.reset();
        Ok(Success::Done)
    }

    /// `psa_fwu_reject`: STAGED → FAILED (`Success::Done`) or TRIAL → REJECTED
    /// (`Success::Reboot`), with `error` recorded for every member.
    pub async fn reject(&self, error: PsaStatus) -> FwuResult {
        self.inner.lock().await.reject(error).await
    }

    /// `psa_fwu_accept`: TRIAL → UPDATED and the members' security counter floors raised to
    /// their images' counters, in one record write.
    pub async fn accept(&self) -> FwuResult {
        self.inner.lock().await.accept().await
    }
}

impl<F, R, C> Inner<'_, F, R, C>
where
    F: NorFlash,
    C: SecurityCounters,
{
    fn sector(&self) -> u32 {
        self.config.layout.sector_size
    }

    fn health(&self) -> StateHealth {
        StateHealth {
            boot: self.boot.health(),
            catalog: self.catalog.health(),
        }
    }

    /// Read the state again if a previous call may have stopped half-way through a write.
    async fn refresh(&mut self) -> Result<(), Error> {
        if !self.fresh {
            let (boot, catalog) = load_state(&mut self.flash, &self.config.layout)
                .await
                .map_err(state_error)?;
            self.boot = boot;
            self.catalog = catalog;
            self.fresh = true;
        }
        Ok(())
    }

    /// Refresh, and refuse any change while the state is corrupt.
    async fn writable(&mut self) -> Result<(), Error> {
        self.refresh().await?;
        if self.health().corrupt() {
            return Err(Error::StorageFailure);
        }
        Ok(())
    }

    /// The state and error `c` reports: the transaction overrides its members; a corrupt state
    /// is FAILED with `PSA_ERROR_DATA_CORRUPT`.
    fn reported(&self, c: ComponentId) -> (State, PsaStatus) {
        if self.health().corrupt() {
            return (State::Failed, Error::DataCorrupt.code());
        }
        if let Some(s) = self.boot.state().member_state(c) {
            return s;
        }
        let rec = self.catalog.record(c).unwrap_or_default();
        let error = if rec.state == State::Failed {
            rec.error
        } else {
            0
        };
        (rec.state, error)
    }

    fn record(&self, c: ComponentId) -> ComponentRecord {
        self.catalog.record(c).unwrap_or_default()
    }

    /// Store `c`'s component record; the RAM copy is distrusted until the write completed.
    async fn put_component(&mut self, c: ComponentId, rec: &ComponentRecord) -> Result<(), Error> {
        self.fresh = false;
        self.catalog
            .put(&mut self.flash, c, rec)
            .await
            .map_err(state_error)?;
        self.fresh = true;
        Ok(())
    }

    /// Commit a boot record; the RAM copy is distrusted until the write completed.
    async fn commit(&mut self, rec: &BootRecord) -> Result<(), Error> {
        self.fresh = false;
        self.boot
            .commit(&mut self.flash, rec)
            .await
            .map_err(state_error)?;
        self.fresh = true;
        Ok(())
    }

    /// Fold a finished (`Failed` or `Updated`) transaction into the members' component records,
    /// raise the backend's counters of an accepted one, then mark it settled (`Idle`).
    /// Idempotent; a cut anywhere leaves the same reported states.
    async fn settle(&mut self) -> Result<(), Error> {
        let txn = self.boot.state();
        let state = match txn.phase {
            Phase::Failed => State::Failed,
            Phase::Updated => State::Updated,
            _ => return Ok(()),
        };
        for c in txn.members.iter() {
            let old = self.record(c);
            if state == State::Updated {
                self.counters
                    .raise(c, old.staged.security_counter)
                    .map_err(|_| Error::StorageFailure)?;
            }
            let new = ComponentRecord {
                state,
                error: if state == State::Failed { txn.error } else { 0 },
                download: 0,
                secondary_erased: false,
                ..old
            };
            if self.catalog.record(c) != Some(new) {
                self.put_component(c, &new).await?;
            }
        }
        self.fresh = false;
        self.boot
            .set_flag(&mut self.flash, Flag::Settled)
            .await
            .map_err(state_error)?;
        self.fresh = true;
        Ok(())
    }

    fn session_mut(&mut self, c: ComponentId) -> Result<&mut Session, Error> {
        self.sessions
            .get_mut(usize::from(c))
            .ok_or(Error::DoesNotExist)
    }

    /// The durable checkpoint of `c`'s current download: the map's, if it names this download
    /// and lies inside the slot, else 0.
    async fn checkpoint(&mut self, c: ComponentId, max: u32) -> u32 {
        let download = self.record(c).download;
        let ss = self.sector();
        let Ok(mut map) = CheckpointMap::new(&mut self.flash, &self.config.layout) else {
            return 0;
        };
        match map.get(c).await {
            Some(cp) if cp.download == download => durable_checkpoint(cp.written, max, ss),
            _ => 0,
        }
    }

    async fn recover_state(&mut self) -> FwuResult {
        // Read afresh: recovery decides on what is on flash now.
        self.fresh = false;
        self.refresh().await?;
        let health = self.health();
        if !health.corrupt() {
            return Err(Error::BadState);
        }
        self.fresh = false;
        if health.boot == Health::Corrupt {
            // The floor: the highest counter any readable record showed, and each verified
            // active image's.
            let mut counters = [0u32; MAX_COMPONENTS];
            for slots in self.config.layout.components {
                let c = slots.id;
                let mut buf = [0u8; SCAN_BUFFER];
                let max = slots.max_image_size(self.sector());
                let image = scan_flash_async(&mut self.flash, slots.primary, max, &mut buf)
                    .await
                    .ok()
                    .filter(|s| self.config.keys.authenticate(s).is_ok())
                    .and_then(|s| s.security_counter)
                    .unwrap_or(0);
                if let Some(v) = counters.get_mut(usize::from(c)) {
                    *v = self.boot.counter(c).max(image);
                }
            }
            let rec = BootRecord {
                counters,
                ..BootRecord::default()
            };
            self.boot
                .format(&mut self.flash, &rec)
                .await
                .map_err(state_error)?;
        }
        if health.catalog == Health::Corrupt {
            self.catalog
                .format(&mut self.flash)
                .await
                .map_err(state_error)?;
        }
        if let Ok(mut map) = CheckpointMap::new(&mut self.flash, &self.config.layout) {
            map.reset().await.map_err(state_error)?;
        }
        for s in self.sessions.iter_mut() {
            s.stale = true;
        }
        self.refresh().await?;
        self.settle().await?;
        Ok(Success::Done)
    }

    async fn active_digest(&mut self, c: ComponentId) -> Result<Option<[u8; 32]>, Error> {
        let slots = *slots_of(&self.config.layout, c)?;
        let max = slots.max_image_size(self.sector());
        let mut buf = [0u8; SCAN_BUFFER];
        match scan_flash_async(&mut self.flash, slots.primary, max, &mut buf).await {
            Ok(s) => Ok(Some(s.digest)),
            Err(ImageError::Storage) => Err(Error::StorageFailure),
            Err(_) => Ok(None),
        }
    }

    async fn query(&mut self, c: ComponentId) -> Result<ComponentInfo, Error> {
        let slots = *slots_of(&self.config.layout, c)?;
        self.refresh().await?;
        let (state, error) = self.reported(c);
        let ss = self.sector();
        let max = slots.max_image_size(ss);
        let mut impl_ = ImplInfo::default();
        if !self.health().corrupt() {
            match state {
                State::Ready => {}
                State::Writing => impl_.resume_offset = self.checkpoint(c, max).await,
                _ => {
                    let rec = self.record(c);
                    impl_.staged_size = rec.staged.size;
                    impl_.staged_digest = rec.staged.digest;
                }
            }
        }
        Ok(ComponentInfo {
            state: state as u8,
            error,
            version: self.active.get(usize::from(c)).copied().unwrap_or_default(),
            max_size: max,
            flags: 0,
            location: slots.primary,
            impl_,
        })
    }

    async fn start(&mut self, c: ComponentId, manifest: Option<&[u8]>) -> FwuResult {
        let slots = *slots_of(&self.config.layout, c)?;
        self.writable().await?;
        if self.reported(c).0 != State::Ready {
            return Err(Error::BadState);
        }
        // Manifests are bundled in the image: any detached one, even empty (a non-NULL
        // pointer with size 0 in C), is refused (PSA FWU 1.0 `psa_fwu_start`: "a detached
        // manifest to a component that expects a bundled one").
        if manifest.is_some() {
            return Err(Error::InvalidArgument);
        }
        let erased = self.record(c).secondary_erased;
        // Until the record is durable, a write must not trust any RAM session.
        self.session_mut(c)?.stale = true;
        let rec = ComponentRecord {
            state: State::Writing,
            error: 0,
            download: self.catalog.next_generation(),
            secondary_erased: erased,
            staged: StagedImage::default(),
        };
        self.put_component(c, &rec).await?;
        let max = slots.max_image_size(self.sector());
        *self.session_mut(c)? = Session {
            prefix: 0,
            erase_mark: if erased { max } else { 0 },
            checkpoint: 0,
            stale: false,
        };
        Ok(Success::Done)
    }

    async fn write(&mut self, c: ComponentId, image_offset: usize, block: &[u8]) -> FwuResult {
        let slots = *slots_of(&self.config.layout, c)?;
        self.writable().await?;
        if self.reported(c).0 != State::Writing {
            return Err(Error::BadState);
        }
        let ss = self.sector();
        let max = slots.max_image_size(ss);
        let w = F::WRITE_SIZE;
        if block.is_empty()
            || block.len() > PSA_FWU_MAX_WRITE_SIZE
            || !image_offset.is_multiple_of(w)
        {
            return Err(Error::InvalidArgument);
        }
        let end = image_offset
            .checked_add(block.len())
            .filter(|&e| e <= max as usize)
            .ok_or(Error::InvalidArgument)?;
        // Both fit in u32: they are at most `max`.
        let offset = u32::try_from(image_offset).map_err(|_| Error::InvalidArgument)?;
        let end = u32::try_from(end).map_err(|_| Error::InvalidArgument)?;

        if self.session_mut(c)?.stale {
            let checkpoint = self.checkpoint(c, max).await;
            *self.session_mut(c)? = Session {
                prefix: checkpoint,
                erase_mark: checkpoint,
                checkpoint,
                stale: false,
            };
        }
        let session = self.session_mut(c)?;
        let mut s = *session;
        session.stale = true;

        let base = slots.staging_offset(ss);
        // Lazy erase: every sector up to the one holding the block's last byte.
        let needed = end.div_ceil(ss).saturating_mul(ss);
        if s.erase_mark < needed {
            self.flash
                .erase(base + s.erase_mark, base + needed)
                .await
                .map_err(|_| Error::StorageFailure)?;
            s.erase_mark = needed;
            self.session_mut(c)?.erase_mark = needed;
        }

        match program_block(&mut self.flash, base + offset, block).await {
            Ok(()) => {}
            Err(Error::InvalidArgument) => {
                // Different data is already there: refused, nothing was programmed.
                self.session_mut(c)?.stale = false;
                return Err(Error::InvalidArgument);
            }
            Err(e) => return Err(e),
        }

        // Track the contiguous prefix and checkpoint each sector it completes (after the data
        // it covers is written). A checkpoint is a hint: one the map cannot store (a failing
        // map sector) only makes a resumed download start earlier, so the write still
        // succeeds, and the next attempt is at the next sector.
        if offset <= s.prefix && end > s.prefix {
            s.prefix = end;
        }
        let reached = s.prefix / ss * ss;
        if reached > s.checkpoint {
            let cp = Checkpoint {
                download: self.record(c).download,
                written: reached,
            };
            if let Ok(mut map) = CheckpointMap::new(&mut self.flash, &self.config.layout) {
                let _hint_only = map.put(c, &cp).await;
            }
            s.checkpoint = reached;
        }
        s.stale = false;
        *self.session_mut(c)? = s;
        Ok(Success::Done)
    }

    /// Record `c` as FAILED with `error` and return that error (or the storage failure).
    async fn fail(&mut self, c: ComponentId, error: Error) -> FwuResult {
        self.fail_because(c, error, error.code()).await
    }

    /// Record `c` as FAILED with the reason `recorded` (what `query` shows in `error`) and
    /// return `error` (or the storage failure).
    async fn fail_because(
        &mut self,
        c: ComponentId,
        error: Error,
        recorded: PsaStatus,
    ) -> FwuResult {
        let rec = ComponentRecord {
            state: State::Failed,
            error: recorded,
            download: 0,
            secondary_erased: false,
            staged: StagedImage::default(),
        };
        self.put_component(c, &rec).await?;
        Err(error)
    }

    async fn finish(&mut self, c: ComponentId) -> FwuResult {
        let slots = *slots_of(&self.config.layout, c)?;
        self.writable().await?;
        if self.reported(c).0 != State::Writing {
            return Err(Error::BadState);
        }
        let ss = self.sector();
        let scanned = {
            let mut buf = [0u8; SCAN_BUFFER];
            scan_flash_async(
                &mut self.flash,
                slots.staging_offset(ss),
                slots.max_image_size(ss),
                &mut buf,
            )
            .await
        };
        let staged = match scanned.and_then(|s| self.config.keys.authenticate(&s).map(|_| s)) {
            Ok(image) => StagedImage {
                size: image.total_size,
                digest: image.digest,
                version: image.header.version,
                security_counter: image.security_counter.unwrap_or(0),
                dependencies: image.dependencies,
            },
            // A read failure says nothing about the image: stay WRITING.
            Err(ImageError::Storage) => return Err(Error::StorageFailure),
            Err(e) => return self.fail_because(c, e.psa_error(), failure_code(e)).await,
        };
        // Dependencies are checked at install (PSA FWU 1.0 chapter 5, `psa_fwu_finish`), but one
        // on a component this device does not have can never be met: the image is not for
        // this device, and it is refused now rather than at every install.
        let layout = &self.config.layout;
        if staged
            .dependencies
            .as_slice()
            .iter()
            .any(|d| layout.component(d.component).is_none())
        {
            return self
                .fail_because(c, Error::InvalidArgument, ERROR_UNKNOWN_DEPENDENCY)
                .await;
        }
        let external = self.counters.floor(c).map_err(|_| Error::StorageFailure)?;
        // The floor is never below the verified image that runs (the bootloader stores it, but
        // not when it is built without authenticating active images).
        let running = {
            let mut buf = [0u8; SCAN_BUFFER];
            let max = slots.max_image_size(ss);
            match scan_flash_async(&mut self.flash, slots.primary, max, &mut buf).await {
                Ok(s) if self.config.keys.authenticate(&s).is_ok() => {
                    s.security_counter.unwrap_or(0)
                }
                Err(ImageError::Storage) => return Err(Error::StorageFailure),
                _ => 0,
            }
        };
        let floor = self.boot.counter(c).max(external).max(running);
        let active = self.active.get(usize::from(c)).copied().unwrap_or_default();
        if staged.security_counter < floor
            || staged.version.compare(&active, self.config.build_number) == Ordering::Less
        {
            return self.fail(c, Error::NotPermitted).await;
        }
        let rec = ComponentRecord {
            state: State::Candidate,
            error: 0,
            download: 0,
            secondary_erased: false,
            staged,
        };
        self.put_component(c, &rec).await?;
        Ok(Success::Done)
    }

    async fn cancel(&mut self, c: ComponentId) -> FwuResult {
        slots_of(&self.config.layout, c)?;
        self.writable().await?;
        let staged = match self.reported(c).0 {
            State::Writing => StagedImage::default(),
            State::Candidate => self.record(c).staged,
            _ => return Err(Error::BadState),
        };
        let rec = ComponentRecord {
            state: State::Failed,
            error: ERROR_CANCELLED,
            download: 0,
            secondary_erased: false,
            staged,
        };
        self.put_component(c, &rec).await?;
        Ok(Success::Done)
    }

    async fn clean(&mut self, c: ComponentId) -> FwuResult {
        let slots = *slots_of(&self.config.layout, c)?;
        self.writable().await?;
        if !matches!(self.reported(c).0, State::Failed | State::Updated) {
            return Err(Error::BadState);
        }
        if self.boot.state().members.contains(c) {
            // A finished transaction: fold it into the component records first.
            self.settle().await?;
        }
        let txn = self.boot.state();
        if txn.backups.contains(c) {
            // The backup is about to go: the bootloader must not restore it any more.
            self.commit(&BootRecord {
                backups: txn.backups.without(c),
                ..txn
            })
            .await?;
        }
        // Every sector is erased, including those that read blank: a sector whose erase a
        // power cut interrupted (an earlier clean's) can read blank and still hold programmed
        // cells, which a flash with ECC refuses to program again (found by the psa_sequence
        // fuzzer: the next download's first write failed). The next download then skips its
        // erases (`secondary_erased`).
        let ss = self.sector();
        let range = slots.secondary_range(ss);
        let mut sector = range.start;
        while sector < range.end {
            self.flash
                .erase(sector, sector + ss)
                .await
                .map_err(|_| Error::StorageFailure)?;
            sector += ss;
        }
        let rec = ComponentRecord {
            state: State::Ready,
            error: 0,
            download: 0,
            secondary_erased: true,
            staged: StagedImage::default(),
        };
        self.put_component(c, &rec).await?;
        Ok(Success::Done)
    }

    async fn install(&mut self) -> FwuResult {
        self.writable().await?;
        let components = self.config.layout.components;
        let mut candidates = Members::NONE;
        for slot in components {
            match self.reported(slot.id).0 {
                State::Staged | State::Trial | State::Rejected => return Err(Error::BadState),
                State::Candidate => candidates = candidates.with(slot.id),
                _ => {}
            }
        }
        if candidates.is_empty() {
            return Err(Error::BadState);
        }
        // Dependencies: candidate versions for candidates, active versions for the others.
        let mut versions = self.active;
        for c in candidates.iter() {
            let staged = self.record(c).staged;
            if let Some(v) = versions.get_mut(usize::from(c)) {
                *v = staged.version;
            }
        }
        let configured = components.iter().fold(Members::NONE, |m, s| m.with(s.id));
        // A dependency on a component this device does not have is never met.
        let version_of = |id: ComponentId| {
            if configured.contains(id) {
                versions.get(usize::from(id)).copied()
            } else {
                None
            }
        };
        let build = self.config.build_number;
        for c in candidates.iter() {
            let deps = self.record(c).staged.dependencies;
            if deps.first_unmet(version_of, build).is_some() {
                return Err(Error::DependencyNeeded);
            }
        }
        if matches!(self.boot.state().phase, Phase::Failed | Phase::Updated) {
            // The previous transaction's outcome must reach its members' records before the
            // transaction record is reused.
            self.settle().await?;
        }
        // The swap plan and the identity of the staged set, checked again by the bootloader.
        let ss = self.sector();
        let mut sectors = [0u16; MAX_COMPONENTS];
        for c in candidates.iter() {
            let slots = *slots_of(&self.config.layout, c)?;
            let size = self.record(c).staged.size;
            let n = swap_sectors(&mut self.flash, &slots, ss, size)
                .await
                .map_err(|_| Error::StorageFailure)?;
            if let Some(s) = sectors.get_mut(usize::from(c)) {
                *s = n;
            }
        }
        let digest =
            staged_set_digest(candidates.iter().map(|c| (c, self.record(c).staged.digest)));
        let txn = self.boot.state();
        let staged = BootRecord {
            seq: txn.seq.wrapping_add(1),
            phase: Phase::Staged,
            members: candidates,
            trial_booted: false,
            backups: Members(txn.backups.0 & !candidates.0),
            error: 0,
            done: 0,
            sectors,
            digest,
            ..txn
        };
        self.commit(&staged).await?;
        Ok(Success::Reboot)
    }

    async fn reject(&mut self, error: PsaStatus) -> FwuResult {
        self.writable().await?;
        let txn = self.boot.state();
        let (phase, success) = match txn.phase {
            Phase::Staged => (Phase::Failed, Success::Done),
            Phase::Trial => (Phase::Rejected, Success::Reboot),
            _ => return Err(Error::BadState),
        };
        self.commit(&BootRecord {
            phase,
            error,
            trial_booted: false,
            ..txn
        })
        .await?;
        Ok(success)
    }

    async fn accept(&mut self) -> FwuResult {
        self.writable().await?;
        let txn = self.boot.state();
        if txn.phase != Phase::Trial {
            return Err(Error::BadState);
        }
        let mut counters = txn.counters;
        for c in txn.members.iter() {
            let image = self.record(c).staged.security_counter;
            if let Some(v) = counters.get_mut(usize::from(c)) {
                *v = (*v).max(image);
            }
        }
        self.commit(&BootRecord {
            phase: Phase::Updated,
            error: 0,
            trial_booted: false,
            backups: Members(txn.backups.0 | txn.members.0),
            counters,
            ..txn
        })
        .await?;
        // Acceptance is durable: the outcome is UPDATED whatever happens next. A settle that
        // fails here is redone by `clean`, `install` or the next start-up.
        let _ = self.settle().await;
        Ok(Success::Done)
    }
}

/// Program `block` (padded with erased bytes to whole words) at `addr`, word by word only where
/// needed: a word that already holds the data is skipped (idempotent re-send), an erased word
/// is programmed, and any other word makes the whole call `INVALID_ARGUMENT` before anything
/// is programmed.
async fn program_block<F: NorFlash>(flash: &mut F, addr: u32, block: &[u8]) -> Result<(), Error> {
    let w = F::WRITE_SIZE;
    // Classify each flash word of the (padded) block: identical, erased, or conflicting.
    let padded_len = block.len().div_ceil(w) * w;
    let mut program = [0u8; MAX_WORDS / 8];
    let mut buf = [0u8; CHUNK];
    let mut pos = 0usize;
    while pos < padded_len {
        let n = CHUNK.min(padded_len - pos);
        let chunk = buf.get_mut(..n).ok_or(Error::StorageFailure)?;
        read_at(flash, addr + pos as u32, chunk).await?;
        for (k, word) in chunk.chunks(w).enumerate() {
            let at = pos + k * w;
            let same = word
                .iter()
                .enumerate()
                .all(|(j, &b)| b == padded(block, at + j));
            if same {
                continue;
            }
            if word.iter().all(|&b| b == ERASED) {
                set_bit(&mut program, at / w);
            } else {
                // Different data is already there: refuse, touching nothing.
                return Err(Error::InvalidArgument);
            }
        }
        pos += n;
    }

    // Program runs of words that need it; the final partial word goes through a padded copy.
    let words = padded_len / w;
    let full = block.len() / w;
    let mut i = 0usize;
    while i < words {
        if !bit(&program, i) {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < words && bit(&program, i) && i < full {
            i += 1;
        }
        if i > run_start {
            let bytes = block
                .get(run_start * w..i * w)
                .ok_or(Error::StorageFailure)?;
            flash
                .write(addr + (run_start * w) as u32, bytes)
                .await
                .map_err(|_| Error::StorageFailure)?;
        } else {
            // The padded tail word.
            let mut tail = [ERASED; MAX_WORD];
            let src = block.get(full * w..).unwrap_or(&[]);
            if let Some(dst) = tail.get_mut(..src.len()) {
                dst.copy_from_slice(src);
            }
            let word = tail.get(..w).ok_or(Error::StorageFailure)?;
            flash
                .write(addr + (full * w) as u32, word)
                .await
                .map_err(|_| Error::StorageFailure)?;
            i += 1;
        }
    }
    Ok(())
}

/// A stored checkpoint made safe to use: sector aligned and inside the slot.
fn durable_checkpoint(written: u32, max: u32, sector: u32) -> u32 {
    written.min(max) / sector * sector
}
