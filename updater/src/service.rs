//! The [`Updater`]: PSA FWU operations over the slots and records of the on-flash contract.

use crate::PSA_FWU_MAX_WRITE_SIZE;
use core::cmp::Ordering;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::Mutex;
use embedded_storage_async::nor_flash::NorFlash;
use fwu_shared::image::read::read_async;
use fwu_shared::image::{scan_flash_async, ImageError, ImageHeader, KeyRing, IMAGE_HEADER_SIZE};
use fwu_shared::layout::{ComponentSlots, Layout, LayoutError, MIN_WRITE_SIZE};
use fwu_shared::state::{
    ComponentRecord, Members, Phase, SecurityCounters, StagedImage, StateStore, StoreError,
    StoredCounters, TxnRecord, MAX_COMPONENTS,
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

/// Why [`Updater::new`] (or [`Updater::check_state`] / [`Updater::format_state`]) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// The layout does not fit the flash (geometry, alignment, overlap, ...).
    Layout(LayoutError),
    /// The state partition could not be read or repaired. `StoreError::Corrupt` means a record
    /// cannot be decoded: see [`Updater::format_state`].
    State(StoreError),
}

impl From<LayoutError> for InitError {
    fn from(e: LayoutError) -> Self {
        InitError::Layout(e)
    }
}

impl From<StoreError> for InitError {
    fn from(e: StoreError) -> Self {
        InitError::State(e)
    }
}

/// The PSA error for a state-store failure.
fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Full => Error::InsufficientStorage,
        StoreError::Flash | StoreError::Corrupt | StoreError::Config => Error::StorageFailure,
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

/// What the service keeps in RAM of a component record (enough for the state checks).
#[derive(Clone, Copy, Debug, Default)]
struct Summary {
    state: Option<State>,
    error: PsaStatus,
    written: u32,
    secondary_erased: bool,
}

impl Summary {
    fn of(rec: &ComponentRecord) -> Self {
        Summary {
            state: Some(rec.state),
            error: rec.error,
            written: rec.written,
            secondary_erased: rec.secondary_erased,
        }
    }
}

/// What the service keeps in RAM of the transaction and component records.
#[derive(Clone, Copy, Debug)]
struct View {
    txn: TxnRecord,
    comps: [Summary; MAX_COMPONENTS],
}

impl View {
    fn summary(&self, c: ComponentId) -> Summary {
        self.comps.get(usize::from(c)).copied().unwrap_or_default()
    }

    /// The PSA state and error component `c` reports: the transaction overrides its members.
    fn reported(&self, c: ComponentId) -> (State, PsaStatus) {
        if let Some(s) = self.txn.member_state(c) {
            return s;
        }
        let s = self.summary(c);
        let state = s.state.unwrap_or(State::Ready);
        let error = if state == State::Failed { s.error } else { 0 };
        (state, error)
    }
}

/// The download session of one component, in RAM.
#[derive(Clone, Copy, Debug, Default)]
struct Session {
    /// Contiguous bytes written from image offset 0.
    prefix: u32,
    /// Image offset (sector aligned) below which every sector may be programmed: erased in this
    /// session, known erased after `clean`, or part of the durable prefix.
    erase_mark: u32,
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
    /// RAM copy of the durable records, trusted only while `view_valid`: it is invalidated
    /// before every record write and revalidated only once the write completed.
    view: View,
    view_valid: bool,
    sessions: [Session; MAX_COMPONENTS],
}

/// The PSA FWU update service.
///
/// `M` is the raw mutex kind (`CriticalSectionRawMutex` to share between executors or
/// interrupts, `NoopRawMutex` for one executor), `F` the flash holding slots and state
/// partition, `R` the board's reset, `C` where security counters live.
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

fn open<'f, F: NorFlash>(
    flash: &'f mut F,
    layout: &Layout<'_>,
) -> Result<StateStore<'f, F>, Error> {
    StateStore::new(flash, layout.state.clone()).map_err(store_error)
}

async fn load_view<F: NorFlash>(
    store: &mut StateStore<'_, F>,
    layout: &Layout<'_>,
) -> Result<View, StoreError> {
    let txn = store.txn().await?;
    let mut comps = [Summary::default(); MAX_COMPONENTS];
    for slot in layout.components {
        let rec = store.component(slot.id).await?;
        if let Some(s) = comps.get_mut(usize::from(slot.id)) {
            *s = Summary::of(&rec);
        }
    }
    Ok(View { txn, comps })
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

    /// Start the service: validate the layout against the flash, open the state partition,
    /// settle a finished transaction (this is where the counters of an accepted update rise if
    /// `accept` could not settle), and read the active image versions from the primary slots
    /// (an unreadable header reads as 0.0.0+0; the bootloader has authenticated what runs).
    pub async fn new(
        mut flash: F,
        config: Config<'a>,
        reset: R,
        mut counters: C,
    ) -> Result<Self, InitError> {
        validate(&flash, &config.layout)?;
        let view = {
            let mut store = StateStore::new(&mut flash, config.layout.state.clone())?;
            store.settle(&mut counters).await?;
            load_view(&mut store, &config.layout).await?
        };
        let mut active = [ImageVersion::default(); MAX_COMPONENTS];
        for slot in config.layout.components {
            let mut header = [0u8; IMAGE_HEADER_SIZE];
            let version = match read_async(&mut flash, slot.primary, &mut header).await {
                Ok(()) => ImageHeader::parse(&header)
                    .map(|h| h.version)
                    .unwrap_or_default(),
                Err(_) => ImageVersion::default(),
            };
            if let Some(v) = active.get_mut(usize::from(slot.id)) {
                *v = version;
            }
        }
        // Sessions start stale: the first write resumes from the durable checkpoint.
        let sessions = [Session {
            stale: true,
            ..Session::default()
        }; MAX_COMPONENTS];
        Ok(Updater {
            inner: Mutex::new(Inner {
                flash,
                config,
                reset,
                counters,
                active,
                view,
                view_valid: true,
                sessions,
            }),
        })
    }

    /// Check, without writing anything, that [`Updater::new`] can open the state partition:
    /// `Err(InitError::State(StoreError::Corrupt))` means only [`Updater::format_state`] can
    /// make the device updatable again.
    pub async fn check_state(flash: &mut F, config: &Config<'_>) -> Result<(), InitError> {
        validate(flash, &config.layout)?;
        let mut store = StateStore::new(flash, config.layout.state.clone())?;
        load_view(&mut store, &config.layout).await?;
        Ok(())
    }

    /// Erase the state partition (and nothing else). Every component then reads READY with no
    /// checkpoint, the transaction idle, and the default backend's security counters 0.
    ///
    /// This loses any in-flight update (a download, a candidate, a staged or trial
    /// transaction); the primary slots, and so the running firmware, are untouched. Use it
    /// only to recover from [`InitError::State`].
    pub async fn format_state(flash: &mut F, layout: &Layout<'_>) -> Result<(), InitError> {
        validate(flash, layout)?;
        flash
            .erase(layout.state.start, layout.state.end)
            .await
            .map_err(|_| InitError::State(StoreError::Flash))
    }

    /// Give back the flash, the reset hook and the counters backend.
    pub fn release(self) -> (F, R, C) {
        let inner = self.inner.into_inner();
        (inner.flash, inner.reset, inner.counters)
    }

    /// `psa_fwu_query`: the state, error, active version and slot information of `c`.
    pub async fn query(&self, c: ComponentId) -> Result<ComponentInfo, Error> {
        self.inner.lock().await.query(c).await
    }

    /// `psa_fwu_start`: READY → WRITING. `manifest` must be `None` or empty (images carry their
    /// manifest, MCUboot style); a detached manifest is `INVALID_ARGUMENT` and leaves READY.
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

    /// `psa_fwu_accept`: TRIAL → UPDATED, then raise the members' security counters.
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

    /// The durable records, from RAM when the copy is valid.
    async fn view(&mut self) -> Result<&View, Error> {
        if !self.view_valid {
            let mut store = open(&mut self.flash, &self.config.layout)?;
            self.view = load_view(&mut store, &self.config.layout)
                .await
                .map_err(store_error)?;
            self.view_valid = true;
        }
        Ok(&self.view)
    }

    /// The state and error `c` reports, and its record summary.
    async fn status(&mut self, c: ComponentId) -> Result<(State, PsaStatus, Summary), Error> {
        let v = self.view().await?;
        let (state, error) = v.reported(c);
        Ok((state, error, v.summary(c)))
    }

    async fn component_record(&mut self, c: ComponentId) -> Result<ComponentRecord, Error> {
        let mut store = open(&mut self.flash, &self.config.layout)?;
        store.component(c).await.map_err(store_error)
    }

    async fn put_component(&mut self, c: ComponentId, rec: &ComponentRecord) -> Result<(), Error> {
        // Invalid until the write is known to have completed (it may fail or be dropped).
        let was_valid = core::mem::replace(&mut self.view_valid, false);
        let mut store = open(&mut self.flash, &self.config.layout)?;
        store.set_component(c, rec).await.map_err(store_error)?;
        if let Some(s) = self.view.comps.get_mut(usize::from(c)) {
            *s = Summary::of(rec);
            self.view_valid = was_valid;
        }
        Ok(())
    }

    async fn put_txn(&mut self, txn: &TxnRecord) -> Result<(), Error> {
        let was_valid = core::mem::replace(&mut self.view_valid, false);
        let mut store = open(&mut self.flash, &self.config.layout)?;
        store.set_txn(txn).await.map_err(store_error)?;
        self.view.txn = *txn;
        self.view_valid = was_valid;
        Ok(())
    }

    async fn settle(&mut self) -> Result<(), Error> {
        self.view_valid = false;
        let mut store = open(&mut self.flash, &self.config.layout)?;
        store
            .settle(&mut self.counters)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    fn session_mut(&mut self, c: ComponentId) -> Result<&mut Session, Error> {
        self.sessions
            .get_mut(usize::from(c))
            .ok_or(Error::DoesNotExist)
    }

    async fn query(&mut self, c: ComponentId) -> Result<ComponentInfo, Error> {
        let slots = *slots_of(&self.config.layout, c)?;
        let (state, error, summary) = self.status(c).await?;
        let ss = self.sector();
        let max = slots.max_image_size(ss);
        let mut impl_ = ImplInfo::default();
        match state {
            State::Ready => {}
            State::Writing => impl_.resume_offset = durable_checkpoint(summary.written, max, ss),
            _ => {
                let rec = self.component_record(c).await?;
                impl_.staged_size = rec.staged.size;
                impl_.staged_digest = rec.staged.digest;
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
        let (state, _, summary) = self.status(c).await?;
        if state != State::Ready {
            return Err(Error::BadState);
        }
        if manifest.is_some_and(|m| !m.is_empty()) {
            return Err(Error::InvalidArgument);
        }
        let erased = summary.secondary_erased;
        // Until the record is durable, a write must not trust any RAM session.
        self.session_mut(c)?.stale = true;
        let rec = ComponentRecord {
            state: State::Writing,
            error: 0,
            written: 0,
            secondary_erased: erased,
            staged: StagedImage::default(),
        };
        self.put_component(c, &rec).await?;
        let max = slots.max_image_size(self.sector());
        *self.session_mut(c)? = Session {
            prefix: 0,
            erase_mark: if erased { max } else { 0 },
            stale: false,
        };
        Ok(Success::Done)
    }

    async fn write(&mut self, c: ComponentId, image_offset: usize, block: &[u8]) -> FwuResult {
        let slots = *slots_of(&self.config.layout, c)?;
        let (state, _, summary) = self.status(c).await?;
        if state != State::Writing {
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
        let checkpoint = durable_checkpoint(summary.written, max, ss);

        let session = self.session_mut(c)?;
        if session.stale {
            *session = Session {
                prefix: checkpoint,
                erase_mark: checkpoint,
                stale: false,
            };
        }
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

        // Track the contiguous prefix and checkpoint each sector it completes.
        if offset <= s.prefix && end > s.prefix {
            s.prefix = end;
        }
        let reached = s.prefix / ss * ss;
        if reached > checkpoint {
            let rec = ComponentRecord {
                state: State::Writing,
                error: 0,
                written: reached,
                secondary_erased: summary.secondary_erased,
                staged: StagedImage::default(),
            };
            self.put_component(c, &rec).await?;
        }
        s.stale = false;
        *self.session_mut(c)? = s;
        Ok(Success::Done)
    }

    /// Record `c` as FAILED with `error` and return that error (or the storage failure).
    async fn fail(&mut self, c: ComponentId, error: Error) -> FwuResult {
        let rec = ComponentRecord {
            state: State::Failed,
            error: error.code(),
            written: 0,
            secondary_erased: false,
            staged: StagedImage::default(),
        };
        self.put_component(c, &rec).await?;
        Err(error)
    }

    async fn finish(&mut self, c: ComponentId) -> FwuResult {
        let slots = *slots_of(&self.config.layout, c)?;
        if self.status(c).await?.0 != State::Writing {
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
            Err(e) => return self.fail(c, e.psa_error()).await,
        };
        let floor = {
            let mut store = open(&mut self.flash, &self.config.layout)?;
            self.counters
                .read(&mut store, c)
                .await
                .map_err(store_error)?
        };
        let active = self.active.get(usize::from(c)).copied().unwrap_or_default();
        if staged.security_counter < floor
            || staged.version.compare(&active, self.config.build_number) == Ordering::Less
        {
            return self.fail(c, Error::NotPermitted).await;
        }
        let rec = ComponentRecord {
            state: State::Candidate,
            error: 0,
            written: 0,
            secondary_erased: false,
            staged,
        };
        self.put_component(c, &rec).await?;
        Ok(Success::Done)
    }

    async fn cancel(&mut self, c: ComponentId) -> FwuResult {
        slots_of(&self.config.layout, c)?;
        let staged = match self.status(c).await?.0 {
            State::Writing => StagedImage::default(),
            State::Candidate => self.component_record(c).await?.staged,
            _ => return Err(Error::BadState),
        };
        let rec = ComponentRecord {
            state: State::Failed,
            error: 0,
            written: 0,
            secondary_erased: false,
            staged,
        };
        self.put_component(c, &rec).await?;
        Ok(Success::Done)
    }

    async fn clean(&mut self, c: ComponentId) -> FwuResult {
        let slots = *slots_of(&self.config.layout, c)?;
        if !matches!(self.status(c).await?.0, State::Failed | State::Updated) {
            return Err(Error::BadState);
        }
        if self.view.txn.members.contains(c) {
            // A finished transaction: fold it into the component records first.
            self.settle().await?;
        }
        let ss = self.sector();
        let range = slots.secondary_range(ss);
        let mut buf = [0u8; CHUNK];
        let mut sector = range.start;
        while sector < range.end {
            let mut blank = true;
            let mut pos = sector;
            while blank && pos < sector + ss {
                let n = (CHUNK as u32).min(sector + ss - pos);
                let chunk = buf.get_mut(..n as usize).ok_or(Error::StorageFailure)?;
                read_at(&mut self.flash, pos, chunk).await?;
                blank = chunk.iter().all(|&b| b == ERASED);
                pos += n;
            }
            if !blank {
                self.flash
                    .erase(sector, sector + ss)
                    .await
                    .map_err(|_| Error::StorageFailure)?;
            }
            sector += ss;
        }
        let rec = ComponentRecord {
            state: State::Ready,
            error: 0,
            written: 0,
            secondary_erased: true,
            staged: StagedImage::default(),
        };
        self.put_component(c, &rec).await?;
        Ok(Success::Done)
    }

    async fn install(&mut self) -> FwuResult {
        let components = self.config.layout.components;
        let view = self.view().await?;
        let txn = view.txn;
        let mut candidates = Members::NONE;
        for slot in components {
            match view.reported(slot.id).0 {
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
            let staged = self.component_record(c).await?.staged;
            if let Some(v) = versions.get_mut(usize::from(c)) {
                *v = staged.version;
            }
        }
        let configured = self
            .config
            .layout
            .components
            .iter()
            .fold(Members::NONE, |m, s| m.with(s.id));
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
            let deps = self.component_record(c).await?.staged.dependencies;
            if deps.first_unmet(version_of, build).is_some() {
                return Err(Error::DependencyNeeded);
            }
        }
        if matches!(txn.phase, Phase::Failed | Phase::Updated) {
            // The previous transaction's outcome must reach its members' records before the
            // transaction record is reused.
            self.settle().await?;
        }
        let txn = TxnRecord {
            seq: txn.seq.wrapping_add(1),
            phase: Phase::Staged,
            members: candidates,
            ..TxnRecord::default()
        };
        self.put_txn(&txn).await?;
        Ok(Success::Reboot)
    }

    async fn reject(&mut self, error: PsaStatus) -> FwuResult {
        let txn = self.view().await?.txn;
        let (phase, success) = match txn.phase {
            Phase::Staged => (Phase::Failed, Success::Done),
            Phase::Trial => (Phase::Rejected, Success::Reboot),
            _ => return Err(Error::BadState),
        };
        self.put_txn(&TxnRecord {
            phase,
            error,
            ..txn
        })
        .await?;
        Ok(success)
    }

    async fn accept(&mut self) -> FwuResult {
        let txn = self.view().await?.txn;
        if txn.phase != Phase::Trial {
            return Err(Error::BadState);
        }
        self.put_txn(&TxnRecord {
            phase: Phase::Updated,
            error: 0,
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
