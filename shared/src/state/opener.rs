//! Reading the boot log without doing I/O: the [`Opener`] says which bytes it needs next and
//! decides from what it is fed, so the bootloader drives it with blocking reads
//! ([`BootLog::open_blocking`]) and the update service with async ones ([`BootLog::open`]) from
//! one implementation (the same pattern as the image scanner).
//!
//! The reads, in order: the first word of every slot of each copy (where each copy ends); the
//! record frames of each copy from its end down to the first valid one (the second copy's frame
//! is compared with the first's before decoding it); then either the flag words after the
//! winning record and, during a swap, its progress words from the end of the area; or, when no
//! copy holds a record, whether a copy is blank and, if none is, every frame for the highest
//! counters any of them shows.

use super::boot::{direction, kind_of, BootLog, Health, KIND_FLAG, MAX_COPIES};
use super::records::BootRecord;
use super::slots::{pattern, word_matches, StateError, ERASED};
use crate::record::Record;

/// Bytes of a boot record frame.
pub const FRAME: usize = BootRecord::ENCODED_LEN;
/// Bytes read at once from a progress area or while blank-checking.
const CHUNK: u32 = 64;
/// The largest read the opener asks for: a record frame, or at most this many bytes of flag
/// words (read in two parts at the largest write sizes).
pub const MAX_NEED: usize = 128;

/// A read the opener needs: `len` bytes at `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    /// Address.
    pub addr: u32,
    /// Bytes (at most [`MAX_NEED`]).
    pub len: usize,
}

/// Where the opener is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Reading the first word of `slot` of `copy`.
    Head { copy: usize, slot: u32 },
    /// Reading the frame in `slot` of `copy` (scanning down from the copy's end).
    Frame { copy: usize, slot: u32 },
    /// Checking whether `copy` is blank, at byte `off`.
    Blank { copy: usize, off: u32 },
    /// Reading every frame for the highest counters (nothing valid anywhere).
    Salvage { copy: usize, slot: u32 },
    /// Reading the flag words `from..` after the winning record in `copy`.
    Flags { copy: usize, from: u32 },
    /// Reading words `lo..hi` of the current swap's progress area in `copy`.
    Progress { copy: usize, lo: u32, hi: u32 },
    /// Finished.
    Done,
}

/// The sans-IO reader of the boot log.
#[derive(Debug)]
pub struct Opener<'l> {
    /// The log being read; `log.stored` holds the first copy's newest record once found and
    /// `log.ends` where each copy ends.
    log: &'l mut BootLog,
    stage: Stage,
    /// Slot of each copy's newest valid record.
    slot: [Option<u32>; MAX_COPIES],
    /// The second copy's newest record, when its frame differs from the first copy's.
    second: BootRecord,
    /// The first copy's newest frame, to recognise the same frame in the second copy.
    first: [u8; FRAME],
    /// The second copy's newest frame is the first copy's, byte for byte.
    same: bool,
    /// Flags read in each copy (they are written to both: a difference is a write one copy
    /// lost, repaired by rewriting the state).
    copy_flags: [u8; MAX_COPIES],
    /// Copies whose marks (flags, swap steps) are read: those holding the winning record and
    /// readable. A copy that lacks a flag stays one: it is no holder for the repair, but the
    /// swap steps it holds were written after every flag of the swap and still count.
    marks: [bool; MAX_COPIES],
}

/// Whether `a` and `b` hold the same bytes (word-wise: this runs at every boot).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.chunks(4)
            .zip(b.chunks(4))
            .all(|(x, y)| match (x.try_into(), y.try_into()) {
                (Ok(x), Ok(y)) => u32::from_ne_bytes(x) == u32::from_ne_bytes(y),
                _ => x == y,
            })
}

impl<'l> Opener<'l> {
    /// An opener that reads into `log`, a fresh [`BootLog::empty`] of the layout.
    pub fn new(log: &'l mut BootLog) -> Self {
        Opener {
            log,
            stage: Stage::Head { copy: 0, slot: 0 },
            slot: [None; MAX_COPIES],
            second: BootRecord::default(),
            first: [0; FRAME],
            same: false,
            copy_flags: [0; MAX_COPIES],
            marks: [false; MAX_COPIES],
        }
    }

    fn word(&self) -> u32 {
        self.log.geo.write
    }

    /// The next read, or `None` when the log is read.
    pub fn need(&self) -> Option<Need> {
        let geo = &self.log.geo;
        let copy = |i: usize| geo.boot.get(i).copied();
        let w = self.word();
        let (addr, len) = match self.stage {
            Stage::Head { copy: i, slot } => (copy(i)?.slot(slot), w.max(4)),
            Stage::Frame { copy: i, slot } | Stage::Salvage { copy: i, slot } => {
                (copy(i)?.slot(slot), FRAME as u32)
            }
            Stage::Blank { copy: i, off } => {
                let c = copy(i)?;
                (c.base + off, CHUNK.min(c.len - off))
            }
            Stage::Flags { copy: i, from } => {
                let slot = self.slot.get(i).copied().flatten()?;
                let last = self.flags_to_check().last()?;
                let words = (last + 1 - from).min(MAX_NEED as u32 / w);
                (
                    copy(i)?.slot(slot) + geo.boot_slot.flags + from * w,
                    words * w,
                )
            }
            Stage::Progress { copy: i, lo, hi } => {
                let slot = self.slot.get(i).copied().flatten()?;
                let dir = direction(self.log.state_without_progress().phase)?;
                (self.log.area(i, slot, dir).ok()? + lo * w, (hi - lo) * w)
            }
            Stage::Done => return None,
        };
        Some(Need {
            addr,
            len: len as usize,
        })
    }

    /// Take the bytes of the read [`Opener::need`] asked for.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let slots = |s: &Self, i: usize| s.log.geo.boot.get(i).map_or(0, |c| c.slots);
        self.stage = match self.stage {
            Stage::Head { copy, slot } => {
                if bytes.iter().any(|&b| b != ERASED) {
                    if let Some(e) = self.log.ends.get_mut(copy) {
                        *e = slot + 1;
                    }
                }
                if slot + 1 < slots(self, copy) {
                    Stage::Head {
                        copy,
                        slot: slot + 1,
                    }
                } else {
                    self.after_heads(copy)
                }
            }
            Stage::Frame { copy, slot } => {
                let valid = if copy == 0 {
                    match BootRecord::decode_from(bytes) {
                        Ok(r) if self.log.fits(&r) => {
                            self.log.stored = r;
                            if let Some(dst) = self.first.get_mut(..bytes.len()) {
                                dst.copy_from_slice(bytes);
                            }
                            true
                        }
                        _ => false,
                    }
                } else if self.slot[0].is_some() && same_bytes(bytes, &self.first) {
                    self.same = true;
                    true
                } else {
                    match BootRecord::decode_from(bytes) {
                        Ok(r) if self.log.fits(&r) => {
                            self.second = r;
                            true
                        }
                        _ => false,
                    }
                };
                if valid {
                    if let Some(s) = self.slot.get_mut(copy) {
                        *s = Some(slot);
                    }
                    self.next_copy(copy)
                } else if slot > 0 {
                    Stage::Frame {
                        copy,
                        slot: slot - 1,
                    }
                } else {
                    self.next_copy(copy)
                }
            }
            Stage::Blank { copy, off } => {
                let len = self.log.geo.boot.get(copy).map_or(0, |c| c.len);
                let off = off + bytes.len() as u32;
                if bytes.iter().any(|&b| b != ERASED) {
                    if copy + 1 < MAX_COPIES {
                        Stage::Blank {
                            copy: copy + 1,
                            off: 0,
                        }
                    } else {
                        self.log.health = Health::Corrupt;
                        Stage::Salvage { copy: 0, slot: 0 }
                    }
                } else if off < len {
                    Stage::Blank { copy, off }
                } else {
                    // A copy that was never written (or erased on purpose) beside one holding no
                    // valid record: a new device whose first write was cut.
                    if let Some(b) = self.log.blank.get_mut(copy) {
                        *b = true;
                    }
                    self.log.health = Health::Fresh;
                    Stage::Done
                }
            }
            Stage::Salvage { copy, slot } => {
                if let Ok(r) = BootRecord::decode_from(bytes) {
                    for (m, c) in self.log.stored.counters.iter_mut().zip(r.counters) {
                        *m = (*m).max(c);
                    }
                }
                if slot + 1 < slots(self, copy) {
                    Stage::Salvage {
                        copy,
                        slot: slot + 1,
                    }
                } else if copy + 1 < MAX_COPIES {
                    Stage::Salvage {
                        copy: copy + 1,
                        slot: 0,
                    }
                } else {
                    Stage::Done
                }
            }
            Stage::Flags { copy, from } => {
                let gen = self.log.stored.gen;
                let w = self.word() as usize;
                let words = (bytes.len() / w) as u32;
                for f in self.flags_to_check() {
                    let f = u32::from(f);
                    if (from..from + words).contains(&f)
                        && word_matches(bytes, (f - from) as usize, w, pattern(gen, KIND_FLAG, f))
                    {
                        self.log.flags |= 1 << f;
                        if let Some(c) = self.copy_flags.get_mut(copy) {
                            *c |= 1 << f;
                        }
                    }
                }
                let last = self.flags_to_check().last().unwrap_or(0);
                if from + words <= last {
                    Stage::Flags {
                        copy,
                        from: from + words,
                    }
                } else {
                    match self.holder_after(copy) {
                        Some(next) => Stage::Flags {
                            copy: next,
                            from: self.flags_to_check().first(),
                        },
                        None => self.flags_read(),
                    }
                }
            }
            Stage::Progress { copy, lo, hi } => {
                let gen = self.log.stored.gen;
                let w = self.word() as usize;
                let dir = direction(self.log.state_without_progress().phase);
                let mut hit = false;
                if let Some(dir) = dir {
                    for j in (lo..hi).rev() {
                        let s = 2 * j + copy as u32;
                        if word_matches(bytes, (j - lo) as usize, w, pattern(gen, kind_of(dir), s))
                        {
                            self.log.done = self.log.done.max(s + 1);
                            hit = true;
                            break;
                        }
                    }
                }
                if !hit && lo > 0 {
                    let per = CHUNK / self.word();
                    Stage::Progress {
                        copy,
                        lo: lo.saturating_sub(per),
                        hi: lo,
                    }
                } else {
                    match self.holder_after(copy) {
                        Some(next) => self.progress_stage(next),
                        None => {
                            let total = self.log.state_without_progress().total_steps();
                            self.log.done = self.log.done.min(total);
                            Stage::Done
                        }
                    }
                }
            }
            Stage::Done => return Err(StateError::Layout),
        };
        Ok(())
    }

    /// The read [`Opener::need`] asked for failed (a flash read error): that copy is treated as
    /// unusable for the rest of the read — as if it held no valid record, or (if its record
    /// was already chosen) as if it lacked it — so one unreadable copy never stops the boot:
    /// the other copy holds the state, and with both unreadable the log is corrupt.
    pub fn unreadable(&mut self) {
        self.stage = match self.stage {
            Stage::Head { copy, .. } | Stage::Frame { copy, .. } => {
                if let Some(s) = self.slot.get_mut(copy) {
                    *s = None;
                }
                self.next_copy(copy)
            }
            Stage::Blank { copy, .. } => {
                if copy + 1 < MAX_COPIES {
                    Stage::Blank {
                        copy: copy + 1,
                        off: 0,
                    }
                } else {
                    self.log.health = Health::Corrupt;
                    Stage::Salvage { copy: 0, slot: 0 }
                }
            }
            Stage::Salvage { copy, slot } => {
                let slots = self.log.geo.boot.get(copy).map_or(0, |c| c.slots);
                if slot + 1 < slots {
                    Stage::Salvage {
                        copy,
                        slot: slot + 1,
                    }
                } else if copy + 1 < MAX_COPIES {
                    Stage::Salvage {
                        copy: copy + 1,
                        slot: 0,
                    }
                } else {
                    Stage::Done
                }
            }
            Stage::Flags { copy, .. } | Stage::Progress { copy, .. } => {
                // The copy's marks cannot be read: its flags and steps come from the other
                // copy (flags are in both; a lost step is redone), and it is rewritten.
                if let Some(a) = self.log.at.get_mut(copy) {
                    *a = None;
                }
                if let Some(m) = self.marks.get_mut(copy) {
                    *m = false;
                }
                self.log.health = Health::Degraded;
                match (self.stage, self.holder_after(copy)) {
                    (Stage::Flags { .. }, Some(next)) => Stage::Flags {
                        copy: next,
                        from: self.flags_to_check().first(),
                    },
                    (Stage::Flags { .. }, None) => self.flags_read(),
                    (_, Some(next)) => self.progress_stage(next),
                    (_, None) => {
                        let total = self.log.state_without_progress().total_steps();
                        self.log.done = self.log.done.min(total);
                        Stage::Done
                    }
                }
            }
            Stage::Done => Stage::Done,
        };
    }

    /// Whether the log is read (once [`Opener::need`] returns `None`).
    pub fn finished(&self) -> bool {
        self.stage == Stage::Done
    }

    /// After the heads of `copy`: scan its frames from its end, or go on.
    fn after_heads(&mut self, copy: usize) -> Stage {
        match self.log.ends.get(copy).copied().unwrap_or(0) {
            0 => self.next_copy(copy),
            end => Stage::Frame {
                copy,
                slot: end - 1,
            },
        }
    }

    /// After `copy` is scanned: the next copy's heads, or the decision.
    fn next_copy(&mut self, copy: usize) -> Stage {
        if copy + 1 < MAX_COPIES {
            return Stage::Head {
                copy: copy + 1,
                slot: 0,
            };
        }
        self.decide()
    }

    /// Both copies scanned: choose the newest record and what else to read.
    fn decide(&mut self) -> Stage {
        let [a, b] = self.slot;
        let same = self.same;
        let second = &self.second;
        let log = &mut self.log;
        let b_rec = if same { &log.stored } else { second };
        let mut counters = [0u32; super::records::MAX_COMPONENTS];
        if a.is_some() {
            counters = log.stored.counters;
        }
        if b.is_some() {
            for (m, c) in counters.iter_mut().zip(b_rec.counters) {
                *m = (*m).max(c);
            }
        }
        let (at, health, take_second) = match (a, b) {
            (None, None) => return Stage::Blank { copy: 0, off: 0 },
            (Some(sa), Some(sb)) if same => ([Some(sa), Some(sb)], Health::Ok, false),
            (Some(sa), Some(sb)) if log.stored.gen == b_rec.gen => {
                ([Some(sa), Some(sb)], Health::Degraded, false)
            }
            (Some(sa), None) => ([Some(sa), None], Health::Degraded, false),
            (Some(sa), Some(_)) if log.stored.gen > b_rec.gen => {
                ([Some(sa), None], Health::Degraded, false)
            }
            (_, Some(sb)) => ([None, Some(sb)], Health::Degraded, true),
        };
        if take_second {
            log.stored = *second;
        }
        log.stored.counters = counters;
        log.at = at;
        self.marks = at.map(|s| s.is_some());
        log.health = health;
        log.done = if log.stored.phase.swapping() {
            log.stored.done
        } else {
            0
        };
        match self.holder_after_start() {
            Some(first) if !self.flags_to_check().is_empty() => Stage::Flags {
                copy: first,
                from: self.flags_to_check().first(),
            },
            _ => self.start_progress(),
        }
    }

    /// The flags that can change the stored record's phase: the chain after it.
    fn flags_to_check(&self) -> FlagSet {
        FlagSet::after(self.log.stored.phase)
    }

    /// The first copy whose marks are read.
    fn holder_after_start(&self) -> Option<usize> {
        (0..MAX_COPIES).find(|&i| self.marks.get(i).copied().unwrap_or(false))
    }

    /// The next copy after `copy` whose marks are read.
    fn holder_after(&self, copy: usize) -> Option<usize> {
        (copy + 1..MAX_COPIES).find(|&i| self.marks.get(i).copied().unwrap_or(false))
    }

    /// Every holder's flags read: copies that hold the record but not the same flags lost a
    /// flag write (a cut between the copies), so the state is rewritten in both; then the
    /// progress.
    fn flags_read(&mut self) -> Stage {
        let [a, b] = self.log.at;
        let [fa, fb] = self.copy_flags;
        if a.is_some() && b.is_some() && fa != fb {
            self.log.health = Health::Degraded;
            // The copy that lacks a flag does not hold the current state: the repair must
            // write (and, when full, erase) that copy first, never the only one holding the
            // flag. (Flags differing both ways can only be forged: both stay holders.)
            let all = self.log.flags;
            let lacking = match (fa == all, fb == all) {
                (true, false) => Some(1),
                (false, true) => Some(0),
                _ => None,
            };
            if let Some(at) = lacking.and_then(|i| self.log.at.get_mut(i)) {
                *at = None;
            }
        }
        self.start_progress()
    }

    /// Flags read: read the progress of the current swap, if one is under way.
    fn start_progress(&mut self) -> Stage {
        let eff = self.log.state_without_progress();
        if direction(eff.phase).is_none() {
            self.log.done = 0;
            return Stage::Done;
        }
        if eff.phase != self.log.stored.phase {
            // The swap started with a flag after this record: its steps start at 0.
            self.log.done = 0;
        }
        match self.holder_after_start() {
            Some(first) => self.progress_stage(first),
            None => Stage::Done,
        }
    }

    /// The last chunk of `copy`'s progress area (steps `copy`, `copy + 2`, ... at index
    /// `step / 2`).
    fn progress_stage(&self, copy: usize) -> Stage {
        let total = self.log.state_without_progress().total_steps();
        let count = (total + 1).saturating_sub(copy as u32) / 2;
        if count == 0 {
            return match self.holder_after(copy) {
                Some(next) => self.progress_stage(next),
                None => Stage::Done,
            };
        }
        let per = CHUNK / self.word();
        Stage::Progress {
            copy,
            lo: count.saturating_sub(per),
            hi: count,
        }
    }
}

/// A small set of flag indices.
#[derive(Clone, Copy, Debug)]
struct FlagSet(u8);

impl FlagSet {
    /// The flags that can follow a record in `phase` (see [`super::boot::fold`]).
    fn after(phase: super::records::Phase) -> FlagSet {
        use super::boot::Flag as F;
        use super::records::Phase as P;
        let bits = |fs: &[F]| fs.iter().fold(0u8, |m, f| m | 1 << *f as u8);
        FlagSet(match phase {
            P::Idle => 0,
            P::Staged | P::Installing | P::Trial => bits(&[
                F::Installing,
                F::Trial,
                F::Booted,
                F::Revert,
                F::RevertInvalid,
                F::Reverted,
                F::Settled,
            ]),
            P::Rejected => bits(&[F::Revert, F::Reverted, F::Settled]),
            P::Reverting | P::Restoring => bits(&[F::Reverted, F::Settled]),
            P::Failed | P::Updated => bits(&[F::Settled]),
        })
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest flag index in the set (0 if empty).
    fn first(self) -> u32 {
        if self.0 == 0 {
            0
        } else {
            self.0.trailing_zeros()
        }
    }

    /// The highest flag index in the set.
    fn last(self) -> Option<u32> {
        (self.0 != 0).then(|| 7 - self.0.leading_zeros())
    }
}

impl Iterator for FlagSet {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if self.0 == 0 {
            return None;
        }
        let f = self.0.trailing_zeros() as u8;
        self.0 &= !(1 << f);
        Some(f)
    }
}

const _: () = assert!(FRAME <= MAX_NEED && CHUNK as usize <= MAX_NEED);
