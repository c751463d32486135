//! Flash layout: where each component's primary and secondary slots and the state partition
//! live. Both halves take the same [`Layout`] and validate it against the flash geometry before
//! touching anything, so a misconfiguration is a clear error at start-up, never a corrupted slot.
//!
//! Rules (see `docs/on-flash-contract.md`): uniform erase sectors of 1 KiB to 128 KiB; write size
//! 4 to 32 bytes (a power of two); a primary slot of `sectors` sectors and a secondary slot of `sectors + 1`
//! sectors per component; a state partition of two to 64 sectors; nothing overlaps and
//! everything lies inside the device.

use crate::component::ComponentId;
use crate::state::MAX_COMPONENTS;
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
    pub fn primary_range(&self, sector_size: u32) -> Range<u32> {
        self.primary
            ..self
                .primary
                .saturating_add(u32::from(self.sectors).saturating_mul(sector_size))
    }

    /// Secondary slot as an address range (one sector more than the primary).
    pub fn secondary_range(&self, sector_size: u32) -> Range<u32> {
        let len = (u32::from(self.sectors) + 1).saturating_mul(sector_size);
        self.secondary..self.secondary.saturating_add(len)
    }

    /// Largest image the component accepts.
    pub fn max_image_size(&self, sector_size: u32) -> u32 {
        u32::from(self.sectors).saturating_mul(sector_size)
    }

    /// Where a staged image starts: one sector into the secondary slot.
    pub fn staging_offset(&self, sector_size: u32) -> u32 {
        self.secondary.saturating_add(sector_size)
    }
}

impl<'a> Layout<'a> {
    /// The slots of component `id`.
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
        let ss = self.sector_size;
        if !(MIN_SECTOR_SIZE..=MAX_SECTOR_SIZE).contains(&ss)
            || !ss.is_power_of_two()
            || ss != erase_size
        {
            return Err(LayoutError::SectorSize);
        }
        // The write size must also divide the state pages' 32-byte marker slots.
        if !(MIN_WRITE_SIZE..=MAX_WRITE_SIZE).contains(&write_size)
            || !ss.is_multiple_of(write_size)
            || !MAX_WRITE_SIZE.is_multiple_of(write_size)
        {
            return Err(LayoutError::WriteSize);
        }
        if self.components.is_empty() || self.components.len() > MAX_COMPONENTS {
            return Err(LayoutError::Components);
        }
        let mut seen = 0u8;
        for c in self.components {
            if usize::from(c.id) >= MAX_COMPONENTS || seen & (1 << c.id) != 0 {
                return Err(LayoutError::Components);
            }
            seen |= 1 << c.id;
            if c.sectors == 0 {
                return Err(LayoutError::EmptySlot(c.id));
            }
        }
        let regions = || {
            self.components
                .iter()
                .flat_map(move |c| [c.primary_range(ss), c.secondary_range(ss)])
                .chain(core::iter::once(self.state.clone()))
        };
        for r in regions() {
            if r.start % ss != 0 || r.end % ss != 0 {
                return Err(LayoutError::Misaligned);
            }
            if u64::from(r.end) > capacity || r.end == u32::MAX {
                return Err(LayoutError::OutOfDevice);
            }
        }
        for (i, a) in regions().enumerate() {
            for b in regions().skip(i + 1) {
                if a.start < b.end && b.start < a.end {
                    return Err(LayoutError::Overlap);
                }
            }
        }
        crate::state::StateGeometry::new(self, write_size)?;
        Ok(())
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
