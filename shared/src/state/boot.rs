//! The boot log: the redundant store of the [`BootRecord`], read and written by the bootloader
//! and the update service (`docs/on-flash-contract.md`, "The boot log").
//!
//! Two copies, each a row of fixed slots. A commit writes the new record (generation + 1) into
//! the next blank slot of one copy, reads it back, then does the same in the other copy; a copy
//! with no slot left is erased and rewritten from its first slot (the other copy holds the state
//! meanwhile). The newest valid record across both copies wins, so a flipped bit, a torn write,
//! an erased or a garbage copy each leave the other copy's record in charge, and the next writer
//! repairs the bad copy.
//!
//! The bootloader's frequent, small steps are single words after the record in its slot, so an
//! install costs a few words besides its swap progress:
//!
//! * **flags** ([`Flag`]), written to both copies: `Installing`, `Trial`, `Booted`, the start of
//!   a revert, its end, and the service's `Settled`. Each moves the record's phase on (see
//!   [`fold`]).
//! * **swap steps**: step `s` done is one word in copy `s % 2`, at index `s / 2` of the slot's
//!   install or revert area. Losing either copy loses at most the last step, whose source is
//!   still intact (the next step has not started), so redoing it is safe.
//!
//! Every word is a [`pattern`] of the record's generation, the word's kind and its index: a
//! flipped bit, a torn write or garbage never reads as a mark. A word that cannot be written
//! (not erased, or not reading back) makes the writer commit the same state as a full record
//! in fresh slots instead.

use super::geometry::{CopyRegion, StateGeometry};
use super::opener::{Opener, MAX_NEED};
use super::records::{
    BootRecord, Direction, Members, Phase, ERROR_ACTIVE_INVALID, ERROR_TRIAL_NOT_ACCEPTED,
    MAX_COMPONENTS,
};
use super::slots::{self, pattern, StateError};
use crate::layout::Layout;
use crate::ComponentId;
use embedded_storage_async::nor_flash::NorFlash;

/// A one-word mark after a boot record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Flag {
    /// `Staged` → `Installing`: every member verified, the swap starts.
    Installing = 0,
    /// `Installing` → `Trial`: the swap finished.
    Trial = 1,
    /// `Trial`: the bootloader handed over to the trial images once.
    Booted = 2,
    /// `Trial` → `Reverting` with [`ERROR_TRIAL_NOT_ACCEPTED`], or `Rejected` → `Reverting`
    /// (keeping the reject error): the backups verified, the revert starts.
    Revert = 3,
    /// `Trial` → `Reverting` with [`ERROR_ACTIVE_INVALID`].
    RevertInvalid = 4,
    /// `Reverting` (or `Restoring`) → `Failed`: the revert finished.
    Reverted = 5,
    /// `Failed` / `Updated` → `Idle`: the service folded the outcome into the catalog.
    Settled = 6,
}

/// Word kind of the flags in [`pattern`].
pub(super) const KIND_FLAG: u8 = 0xf0;
/// Word kind of a direction's swap steps in [`pattern`].
pub(super) const fn kind_of(dir: Direction) -> u8 {
    match dir {
        Direction::Install => 0x11,
        Direction::Revert => 0x12,
        Direction::Restore => 0x13,
    }
}

/// The record `stored` with the flags `flags` applied: the phase the device is in.
pub fn fold(stored: &BootRecord, flags: u8) -> BootRecord {
    let has = |f: Flag| flags & (1 << f as u8) != 0;
    let mut r = *stored;
    if r.phase == Phase::Staged && has(Flag::Installing) {
        r.phase = Phase::Installing;
        r.done = 0;
    }
    if r.phase == Phase::Installing && has(Flag::Trial) {
        r.phase = Phase::Trial;
        r.done = 0;
    }
    if r.phase == Phase::Trial && has(Flag::Booted) {
        r.trial_booted = true;
    }
    let revert = match r.phase {
        Phase::Trial if has(Flag::Revert) => Some(ERROR_TRIAL_NOT_ACCEPTED),
        Phase::Trial if has(Flag::RevertInvalid) => Some(ERROR_ACTIVE_INVALID),
        Phase::Rejected if has(Flag::Revert) => Some(r.error),
        _ => None,
    };
    if let Some(error) = revert {
        r.phase = Phase::Reverting;
        r.error = error;
        r.trial_booted = false;
        r.done = 0;
    }
    if matches!(r.phase, Phase::Reverting | Phase::Restoring) && has(Flag::Reverted) {
        r.phase = Phase::Failed;
        r.done = 0;
    }
    if matches!(r.phase, Phase::Failed | Phase::Updated) && has(Flag::Settled) {
        r = r.settled();
    }
    r
}

/// How the boot log was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Both copies hold the current record.
    Ok,
    /// One copy lacks the current record (a cut between the copies, or a fault at rest): the
    /// state is intact and the next write repairs the copy ([`BootLog::repair`]).
    Degraded,
    /// No record anywhere and at least one copy blank: a new device (or a state partition
    /// erased on purpose), possibly with its first write cut.
    Fresh,
    /// Neither copy holds a valid record and they are not blank: nothing can be trusted. The
    /// counters are the highest any readable record shows.
    Corrupt,
}

/// The boot log of a layout, as found at open and kept up to date by the writes through it.
#[derive(Clone, Debug)]
pub struct BootLog {
    pub(super) geo: StateGeometry,
    /// Configured components and their slot sizes, for validating records.
    pub(super) ids: Members,
    pub(super) slot_sectors: [u16; MAX_COMPONENTS],
    /// The newest record (highest generation), as stored.
    pub(super) stored: BootRecord,
    /// Flags set after it (in either copy).
    pub(super) flags: u8,
    /// Swap steps done, decoded from the progress words (and `stored.done`).
    pub(super) done: u32,
    /// Slot of `stored` in each copy, if the copy holds it.
    pub(super) at: [Option<u32>; MAX_COPIES],
    /// Next append position of each copy.
    pub(super) ends: [u32; MAX_COPIES],
    /// Which copies were found blank (only known for a log read as `Fresh`).
    pub(super) blank: [bool; MAX_COPIES],
    pub(super) health: Health,
}

/// Copies of the boot log.
pub(super) const MAX_COPIES: usize = 2;

impl BootLog {
    /// A log of `layout` on a flash with `write`-byte words with nothing read yet (what an
    /// [`Opener`] reads into).
    pub fn empty(layout: &Layout<'_>, write: u32) -> Result<Self, StateError> {
        let geo = StateGeometry::new(layout, write).map_err(|_| StateError::Layout)?;
        Ok(BootLog::of_checked(layout, geo))
    }

    /// [`BootLog::empty`] for a layout whose state partition is carved already (a
    /// [`CheckedLayout`](crate::layout::CheckedLayout)'s `geo`).
    pub fn of_checked(layout: &Layout<'_>, geo: StateGeometry) -> Self {
        let mut ids = Members::NONE;
        let mut slot_sectors = [0u16; MAX_COMPONENTS];
        for c in layout.components {
            ids = ids.with(c.id);
            if let Some(s) = slot_sectors.get_mut(usize::from(c.id)) {
                *s = c.sectors;
            }
        }
        BootLog {
            geo,
            ids,
            slot_sectors,
            stored: BootRecord::default(),
            flags: 0,
            done: 0,
            at: [None; MAX_COPIES],
            ends: [0; MAX_COPIES],
            blank: [false; MAX_COPIES],
            health: Health::Ok,
        }
    }

    /// Forget whatever a failed read left in this log, when none of its copies could be read
    /// (a flash that fails there, every time): [`Health::Corrupt`] with no record, so that a
    /// boot acts on nothing and checks the active images against the floors it has elsewhere
    /// (the counter backend), as for a corrupt log.
    pub fn make_unreadable(&mut self) {
        self.stored = BootRecord::default();
        self.flags = 0;
        self.done = 0;
        self.at = [None; MAX_COPIES];
        self.ends = [0; MAX_COPIES];
        self.blank = [false; MAX_COPIES];
        self.health = Health::Corrupt;
    }

    /// Read the boot log of `layout` from an async flash (nothing is written: see
    /// [`BootLog::repair`]).
    pub async fn open<F: NorFlash>(flash: &mut F, layout: &Layout<'_>) -> Result<Self, StateError> {
        let w = u32::try_from(F::WRITE_SIZE).map_err(|_| StateError::Layout)?;
        let mut log = BootLog::empty(layout, w)?;
        let mut opener = Opener::new(&mut log);
        let mut buf = [0u8; MAX_NEED];
        let mut any_read = false;
        while let Some(need) = opener.need() {
            let bytes = buf.get_mut(..need.len).ok_or(StateError::Layout)?;
            match slots::read(flash, need.addr, bytes).await {
                Ok(()) => {
                    any_read = true;
                    opener.feed(bytes)?
                }
                Err(_) => opener.unreadable(),
            }
        }
        // Not one read succeeded: the flash failed, which says nothing about the log.
        if !opener.finished() || !any_read {
            return Err(StateError::Flash);
        }
        Ok(log)
    }

    /// Whether a decoded record fits this layout: members and backups are configured
    /// components, no member's sector count exceeds its slot (a member of an abandoned install
    /// that moved nothing has none).
    pub(super) fn fits(&self, r: &BootRecord) -> bool {
        r.members.is_subset(self.ids)
            && r.backups.is_subset(self.ids)
            && r.members.iter().all(|c| {
                r.sectors_of(c) <= self.slot_sectors.get(usize::from(c)).copied().unwrap_or(0)
            })
    }

    fn copy(&self, i: usize) -> Result<CopyRegion, StateError> {
        self.geo.boot.get(i).copied().ok_or(StateError::Layout)
    }

    fn word(&self) -> u32 {
        self.geo.write
    }

    /// The stored record with its flags applied (swap progress not included).
    pub(super) fn state_without_progress(&self) -> BootRecord {
        fold(&self.stored, self.flags)
    }

    /// Address of the `dir` progress area of `slot` in copy `copy`.
    pub(super) fn area(&self, copy: usize, slot: u32, dir: Direction) -> Result<u32, StateError> {
        let off = match dir {
            Direction::Install => self.geo.boot_slot.install,
            Direction::Revert | Direction::Restore => self.geo.boot_slot.revert,
        };
        Ok(self.copy(copy)?.slot(slot) + off)
    }

    /// The current state: the newest record with its flags and swap progress applied.
    #[inline(never)]
    pub fn state(&self) -> BootRecord {
        let mut r = fold(&self.stored, self.flags);
        if r.phase.swapping() {
            r.done = self.done;
        }
        r
    }

    /// How the log was found (and, after writes, whether both copies hold the state).
    pub fn health(&self) -> Health {
        self.health
    }

    /// The stored security counter floor of `c`: the highest of both copies.
    pub fn counter(&self, c: ComponentId) -> u32 {
        self.stored
            .counters
            .get(usize::from(c))
            .copied()
            .unwrap_or(0)
    }

    /// The state partition carving this log belongs to.
    pub fn geometry(&self) -> &StateGeometry {
        &self.geo
    }

    /// Commit `record` as the new state (its generation is set here). Writes first the copy
    /// that lacks the current state, so a copy that holds it is only erased once the other holds
    /// the new one. Succeeds if at least one copy took it ([`Health::Degraded`] if only one).
    /// Refused on a corrupt log (see [`BootLog::format`]).
    pub async fn commit<F: NorFlash>(
        &mut self,
        flash: &mut F,
        record: &BootRecord,
    ) -> Result<(), StateError> {
        let plan = self.plan_commit(record)?;
        let mut placed = Placed::new();
        for i in plan.order {
            // A copy that cannot take the record (it fails to read, write or erase) is left to a
            // later repair; the commit stands as soon as one copy holds the record.
            let (copy, end) = plan.target(i)?;
            placed.note(i, place(flash, &copy, end, plan.frame()?).await);
        }
        self.committed(&plan, placed)
    }

    /// The checks and the encoding of a commit of `record`, and the order of the copies.
    pub(super) fn plan_commit(&self, record: &BootRecord) -> Result<CommitPlan, StateError> {
        if self.health == Health::Corrupt {
            return Err(StateError::Corrupt);
        }
        let mut rec = *record;
        rec.gen = self.stored.gen.wrapping_add(1);
        for (m, c) in rec.counters.iter_mut().zip(self.stored.counters) {
            // Counters never go down, whatever the caller passes.
            *m = (*m).max(c);
        }
        if !rec.is_consistent() || !self.fits(&rec) {
            return Err(StateError::Layout);
        }
        let (frame, len) = slots::encode(&rec, self.word() as usize)?;
        Ok(CommitPlan {
            rec,
            frame,
            len,
            order: self.write_order(false),
            copies: self.geo.boot,
            ends: self.ends,
        })
    }

    /// Take the outcome of a commit's writes into the log.
    pub(super) fn committed(
        &mut self,
        plan: &CommitPlan,
        placed: Placed,
    ) -> Result<(), StateError> {
        let at = placed.at;
        if at.iter().all(Option::is_none) {
            return Err(placed.error);
        }
        for (end, slot) in self.ends.iter_mut().zip(at) {
            if let Some(s) = slot {
                *end = s + 1;
            }
        }
        self.stored = plan.rec;
        self.flags = 0;
        self.done = plan.rec.done;
        self.at = at;
        self.health = if at.iter().all(Option::is_some) {
            Health::Ok
        } else {
            Health::Degraded
        };
        Ok(())
    }

    /// Which copy a write takes first. A copy is only erased (rewritten for lack of room, or
    /// by `erasing` both as [`BootLog::format`] does) once the other holds the new record, when
    /// that can be arranged: a copy with room goes first (unless both are erased anyway); else
    /// the copy that lacks the current state (erasing it loses nothing); on a fresh log, the
    /// copy that is not blank (a cut while writing it leaves the blank one blank).
    fn write_order(&self, erasing: bool) -> [usize; MAX_COPIES] {
        let room = |i: usize| {
            let slots = self.geo.boot.get(i).map_or(0, |c| c.slots);
            self.ends.get(i).copied().unwrap_or(slots) < slots
        };
        let holds = |i: usize| self.at.get(i).copied().flatten().is_some();
        let blank = |i: usize| self.blank.get(i).copied().unwrap_or(false);
        let second_first = if self.health == Health::Fresh {
            blank(0) && !blank(1)
        } else if !erasing && room(0) != room(1) {
            room(1)
        } else {
            holds(0) && !holds(1)
        };
        if second_first {
            [1, 0]
        } else {
            [0, 1]
        }
    }

    /// Rewrite the current state as a new record if a copy lacks it (after a cut between the
    /// copies, or a fault at rest). Returns whether anything was written.
    pub async fn repair<F: NorFlash>(&mut self, flash: &mut F) -> Result<bool, StateError> {
        if self.health != Health::Degraded {
            return Ok(false);
        }
        let current = self.state();
        self.commit(flash, &current).await?;
        Ok(true)
    }

    /// Set `flag` after the current record, in both copies; if either copy cannot take the
    /// word, commit the resulting state as a full record instead.
    pub async fn set_flag<F: NorFlash>(
        &mut self,
        flash: &mut F,
        flag: Flag,
    ) -> Result<(), StateError> {
        let mut took = false;
        if let Some(words) = self.flag_words(flag)? {
            took = true;
            for (addr, p) in words {
                if !slots::put_word(flash, addr, p).await? {
                    took = false;
                    break;
                }
            }
        }
        if took {
            self.flag_set(flag);
            return Ok(());
        }
        let next = self.with_flag(flag);
        self.commit(flash, &next).await
    }

    /// The words that record `flag` (address and pattern in each copy), or `None` when the log
    /// is not [`Health::Ok`]: the flag is then committed as a full record.
    pub(super) fn flag_words(
        &self,
        flag: Flag,
    ) -> Result<Option<[(u32, u32); MAX_COPIES]>, StateError> {
        if self.health != Health::Ok {
            return Ok(None);
        }
        let f = u32::from(flag as u8);
        let mut words = [(0, 0); MAX_COPIES];
        for (i, w) in words.iter_mut().enumerate() {
            let Some(slot) = self.at.get(i).copied().flatten() else {
                return Ok(None);
            };
            let addr = self.copy(i)?.slot(slot) + self.geo.boot_slot.flags + f * self.word();
            *w = (addr, pattern(self.stored.gen, KIND_FLAG, f));
        }
        Ok(Some(words))
    }

    /// `flag`'s words took: the log in RAM follows.
    pub(super) fn flag_set(&mut self, flag: Flag) {
        let flags = self.flags | (1 << flag as u8);
        let before = fold(&self.stored, self.flags).phase;
        self.flags = flags;
        let after = fold(&self.stored, flags).phase;
        if after != before && after.swapping() {
            // The flag started a swap: its steps start at 0.
            self.done = 0;
        }
    }

    /// The state with `flag` set, to commit as a full record when its words cannot be written.
    pub(super) fn with_flag(&self, flag: Flag) -> BootRecord {
        let flags = self.flags | (1 << flag as u8);
        let mut next = fold(&self.stored, flags);
        if next.phase.swapping() && next.phase == fold(&self.stored, self.flags).phase {
            next.done = self.done;
        }
        next
    }

    /// Record that swap step `step` of the current swap (direction `dir`) is done: one word in
    /// copy `step % 2`, or a full record if that word cannot be written.
    pub async fn step_done<F: NorFlash>(
        &mut self,
        flash: &mut F,
        dir: Direction,
        step: u32,
    ) -> Result<(), StateError> {
        let written = match self.step_word(dir, step)? {
            Some((addr, p)) => slots::put_word(flash, addr, p).await?,
            None => false,
        };
        if written {
            self.step_set(step);
            return Ok(());
        }
        let next = self.with_step(step);
        self.commit(flash, &next).await
    }

    /// The word that records swap step `step` (address and pattern), or `None` when the log
    /// is not [`Health::Ok`] or the copy does not hold the record.
    pub(super) fn step_word(
        &self,
        dir: Direction,
        step: u32,
    ) -> Result<Option<(u32, u32)>, StateError> {
        let i = (step % 2) as usize;
        match self.at.get(i).copied().flatten() {
            Some(slot) if self.health == Health::Ok => {
                let addr = self.area(i, slot, dir)? + step / 2 * self.word();
                Ok(Some((addr, pattern(self.stored.gen, kind_of(dir), step))))
            }
            _ => Ok(None),
        }
    }

    /// Swap step `step`'s word took: the log in RAM follows.
    pub(super) fn step_set(&mut self, step: u32) {
        self.done = self.done.max(step + 1);
    }

    /// The state with swap step `step` done, to commit as a full record when its word cannot
    /// be written.
    pub(super) fn with_step(&self, step: u32) -> BootRecord {
        let mut next = self.state();
        next.done = step + 1;
        next
    }

    /// Erase both copies and write `record` as the first state: for a fresh device (the caller
    /// may also just [`commit`](BootLog::commit)) and for the explicit recovery of a corrupt
    /// log. Counters are the highest of `record` and of everything readable before.
    pub async fn format<F: NorFlash>(
        &mut self,
        flash: &mut F,
        record: &BootRecord,
    ) -> Result<(), StateError> {
        let mut rec = *record;
        rec.gen = self.stored.gen.wrapping_add(1);
        for (m, c) in rec.counters.iter_mut().zip(self.stored.counters) {
            *m = (*m).max(c);
        }
        if !rec.is_consistent() || !self.fits(&rec) {
            return Err(StateError::Layout);
        }
        let (frame, len) = slots::encode(&rec, self.word() as usize)?;
        let frame = frame.get(..len).ok_or(StateError::Layout)?;
        // Copy by copy (erase, then write), the copy that lacks the state first: a cut leaves
        // the other copy as it was, so the state and the counters salvaged so far are never
        // lost.
        let order = self.write_order(true);
        let mut at = [None; MAX_COPIES];
        for i in order {
            let copy = self.copy(i)?;
            if slots::rewrite(flash, &copy, frame).await? {
                if let Some(a) = at.get_mut(i) {
                    *a = Some(0);
                }
            }
        }
        if at.iter().all(Option::is_none) {
            return Err(StateError::WriteFailed);
        }
        self.stored = rec;
        self.flags = 0;
        self.done = 0;
        let [a, b] = at;
        self.ends = [u32::from(a.is_some()), u32::from(b.is_some())];
        self.at = at;
        self.health = if at.iter().all(Option::is_some) {
            Health::Ok
        } else {
            Health::Degraded
        };
        Ok(())
    }
}

/// A commit ready to be written ([`BootLog::plan_commit`]): the new record, its frame, and the
/// copies in the order to write them.
#[derive(Clone, Debug)]
pub(super) struct CommitPlan {
    rec: BootRecord,
    frame: [u8; slots::MAX_FRAME],
    len: usize,
    /// The copies, in the order to write them.
    pub(super) order: [usize; MAX_COPIES],
    copies: [CopyRegion; MAX_COPIES],
    ends: [u32; MAX_COPIES],
}

impl CommitPlan {
    /// The frame to write.
    pub(super) fn frame(&self) -> Result<&[u8], StateError> {
        self.frame.get(..self.len).ok_or(StateError::Layout)
    }

    /// Copy `i` and where its next append starts.
    pub(super) fn target(&self, i: usize) -> Result<(CopyRegion, u32), StateError> {
        let copy = self.copies.get(i).copied().ok_or(StateError::Layout)?;
        Ok((copy, self.ends.get(i).copied().unwrap_or(0)))
    }
}

/// Where a commit's writes landed: the slot each copy took, and the last error.
#[derive(Clone, Copy, Debug)]
pub(super) struct Placed {
    at: [Option<u32>; MAX_COPIES],
    error: StateError,
}

impl Placed {
    pub(super) fn new() -> Self {
        Placed {
            at: [None; MAX_COPIES],
            error: StateError::WriteFailed,
        }
    }

    /// Copy `i`'s write: the slot it took, `None` if it took none, or the error.
    pub(super) fn note(&mut self, i: usize, r: Result<Option<u32>, StateError>) {
        match r {
            Ok(slot) => {
                if let Some(a) = self.at.get_mut(i) {
                    *a = slot;
                }
            }
            Err(e) => self.error = e,
        }
    }
}

/// Put `frame` into the next blank slot of `copy` from `end`, or rewrite the copy when no slot
/// is left: the slot used, or `None` if the copy cannot take it.
async fn place<F: NorFlash>(
    flash: &mut F,
    copy: &CopyRegion,
    end: u32,
    frame: &[u8],
) -> Result<Option<u32>, StateError> {
    if let Some(slot) = slots::append(flash, copy, end, frame).await? {
        return Ok(Some(slot));
    }
    Ok(slots::rewrite(flash, copy, frame).await?.then_some(0))
}

/// The swap direction of a phase, if it swaps.
pub const fn direction(phase: Phase) -> Option<Direction> {
    match phase {
        Phase::Installing => Some(Direction::Install),
        Phase::Reverting => Some(Direction::Revert),
        Phase::Restoring => Some(Direction::Restore),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_move_the_phase_in_order() {
        let staged = BootRecord {
            gen: 3,
            seq: 1,
            phase: Phase::Staged,
            members: Members(1),
            sectors: [4, 0, 0, 0, 0, 0, 0, 0],
            error: 0,
            ..BootRecord::default()
        };
        let bit = |f: Flag| 1u8 << f as u8;
        assert_eq!(fold(&staged, 0).phase, Phase::Staged);
        assert_eq!(
            fold(&staged, bit(Flag::Installing)).phase,
            Phase::Installing
        );
        // A later flag without the earlier ones moves nothing.
        assert_eq!(fold(&staged, bit(Flag::Trial)).phase, Phase::Staged);
        let trial = bit(Flag::Installing) | bit(Flag::Trial);
        assert_eq!(fold(&staged, trial).phase, Phase::Trial);
        assert!(!fold(&staged, trial).trial_booted);
        assert!(fold(&staged, trial | bit(Flag::Booted)).trial_booted);
        let rev = fold(&staged, trial | bit(Flag::Booted) | bit(Flag::Revert));
        assert_eq!(
            (rev.phase, rev.error),
            (Phase::Reverting, ERROR_TRIAL_NOT_ACCEPTED)
        );
        let inv = fold(&staged, trial | bit(Flag::RevertInvalid));
        assert_eq!(
            (inv.phase, inv.error),
            (Phase::Reverting, ERROR_ACTIVE_INVALID)
        );
        let failed = fold(&staged, trial | bit(Flag::Revert) | bit(Flag::Reverted));
        assert_eq!(failed.phase, Phase::Failed);
        let idle = fold(
            &staged,
            trial | bit(Flag::Revert) | bit(Flag::Reverted) | bit(Flag::Settled),
        );
        assert_eq!(
            (idle.phase, idle.members, idle.seq),
            (Phase::Idle, Members::NONE, 1)
        );
        let rejected = BootRecord {
            phase: Phase::Rejected,
            error: -7,
            ..staged
        };
        let r = fold(&rejected, bit(Flag::Revert));
        assert_eq!((r.phase, r.error), (Phase::Reverting, -7));
        // Settled applies only to finished transactions.
        assert_eq!(fold(&staged, bit(Flag::Settled)).phase, Phase::Staged);
    }
}
