//! The checkpoint map: where each download may resume, in a `sequential-storage` map behind the
//! erase guard (`docs/on-flash-contract.md`, "Download checkpoints"). Only the update service
//! uses it.
//!
//! Checkpoints are the state's frequent writes (one per sector of a download), so they live in
//! a wear-levelled map rather than in the redundant logs. They are hints, never trusted beyond
//! what is safe: a checkpoint counts only if it names the current download of its component
//! ([`ComponentRecord::download`](super::ComponentRecord::download)) and lies inside the slot.
//! A checkpoint that reads older than the truth (or not at all: a corrupted map is erased and
//! starts empty) only makes the client send more data again; no fault can make one read newer
//! than what was written, because each is stored after the data it covers and stale ones carry
//! another download's identity.

use super::geometry::StateGeometry;
use super::guard::Guarded;
use super::records::Checkpoint;
use super::slots::StateError;
use crate::layout::Layout;
use crate::record::Record;
use crate::ComponentId;
use embedded_storage_async::nor_flash::NorFlash;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};

/// Buffer for one map item: key + the checkpoint frame, rounded up to a 32-byte flash word.
const ITEM_BUF: usize = 64;

type Map<'f, F> = MapStorage<u8, Guarded<'f, F>, Cache<Uncached, Uncached, Uncached, u8>>;

/// Typed access to the checkpoint map of a layout.
pub struct CheckpointMap<'f, F: NorFlash> {
    map: Map<'f, F>,
    range: (u32, u32),
    buf: [u8; ITEM_BUF],
}

impl<'f, F: NorFlash> CheckpointMap<'f, F> {
    /// Open the checkpoint map of `layout` on `flash`.
    pub fn new(flash: &'f mut F, layout: &Layout<'_>) -> Result<Self, StateError> {
        let w = u32::try_from(F::WRITE_SIZE).map_err(|_| StateError::Layout)?;
        let geo = StateGeometry::new(layout, w).map_err(|_| StateError::Layout)?;
        let (start, end) = geo.checkpoints;
        let sector = u32::try_from(F::ERASE_SIZE).map_err(|_| StateError::Layout)?;
        if F::ERASE_SIZE <= super::guard::HEADER || sector == 0 {
            return Err(StateError::Layout);
        }
        let pages = (end - start) / sector;
        let guarded = Guarded::new(flash, start, pages);
        let config = MapConfig::try_new(0..pages * Guarded::<F>::page_size())
            .map_err(|_| StateError::Layout)?;
        Ok(CheckpointMap {
            map: MapStorage::new(guarded, config, Cache::new_uncached()),
            range: (start, end),
            buf: [0; ITEM_BUF],
        })
    }

    /// The underlying flash.
    pub fn flash(&mut self) -> &mut F {
        self.map.flash().inner()
    }

    /// The checkpoint stored for `c`, if one decodes (any map error reads as none).
    pub async fn get(&mut self, c: ComponentId) -> Option<Checkpoint> {
        let value: Option<&[u8]> = self.map.fetch_item(&mut self.buf, &c).await.ok()?;
        Checkpoint::decode_from(value?).ok()
    }

    /// Store `cp` for `c`. A map that refuses (full or corrupted beyond its own repair) is
    /// erased and the store is tried once more: checkpoints are hints.
    pub async fn put(&mut self, c: ComponentId, cp: &Checkpoint) -> Result<(), StateError> {
        let mut frame = [0u8; ITEM_BUF];
        let n = cp.encode_into(&mut frame).map_err(|_| StateError::Layout)?;
        let bytes = frame.get(..n).ok_or(StateError::Layout)?;
        if self.map.store_item(&mut self.buf, &c, &bytes).await.is_ok() {
            return Ok(());
        }
        self.reset().await?;
        self.map
            .store_item(&mut self.buf, &c, &bytes)
            .await
            .map_err(|_| StateError::Flash)
    }

    /// Erase the map: every checkpoint is forgotten.
    pub async fn reset(&mut self) -> Result<(), StateError> {
        let (start, end) = self.range;
        self.map
            .flash()
            .inner()
            .erase(start, end)
            .await
            .map_err(|_| StateError::Flash)?;
        self.map.flash().forget();
        Ok(())
    }
}
