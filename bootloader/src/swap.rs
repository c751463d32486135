//! The swap engine: moves sectors between a component's primary and secondary slots in the
//! offset scheme of `docs/on-flash-contract.md`, one erase per sector per slot, recording a
//! progress record after every step so that a cut anywhere resumes where it stopped.

use crate::BootError;
use embedded_storage_async::nor_flash::NorFlash;
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{Direction, StateStore, SwapProgress, TxnRecord};
use fwu_shared::ComponentId;

/// Bytes moved per read/program during a sector copy.
pub const COPY_CHUNK: usize = 256;

/// Where a swap stopped when the flash failed: member and steps completed for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// Member being swapped.
    pub member: ComponentId,
    /// Steps of that member that completed.
    pub steps: u16,
}

/// Source and destination addresses of step `step` of a swap of `n` sectors.
///
/// Install pair `k`: `S[k] <- P[k]`, then `P[k] <- S[k+1]`.
/// Revert pair `j` (sector `k = n-1-j`, mirror order): `S[k+1] <- P[k]`, then `P[k] <- S[k]`.
pub fn step_addresses(
    slots: &ComponentSlots,
    sector: u32,
    dir: Direction,
    n: u16,
    step: u16,
) -> (u32, u32) {
    let pair = u32::from(step / 2);
    let second = step % 2 == 1;
    let p = |k: u32| slots.primary + k * sector;
    let s = |k: u32| slots.secondary + k * sector;
    match (dir, second) {
        (Direction::Install, false) => (p(pair), s(pair)),
        (Direction::Install, true) => (s(pair + 1), p(pair)),
        (Direction::Revert, false) => {
            let k = u32::from(n) - 1 - pair;
            (p(k), s(k + 1))
        }
        (Direction::Revert, true) => {
            let k = u32::from(n) - 1 - pair;
            (s(k), p(k))
        }
    }
}

/// Erase the sector at `dst` and copy the sector at `src` into it. Chunks that read as erased
/// are not programmed (the erased value is read back from the freshly erased sector).
pub async fn copy_sector<F: NorFlash>(
    flash: &mut F,
    src: u32,
    dst: u32,
    sector: u32,
) -> Result<(), F::Error> {
    flash.erase(dst, dst + sector).await?;
    let mut erased = [0u8; 1];
    flash.read(dst, &mut erased).await?;
    let mut buf = [0u8; COPY_CHUNK];
    let chunk = (COPY_CHUNK as u32).min(sector);
    let mut off = 0;
    while off < sector {
        let data = buf.get_mut(..chunk as usize).unwrap_or(&mut []);
        flash.read(src + off, data).await?;
        if data.iter().any(|&b| b != erased[0]) {
            flash.write(dst + off, data).await?;
        }
        off += chunk;
    }
    Ok(())
}

/// Run (or resume) the swap of every member of `txn` in direction `dir`, members in
/// increasing id order, each over `txn.sectors_of(member)` sectors.
pub async fn run<F: NorFlash>(
    store: &mut StateStore<'_, F>,
    layout: &Layout<'_>,
    txn: &TxnRecord,
    dir: Direction,
) -> Result<(), SwapError> {
    let resume = store
        .progress()
        .await
        .map_err(|_| SwapError::State)?
        .filter(|p| p.seq == txn.seq && p.direction == dir);
    for member in txn.members.iter() {
        let slots = layout.component(member).ok_or(SwapError::Layout)?;
        let n = txn.sectors_of(member);
        let total = n.saturating_mul(2);
        let done = match resume {
            Some(p) if p.member == member => p.steps.min(total),
            Some(p) if p.member > member => total,
            _ => 0,
        };
        for step in done..total {
            let (src, dst) = step_addresses(slots, layout.sector_size, dir, n, step);
            copy_sector(store.flash(), src, dst, layout.sector_size)
                .await
                .map_err(|_| {
                    SwapError::Flash(Stopped {
                        member,
                        steps: step,
                    })
                })?;
            let progress = SwapProgress {
                seq: txn.seq,
                direction: dir,
                member,
                steps: step + 1,
            };
            store.set_progress(&progress).await.map_err(|_| {
                SwapError::Flash(Stopped {
                    member,
                    steps: step + 1,
                })
            })?;
        }
    }
    Ok(())
}

/// Why a swap did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapError {
    /// The flash failed during a step (or while recording it).
    Flash(Stopped),
    /// The progress record could not be read.
    State,
    /// A member is not in the layout.
    Layout,
}

impl From<SwapError> for BootError {
    fn from(e: SwapError) -> Self {
        match e {
            SwapError::Flash(_) => BootError::Flash,
            SwapError::State => BootError::State,
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
    }
}
