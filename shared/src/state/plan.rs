//! The swap plan: how many sectors the swap of a member covers. Both halves compute it the same
//! way: `install` records it in the boot record, and the bootloader recomputes it before the
//! first destructive step and refuses a staged set whose numbers disagree.

use crate::image::{image_extent, image_extent_async, ImageError};
use crate::layout::ComponentSlots;
use embedded_storage_async::nor_flash::NorFlash;

/// The flash could not be read: the plan cannot be made now (a read error says nothing about
/// the images).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreadable;

/// The active image's extent from what reading its structure gave: a read error is
/// [`Unreadable`], an image that does not parse counts as the whole slot.
fn extent(read: Result<u32, ImageError>, max: u32) -> Result<u32, Unreadable> {
    match read {
        Ok(n) => Ok(n.min(max)),
        Err(ImageError::Storage) => Err(Unreadable),
        Err(_) => Ok(max),
    }
}

/// Sectors covering both an active image of `old` bytes and a new one of `new_size`.
fn sectors(slots: &ComponentSlots, sector: u32, old: u32, new_size: u32) -> u16 {
    let bytes = new_size.min(slots.max_image_size(sector)).max(old).max(1);
    u16::try_from(bytes.div_ceil(sector.max(1))).unwrap_or(slots.sectors)
}

/// Bytes occupied by the image in `slots`' primary slot (header to end of TLVs), or the whole
/// slot when it holds no parsable image (then everything is swapped).
pub async fn active_extent<F: NorFlash>(
    flash: &mut F,
    slots: &ComponentSlots,
    sector: u32,
) -> Result<u32, Unreadable> {
    let mut buf = [0u8; 64];
    let max = slots.max_image_size(sector);
    extent(
        image_extent_async(flash, slots.primary, max, &mut buf).await,
        max,
    )
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
    Ok(sectors(slots, sector, old, new_size))
}

/// [`swap_sectors`] on a blocking flash (the bootloader).
pub fn swap_sectors_blocking<F: embedded_storage::nor_flash::ReadNorFlash>(
    flash: &mut F,
    slots: &ComponentSlots,
    sector: u32,
    new_size: u32,
) -> Result<u16, Unreadable> {
    let mut buf = [0u8; 64];
    let max = slots.max_image_size(sector);
    let old = extent(image_extent(flash, slots.primary, max, &mut buf), max)?;
    Ok(sectors(slots, sector, old, new_size))
}
