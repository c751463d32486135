//! Where each part of the persisted state lives inside the state partition, derived from the
//! layout alone so that the bootloader and the update service always agree:
//!
//! ```text
//! [ boot log A | boot log B | catalog A | catalog B | checkpoint map ... ]
//!   K_b         K_b          K_c         K_c          the rest (>= 2 sectors)
//! ```
//!
//! * the **boot log** copies hold [`BootRecord`](super::BootRecord)s in fixed slots; each slot
//!   is the record, then [`FLAG_COUNT`] flag words, then the install and the revert progress
//!   areas (one write word per swap step, the steps alternating between the copies);
//! * the **catalog** copies hold component records in fixed slots;
//! * the **checkpoint map** is a `sequential-storage` map of download resume points.
//!
//! `K_b` is the smallest number of sectors that holds [`MIN_BOOT_SLOTS`] boot slots, `K_c` the
//! smallest that holds `2 * components + 4` catalog slots.

use super::records::{BootRecord, ComponentRecord};
use crate::layout::{Layout, LayoutError};
use crate::record::{Record, RECORD_OVERHEAD};
use core::ops::Range;

/// Flag words after each boot record (see [`super::boot::Flag`]).
pub const FLAG_COUNT: u32 = 7;
/// Boot slots each boot log copy holds at least (two per update in the common case).
pub const MIN_BOOT_SLOTS: u32 = 4;
/// Sectors the checkpoint map needs at least (`sequential-storage` keeps one page free).
pub const MIN_MAP_SECTORS: u32 = 2;
/// Most sectors the checkpoint map may have (the erase guard tracks pages in a `u64`).
pub const MAX_MAP_SECTORS: u32 = 64;
/// Bytes of a catalog entry's payload besides the component record: generation and id.
pub const CATALOG_ENTRY_EXTRA: usize = 4 + 1;

/// One copy of a slot log: `slots` slots of `slot_len` bytes from `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyRegion {
    /// First byte (sector aligned).
    pub base: u32,
    /// Bytes of the copy (whole sectors).
    pub len: u32,
    /// Bytes of one slot (a multiple of the write size).
    pub slot_len: u32,
    /// Slots in the copy.
    pub slots: u32,
}

impl CopyRegion {
    /// The copy of `len` bytes at `base` cut into `slot_len`-byte slots.
    const fn of(base: u32, len: u32, slot_len: u32) -> CopyRegion {
        CopyRegion {
            base,
            len,
            slot_len,
            slots: len / slot_len,
        }
    }

    /// Address of slot `i`.
    #[inline(never)]
    pub const fn slot(&self, i: u32) -> u32 {
        self.base + i * self.slot_len
    }

    /// The copy as an address range.
    pub const fn range(&self) -> Range<u32> {
        self.base..self.base + self.len
    }
}

/// Offsets inside a boot slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootSlot {
    /// Bytes reserved for the record (its frame, padded to the write size).
    pub record: u32,
    /// Offset of the first flag word.
    pub flags: u32,
    /// Offset of the install progress area.
    pub install: u32,
    /// Offset of the revert progress area.
    pub revert: u32,
    /// Words in each progress area of one copy (every step of a swap of every component's
    /// whole slot, half of them in each copy).
    pub progress_words: u32,
}

/// The carving of a layout's state partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateGeometry {
    /// Erase sector size.
    pub sector: u32,
    /// Flash write size: the unit of every flag and progress word.
    pub write: u32,
    /// The two boot log copies.
    pub boot: [CopyRegion; 2],
    /// Offsets inside a boot slot.
    pub boot_slot: BootSlot,
    /// The two catalog copies.
    pub catalog: [CopyRegion; 2],
    /// The checkpoint map.
    pub checkpoints: (u32, u32),
}

/// `n` rounded up to a multiple of `to` (a power of two).
const fn align_up(n: u32, to: u32) -> u32 {
    n.div_ceil(to) * to
}

impl StateGeometry {
    /// Bytes a boot record frame occupies, padded to the write size.
    pub const fn boot_record_len(write: u32) -> u32 {
        align_up(BootRecord::ENCODED_LEN as u32, write)
    }

    /// Bytes a catalog entry frame occupies, padded to the write size.
    pub const fn catalog_entry_len(write: u32) -> u32 {
        align_up(
            (ComponentRecord::PAYLOAD_LEN + CATALOG_ENTRY_EXTRA + RECORD_OVERHEAD) as u32,
            write,
        )
    }

    /// Carve the state partition of `layout` for a flash with `write`-byte words. The layout's
    /// other rules are [`Layout::validate`]'s; this checks only that the state fits. A `const
    /// fn` for [`Layout::check`].
    pub const fn new(layout: &Layout<'_>, write: u32) -> Result<Self, LayoutError> {
        let sector = layout.sector_size;
        if sector == 0 || write == 0 || !write.is_power_of_two() {
            return Err(LayoutError::WriteSize);
        }
        let mut progress_words = 0u32;
        let mut rest = layout.components;
        while let [c, tail @ ..] = rest {
            progress_words += c.sectors as u32;
            rest = tail;
        }
        let record = Self::boot_record_len(write);
        let flags = record;
        let install = flags + FLAG_COUNT * write;
        let revert = install + progress_words * write;
        let boot_slot_len = revert + progress_words * write;
        let boot_sectors = (MIN_BOOT_SLOTS * boot_slot_len).div_ceil(sector);
        let entry = Self::catalog_entry_len(write);
        let catalog_slots = 2 * layout.components.len() as u32 + 4;
        let catalog_sectors = (catalog_slots * entry).div_ceil(sector);
        let fixed = 2 * boot_sectors + 2 * catalog_sectors;
        let needed = fixed + MIN_MAP_SECTORS;
        let have = layout.state.end.saturating_sub(layout.state.start) / sector;
        if have < needed {
            return Err(LayoutError::StateTooSmall { needed });
        }
        if have - fixed > MAX_MAP_SECTORS {
            return Err(LayoutError::StateTooLarge {
                most: fixed + MAX_MAP_SECTORS,
            });
        }
        let base = layout.state.start;
        let b = boot_sectors * sector;
        let c = catalog_sectors * sector;
        Ok(StateGeometry {
            sector,
            write,
            boot: [
                CopyRegion::of(base, b, boot_slot_len),
                CopyRegion::of(base + b, b, boot_slot_len),
            ],
            boot_slot: BootSlot {
                record,
                flags,
                install,
                revert,
                progress_words,
            },
            catalog: [
                CopyRegion::of(base + 2 * b, c, entry),
                CopyRegion::of(base + 2 * b + c, c, entry),
            ],
            checkpoints: (base + 2 * b + 2 * c, layout.state.end),
        })
    }

    /// Sectors the state partition of `layout` needs at least for `write`-byte words (0 for a
    /// write size that is not a power of two).
    pub fn sectors_needed(layout: &Layout<'_>, write: u32) -> u32 {
        let probe = Layout {
            state: layout.state.start..layout.state.start,
            ..layout.clone()
        };
        match Self::new(&probe, write) {
            Err(LayoutError::StateTooSmall { needed }) => needed,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ComponentSlots;

    #[test]
    fn the_qemu_layout_fits_in_eight_sectors() {
        let comps = [
            ComponentSlots {
                id: 0,
                primary: 0x10000,
                secondary: 0x90000,
                sectors: 128,
            },
            ComponentSlots {
                id: 1,
                primary: 0x111000,
                secondary: 0x121000,
                sectors: 16,
            },
        ];
        let l = Layout {
            sector_size: 4096,
            components: &comps,
            state: 0..8 * 4096,
        };
        let g = StateGeometry::new(&l, 4).unwrap();
        assert_eq!(g.boot_slot.progress_words, 144);
        assert_eq!(g.boot[0].slots, 6);
        assert_eq!(g.boot[1].base, 2 * 4096);
        assert_eq!(g.catalog[0].base, 4 * 4096);
        assert_eq!(g.checkpoints, (6 * 4096, 8 * 4096));
        assert_eq!(StateGeometry::sectors_needed(&l, 4), 8);
        let small = Layout {
            state: 0..7 * 4096,
            ..l.clone()
        };
        assert_eq!(
            StateGeometry::new(&small, 4),
            Err(LayoutError::StateTooSmall { needed: 8 })
        );
        // Every slot holds a whole record, its flags and both progress areas.
        let s = g.boot_slot;
        assert!(s.record >= BootRecord::ENCODED_LEN as u32);
        assert_eq!(g.boot[0].slot_len, s.revert + 144 * 4);
    }
}
