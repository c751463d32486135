//! The production bootloader's flow, shared by both boards (feature `bootloader`): what a
//! device ships, with nothing of the test builds' instruments (no console, no timers, no
//! power-cut injection, no operation counts; see [`crate::boot`] for those). It runs the same
//! core ([`fwu_bootloader::Bootloader`]) over [`MappedNor`]: boot, arm the watchdog for a
//! trial, jump to component 0, or stop QEMU with [`EXIT_REFUSED`] / [`EXIT_BOOT_ERROR`] /
//! [`EXIT_BAD_VECTORS`] when there is nothing it may run (on a real board: wait for the
//! watchdog or a reset).

use crate::identity::IDENTITY;
use crate::jump::{check_vector_table, jump_to_image};
use crate::map::{MemoryMap, APP_HEADER_SIZE, APP_SLOTS, CHECKED_LAYOUT, SECTOR_SIZE};
use crate::nor::MappedNor;
use crate::semihost::{exit, EXIT_BAD_VECTORS, EXIT_BOOT_ERROR, EXIT_REFUSED};
use crate::watchdog::Watchdog;
use fwu_bootloader::{BootConfig, Bootloader};
use fwu_shared::image::{KeyRing, PublicKey};
use fwu_shared::state::StoredCounters;

/// How long a trial image may run without feeding the watchdog before the machine resets
/// (the same as the test builds').
pub use crate::boot::TRIAL_WATCHDOG_MS;

/// Run the bootloader on the machine described by `map` with the built-in `keys`.
pub fn run(map: &MemoryMap, keys: &[PublicKey]) -> ! {
    // SAFETY: QEMU maps the flash file at `map.flash_base`; only the bootloader writes it.
    let mut flash = unsafe { MappedNor::new(map) };
    let mut bootloader = Bootloader::new(
        CHECKED_LAYOUT,
        KeyRing::new(keys).with_identity(IDENTITY),
        BootConfig::default(),
        StoredCounters,
    );
    let Ok(report) = bootloader.boot(&mut flash) else {
        // A boot error changed nothing that a later boot cannot resume; on QEMU, stop.
        exit(EXIT_BOOT_ERROR)
    };
    if !report.may_run(APP_SLOTS.id) {
        exit(EXIT_REFUSED);
    }
    let vtor = map.app_vector_table();
    let code = map.flash_addr(APP_SLOTS.primary + APP_HEADER_SIZE)
        ..map.flash_addr(APP_SLOTS.primary + u32::from(APP_SLOTS.sectors) * SECTOR_SIZE);
    // SAFETY: the vector table lies in the mapped flash window.
    if unsafe { check_vector_table(vtor, map.ram(), code) }.is_err() {
        exit(EXIT_BAD_VECTORS);
    }
    if report.trial {
        // SAFETY: the machine's watchdog; the bootloader hands it over running.
        let mut wdog = unsafe { Watchdog::new(map.watchdog, map.watchdog_hz) };
        wdog.start(TRIAL_WATCHDOG_MS);
    }
    // SAFETY: an authenticated image with a checked vector table; nothing of the bootloader
    // is used after the jump.
    unsafe { jump_to_image(vtor) }
}
