//! The boot log over a blocking flash (`embedded_storage::nor_flash::NorFlash`): the
//! bootloader's reader and writer. The decisions are [`BootLog`]'s own (its [`Opener`], its
//! commit plan, its flag and step words); this module only does their I/O, as the async
//! methods of [`BootLog`] do for the update service. The I/O primitives are the blocking twins
//! of those in [`slots`](super::slots), with the same checks: a slot or word is programmed only
//! when it reads erased, and read back after.

use super::boot::{BootLog, Flag, Placed};
use super::geometry::CopyRegion;
use super::opener::{Opener, MAX_NEED};
use super::records::{BootRecord, Direction};
use super::slots::{word_matches, StateError, ERASED, MAX_FRAME, MAX_WORD};
use crate::image::read::read_blocking;
use crate::layout::Layout;
use embedded_storage::nor_flash::NorFlash;

impl BootLog {
    /// Read the boot log of `layout` from a blocking flash: the same decisions as
    /// [`BootLog::open`] without an async runtime.
    pub fn open_blocking<F: NorFlash>(
        flash: &mut F,
        layout: &Layout<'_>,
    ) -> Result<Self, StateError> {
        let w = u32::try_from(F::WRITE_SIZE).map_err(|_| StateError::Layout)?;
        let mut log = BootLog::empty(layout, w)?;
        log.read_blocking(flash)?;
        Ok(log)
    }

    /// Read the boot log into this [`BootLog::empty`] one, in place (the bootloader's way: a
    /// boot log is a few hundred bytes, and every move of it is a copy).
    pub fn read_blocking<F: NorFlash>(&mut self, flash: &mut F) -> Result<(), StateError> {
        let mut opener = Opener::new(self);
        let mut buf = [0u8; MAX_NEED];
        let mut any_read = false;
        while let Some(need) = opener.need() {
            let bytes = buf.get_mut(..need.len).ok_or(StateError::Layout)?;
            match read_blocking(flash, need.addr, bytes) {
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
        Ok(())
    }

    /// [`BootLog::commit`] on a blocking flash.
    pub fn commit_blocking<F: NorFlash>(
        &mut self,
        flash: &mut F,
        record: &BootRecord,
    ) -> Result<(), StateError> {
        let plan = self.plan_commit(record)?;
        let mut placed = Placed::new();
        for i in plan.order {
            let (copy, end) = plan.target(i)?;
            placed.note(i, place(flash, &copy, end, plan.frame()?));
        }
        self.committed(&plan, placed)
    }

    /// [`BootLog::repair`] on a blocking flash.
    pub fn repair_blocking<F: NorFlash>(&mut self, flash: &mut F) -> Result<bool, StateError> {
        if self.health() != super::boot::Health::Degraded {
            return Ok(false);
        }
        let current = self.state();
        self.commit_blocking(flash, &current)?;
        Ok(true)
    }

    /// [`BootLog::set_flag`] on a blocking flash.
    pub fn set_flag_blocking<F: NorFlash>(
        &mut self,
        flash: &mut F,
        flag: Flag,
    ) -> Result<(), StateError> {
        let mut took = false;
        if let Some(words) = self.flag_words(flag)? {
            took = true;
            for (addr, p) in words {
                if !put_word(flash, addr, p)? {
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
        self.commit_blocking(flash, &next)
    }

    /// [`BootLog::step_done`] on a blocking flash.
    pub fn step_done_blocking<F: NorFlash>(
        &mut self,
        flash: &mut F,
        dir: Direction,
        step: u32,
    ) -> Result<(), StateError> {
        let written = match self.step_word(dir, step)? {
            Some((addr, p)) => put_word(flash, addr, p)?,
            None => false,
        };
        if written {
            self.step_set(step);
            return Ok(());
        }
        let next = self.with_step(step);
        self.commit_blocking(flash, &next)
    }
}

/// Read `out.len()` bytes at `addr`.
fn read<F: NorFlash>(flash: &mut F, addr: u32, out: &mut [u8]) -> Result<(), StateError> {
    read_blocking(flash, addr, out).map_err(|_| StateError::Flash)
}

/// Whether the `len` bytes at `addr` read fully erased.
fn is_blank<F: NorFlash>(flash: &mut F, addr: u32, len: u32) -> Result<bool, StateError> {
    let mut buf = [0u8; 64];
    let mut off = 0;
    while off < len {
        let n = (len - off).min(buf.len() as u32);
        let chunk = buf.get_mut(..n as usize).ok_or(StateError::Flash)?;
        read(flash, addr + off, chunk)?;
        if chunk.iter().any(|&b| b != ERASED) {
            return Ok(false);
        }
        off += n;
    }
    Ok(true)
}

/// Program pattern `p` at the word `addr` if that word reads erased, then read it back
/// (`slots::put_word`'s twin): `Ok(false)` if the word was not erased, could not be read, or
/// did not take the pattern.
fn put_word<F: NorFlash>(flash: &mut F, addr: u32, p: u32) -> Result<bool, StateError> {
    let w = F::WRITE_SIZE.clamp(1, MAX_WORD);
    if !matches!(is_blank(flash, addr, w as u32), Ok(true)) {
        return Ok(false);
    }
    let word = super::slots::word_of(p, w);
    let bytes = word.get(..w).ok_or(StateError::Flash)?;
    if flash.write(addr, bytes).is_err() {
        return Ok(false);
    }
    let mut back = [0u8; MAX_WORD];
    let got = back.get_mut(..w).ok_or(StateError::Flash)?;
    Ok(read(flash, addr, got).is_ok() && word_matches(got, 0, w, p))
}

/// Program `frame` at `addr` and read it back.
fn write_verified<F: NorFlash>(flash: &mut F, addr: u32, frame: &[u8]) -> Result<bool, StateError> {
    if flash.write(addr, frame).is_err() {
        return Ok(false);
    }
    let mut back = [0u8; MAX_FRAME];
    let got = back.get_mut(..frame.len()).ok_or(StateError::Layout)?;
    // A read-back that fails proves nothing: the caller writes the frame elsewhere.
    Ok(read(flash, addr, got).is_ok() && got == frame)
}

/// Put `frame` into the first blank slot of `copy` from `end` that takes it, or erase the copy
/// and write it into the first slot when none does (`boot::place`'s twin): the slot used, or
/// `None` if the copy cannot take it.
fn place<F: NorFlash>(
    flash: &mut F,
    copy: &CopyRegion,
    end: u32,
    frame: &[u8],
) -> Result<Option<u32>, StateError> {
    for i in end..copy.slots {
        let at = copy.slot(i);
        if is_blank(flash, at, copy.slot_len)? && write_verified(flash, at, frame)? {
            return Ok(Some(i));
        }
    }
    let r = copy.range();
    if flash.erase(r.start, r.end).is_err() {
        return Ok(None);
    }
    Ok(write_verified(flash, copy.slot(0), frame)?.then_some(0))
}
