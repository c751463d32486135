//! Reading the raw state partition: for the stories the targets print while replaying an input
//! with `FWU_FUZZ_TRACE`, and to recognise the configuration of a reported finding.

use crate::layout::Geo;
use crate::paint::KIND_FLAG;
use embassy_futures::block_on;
use embedded_storage_async::nor_flash::NorFlash;
use fwu_shared::state::catalog::Entry;
use fwu_shared::state::geometry::FLAG_COUNT;
use fwu_shared::state::slots::{pattern, read_record, word_is};
use fwu_shared::state::{BootLog, BootRecord};

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

/// Whether both copies of the boot log hold the current record but not the same flag words
/// after it (a flag write cut between the copies): the configuration of the reported finding
/// `regressions/state_store-flag-copy-erased-first` (`tests/regressions.rs`), where the next
/// commit may erase the copy holding the flag first and a cut there takes the state back.
pub fn flag_split<F: NorFlash>(flash: &mut F, geo: &Geo) -> bool {
    let Ok(log) = block_on(BootLog::open(flash, &geo.layout())) else {
        return false;
    };
    let gen = log.state().gen;
    let sg = geo.state_geometry();
    let mut flags = [None::<u32>; 2];
    for (i, copy) in sg.boot.iter().enumerate() {
        for slot in (0..copy.slots).rev() {
            let addr = copy.slot(slot);
            let rec: Option<BootRecord> = block_on(read_record(flash, addr)).ok().flatten();
            if rec.is_some_and(|r| r.gen == gen) {
                let mut bits = 0u32;
                for f in 0..FLAG_COUNT {
                    let at = addr + sg.boot_slot.flags + f * sg.write;
                    let p = pattern(gen, KIND_FLAG, f);
                    if block_on(word_is(flash, at, p)).unwrap_or(false) {
                        bits |= 1 << f;
                    }
                }
                flags[i] = Some(bits);
                break;
            }
        }
    }
    matches!(flags, [Some(a), Some(b)] if a != b)
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
