//! Verification at boot: every staged member is checked before the first byte moves (hash,
//! signature, security counter, the swap plan `install` recorded, the digest of the staged set
//! the update service verified, dependencies), backups are checked before a revert touches a
//! trial image, and active images are authenticated before they run.

use embedded_storage::nor_flash::NorFlash;
use fwu_shared::image::{
    scan_flash, DecodedKeyRing, ImageError, ImageHeader, ScannedImage, IMAGE_HEADER_SIZE,
};
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::plan::swap_sectors_blocking as swap_sectors;
use fwu_shared::state::records::{failure_code, ERROR_STAGED_MISMATCH};
use fwu_shared::state::{staged_set_digest, BootRecord, MAX_COMPONENTS};
use fwu_shared::version::{BuildNumber, Dependencies};
use fwu_shared::{ComponentId, Error, ImageVersion, PsaStatus};

/// Buffer used to stream images through the hash.
const SCAN_BUF: usize = 128;

/// Scan and authenticate the image at `base` in a slot of `slot_size` bytes.
pub fn authenticate<F: NorFlash>(
    flash: &mut F,
    keys: &mut DecodedKeyRing<'_>,
    base: u32,
    slot_size: u32,
) -> Result<ScannedImage, ImageError> {
    let mut buf = [0u8; SCAN_BUF];
    let scanned = scan_flash(flash, base, slot_size, &mut buf)?;
    keys.authenticate(&scanned)?;
    Ok(scanned)
}

/// The version in the header of the image in `c`'s primary slot, if it has a valid header.
pub fn active_version<F: NorFlash>(flash: &mut F, slots: &ComponentSlots) -> Option<ImageVersion> {
    let mut hdr = [0u8; IMAGE_HEADER_SIZE];
    flash.read(slots.primary, &mut hdr).ok()?;
    ImageHeader::parse(&hdr).ok().map(|h| h.version)
}

/// Why a staged set may not be installed now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Refused for good: record this error for every member.
    Refuse(PsaStatus),
    /// The flash could not be read: decide at a later boot.
    Defer,
}

/// Verify every member of a `Staged` transaction against the images in the staging areas;
/// `floor(c)` is the security counter floor of `c`.
pub fn verify_staged<F: NorFlash>(
    flash: &mut F,
    layout: &Layout<'_>,
    keys: &mut DecodedKeyRing<'_>,
    txn: &BootRecord,
    floor: impl Fn(ComponentId) -> u32,
    build: BuildNumber,
) -> Result<(), Verdict> {
    let sector = layout.sector_size;
    let mut versions = [None::<ImageVersion>; MAX_COMPONENTS];
    let mut deps = [Dependencies::default(); MAX_COMPONENTS];
    let mut digests = [[0u8; 32]; MAX_COMPONENTS];
    for c in txn.members.iter() {
        let slots = layout
            .component(c)
            .ok_or(Verdict::Refuse(Error::InvalidArgument.code()))?;
        let max = slots.max_image_size(sector);
        let scanned = match authenticate(flash, keys, slots.staging_offset(sector), max) {
            Ok(s) => s,
            Err(ImageError::Storage) => return Err(Verdict::Defer),
            Err(e) => return Err(Verdict::Refuse(failure_code(e))),
        };
        if scanned.security_counter.unwrap_or(0) < floor(c) {
            return Err(Verdict::Refuse(Error::NotPermitted.code()));
        }
        let plan =
            swap_sectors(flash, slots, sector, scanned.total_size).map_err(|_| Verdict::Defer)?;
        if plan != txn.sectors_of(c) {
            return Err(Verdict::Refuse(ERROR_STAGED_MISMATCH));
        }
        let index = usize::from(c);
        if let (Some(v), Some(d), Some(g)) = (
            versions.get_mut(index),
            deps.get_mut(index),
            digests.get_mut(index),
        ) {
            *v = Some(scanned.header.version);
            *d = scanned.dependencies;
            *g = scanned.digest;
        }
    }
    let set = staged_set_digest(
        txn.members
            .iter()
            .map(|c| (c, digests.get(usize::from(c)).copied().unwrap_or_default())),
    );
    if set != txn.digest {
        // Validly signed, but not the images the update service verified and the client
        // installed: the staging area was changed behind the service's back.
        return Err(Verdict::Refuse(Error::InvalidSignature.code()));
    }
    let mut active = [None::<ImageVersion>; MAX_COMPONENTS];
    for slots in layout.components {
        if let Some(a) = active.get_mut(usize::from(slots.id)) {
            *a = active_version(flash, slots);
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
            return Err(Verdict::Refuse(Error::DependencyNeeded.code()));
        }
    }
    Ok(())
}

/// What a backup check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backup {
    /// It authenticates and respects the floor.
    Valid,
    /// It does not (or the layout lacks the component).
    Invalid,
    /// The flash could not be read: nothing can be concluded now.
    Unreadable,
}

/// Whether `c`'s backup (its previous image, at offset 0 of the secondary slot after an
/// install) authenticates, respects `floor` and lies within the `sectors` the revert will move
/// back: checked before any revert touches the trial image, and before a recovery.
pub fn backup<F: NorFlash>(
    flash: &mut F,
    layout: &Layout<'_>,
    keys: &mut DecodedKeyRing<'_>,
    c: ComponentId,
    floor: u32,
    sectors: u16,
) -> Backup {
    let Some(slots) = layout.component(c) else {
        return Backup::Invalid;
    };
    let max = slots.max_image_size(layout.sector_size);
    let moved = u32::from(sectors).saturating_mul(layout.sector_size);
    match authenticate(flash, keys, slots.secondary, max) {
        Ok(scanned)
            if scanned.security_counter.unwrap_or(0) >= floor && scanned.total_size <= moved =>
        {
            Backup::Valid
        }
        Ok(_) => Backup::Invalid,
        Err(ImageError::Storage) => Backup::Unreadable,
        Err(_) => Backup::Invalid,
    }
}

/// The security counter of `c`'s active image if it authenticates (`Ok(None)` if it does not,
/// `Err` if it cannot be read): a floor for what may replace it.
pub fn active_counter<F: NorFlash>(
    flash: &mut F,
    layout: &Layout<'_>,
    keys: &mut DecodedKeyRing<'_>,
    c: ComponentId,
) -> Result<Option<u32>, ImageError> {
    let Some(slots) = layout.component(c) else {
        return Ok(None);
    };
    let max = slots.max_image_size(layout.sector_size);
    match authenticate(flash, keys, slots.primary, max) {
        Ok(scanned) => Ok(Some(scanned.security_counter.unwrap_or(0))),
        Err(ImageError::Storage) => Err(ImageError::Storage),
        Err(_) => Ok(None),
    }
}
