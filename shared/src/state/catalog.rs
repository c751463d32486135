//! The catalog: the redundant store of the [`ComponentRecord`]s (`docs/on-flash-contract.md`,
//! "The catalog"). Only the update service uses it.
//!
//! Two copies of fixed slots, like the boot log. Each entry carries a generation and its
//! component id; a component's record is the entry with the highest generation in either copy,
//! so a flipped, torn, erased or garbage entry or copy leaves the other copy's entry in charge.
//! Before a write, a copy that lacks a current entry is brought up to date; a full copy is
//! erased and rewritten with every current entry (the other copy holds them meanwhile).

use super::boot::Health;
use super::geometry::{CopyRegion, StateGeometry, CATALOG_ENTRY_EXTRA};
use super::records::{kinds, ComponentRecord, Members, MAX_COMPONENTS};
use super::slots::{self, StateError};
use crate::bytes::{Reader, Writer};
use crate::layout::Layout;
use crate::record::Record;
use crate::ComponentId;
use embedded_storage_async::nor_flash::NorFlash;

/// Read every slot of `copy`: the newest entry of each configured component into `newest`;
/// returns where the copy ends, the highest generation seen and whether any entry was valid.
async fn scan_copy<F: NorFlash>(
    flash: &mut F,
    copy: &CopyRegion,
    ids: Members,
    newest: &mut [Option<Entry>; MAX_COMPONENTS],
) -> Result<(u32, u32, bool), StateError> {
    let end = slots::end_of(flash, copy).await?;
    let mut gen = 0;
    let mut any = false;
    for slot in 0..end {
        let entry: Option<Entry> = slots::read_record(flash, copy.slot(slot)).await?;
        let Some(e) = entry.filter(|e| ids.contains(e.id)) else {
            continue;
        };
        any = true;
        gen = gen.max(e.gen);
        if let Some(n) = newest.get_mut(usize::from(e.id)) {
            if n.is_none_or(|old| e.gen > old.gen) {
                *n = Some(e);
            }
        }
    }
    Ok((end, gen, any))
}

/// One catalog entry: a component record with its generation and component id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Generation (highest wins).
    pub gen: u32,
    /// Component id.
    pub id: ComponentId,
    /// The record.
    pub record: ComponentRecord,
}

impl Record for Entry {
    const KIND: u8 = kinds::COMPONENT;
    const PAYLOAD_LEN: usize = ComponentRecord::PAYLOAD_LEN + CATALOG_ENTRY_EXTRA;

    fn write_payload(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u32(self.gen)?;
        w.u8(self.id)?;
        self.record.write_payload(w)
    }

    fn read_payload(r: &mut Reader<'_>) -> Option<Self> {
        let gen = r.u32()?;
        let id = r.u8().filter(|&id| usize::from(id) < MAX_COMPONENTS)?;
        let record = ComponentRecord::read_payload(r)?;
        Some(Entry { gen, id, record })
    }
}

const COPIES: usize = 2;

/// The catalog of a layout, as found at open and kept up to date by the writes through it.
#[derive(Clone, Debug)]
pub struct Catalog {
    copies: [CopyRegion; COPIES],
    write: u32,
    ids: Members,
    /// The current entry of each component.
    current: [Option<Entry>; MAX_COMPONENTS],
    /// Components whose current entry each copy holds.
    held: [Members; COPIES],
    ends: [u32; COPIES],
    /// Which copies were found blank (only known for a catalog read as `Fresh`).
    blank: [bool; COPIES],
    gen: u32,
    health: Health,
}

impl Catalog {
    /// Read the catalog of `layout` (nothing is written).
    pub async fn open<F: NorFlash>(flash: &mut F, layout: &Layout<'_>) -> Result<Self, StateError> {
        let w = u32::try_from(F::WRITE_SIZE).map_err(|_| StateError::Layout)?;
        let geo = StateGeometry::new(layout, w).map_err(|_| StateError::Layout)?;
        let ids = layout
            .components
            .iter()
            .fold(Members::NONE, |m, c| m.with(c.id));
        let mut cat = Catalog {
            copies: geo.catalog,
            write: w,
            ids,
            current: [None; MAX_COMPONENTS],
            held: [Members::NONE; COPIES],
            ends: [0; COPIES],
            blank: [false; COPIES],
            gen: 0,
            health: Health::Ok,
        };
        // Newest entry per component in each copy. A copy that cannot be read counts as
        // holding nothing (and as not blank): the other copy holds the records.
        let mut newest = [[None::<Entry>; MAX_COMPONENTS]; COPIES];
        let mut readable = [true; COPIES];
        let mut any = false;
        for (i, copy) in cat.copies.iter().enumerate() {
            let Some(found) = newest.get_mut(i) else {
                continue;
            };
            match scan_copy(flash, copy, ids, found).await {
                Ok((end, gen, some)) => {
                    if let Some(e) = cat.ends.get_mut(i) {
                        *e = end;
                    }
                    cat.gen = cat.gen.max(gen);
                    any |= some;
                }
                Err(_) => {
                    *found = [None; MAX_COMPONENTS];
                    if let Some(r) = readable.get_mut(i) {
                        *r = false;
                    }
                }
            }
        }
        if !readable.iter().any(|&r| r) {
            // No copy could be read at all: a storage failure, not a corrupt catalog.
            return Err(StateError::Flash);
        }
        if !any {
            for ((copy, ok), b) in cat.copies.iter().zip(readable).zip(cat.blank.iter_mut()) {
                *b = ok
                    && slots::is_blank(flash, copy.base, copy.len)
                        .await
                        .unwrap_or(false);
            }
            cat.health = if cat.blank.iter().any(|&b| b) {
                Health::Fresh
            } else {
                Health::Corrupt
            };
            return Ok(cat);
        }
        for id in ids.iter() {
            let c = usize::from(id);
            let a = newest[0].get(c).copied().flatten();
            let b = newest[1].get(c).copied().flatten();
            let win = match (a, b) {
                (Some(x), Some(y)) if y.gen > x.gen => Some(y),
                (Some(x), _) => Some(x),
                (None, y) => y,
            };
            if let (Some(slot), Some(w)) = (cat.current.get_mut(c), win) {
                *slot = Some(w);
                for (i, n) in [a, b].iter().enumerate() {
                    if n.is_some_and(|e| e == w) {
                        if let Some(h) = cat.held.get_mut(i) {
                            *h = h.with(id);
                        }
                    }
                }
            }
        }
        cat.health = if cat.held.iter().all(|h| *h == cat.present()) {
            Health::Ok
        } else {
            Health::Degraded
        };
        Ok(cat)
    }

    /// Components that have a current entry.
    fn present(&self) -> Members {
        self.ids
            .iter()
            .filter(|&c| self.record(c).is_some())
            .fold(Members::NONE, Members::with)
    }

    /// How the catalog was found (and, after writes, whether both copies hold every entry).
    pub fn health(&self) -> Health {
        self.health
    }

    /// The current record of `c`, if one was ever written.
    pub fn record(&self, c: ComponentId) -> Option<ComponentRecord> {
        self.current
            .get(usize::from(c))
            .copied()
            .flatten()
            .map(|e| e.record)
    }

    /// The generation of `c`'s current record (0 if none).
    pub fn generation(&self, c: ComponentId) -> u32 {
        self.current
            .get(usize::from(c))
            .copied()
            .flatten()
            .map_or(0, |e| e.gen)
    }

    /// The generation the next entry will have: unique over the catalog's life, so it also
    /// serves as a download's identity.
    pub fn next_generation(&self) -> u32 {
        self.gen.wrapping_add(1)
    }

    /// Bring a copy that lacks current entries up to date (after a cut between the copies, or a
    /// fault at rest). Returns whether anything was written.
    pub async fn repair<F: NorFlash>(&mut self, flash: &mut F) -> Result<bool, StateError> {
        if self.health != Health::Degraded {
            return Ok(false);
        }
        let mut done = true;
        for i in 0..COPIES {
            done &= self.complete(flash, i).await.unwrap_or(false);
        }
        if done {
            self.health = Health::Ok;
        }
        Ok(true)
    }

    /// Store `record` as component `c`'s record in both copies. Succeeds if at least one copy
    /// took it. Refused on a corrupt catalog.
    pub async fn put<F: NorFlash>(
        &mut self,
        flash: &mut F,
        c: ComponentId,
        record: &ComponentRecord,
    ) -> Result<(), StateError> {
        if self.health == Health::Corrupt {
            return Err(StateError::Corrupt);
        }
        if !self.ids.contains(c) {
            return Err(StateError::Layout);
        }
        let entry = Entry {
            gen: self.gen.wrapping_add(1),
            id: c,
            record: *record,
        };
        let order = if self.second_first() { [1, 0] } else { [0, 1] };
        let mut took = [false; COPIES];
        let mut error = StateError::WriteFailed;
        for i in order {
            // A copy that cannot take the entry (it fails to read, write or erase) is completed
            // later; the write stands as soon as one copy holds it.
            let ok = match self.complete(flash, i).await {
                Ok(true) => self.append(flash, i, &entry).await,
                other => other,
            };
            let ok = ok.unwrap_or_else(|e| {
                error = e;
                false
            });
            if let Some(t) = took.get_mut(i) {
                *t = ok;
            }
        }
        if !took.iter().any(|&t| t) {
            return Err(error);
        }
        self.gen = entry.gen;
        if let Some(slot) = self.current.get_mut(usize::from(c)) {
            *slot = Some(entry);
        }
        for (h, t) in self.held.iter_mut().zip(took) {
            *h = if t { h.with(c) } else { h.without(c) };
        }
        self.health = if took.iter().all(|&t| t) && self.held.iter().all(|h| *h == self.present()) {
            Health::Ok
        } else {
            Health::Degraded
        };
        Ok(())
    }

    /// Write the current entries copy `i` lacks. `Ok(false)` if the copy cannot take them.
    async fn complete<F: NorFlash>(&mut self, flash: &mut F, i: usize) -> Result<bool, StateError> {
        let held = self.held.get(i).copied().unwrap_or(Members::NONE);
        for c in self.present().iter() {
            if held.contains(c) {
                continue;
            }
            let Some(e) = self.current.get(usize::from(c)).copied().flatten() else {
                continue;
            };
            if !self.append(flash, i, &e).await? {
                return Ok(false);
            }
            if let Some(h) = self.held.get_mut(i) {
                *h = h.with(c);
            }
        }
        Ok(true)
    }

    /// Append `entry` to copy `i`, compacting the copy (every current entry but `entry.id`'s,
    /// then `entry`) when it is full.
    async fn append<F: NorFlash>(
        &mut self,
        flash: &mut F,
        i: usize,
        entry: &Entry,
    ) -> Result<bool, StateError> {
        let copy = *self.copies.get(i).ok_or(StateError::Layout)?;
        let w = self.write as usize;
        let (frame, len) = slots::encode(entry, w)?;
        let frame = frame.get(..len).ok_or(StateError::Layout)?;
        let end = self.ends.get(i).copied().unwrap_or(0);
        if let Some(s) = slots::append(flash, &copy, end, frame).await? {
            if let Some(e) = self.ends.get_mut(i) {
                *e = s + 1;
            }
            return Ok(true);
        }
        // Compaction: the other entries first, the new one last.
        let mut first = true;
        let mut next = 0u32;
        let others = self.present().without(entry.id);
        for e in others
            .iter()
            .filter_map(|c| self.current.get(usize::from(c)).copied().flatten())
            .chain(core::iter::once(*entry))
        {
            let (f, n) = slots::encode(&e, w)?;
            let f = f.get(..n).ok_or(StateError::Layout)?;
            let placed = if first {
                first = false;
                if slots::rewrite(flash, &copy, f).await? {
                    Some(0)
                } else {
                    None
                }
            } else {
                slots::append(flash, &copy, next, f).await?
            };
            match placed {
                Some(s) => next = s + 1,
                None => return Ok(false),
            }
        }
        if let Some(e) = self.ends.get_mut(i) {
            *e = next;
        }
        if let Some(h) = self.held.get_mut(i) {
            *h = others;
        }
        Ok(true)
    }

    /// Whether a write touches copy 1 before copy 0. A copy missing a current entry goes
    /// first, so that a copy that holds them all is never erased while it is the only one; on
    /// a fresh catalog the copy that is not blank goes first (a cut while writing it leaves
    /// the blank one blank).
    fn second_first(&self) -> bool {
        let [b0, b1] = self.blank;
        if self.health == Health::Fresh {
            b0 && !b1
        } else {
            self.held[0] == self.present() && self.held[1] != self.present()
        }
    }

    /// Erase both copies: every component reads as never written (READY). For the explicit
    /// recovery of a corrupt catalog.
    pub async fn format<F: NorFlash>(&mut self, flash: &mut F) -> Result<(), StateError> {
        // The copy worth less goes first, so a cut leaves the other as it was: on a fresh
        // catalog the one that is not blank (the blank one keeps it fresh), otherwise the one
        // that lacks a current entry (the other keeps every record).
        let order = if self.second_first() { [1, 0] } else { [0, 1] };
        for i in order {
            let copy = self.copies.get(i).ok_or(StateError::Layout)?;
            let r = copy.range();
            flash
                .erase(r.start, r.end)
                .await
                .map_err(|_| StateError::Flash)?;
        }
        self.current = [None; MAX_COMPONENTS];
        self.held = [Members::NONE; COPIES];
        self.ends = [0; COPIES];
        self.blank = [true; COPIES];
        self.health = Health::Fresh;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::slots::MAX_FRAME;

    #[test]
    fn entries_round_trip_and_refuse_bad_ids() {
        let e = Entry {
            gen: 5,
            id: 3,
            record: ComponentRecord::default(),
        };
        let mut buf = [0u8; MAX_FRAME];
        let n = e.encode_into(&mut buf).unwrap();
        assert_eq!(Entry::decode_from(&buf[..n]), Ok(e));
        let bad = Entry { id: 8, ..e };
        let n = bad.encode_into(&mut buf).unwrap();
        assert!(Entry::decode_from(&buf[..n]).is_err());
    }
}
