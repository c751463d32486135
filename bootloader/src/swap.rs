//! The swap engine: moves sectors between a component's primary and secondary slots in the
//! offset scheme of `docs/on-flash-contract.md`, one erase per sector per slot, recording every
//! step as one word of the boot log so that a cut anywhere resumes where it stopped.

use crate::BootError;
use embedded_storage::nor_flash::NorFlash;
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{BootLog, Direction, Members};
use fwu_shared::ComponentId;

/// Bytes moved per read/program during a sector copy.
pub const COPY_CHUNK: usize = 256;

/// Where a swap stopped when the flash failed: member and steps completed for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// Member being swapped.
    pub member: ComponentId,
    /// Steps of that member that completed.
    pub steps: u32,
}

/// Source and destination addresses of step `step` of a swap of `n` sectors.
///
/// Install pair `k`: `S[k] <- P[k]`, then `P[k] <- S[k+1]`.
/// Revert pair `j` (sector `k = n-1-j`, mirror order): `S[k+1] <- P[k]`, then `P[k] <- S[k]`.
/// Restore step `k` (after a failed install): `P[k] <- S[k]`.
pub fn step_addresses(
    slots: &ComponentSlots,
    sector: u32,
    dir: Direction,
    n: u16,
    step: u32,
) -> (u32, u32) {
    let pair = step / 2;
    let second = step % 2 == 1;
    let p = |k: u32| slots.primary + k * sector;
    let s = |k: u32| slots.secondary + k * sector;
    if dir == Direction::Restore {
        return (s(step), p(step));
    }
    match (dir, second) {
        (Direction::Install, false) => (p(pair), s(pair)),
        (Direction::Install, true) => (s(pair + 1), p(pair)),
        (Direction::Revert, false) => {
            let k = u32::from(n).saturating_sub(1 + pair);
            (p(k), s(k + 1))
        }
        (Direction::Revert, true) => {
            let k = u32::from(n).saturating_sub(1 + pair);
            (s(k), p(k))
        }
        (Direction::Restore, _) => (s(step), p(step)),
    }
}

/// Whether the sector at `addr` lies inside `slots`' primary or secondary slot.
fn inside(slots: &ComponentSlots, sector: u32, addr: u32) -> bool {
    let end = addr.saturating_add(sector);
    let p = slots.primary_range(sector);
    let s = slots.secondary_range(sector);
    (addr >= p.start && end <= p.end) || (addr >= s.start && end <= s.end)
}

/// Why a sector copy failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyError<E> {
    /// The flash reported an error.
    Flash(E),
    /// The destination does not read back as the source (a write that did not stick).
    Mismatch,
}

/// Erase the sector at `dst` and copy the sector at `src` into it, reading every chunk back:
/// the next step may destroy the source, so a copy is only done when the destination is known
/// to hold it. Chunks that read as erased are not programmed (the erased value is read back
/// from the freshly erased sector).
pub fn copy_sector<F: NorFlash>(
    flash: &mut F,
    src: u32,
    dst: u32,
    sector: u32,
) -> Result<(), CopyError<F::Error>> {
    flash.erase(dst, dst + sector).map_err(CopyError::Flash)?;
    let mut erased = [0u8; 1];
    flash.read(dst, &mut erased).map_err(CopyError::Flash)?;
    let mut buf = [0u8; COPY_CHUNK];
    let mut back = [0u8; COPY_CHUNK];
    let chunk = (COPY_CHUNK as u32).min(sector);
    let mut off = 0;
    while off < sector {
        let data = buf.get_mut(..chunk as usize).unwrap_or(&mut []);
        let readback = back.get_mut(..chunk as usize).unwrap_or(&mut []);
        flash.read(src + off, data).map_err(CopyError::Flash)?;
        if data.iter().any(|&b| b != erased[0]) {
            flash.write(dst + off, data).map_err(CopyError::Flash)?;
        }
        flash.read(dst + off, readback).map_err(CopyError::Flash)?;
        if readback != data {
            return Err(CopyError::Mismatch);
        }
        off += chunk;
    }
    Ok(())
}

/// Attempts per sector copy: a transient read or program error costs a retry, not the swap.
pub const COPY_ATTEMPTS: u32 = 3;

/// [`copy_sector`], tried up to [`COPY_ATTEMPTS`] times.
fn copy_retrying<F: NorFlash>(
    flash: &mut F,
    src: u32,
    dst: u32,
    sector: u32,
) -> Result<(), CopyError<F::Error>> {
    let mut last = copy_sector(flash, src, dst, sector);
    for _ in 1..COPY_ATTEMPTS {
        if last.is_ok() {
            break;
        }
        last = copy_sector(flash, src, dst, sector);
    }
    last
}

/// Run (or resume) the swap of every member of the current transaction in direction `dir`,
/// members in increasing id order, each over its recorded number of sectors, from the step the
/// boot log says is next.
///
/// Install and revert: a copy that fails (an error, or a destination that does not read back,
/// [`COPY_ATTEMPTS`] times) stops the swap with the member and the steps it completed. Restore
/// (`P[k] <- S[k]`, the secondary never written) goes on past a sector that cannot be copied:
/// its step is recorded as done and its member returned as damaged, so that one worn sector
/// costs that member's image and never the other members' restores.
pub fn run<F: NorFlash>(
    flash: &mut F,
    log: &mut BootLog,
    layout: &Layout<'_>,
    dir: Direction,
) -> Result<Members, SwapError> {
    let txn = log.state();
    let sector = layout.sector_size;
    let per = if dir == Direction::Restore { 1 } else { 2 };
    let mut global = 0u32;
    let mut damaged = Members::NONE;
    for member in txn.members.iter() {
        let slots = layout.component(member).ok_or(SwapError::Layout)?;
        let n = txn.sectors_of(member);
        if n > slots.sectors {
            return Err(SwapError::Layout);
        }
        for step in 0..per * u32::from(n) {
            if global >= txn.done {
                let (src, dst) = step_addresses(slots, sector, dir, n, step);
                // Whatever a record says, nothing outside this member's slots is touched.
                if !inside(slots, sector, src) || !inside(slots, sector, dst) {
                    return Err(SwapError::Layout);
                }
                let stopped = |steps| SwapError::Flash(Stopped { member, steps });
                if copy_retrying(flash, src, dst, sector).is_err() {
                    if dir != Direction::Restore {
                        return Err(stopped(step));
                    }
                    damaged = damaged.with(member);
                }
                log.step_done_blocking(flash, dir, global)
                    .map_err(|_| stopped(step + 1))?;
            }
            global += 1;
        }
    }
    Ok(damaged)
}

/// Why a swap did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapError {
    /// The flash failed during a step (or while recording it).
    Flash(Stopped),
    /// A member or its sector count does not fit the layout.
    Layout,
}

impl From<SwapError> for BootError {
    fn from(e: SwapError) -> Self {
        match e {
            SwapError::Flash(_) => BootError::Flash,
            SwapError::Layout => BootError::State,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_then_revert_addresses_are_mirrors() {
        let slots = ComponentSlots {
            id: 0,
            primary: 0x1000,
            secondary: 0x10000,
            sectors: 4,
        };
        let s = 0x100;
        let inst: Vec<_> = (0..6)
            .map(|i| step_addresses(&slots, s, Direction::Install, 3, i))
            .collect();
        assert_eq!(
            inst,
            vec![
                (0x1000, 0x10000),
                (0x10100, 0x1000),
                (0x1100, 0x10100),
                (0x10200, 0x1100),
                (0x1200, 0x10200),
                (0x10300, 0x1200)
            ]
        );
        let rev: Vec<_> = (0..6)
            .map(|i| step_addresses(&slots, s, Direction::Revert, 3, i))
            .collect();
        assert_eq!(
            rev,
            vec![
                (0x1200, 0x10300),
                (0x10200, 0x1200),
                (0x1100, 0x10200),
                (0x10100, 0x1100),
                (0x1000, 0x10100),
                (0x10000, 0x1000)
            ]
        );
        for (src, dst) in inst.iter().chain(&rev) {
            assert!(inside(&slots, s, *src) && inside(&slots, s, *dst));
        }
        assert!(!inside(&slots, s, 0x1400));
        assert!(!inside(&slots, s, 0x10500));
    }
}
