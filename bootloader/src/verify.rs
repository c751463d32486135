//! Verification at boot: every staged member is checked before the first byte moves (hash,
//! signature, the digest the update service accepted, security counter, dependencies), and
//! active images are authenticated before they run.

use embedded_storage_async::nor_flash::NorFlash;
use fwu_shared::image::{
    image_extent_async, scan_flash_async, ImageError, ImageHeader, KeyRing, ScannedImage,
    IMAGE_HEADER_SIZE,
};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{SecurityCounters, StateStore, TxnRecord, MAX_COMPONENTS};
use fwu_shared::version::{BuildNumber, Dependencies};
use fwu_shared::{ComponentId, Error, ImageVersion};

/// Buffer used to stream images through the hash.
const SCAN_BUF: usize = 256;

/// Scan and authenticate the image at `base` in a slot of `slot_size` bytes.
pub async fn authenticate<F: NorFlash>(
    flash: &mut F,
    keys: &KeyRing<'_>,
    base: u32,
    slot_size: u32,
) -> Result<ScannedImage, ImageError> {
    let mut buf = [0u8; SCAN_BUF];
    let scanned = scan_flash_async(flash, base, slot_size, &mut buf).await?;
    keys.authenticate(&scanned)?;
    Ok(scanned)
}

/// The version in the header of the image in `c`'s primary slot, if it has a valid header.
pub async fn active_version<F: NorFlash>(
    flash: &mut F,
    slots: &ComponentSlots,
) -> Option<ImageVersion> {
    let mut hdr = [0u8; IMAGE_HEADER_SIZE];
    flash.read(slots.primary, &mut hdr).await.ok()?;
    ImageHeader::parse(&hdr).ok().map(|h| h.version)
}

/// Bytes occupied by the image in `c`'s primary slot (header to end of TLVs), or the whole slot
/// when it holds no parsable image (then everything is swapped).
pub async fn active_extent<F: NorFlash>(flash: &mut F, slots: &ComponentSlots, sector: u32) -> u32 {
    let mut buf = [0u8; SCAN_BUF];
    let max = slots.max_image_size(sector);
    image_extent_async(flash, slots.primary, max, &mut buf)
        .await
        .unwrap_or(max)
}

/// Verify every member of a `Staged` transaction; on success return the number of sectors each
/// member's swap must cover. Any failure is the PSA error to record for all members.
pub async fn verify_staged<F: NorFlash, C: SecurityCounters>(
    store: &mut StateStore<'_, F>,
    layout: &Layout<'_>,
    keys: &KeyRing<'_>,
    counters: &mut C,
    txn: &TxnRecord,
    build: BuildNumber,
) -> Result<[u16; MAX_COMPONENTS], Error> {
    let sector = layout.sector_size;
    let mut versions = [None::<ImageVersion>; MAX_COMPONENTS];
    let mut deps = [Dependencies::default(); MAX_COMPONENTS];
    let mut sectors = [0u16; MAX_COMPONENTS];
    for c in txn.members.iter() {
        let slots = layout.component(c).ok_or(Error::InvalidArgument)?;
        let max = slots.max_image_size(sector);
        let scanned = authenticate(store.flash(), keys, slots.staging_offset(sector), max)
            .await
            .map_err(ImageError::psa_error)?;
        let record = store
            .component(c)
            .await
            .map_err(|_| Error::StorageFailure)?;
        if record.staged.digest != scanned.digest {
            // Validly signed, but not the image the update service verified and the client
            // installed: the staging area was changed behind the service's back.
            return Err(Error::InvalidSignature);
        }
        let floor = counters
            .read(store, c)
            .await
            .map_err(|_| Error::StorageFailure)?;
        if scanned.security_counter.unwrap_or(0) < floor {
            return Err(Error::NotPermitted);
        }
        let index = usize::from(c);
        if let (Some(v), Some(d)) = (versions.get_mut(index), deps.get_mut(index)) {
            *v = Some(scanned.header.version);
            *d = scanned.dependencies;
        }
        let old = active_extent(store.flash(), slots, sector).await;
        let needed = scanned.total_size.max(old).div_ceil(sector);
        if let Some(s) = sectors.get_mut(index) {
            *s = u16::try_from(needed).map_err(|_| Error::InvalidArgument)?;
        }
    }
    let mut active = [None::<ImageVersion>; MAX_COMPONENTS];
    for slots in layout.components {
        if let Some(a) = active.get_mut(usize::from(slots.id)) {
            *a = active_version(store.flash(), slots).await;
        }
    }
    let version_of = |d: ComponentId| {
        if txn.members.contains(d) {
            versions.get(usize::from(d)).copied().flatten()
        } else {
            active.get(usize::from(d)).copied().flatten()
        }
    };
    for c in txn.members.iter() {
        let list = deps.get(usize::from(c)).copied().unwrap_or_default();
        if list.first_unmet(version_of, build).is_some() {
            return Err(Error::DependencyNeeded);
        }
    }
    Ok(sectors)
}
