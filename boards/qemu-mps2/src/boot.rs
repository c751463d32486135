//! The bootloader binary's flow, shared by both boards (feature `bootloader`).
//!
//! Console lines (UART0), one `key=value` record per line:
//! ```text
//! fwu-boot: start board=mps2-an386 boot=1 cold=1 ops=0 cut=none
//! fwu-boot: report action=Installed members=0x01 error=0 trial=1 state=ok invalid=0x00 refused=none ops=153
//! fwu-boot: watchdog ms=2000
//! fwu-boot: jump vtor=0x21010200 sp=0x203fff00 pc=0x21010xxx stack=7516 boot_ns=123456789 core_ns=123000000
//! ```
//! `action` is one of `None`, `Installed`, `InstallRefused`, `Reverted`, `RevertRefused`,
//! `Recovered`, `Deferred`; `state` one of `ok`, `repaired`, `degraded`, `fresh`, `corrupt`;
//! `members` is the bitmask of the members concerned (for `Recovered`, the component), `error`
//! the PSA status recorded with it. `refused` is `none` or `<component>:<reason>`. When component
//! 0 may not run: `fwu-boot: halt reason=...` and QEMU exits with
//! [`EXIT_REFUSED`](crate::semihost::EXIT_REFUSED). A `BootError` prints `fwu-boot: error=...`
//! and resets (the next boot resumes); after three in a row QEMU exits with
//! [`EXIT_BOOT_ERROR`](crate::semihost::EXIT_BOOT_ERROR); more than [`MAX_BOOTS_PER_SESSION`]
//! boots in one QEMU process exit with [`EXIT_RESET_LOOP`](crate::semihost::EXIT_RESET_LOOP).
//! `stack` is the peak stack of the boot core ([`Bootloader::boot`]: the code the production
//! bootloader runs, without this console's formatting) in bytes, measured by painting (the
//! only other RAM is a 4-byte SysTick wrap counter);
//! `boot_ns` the virtual time from reset to the jump (SysTick at the core clock): under
//! `-icount shift=0` it is the number of instructions the boot executed, this binary's
//! console and stack painting included; `core_ns` the same for [`Bootloader::boot`] alone,
//! the part the production bootloader shares (it adds only the vector-table check and the
//! jump).

use crate::console::Uart;
use crate::flash::EmulatedFlash;
use crate::identity::IDENTITY;
use crate::jump::{check_vector_table, jump_to_image};
use crate::map::{MemoryMap, APP_HEADER_SIZE, APP_SLOTS, CHECKED_LAYOUT, SECTOR_SIZE};
use crate::semihost::{exit, EXIT_BAD_VECTORS, EXIT_BOOT_ERROR, EXIT_REFUSED, EXIT_RESET_LOOP};
use crate::session::Session;
use crate::watchdog::Watchdog;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use fwu_bootloader::{BootAction, BootConfig, BootReport, Bootloader, StateReport};
use fwu_shared::image::{KeyRing, PublicKey};
use fwu_shared::state::StoredCounters;

/// How long a trial image may run without feeding the watchdog before the machine resets.
pub const TRIAL_WATCHDOG_MS: u32 = 2000;

/// Consecutive failing boots after which the bootloader gives up.
pub const MAX_FAILED_BOOTS: u32 = 3;

/// Boots in one power session (one QEMU process) after which the bootloader assumes a reset
/// loop and stops QEMU, so a harness never waits for its timeout.
pub const MAX_BOOTS_PER_SESSION: u32 = 64;

/// SysTick wraps since the bootloader started (see [`on_systick`]).
static SYSTICK_WRAPS: AtomicU32 = AtomicU32::new(0);
const SYSTICK_RELOAD: u32 = 0x00ff_ffff;

/// Count a SysTick wrap: the bootloader binary's `SysTick` exception handler calls this.
pub fn on_systick() {
    SYSTICK_WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Start SysTick as a free-running core-clock counter (wrap interrupt on).
fn start_cycle_counter() {
    // SAFETY: the bootloader owns SysTick; `jump_to_image` stops it again.
    let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSTICK_RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Core clock cycles since [`start_cycle_counter`]. Under `-icount shift=0` QEMU runs one
/// instruction per virtual nanosecond, so `cycles * 1e9 / sysclk_hz` is the number of
/// instructions executed.
fn cycles() -> u64 {
    let current = SYST::get_current();
    let wraps = SYSTICK_WRAPS.load(Ordering::Relaxed);
    u64::from(wraps) * (u64::from(SYSTICK_RELOAD) + 1) + u64::from(SYSTICK_RELOAD - current)
}

/// Bytes at the top of RAM watched for the peak stack use (painted at start-up).
pub const STACK_WATCH: usize = 64 * 1024;
const PAINT: u32 = 0xdead_57ac;

/// Paint the unused stack below the current stack pointer (within [`STACK_WATCH`] of the top
/// of RAM); returns the lowest painted address.
fn paint_stack(map: &MemoryMap) -> usize {
    let ram = map.ram();
    let low = ram.end.saturating_sub(STACK_WATCH).max(ram.start);
    let sp = cortex_m::register::msp::read() as usize;
    let mut at = low;
    while at + 4 <= sp.saturating_sub(64) {
        // SAFETY: unused stack below the live frames (64 bytes of margin), inside RAM.
        unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
    low
}

/// Peak stack use since [`paint_stack`]: from the top of RAM to the lowest overwritten word.
fn stack_used(map: &MemoryMap, low: usize) -> usize {
    let end = map.ram().end;
    let mut at = low;
    // SAFETY: reads of RAM between the painted floor and the top of RAM.
    while at < end && unsafe { core::ptr::read_volatile(at as *const u32) } == PAINT {
        at += 4;
    }
    end - at
}

/// Print `report` as one `fwu-boot: report ...` line.
pub fn print_report(con: &mut Uart, report: &BootReport, ops: u32) {
    let (action, members, error) = match report.action {
        BootAction::None => ("None", 0, 0),
        BootAction::Installed(m) => ("Installed", m.0, 0),
        BootAction::InstallRefused(m, e) => ("InstallRefused", m.0, e),
        BootAction::Reverted(m, e) => ("Reverted", m.0, e),
        BootAction::RevertRefused(m) => {
            ("RevertRefused", m.0, fwu_bootloader::ERROR_BACKUP_INVALID)
        }
        BootAction::Recovered(c) => ("Recovered", 1u8 << (c & 7), 0),
        BootAction::Deferred(m) => ("Deferred", m.0, 0),
    };
    let state = match report.state {
        StateReport::Ok => "ok",
        StateReport::Repaired => "repaired",
        StateReport::Degraded => "degraded",
        StateReport::Fresh => "fresh",
        StateReport::Corrupt => "corrupt",
        StateReport::Unreadable => "unreadable",
    };
    let _ = write!(
        con,
        "fwu-boot: report action={action} members={members:#04x} error={error} trial={} state={} invalid={:#04x} refused=",
        u8::from(report.trial),
        state,
        report.invalid.0,
    );
    match report.refused {
        None => {
            let _ = write!(con, "none");
        }
        Some((c, why)) => {
            let _ = write!(con, "{c}:{why:?}");
        }
    }
    let _ = writeln!(con, " ops={ops}");
}

/// Run the bootloader on the machine described by `map` with the built-in `keys`: boot, report,
/// arm the watchdog for a trial, jump to component 0 or stop.
pub fn run(map: &MemoryMap, keys: &[PublicKey]) -> ! {
    start_cycle_counter();
    // SAFETY: the console UART of this machine, used only by this flow.
    let mut con = unsafe { Uart::new(map.uart0) };
    con.init();
    // SAFETY: the session block is reserved by every program's memory.x.
    let (session, cold) = unsafe { Session::attach(map.session_block) };
    let boot = session.note_boot();
    // SAFETY: the flash file is mapped at `map.flash_base` by the QEMU command line, and
    // nothing else writes it while the bootloader runs.
    let mut flash = unsafe { EmulatedFlash::new(map, session) };
    let _ = write!(
        con,
        "fwu-boot: start board={} boot={boot} cold={} ops={} cut=",
        map.name,
        u8::from(cold),
        session.stats().ops
    );
    match flash.cut() {
        None => {
            let _ = writeln!(con, "none");
        }
        Some(c) => {
            let _ = writeln!(con, "{}@{}", c.model.name(), c.at);
        }
    }
    if boot > MAX_BOOTS_PER_SESSION {
        let _ = writeln!(con, "fwu-boot: halt reason=reset-loop boots={boot}");
        exit(EXIT_RESET_LOOP);
    }
    // Feature `no-auth-active` only exists to measure what active-image authentication costs.
    let config = BootConfig {
        authenticate_active: !cfg!(feature = "no-auth-active"),
        ..BootConfig::default()
    };
    let mut bootloader = Bootloader::new(
        CHECKED_LAYOUT,
        KeyRing::new(keys).with_identity(IDENTITY),
        config,
        StoredCounters,
    );
    // The peak stack of the boot core alone (the console's formatting is not counted: the
    // production bootloader has none).
    let paint_floor = paint_stack(map);
    let core_start = cycles();
    let booted = bootloader.boot(&mut flash);
    let core_cycles = cycles().saturating_sub(core_start);
    let stack = stack_used(map, paint_floor);
    let report = match booted {
        Ok(report) => report,
        Err(e) => {
            let failed = session.note_failed_boot();
            let _ = writeln!(con, "fwu-boot: error={e:?} failed_boots={failed}");
            if failed >= MAX_FAILED_BOOTS {
                let _ = writeln!(con, "fwu-boot: halt reason=boot-error");
                exit(EXIT_BOOT_ERROR);
            }
            crate::reset();
        }
    };
    session.clear_failed_boots();
    print_report(&mut con, &report, session.stats().ops);
    if !report.may_run(APP_SLOTS.id) {
        let _ = writeln!(con, "fwu-boot: halt reason=component-0-refused");
        exit(EXIT_REFUSED);
    }
    let vtor = map.app_vector_table();
    let code = map.flash_addr(APP_SLOTS.primary + APP_HEADER_SIZE)
        ..map.flash_addr(APP_SLOTS.primary + u32::from(APP_SLOTS.sectors) * SECTOR_SIZE);
    // SAFETY: the vector table lies in the mapped flash window.
    let (sp, pc) = match unsafe { check_vector_table(vtor, map.ram(), code) } {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(con, "fwu-boot: halt reason=vector-table {e:?}");
            exit(EXIT_BAD_VECTORS);
        }
    };
    if report.trial {
        // SAFETY: the machine's watchdog; the bootloader hands it over running.
        let mut wdog = unsafe { Watchdog::new(map.watchdog, map.watchdog_hz) };
        wdog.start(TRIAL_WATCHDOG_MS);
        let _ = writeln!(con, "fwu-boot: watchdog ms={TRIAL_WATCHDOG_MS}");
    }
    let to_ns = |c: u64| c.saturating_mul(1_000_000_000) / u64::from(map.sysclk_hz.max(1));
    let (ns, core_ns) = (to_ns(cycles()), to_ns(core_cycles));
    let _ = writeln!(
        con,
        "fwu-boot: jump vtor={vtor:#x} sp={sp:#x} pc={pc:#x} stack={stack} boot_ns={ns} core_ns={core_ns}"
    );
    // SAFETY: an authenticated image with a checked vector table; the flash driver and every
    // other bootloader state are abandoned.
    unsafe { jump_to_image(vtor) }
}
