//! The small layouts the targets run on: two components with ids 0 and 2 (so id 1 lies in a
//! gap), slots of 4 and 2 sectors, the smallest state partition the layout allows at offset 0,
//! the slots packed after it, and one spare sector at the end that nothing may touch.

use core::ops::Range;
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::StateGeometry;
use fwu_shared::ComponentId;

/// Component ids of the layouts.
pub const IDS: [ComponentId; 2] = [0, 2];
/// Sectors of each component's primary slot (the secondary has one more).
pub const SLOT_SECTORS: [u16; 2] = [4, 2];

/// A layout with its numbers.
#[derive(Clone, Debug)]
pub struct Geo {
    /// Erase sector size.
    pub sector: u32,
    /// Flash write size.
    pub write: u32,
    /// The component slots.
    pub slots: [ComponentSlots; 2],
    /// The state partition.
    pub state: Range<u32>,
    /// Sectors of the whole device (including the spare one).
    pub sectors: usize,
}

impl Geo {
    /// The layout for `sector`-byte sectors and `write`-byte words.
    pub fn new(sector: u32, write: u32) -> Self {
        let mut slots = [ComponentSlots {
            id: 0,
            primary: 0,
            secondary: 0,
            sectors: 0,
        }; 2];
        for ((s, id), n) in slots.iter_mut().zip(IDS).zip(SLOT_SECTORS) {
            s.id = id;
            s.sectors = n;
        }
        let probe = Layout {
            sector_size: sector,
            components: &slots,
            state: 0..0,
        };
        let state_sectors = StateGeometry::sectors_needed(&probe, write);
        let mut at = state_sectors * sector;
        for s in slots.iter_mut() {
            s.primary = at;
            at += u32::from(s.sectors) * sector;
            s.secondary = at;
            at += (u32::from(s.sectors) + 1) * sector;
        }
        Geo {
            sector,
            write,
            slots,
            state: 0..state_sectors * sector,
            sectors: (at / sector) as usize + 1,
        }
    }

    /// The layout.
    pub fn layout(&self) -> Layout<'_> {
        Layout {
            sector_size: self.sector,
            components: &self.slots,
            state: self.state.clone(),
        }
    }

    /// The carving of the state partition.
    pub fn state_geometry(&self) -> StateGeometry {
        StateGeometry::new(&self.layout(), self.write)
            .unwrap_or_else(|e| panic!("the fuzz layout does not fit: {e:?}"))
    }

    /// The slots of component `c`.
    pub fn slots(&self, c: ComponentId) -> Option<&ComponentSlots> {
        self.slots.iter().find(|s| s.id == c)
    }

    /// Every primary and secondary slot.
    pub fn slot_ranges(&self) -> Vec<Range<u32>> {
        self.slots
            .iter()
            .flat_map(|s| [s.primary_range(self.sector), s.secondary_range(self.sector)])
            .collect()
    }

    /// Bytes of the whole device.
    pub fn size(&self) -> u32 {
        self.sectors as u32 * self.sector
    }
}
