//! The swap plan: how many sectors the swap of a member covers. Both halves compute it the same
//! way: `install` records it in the boot record, and the bootloader recomputes it before the
//! first destructive step and refuses a staged set whose numbers disagree.

use crate::image::{image_extent_async, ImageError};
use crate::layout::ComponentSlots;
use embedded_storage_async::nor_flash::NorFlash;

/// The flash could not be read: the plan cannot be made now (a read error says nothing about
/// the images).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreadable;

/// Bytes occupied by the image in `slots`' primary slot (header to end of TLVs), or the whole
/// slot when it holds no parsable image (then everything is swapped).
pub async fn active_extent<F: NorFlash>(
    flash: &mut F,
    slots: &ComponentSlots,
    sector: u32,
) -> Result<u32, Unreadable> {
    let mut buf = [0u8; 64];
    let max = slots.max_image_size(sector);
    match image_extent_async(flash, slots.primary, max, &mut buf).await {
        Ok(n) => Ok(n.min(max)),
        Err(ImageError::Storage) => Err(Unreadable),
        Err(_) => Ok(max),
    }
}

/// Sectors an install of an image of `new_size` bytes over the active image of `slots` covers:
/// enough for both, so that the secondary slot ends up holding the whole previous image.
pub async fn swap_sectors<F: NorFlash>(
    flash: &mut F,
    slots: &ComponentSlots,
    sector: u32,
    new_size: u32,
) -> Result<u16, Unreadable> {
    let old = active_extent(flash, slots, sector).await?;
    let bytes = new_size.min(slots.max_image_size(sector)).max(old).max(1);
    Ok(u16::try_from(bytes.div_ceil(sector.max(1))).unwrap_or(slots.sectors))
}
