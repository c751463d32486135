//! The state partition: typed records in a `sequential-storage` map (async, over
//! `embedded_storage_async` NOR flash; the bootloader drives it through a blocking adapter).
//!
//! Missing records read as their defaults (a fresh device is READY everywhere, transaction idle,
//! counters 0). A record that exists but does not decode is [`StoreError::Corrupt`]: the
//! callers decide the safe behaviour (see `docs/on-flash-contract.md`).

use super::guard::{Guarded, MAX_PAGES};
use super::records::{
    ComponentRecord, CounterRecord, Phase, SwapProgress, TxnRecord, MAX_COMPONENTS,
};
use crate::component::{ComponentId, State};
use crate::record::{Record, RecordError};
use core::ops::Range;
use embedded_storage_async::nor_flash::NorFlash;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};

/// Map key of the transaction record.
pub const KEY_TXN: u8 = 0x01;
/// Map key of the swap progress record.
pub const KEY_PROGRESS: u8 = 0x02;
/// Map key of component `c`'s record.
pub const fn key_component(c: ComponentId) -> u8 {
    0x10 + c
}
/// Map key of component `c`'s security counter.
pub const fn key_counter(c: ComponentId) -> u8 {
    0x20 + c
}

/// Buffer for one map item: key + the largest record, rounded up to a 32-byte flash word.
const ITEM_BUF: usize = 160;

/// Why the state partition could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The flash reported an error.
    Flash,
    /// The partition is full (more live records than it can hold: a configuration error).
    Full,
    /// A record or the map structure is corrupted beyond automatic repair.
    Corrupt,
    /// The partition range is not usable (not page aligned, fewer than two pages, ...).
    Config,
}

impl<E> From<sequential_storage::Error<E>> for StoreError {
    fn from(e: sequential_storage::Error<E>) -> Self {
        match e {
            sequential_storage::Error::Storage { .. } => StoreError::Flash,
            sequential_storage::Error::FullStorage => StoreError::Full,
            _ => StoreError::Corrupt,
        }
    }
}

impl From<RecordError> for StoreError {
    fn from(_: RecordError) -> Self {
        StoreError::Corrupt
    }
}

type Map<'f, F> = MapStorage<u8, Guarded<'f, F>, Cache<Uncached, Uncached, Uncached, u8>>;

/// Typed access to the records in the state partition.
pub struct StateStore<'f, F: NorFlash> {
    map: Map<'f, F>,
    buf: [u8; ITEM_BUF],
}

impl<'f, F: NorFlash> StateStore<'f, F> {
    /// Open the state partition at `range` of `flash` (absolute addresses, sector aligned, at
    /// least two and at most 64 sectors). Interrupted erases are completed by the erase guard on
    /// first access to each page, interrupted writes are repaired by the map.
    pub fn new(flash: &'f mut F, range: Range<u32>) -> Result<Self, StoreError> {
        let sector = u32::try_from(F::ERASE_SIZE).map_err(|_| StoreError::Config)?;
        let len = range
            .end
            .checked_sub(range.start)
            .ok_or(StoreError::Config)?;
        if sector == 0 || !range.start.is_multiple_of(sector) || len % sector != 0 {
            return Err(StoreError::Config);
        }
        let pages = len / sector;
        if !(2..=MAX_PAGES).contains(&pages) || F::ERASE_SIZE <= super::guard::HEADER {
            return Err(StoreError::Config);
        }
        let guarded = Guarded::new(flash, range.start, pages);
        let virtual_range = 0..pages * Guarded::<F>::page_size();
        let config = MapConfig::try_new(virtual_range).map_err(|_| StoreError::Config)?;
        Ok(StateStore {
            map: MapStorage::new(guarded, config, Cache::new_uncached()),
            buf: [0; ITEM_BUF],
        })
    }

    /// The underlying flash, for slot operations while the store is open.
    pub fn flash(&mut self) -> &mut F {
        self.map.flash().inner()
    }

    async fn get<R: Record>(&mut self, key: u8) -> Result<Option<R>, StoreError> {
        let value: Option<&[u8]> = self.map.fetch_item(&mut self.buf, &key).await?;
        match value {
            Some(bytes) => Ok(Some(R::decode_from(bytes)?)),
            None => Ok(None),
        }
    }

    async fn put<R: Record>(&mut self, key: u8, record: &R) -> Result<(), StoreError> {
        let mut frame = [0u8; ITEM_BUF];
        let n = record.encode_into(&mut frame)?;
        let bytes = frame.get(..n).ok_or(StoreError::Corrupt)?;
        self.map.store_item(&mut self.buf, &key, &bytes).await?;
        Ok(())
    }

    /// The transaction record (idle with sequence 0 on a fresh device).
    pub async fn txn(&mut self) -> Result<TxnRecord, StoreError> {
        Ok(self.get(KEY_TXN).await?.unwrap_or_default())
    }

    /// Commit a transaction record.
    pub async fn set_txn(&mut self, txn: &TxnRecord) -> Result<(), StoreError> {
        self.put(KEY_TXN, txn).await
    }

    /// Component `c`'s record (READY on a fresh device).
    pub async fn component(&mut self, c: ComponentId) -> Result<ComponentRecord, StoreError> {
        if usize::from(c) >= MAX_COMPONENTS {
            return Err(StoreError::Config);
        }
        Ok(self.get(key_component(c)).await?.unwrap_or_default())
    }

    /// Store component `c`'s record.
    pub async fn set_component(
        &mut self,
        c: ComponentId,
        rec: &ComponentRecord,
    ) -> Result<(), StoreError> {
        if usize::from(c) >= MAX_COMPONENTS {
            return Err(StoreError::Config);
        }
        self.put(key_component(c), rec).await
    }

    /// The swap progress record, if any.
    pub async fn progress(&mut self) -> Result<Option<SwapProgress>, StoreError> {
        self.get(KEY_PROGRESS).await
    }

    /// Store swap progress.
    pub async fn set_progress(&mut self, p: &SwapProgress) -> Result<(), StoreError> {
        self.put(KEY_PROGRESS, p).await
    }

    /// The security counter stored for `c` (0 when none was ever stored).
    pub async fn stored_counter(&mut self, c: ComponentId) -> Result<u32, StoreError> {
        Ok(self
            .get::<CounterRecord>(key_counter(c))
            .await?
            .map_or(0, |r| r.0))
    }

    /// Store `value` as `c`'s security counter if it is higher than the stored one.
    pub async fn raise_stored_counter(
        &mut self,
        c: ComponentId,
        value: u32,
    ) -> Result<(), StoreError> {
        if value > self.stored_counter(c).await? {
            self.put(key_counter(c), &CounterRecord(value)).await?;
        }
        Ok(())
    }

    /// Fold a finished (`Failed` or `Updated`) transaction into the component records and
    /// release it (`Idle`, same sequence number). For `Updated`, the members' security counters
    /// are raised first: acceptance is already durable. Idempotent; a cut anywhere leaves the
    /// same reported states. Returns whether anything was settled.
    pub async fn settle<C: SecurityCounters>(
        &mut self,
        counters: &mut C,
    ) -> Result<bool, StoreError> {
        let txn = self.txn().await?;
        let (state, error) = match txn.phase {
            Phase::Failed => (State::Failed, txn.error),
            Phase::Updated => (State::Updated, 0),
            _ => return Ok(false),
        };
        for c in txn.members.iter() {
            let old = self.component(c).await?;
            if state == State::Updated {
                counters.raise(self, c, old.staged.security_counter).await?;
            }
            let new = ComponentRecord {
                state,
                error,
                written: 0,
                secondary_erased: false,
                ..old
            };
            if new != old {
                self.set_component(c, &new).await?;
            }
        }
        self.set_txn(&TxnRecord {
            seq: txn.seq,
            ..TxnRecord::default()
        })
        .await?;
        Ok(true)
    }
}

/// Where anti-rollback counters live. The default, [`StoredCounters`], keeps them in the state
/// partition; a board can keep them in OTP or a hardware monotonic counter instead.
///
/// Threat model of the default: it resists a rollback through the update API (a lower counter
/// is refused at `finish` and at boot) but not an attacker who can write the flash directly.
#[allow(async_fn_in_trait)]
pub trait SecurityCounters {
    /// The counter of component `c`.
    async fn read<F: NorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        c: ComponentId,
    ) -> Result<u32, StoreError>;
    /// Raise the counter of `c` to `value` (never lowers it).
    async fn raise<F: NorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        c: ComponentId,
        value: u32,
    ) -> Result<(), StoreError>;
}

/// Security counters kept as records in the state partition.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoredCounters;

impl SecurityCounters for StoredCounters {
    async fn read<F: NorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        c: ComponentId,
    ) -> Result<u32, StoreError> {
        store.stored_counter(c).await
    }

    async fn raise<F: NorFlash>(
        &mut self,
        store: &mut StateStore<'_, F>,
        c: ComponentId,
        value: u32,
    ) -> Result<(), StoreError> {
        store.raise_stored_counter(c, value).await
    }
}
