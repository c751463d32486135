//! Reading the raw state partition: for the stories the targets print while replaying an input
//! with `FWU_FUZZ_TRACE`, and to recognise the configuration of a forged input.

use crate::layout::Geo;
use embassy_futures::block_on;
use embedded_storage_async::nor_flash::NorFlash;
use fwu_shared::state::catalog::Entry;
use fwu_shared::state::slots::read_record;
use fwu_shared::state::BootRecord;

/// Every boot record that decodes in either copy of the boot log, as (copy, slot, record).
pub fn boot_records<F: NorFlash>(flash: &mut F, geo: &Geo) -> Vec<(usize, u32, BootRecord)> {
    let sg = geo.state_geometry();
    let mut out = Vec::new();
    for (i, copy) in sg.boot.iter().enumerate() {
        for slot in 0..copy.slots {
            if let Ok(Some(r)) = block_on(read_record::<F, BootRecord>(flash, copy.slot(slot))) {
                out.push((i, slot, r));
            }
        }
    }
    out
}

/// Every catalog entry that decodes in either copy of the catalog, as (copy, slot, entry).
pub fn catalog_entries<F: NorFlash>(flash: &mut F, geo: &Geo) -> Vec<(usize, u32, Entry)> {
    let sg = geo.state_geometry();
    let mut out = Vec::new();
    for (i, copy) in sg.catalog.iter().enumerate() {
        for slot in 0..copy.slots {
            if let Ok(Some(e)) = block_on(read_record::<F, Entry>(flash, copy.slot(slot))) {
                out.push((i, slot, e));
            }
        }
    }
    out
}

/// Whether a boot record shows a higher counter than another record of the same or a newer
/// generation. The writers never leave such a history (each commit keeps the highest counters,
/// and one generation is one record) and no fault at rest forges one (CRC), but the painter
/// does: the floor is the highest of both copies' newest records, so such a stale record can
/// make the floor alone, and a cut commit that erases its copy first lowers it again (the
/// configuration of `regressions/boot_flow-stale-counters-cut*`).
pub fn stale_high_counters<F: NorFlash>(flash: &mut F, geo: &Geo) -> bool {
    let records = boot_records(flash, geo);
    records.iter().any(|(_, _, old)| {
        records.iter().any(|(_, _, new)| {
            new.gen >= old.gen
                && new != old
                && old.counters.iter().zip(new.counters).any(|(&a, b)| a > b)
        })
    })
}
