//! Flash layout: where each component's primary and secondary slots and the state partition
//! live. Both halves take the same [`Layout`] checked against the flash geometry before
//! touching anything, so a misconfiguration is a clear error, never a corrupted slot: the update
//! service validates it at start-up, the bootloader takes a [`CheckedLayout`] that a board
//! builds at compile time ([`Layout::check`] is a `const fn`).
//!
//! Rules (see `docs/on-flash-contract.md`): uniform erase sectors of 1 KiB to 128 KiB; write size
//! 4 to 32 bytes (a power of two); a primary slot of `sectors` sectors and a secondary slot of `sectors + 1`
//! sectors per component; a state partition of two to 64 sectors; nothing overlaps and
//! everything lies inside the device.

use crate::component::ComponentId;
use crate::state::{StateGeometry, MAX_COMPONENTS};
use core::ops::Range;

/// Smallest supported erase sector.
pub const MIN_SECTOR_SIZE: u32 = 1024;
/// Largest supported erase sector.
pub const MAX_SECTOR_SIZE: u32 = 128 * 1024;
/// Smallest supported flash write size.
pub const MIN_WRITE_SIZE: u32 = 4;
/// Largest supported flash write size.
pub const MAX_WRITE_SIZE: u32 = 32;

/// One component's slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComponentSlots {
    /// Component id (`< 8`).
    pub id: ComponentId,
    /// Offset of the primary slot (the active image, executed in place).
    pub primary: u32,
    /// Offset of the secondary slot (`sectors + 1` sectors).
    pub secondary: u32,
    /// Sectors in the primary slot: the largest image is `sectors * sector_size` bytes.
    pub sectors: u16,
}

/// The whole device layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout<'a> {
    /// Erase sector size shared by all slots.
    pub sector_size: u32,
    /// Components, in any order.
    pub components: &'a [ComponentSlots],
    /// State partition range.
    pub state: Range<u32>,
}

/// Why a layout cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The sector size is outside 1 KiB..=128 KiB, not a power of two, or differs from the
    /// flash's erase size (non-uniform sectors are not supported).
    SectorSize,
    /// The flash write size is outside 4..=32 bytes or does not divide the sector size.
    WriteSize,
    /// No component, more than 8, an id `>= 8`, or the same id twice.
    Components,
    /// A component has zero sectors.
    EmptySlot(ComponentId),
    /// A slot or the state partition does not start on a sector boundary.
    Misaligned,
    /// The state partition has fewer sectors than its parts need (`needed`).
    StateTooSmall {
        /// Sectors the layout's state partition needs at least.
        needed: u32,
    },
    /// The state partition has more sectors than its parts can use (`most`).
    StateTooLarge {
        /// Sectors the layout's state partition may have at most.
        most: u32,
    },
    /// Something extends past the end of the device.
    OutOfDevice,
    /// Two regions overlap.
    Overlap,
}

impl ComponentSlots {
    /// Primary slot as an address range.
    pub const fn primary_range(&self, sector_size: u32) -> Range<u32> {
        self.primary
            ..self
                .primary
                .saturating_add((self.sectors as u32).saturating_mul(sector_size))
    }

    /// Secondary slot as an address range (one sector more than the primary).
    pub const fn secondary_range(&self, sector_size: u32) -> Range<u32> {
        let len = (self.sectors as u32 + 1).saturating_mul(sector_size);
        self.secondary..self.secondary.saturating_add(len)
    }

    /// Largest image the component accepts.
    pub const fn max_image_size(&self, sector_size: u32) -> u32 {
        (self.sectors as u32).saturating_mul(sector_size)
    }

    /// Where a staged image starts: one sector into the secondary slot.
    pub const fn staging_offset(&self, sector_size: u32) -> u32 {
        self.secondary.saturating_add(sector_size)
    }
}

/// A [`Layout`] checked against a flash's geometry, with its state partition carved
/// ([`Layout::check`]): what the bootloader runs on. A board builds it in a `const`, so that a
/// misconfiguration is a build error and the bootloader carries no validation code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedLayout<'a> {
    layout: Layout<'a>,
    capacity: u64,
    geometry: StateGeometry,
}

impl<'a> CheckedLayout<'a> {
    /// The layout.
    pub const fn layout(&self) -> &Layout<'a> {
        &self.layout
    }

    /// The carving of its state partition.
    pub const fn geometry(&self) -> &StateGeometry {
        &self.geometry
    }

    /// Whether a flash of `capacity` bytes with `erase`- and `write`-byte units is one this
    /// layout was checked for (the same units, at least the capacity): the error
    /// [`Layout::validate`] would give otherwise.
    pub fn fits(&self, capacity: usize, erase: usize, write: usize) -> Result<(), LayoutError> {
        if erase != self.geometry.sector as usize {
            return Err(LayoutError::SectorSize);
        }
        if write != self.geometry.write as usize {
            return Err(LayoutError::WriteSize);
        }
        if (capacity as u64) < self.capacity {
            return Err(LayoutError::OutOfDevice);
        }
        Ok(())
    }
}

/// Component `i` of `slots` (a `const` lookup: slice indexing is not available there).
const fn nth(slots: &[ComponentSlots], mut i: usize) -> Option<&ComponentSlots> {
    let mut rest = slots;
    while let [c, tail @ ..] = rest {
        if i == 0 {
            return Some(c);
        }
        i -= 1;
        rest = tail;
    }
    None
}

impl<'a> Layout<'a> {
    /// The slots of component `id`.
    #[inline(never)]
    pub fn component(&self, id: ComponentId) -> Option<&'a ComponentSlots> {
        self.components.iter().find(|c| c.id == id)
    }

    /// Check the layout against a flash of `capacity` bytes with the given erase and write sizes.
    pub fn validate(
        &self,
        capacity: u64,
        erase_size: u32,
        write_size: u32,
    ) -> Result<(), LayoutError> {
        self.check(capacity, erase_size, write_size).map(|_| ())
    }

    /// [`Layout::check`] against `flash`'s capacity and erase and write sizes (for hosts and
    /// tests, which build a bootloader over a flash at hand).
    pub fn check_for<F: embedded_storage::nor_flash::NorFlash>(
        &self,
        flash: &F,
    ) -> Result<CheckedLayout<'a>, LayoutError> {
        let unit = |n: usize| u32::try_from(n).unwrap_or(0);
        self.check(
            u64::try_from(flash.capacity()).unwrap_or(u64::MAX),
            unit(F::ERASE_SIZE),
            unit(F::WRITE_SIZE),
        )
    }

    /// Region `i` of the layout: each component's primary then secondary slot, in order, then
    /// the state partition; `None` past the last.
    const fn region(&self, i: usize) -> Option<Range<u32>> {
        let ss = self.sector_size;
        match nth(self.components, i / 2) {
            Some(c) if i.is_multiple_of(2) => Some(c.primary_range(ss)),
            Some(c) => Some(c.secondary_range(ss)),
            None if i == 2 * self.components.len() => Some(self.state.start..self.state.end),
            None => None,
        }
    }

    /// [`Layout::validate`], keeping what it computed: the layout with the carving of its
    /// state partition. A `const fn`, so that a board checks its layout at build time.
    pub const fn check(
        &self,
        capacity: u64,
        erase_size: u32,
        write_size: u32,
    ) -> Result<CheckedLayout<'a>, LayoutError> {
        let ss = self.sector_size;
        if ss < MIN_SECTOR_SIZE || ss > MAX_SECTOR_SIZE || !ss.is_power_of_two() || ss != erase_size
        {
            return Err(LayoutError::SectorSize);
        }
        // The write size must also divide the state pages' 32-byte marker slots.
        if write_size < MIN_WRITE_SIZE
            || write_size > MAX_WRITE_SIZE
            || !ss.is_multiple_of(write_size)
            || !MAX_WRITE_SIZE.is_multiple_of(write_size)
        {
            return Err(LayoutError::WriteSize);
        }
        if self.components.is_empty() || self.components.len() > MAX_COMPONENTS {
            return Err(LayoutError::Components);
        }
        let mut seen = 0u8;
        let mut rest = self.components;
        while let [c, tail @ ..] = rest {
            if c.id as usize >= MAX_COMPONENTS || seen & (1 << c.id) != 0 {
                return Err(LayoutError::Components);
            }
            seen |= 1 << c.id;
            if c.sectors == 0 {
                return Err(LayoutError::EmptySlot(c.id));
            }
            rest = tail;
        }
        let mut i = 0;
        while let Some(r) = self.region(i) {
            if !r.start.is_multiple_of(ss) || !r.end.is_multiple_of(ss) {
                return Err(LayoutError::Misaligned);
            }
            if r.end as u64 > capacity || r.end == u32::MAX {
                return Err(LayoutError::OutOfDevice);
            }
            i += 1;
        }
        let mut i = 0;
        while let Some(a) = self.region(i) {
            let mut j = i + 1;
            while let Some(b) = self.region(j) {
                if a.start < b.end && b.start < a.end {
                    return Err(LayoutError::Overlap);
                }
                j += 1;
            }
            i += 1;
        }
        match StateGeometry::new(self, write_size) {
            Ok(geometry) => Ok(CheckedLayout {
                layout: Layout {
                    sector_size: ss,
                    components: self.components,
                    state: self.state.start..self.state.end,
                },
                capacity,
                geometry,
            }),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u32 = 4096;

    fn comps() -> [ComponentSlots; 2] {
        [
            ComponentSlots {
                id: 0,
                primary: 0x10000,
                secondary: 0x30000,
                sectors: 32,
            },
            ComponentSlots {
                id: 3,
                primary: 0x60000,
                secondary: 0x70000,
                sectors: 8,
            },
        ]
    }

    #[test]
    fn a_good_layout_validates_and_answers_queries() {
        let c = comps();
        let l = Layout {
            sector_size: S,
            components: &c,
            state: 0x0..0x6000,
        };
        assert_eq!(l.validate(0x100000, S, 4), Ok(()));
        let c0 = l.component(0).unwrap();
        assert_eq!(c0.max_image_size(S), 32 * S);
        assert_eq!(c0.staging_offset(S), 0x31000);
        assert_eq!(c0.secondary_range(S), 0x30000..0x30000 + 33 * S);
        assert!(l.component(1).is_none());
    }

    #[test]
    fn a_checked_layout_keeps_its_carving_and_refuses_another_flash() {
        const COMPS: [ComponentSlots; 1] = [ComponentSlots {
            id: 0,
            primary: 0x10000,
            secondary: 0x30000,
            sectors: 32,
        }];
        // Evaluated at compile time, as the boards do.
        const CHECKED: CheckedLayout<'static> = match (Layout {
            sector_size: S,
            components: &COMPS,
            state: 0x0..0x6000,
        })
        .check(0x100000, S, 4)
        {
            Ok(c) => c,
            Err(_) => panic!("a good layout"),
        };
        assert_eq!(
            *CHECKED.geometry(),
            StateGeometry::new(CHECKED.layout(), 4).unwrap()
        );
        assert_eq!(CHECKED.fits(0x100000, S as usize, 4), Ok(()));
        assert_eq!(CHECKED.fits(0x200000, S as usize, 4), Ok(()));
        assert_eq!(
            CHECKED.fits(0x100000, 2 * S as usize, 4),
            Err(LayoutError::SectorSize)
        );
        assert_eq!(
            CHECKED.fits(0x100000, S as usize, 8),
            Err(LayoutError::WriteSize)
        );
        assert_eq!(
            CHECKED.fits(0x0ffffc, S as usize, 4),
            Err(LayoutError::OutOfDevice)
        );
    }

    #[test]
    fn each_misconfiguration_has_its_error() {
        let c = comps();
        let l = Layout {
            sector_size: S,
            components: &c,
            state: 0x0..0x6000,
        };
        assert_eq!(l.validate(0x100000, 2048, 4), Err(LayoutError::SectorSize));
        assert_eq!(
            Layout {
                sector_size: 512,
                ..l.clone()
            }
            .validate(0x100000, 512, 4),
            Err(LayoutError::SectorSize)
        );
        assert_eq!(l.validate(0x100000, S, 2), Err(LayoutError::WriteSize));
        assert_eq!(l.validate(0x100000, S, 64), Err(LayoutError::WriteSize));
        assert_eq!(l.validate(0x100000, S, 12), Err(LayoutError::WriteSize));
        assert_eq!(
            Layout {
                state: 0x100000..0x100000 + 69 * S,
                ..l.clone()
            }
            .validate(0x1000000, S, 4),
            Err(LayoutError::StateTooLarge { most: 68 })
        );
        assert_eq!(l.validate(0x70000, S, 4), Err(LayoutError::OutOfDevice));
        assert_eq!(
            Layout {
                state: 0x0..0x5000,
                ..l.clone()
            }
            .validate(0x100000, S, 4),
            Err(LayoutError::StateTooSmall { needed: 6 })
        );
        assert_eq!(
            Layout {
                state: 0x100..0x6100,
                ..l.clone()
            }
            .validate(0x100000, S, 4),
            Err(LayoutError::Misaligned)
        );
        assert_eq!(
            Layout {
                state: 0x2b000..0x31000,
                ..l.clone()
            }
            .validate(0x100000, S, 4),
            Err(LayoutError::Overlap)
        );
        let mut bad = comps();
        bad[1].primary = 0x30000 + 32 * S; // the secondary of 0 has one more sector: overlap
        assert_eq!(
            Layout {
                components: &bad,
                ..l.clone()
            }
            .validate(0x100000, S, 4),
            Err(LayoutError::Overlap)
        );
        let mut bad = comps();
        bad[1].id = 0;
        assert_eq!(
            Layout {
                components: &bad,
                ..l.clone()
            }
            .validate(0x100000, S, 4),
            Err(LayoutError::Components)
        );
        bad[1].id = 8;
        assert_eq!(
            Layout {
                components: &bad,
                ..l.clone()
            }
            .validate(0x100000, S, 4),
            Err(LayoutError::Components)
        );
        let mut bad = comps();
        bad[0].sectors = 0;
        assert_eq!(
            Layout {
                components: &bad,
                ..l.clone()
            }
            .validate(0x100000, S, 4),
            Err(LayoutError::EmptySlot(0))
        );
        assert_eq!(
            Layout {
                components: &[],
                ..l
            }
            .validate(0x100000, S, 4),
            Err(LayoutError::Components)
        );
    }
}
