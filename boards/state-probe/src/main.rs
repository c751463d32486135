//! Measures, on the target CPU, what the bootloader's state costs: the instructions of reading
//! the boot log at boot (`BootLog::open_blocking` + `state`), fresh, after 10, 100 and 1000
//! updates (flat: the read does not depend on the history), and in the middle of a swap; and,
//! by difference between the `size` and `baseline` features (no numbers printed), the code size
//! of the state reader/writer the bootloader links (open, commit, flags, swap steps, repair).
//!
//! The boot log lives in a RAM array with the QEMU boards' layout (4 KiB sectors, 4-byte
//! writes, components of 128 and 16 sectors, 8 state sectors). Time is SysTick at the core
//! clock: under `-icount shift=0` QEMU runs one instruction per virtual nanosecond, so the
//! probe converts cycles to instructions with the machine's core clock. Each figure is the mean
//! of [`REPEAT`] reads. Results go to semihosting; QEMU exits 0 when every step succeeded.
#![no_std]
#![no_main]

use core::cell::UnsafeCell;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use embedded_storage::nor_flash::{ErrorType, NorFlashError, NorFlashErrorKind};
use fwu_shared::layout::{ComponentSlots, Layout};

/// Erase sector of the probe's flash.
const SECTOR: usize = 4096;
/// Bytes of the RAM flash: the state partition of the QEMU layout.
const SIZE: usize = 8 * SECTOR;
/// Reads averaged per figure.
#[cfg(not(any(feature = "baseline", feature = "size")))]
const REPEAT: u32 = 64;

/// The QEMU boards' components (slot sizes only matter for the state geometry).
static SLOTS: [ComponentSlots; 2] = [
    ComponentSlots {
        id: 0,
        primary: 0x1_0000,
        secondary: 0x9_0000,
        sectors: 128,
    },
    ComponentSlots {
        id: 1,
        primary: 0x11_1000,
        secondary: 0x12_1000,
        sectors: 16,
    },
];

fn layout() -> Layout<'static> {
    Layout {
        sector_size: SECTOR as u32,
        components: &SLOTS,
        state: 0..SIZE as u32,
    }
}

/// A RAM array behaving as NOR flash (erase to 0xFF, programming clears bits).
struct RamFlash(UnsafeCell<[u8; SIZE]>);

// SAFETY: single core, no interrupts touch it; only `main` uses the one instance.
unsafe impl Sync for RamFlash {}

static CELLS: RamFlash = RamFlash(UnsafeCell::new([0xff; SIZE]));

/// The probe's handle on [`CELLS`].
struct Flash;

/// An access outside the array.
#[derive(Debug)]
struct OutOfBounds;

impl NorFlashError for OutOfBounds {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::OutOfBounds
    }
}

impl Flash {
    fn cells(&mut self) -> &mut [u8; SIZE] {
        // SAFETY: `Flash` is created once in `main`; this is the only reference at a time.
        unsafe { &mut *CELLS.0.get() }
    }
}

impl ErrorType for Flash {
    type Error = OutOfBounds;
}

impl embedded_storage::nor_flash::ReadNorFlash for Flash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
        let at = offset as usize;
        let src = self.cells().get(at..at + bytes.len()).ok_or(OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl embedded_storage::nor_flash::NorFlash for Flash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = SECTOR;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), OutOfBounds> {
        let dst = self
            .cells()
            .get_mut(from as usize..to as usize)
            .ok_or(OutOfBounds)?;
        dst.fill(0xff);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), OutOfBounds> {
        let at = offset as usize;
        let dst = self
            .cells()
            .get_mut(at..at + bytes.len())
            .ok_or(OutOfBounds)?;
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d &= *s;
        }
        Ok(())
    }
}

/// SysTick as a free-running down-counter at the core clock.
fn start_counter() {
    // SAFETY: the probe owns SysTick.
    let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(0x00ff_ffff);
    syst.clear_current();
    syst.enable_counter();
}

fn now() -> u32 {
    cortex_m::peripheral::SYST::get_current()
}

include!(concat!(env!("OUT_DIR"), "/clock.rs"));

/// Instructions for `cycles` core cycles under `-icount shift=0` (one instruction per ns).
fn instructions(cycles: u32) -> u64 {
    u64::from(cycles) * 1_000_000_000 / SYSCLK_HZ
}

#[cfg(not(any(feature = "baseline", feature = "size")))]
mod run {
    use super::*;
    use fwu_shared::state::{BootLog, BootRecord, Direction, Flag, Members, Phase};

    /// Mean instructions of one `BootLog::open_blocking` + `state()` (the bootloader's read);
    /// also checks the phase read.
    fn measure(flash: &mut Flash, want: Phase) -> Option<u64> {
        let start = now();
        for _ in 0..REPEAT {
            let read = BootLog::open_blocking(flash, &layout());
            match &read {
                Ok(log) if log.state().phase == want => {}
                _ => return None,
            }
        }
        let cycles = start.wrapping_sub(now()) & 0x00ff_ffff;
        Some(instructions(cycles) / u64::from(REPEAT))
    }

    fn staged(seq: u32) -> BootRecord {
        let mut sectors = [0u16; 8];
        sectors[0] = 16;
        BootRecord {
            seq,
            phase: Phase::Staged,
            members: Members(1),
            sectors,
            digest: [0x5a; 32],
            ..BootRecord::default()
        }
    }

    /// One update as the bootloader and the service write it: staged, installing, 32 steps,
    /// trial, booted, accepted, settled.
    fn update(flash: &mut Flash, seq: u32) -> Option<()> {
        let mut log = BootLog::open_blocking(flash, &layout()).ok()?;
        log.commit_blocking(flash, &staged(seq)).ok()?;
        log.set_flag_blocking(flash, Flag::Installing).ok()?;
        for s in 0..32 {
            log.step_done_blocking(flash, Direction::Install, s).ok()?;
        }
        log.set_flag_blocking(flash, Flag::Trial).ok()?;
        log.set_flag_blocking(flash, Flag::Booted).ok()?;
        let t = log.state();
        log.commit_blocking(
            flash,
            &BootRecord {
                phase: Phase::Updated,
                trial_booted: false,
                ..t
            },
        )
        .ok()?;
        log.set_flag_blocking(flash, Flag::Settled).ok()?;
        log.repair_blocking(flash).ok()?;
        Some(())
    }

    pub fn run() -> bool {
        let mut flash = Flash;
        let Ok(mut log) = BootLog::open_blocking(&mut flash, &layout()) else {
            return false;
        };
        if log
            .commit_blocking(&mut flash, &BootRecord::default())
            .is_err()
        {
            return false;
        }
        let Some(fresh) = measure(&mut flash, Phase::Idle) else {
            return false;
        };
        let mut history = [0u64; 3];
        let mut seq = 0;
        for (h, upto) in history.iter_mut().zip([10, 100, 1000]) {
            while seq < upto {
                seq += 1;
                if update(&mut flash, seq).is_none() {
                    return false;
                }
            }
            let Some(n) = measure(&mut flash, Phase::Idle) else {
                return false;
            };
            *h = n;
        }
        // In the middle of a swap: staged, installing, 15 of 32 steps.
        let Ok(mut log) = BootLog::open_blocking(&mut flash, &layout()) else {
            return false;
        };
        let ok = log.commit_blocking(&mut flash, &staged(seq + 1)).is_ok()
            && log.set_flag_blocking(&mut flash, Flag::Installing).is_ok()
            && (0..15).all(|s| {
                log.step_done_blocking(&mut flash, Direction::Install, s)
                    .is_ok()
            });
        if !ok {
            return false;
        }
        let Some(swap) = measure(&mut flash, Phase::Installing) else {
            return false;
        };
        hprintln!(
            "state-probe: open instructions fresh={} after_10_updates={} after_100_updates={} after_1000_updates={} mid_swap={}",
            fresh,
            history[0],
            history[1],
            history[2],
            swap
        );
        true
    }
}

/// Bytes hidden from the optimizer.
#[cfg(any(feature = "baseline", feature = "size"))]
fn opaque<T>(v: T) -> T {
    core::hint::black_box(v)
}

#[cfg(feature = "size")]
mod run {
    use super::*;
    use fwu_shared::state::{BootLog, BootRecord, Direction, Flag};

    /// What the bootloader does with its state, once each, on opaque inputs, no numbers
    /// printed (core::fmt would inflate the size): the state code it links.
    pub fn run() -> bool {
        let mut flash = Flash;
        let Ok(mut log) = BootLog::open_blocking(&mut flash, &layout()) else {
            return false;
        };
        let mut next = opaque(log.state());
        next.counters[0] = next.counters[0].max(log.counter(opaque(0)));
        let ok = log.repair_blocking(&mut flash).is_ok()
            && log.commit_blocking(&mut flash, &opaque(next)).is_ok()
            && log
                .set_flag_blocking(&mut flash, opaque(Flag::Installing))
                .is_ok()
            && log
                .step_done_blocking(&mut flash, opaque(Direction::Install), opaque(0))
                .is_ok();
        let _: BootRecord = opaque(log.state());
        let mut b = opaque([0u8; 64]);
        baseline_work(&mut flash, &mut b);
        let start = now();
        let _ = opaque(instructions(start.wrapping_sub(now())));
        ok
    }
}

#[cfg(feature = "baseline")]
mod run {
    use super::*;

    /// Baseline: the flash driver, the counter and the memory functions, without state code.
    pub fn run() -> bool {
        let mut flash = Flash;
        let mut b = opaque([0u8; 64]);
        baseline_work(&mut flash, &mut b);
        let start = now();
        let _ = opaque(instructions(start.wrapping_sub(now())));
        layout().components.len() == 2
    }
}

/// Work both size builds do: read the flash and move memory around (so the memory functions are
/// in both and cancel out).
#[cfg(any(feature = "baseline", feature = "size"))]
fn baseline_work(flash: &mut Flash, b: &mut [u8; 64]) {
    let cells = flash.cells();
    let n = opaque(b.len());
    b[..n].copy_from_slice(&cells[..n]);
    cells.copy_within(opaque(0)..opaque(32), opaque(8));
    b.fill(opaque(0x5a));
    let _ = opaque(b[..] == cells[..64]);
}

#[entry]
fn main() -> ! {
    start_counter();
    if run::run() {
        hprintln!("state-probe: PASS");
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("state-probe: FAIL");
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
