//! Board support shared by the QEMU MPS2 boards of fwu: `mps2-an386` (Cortex-M4F) and
//! `mps2-an505` (Cortex-M33, booting Secure).
//!
//! * [`map`]: each board's memory map and the common flash layout;
//! * [`flash::EmulatedFlash`]: a NOR flash over QEMU's file-backed memory window that enforces
//!   NOR rules, counts operations and injects power cuts ([`fault`]), for the test builds;
//! * [`nor::MappedNor`]: the production bootloader's plain NOR driver over the same window;
//! * [`session`]: counters that survive warm resets (SCB or watchdog) but not a new QEMU process;
//! * [`console::Uart`]: the CMSDK APB UART0 console (`-serial`);
//! * [`watchdog::Watchdog`]: the CMSDK APB watchdog (resets the machine);
//! * [`semihost`]: exit codes through semihosting (`SYS_EXIT_EXTENDED`);
//! * [`jump`]: hand-over to an application image;
//! * `bootloader` feature: the flows of the production bootloader ([`production`]: no
//!   console, no timers, no fault injection) and of the instrumented `bootloader-test`
//!   (`boot`), shared by both boards;
//! * `testapp` feature: the flow of the bare-metal test application;
//! * `time-driver` feature: a SysTick embassy-time driver;
//! * `app` feature: the embassy demo application's flow (update service, self-test, host
//!   protocol on UART0).
//!
//! See `boards/README.md` for the QEMU command lines, the control block and the exit codes.
#![no_std]
#![deny(clippy::indexing_slicing, clippy::expect_used)]

#[cfg(feature = "app")]
pub mod app;
#[cfg(feature = "bootloader")]
pub mod boot;
pub mod console;
pub mod fault;
pub mod flash;
pub mod identity;
pub mod jump;
pub mod map;
pub mod nor;
#[cfg(feature = "bootloader")]
pub mod production;
#[cfg(feature = "testapp")]
pub mod selftest;
pub mod semihost;
pub mod session;
#[cfg(feature = "testapp")]
pub mod testapp;
#[cfg(feature = "time-driver")]
pub mod time;
pub mod watchdog;

pub use map::MemoryMap;

/// Reset the machine through the SCB (`SYSRESETREQ`). In QEMU RAM keeps its contents, the
/// images loaded by `-kernel` are reloaded, and the flash file is untouched.
pub fn reset() -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}

/// Print one line on the console of `map`.
pub fn console_line(map: &MemoryMap, line: core::fmt::Arguments<'_>) {
    use core::fmt::Write as _;
    // SAFETY: the console UART of this machine (handles may interleave lines, nothing worse).
    let mut con = unsafe { console::Uart::new(map.uart0) };
    con.init();
    let _ = writeln!(con, "{line}");
}

/// Print `fwu-fatal: <what>` on the console of `map` and exit QEMU with
/// [`EXIT_FAILURE`](semihost::EXIT_FAILURE): for panic and fault handlers.
pub fn fatal(map: &MemoryMap, what: core::fmt::Arguments<'_>) -> ! {
    use core::fmt::Write as _;
    // SAFETY: the console UART of this machine; nothing runs after this.
    let mut con = unsafe { console::Uart::new(map.uart0) };
    con.init();
    let _ = writeln!(con, "fwu-fatal: {what}");
    semihost::exit(semihost::EXIT_FAILURE)
}
