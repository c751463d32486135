//! Power-cut injection: configuration, models and the deterministic random source.
//!
//! The harness configures a cut through the **control block**, the last 4 KiB sector of the
//! flash file ([`CONTROL_BLOCK_OFFSET`](crate::map::CONTROL_BLOCK_OFFSET), outside every layout
//! region and outside the flash driver's capacity). Little-endian:
//!
//! | offset | field | meaning |
//! |---|---|---|
//! | 0x00 | `b"FWUCUT01"` | magic; anything else (an erased sector) means no cut |
//! | 0x08 | `at: u32` | the write/erase operation (1-based, numbered from the QEMU cold start across warm resets) to cut at; 0 = never |
//! | 0x0c | `model: u32` | 0 `Skip`, 1 `TornPrefix`, 2 `TornBits`, 3 `Garbage`, 4 `After` |
//! | 0x10 | `seed: u32` | seed of the torn bytes/bits |
//!
//! When operation `at` starts, the flash driver applies the model's partial effect, prints
//! `fwu-cut: op=<at> kind=<write|erase> offset=0x.. model=<Model>` on the console and exits
//! QEMU with [`EXIT_POWER_CUT`](crate::semihost::EXIT_POWER_CUT) (77). The harness then clears
//! the control block (or moves `at`) and restarts QEMU on the same file. The models are those
//! of the host simulator (`fwu-sim`'s `CutModel`).

/// Magic at the start of the control block.
pub const CONTROL_MAGIC: [u8; 8] = *b"FWUCUT01";

/// What a cut operation leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutModel {
    /// The operation does not happen at all.
    Skip,
    /// A write programs only a random prefix of its bytes; an erase erases only a random
    /// prefix of the sector, the rest keeps its old content.
    TornPrefix,
    /// A write programs a random subset of the bits it should clear; an erase leaves each
    /// byte of the sector erased, old or random.
    TornBits,
    /// An erase leaves the sector with random content (a write behaves like `TornBits`).
    Garbage,
    /// The operation completes, then power is cut.
    After,
}

impl CutModel {
    /// The model with wire code `code`.
    pub const fn from_code(code: u32) -> Option<CutModel> {
        match code {
            0 => Some(CutModel::Skip),
            1 => Some(CutModel::TornPrefix),
            2 => Some(CutModel::TornBits),
            3 => Some(CutModel::Garbage),
            4 => Some(CutModel::After),
            _ => None,
        }
    }

    /// The model's name (as printed and as accepted by `scripts/flashimg.py`).
    pub const fn name(self) -> &'static str {
        match self {
            CutModel::Skip => "Skip",
            CutModel::TornPrefix => "TornPrefix",
            CutModel::TornBits => "TornBits",
            CutModel::Garbage => "Garbage",
            CutModel::After => "After",
        }
    }
}

/// A configured power cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CutConfig {
    /// Operation number (1-based) at which power is cut.
    pub at: u32,
    /// What the cut operation leaves behind.
    pub model: CutModel,
    /// Seed of the random part of the model.
    pub seed: u32,
}

fn le32(block: &[u8], at: usize) -> Option<u32> {
    let bytes = block.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

impl CutConfig {
    /// Decode a control block; `None` when it configures no cut.
    pub fn parse(block: &[u8]) -> Option<CutConfig> {
        if block.get(..8)? != CONTROL_MAGIC {
            return None;
        }
        let at = le32(block, 8)?;
        let model = CutModel::from_code(le32(block, 12)?)?;
        let seed = le32(block, 16)?;
        (at != 0).then_some(CutConfig { at, model, seed })
    }

    /// Read the control block at absolute address `addr`.
    ///
    /// # Safety
    /// `addr` must be readable memory of at least 20 bytes (the mapped flash window).
    pub unsafe fn read(addr: usize) -> Option<CutConfig> {
        let mut block = [0u8; 20];
        for (i, b) in block.iter_mut().enumerate() {
            // SAFETY: within the 20 readable bytes promised by the caller.
            *b = unsafe { core::ptr::read_volatile((addr + i) as *const u8) };
        }
        CutConfig::parse(&block)
    }
}

/// xorshift32: the deterministic random source of torn operations.
#[derive(Clone, Copy, Debug)]
pub struct Rng(u32);

impl Rng {
    /// A generator for cut `at` with `seed` (never the all-zero state).
    pub fn new(seed: u32, at: u32) -> Rng {
        let s = seed ^ at.wrapping_mul(0x9e37_79b9) ^ 0xa5a5_5a5a;
        Rng(if s == 0 { 0x1234_5678 } else { s })
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            self.next_u32() % n
        }
    }
}
