//! Measurement anchor for issue 12 ("minimal bootloader"): embassy-boot 0.7's bootloader on
//! QEMU `mps2-an386`, built with the firmware workspace's release profile, so that
//! `BENCHMARKS.md` can set its flash size and no-update boot time beside fwu's production
//! bootloader. `scripts/anchor-embassy-boot.sh` builds and measures it.
//!
//! Binaries (build for `thumbv7em-none-eabihf`):
//! * `embassy-boot-anchor`: the bootloader, in the boot ROM at 0. `BootLoader::prepare_boot`
//!   over three [`BlockingPartition`](embassy_embedded_hal::flash::partition::BlockingPartition)s
//!   of fwu's [`MappedNor`](fwu_board_qemu::nor::MappedNor), then the jump of
//!   embassy-boot-stm32's `BootLoader::load` (VTOR, MSP, branch). Nothing else: no console, no
//!   signature check (embassy-boot verifies signatures in its updater, not at boot);
//! * `anchor-app`: an application at the start of [`ACTIVE`] that exits QEMU with success.
//!
//! The partitions reuse fwu's flash layout (`fwu_board_qemu::map`): ACTIVE is component 0's
//! primary slot, DFU one sector larger at its secondary slot, STATE one sector at the start of
//! fwu's state partition.
#![no_std]

use fwu_board_qemu::flash::WRITE_SIZE;
use fwu_board_qemu::map::{APP_SLOTS, SECTOR_SIZE, STATE_PARTITION};

/// Offset of embassy-boot's ACTIVE partition in the flash window: fwu's component 0 primary slot.
pub const ACTIVE: u32 = APP_SLOTS.primary;
/// Size of ACTIVE: the 128 sectors of fwu's slot.
pub const ACTIVE_SIZE: u32 = APP_SLOTS.sectors as u32 * SECTOR_SIZE;
/// Offset of the DFU partition: fwu's component 0 secondary slot.
pub const DFU: u32 = APP_SLOTS.secondary;
/// Size of DFU: one sector more than ACTIVE, as embassy-boot's swap requires.
pub const DFU_SIZE: u32 = ACTIVE_SIZE + SECTOR_SIZE;
/// Offset of the STATE partition: the start of fwu's state partition.
pub const STATE: u32 = STATE_PARTITION.start;
/// Size of STATE: one sector. embassy-boot needs `2 + 4 * pages` words of `WRITE_SIZE` (4
/// bytes): 514 words, 2,056 bytes, for 128 pages.
pub const STATE_SIZE: u32 = SECTOR_SIZE;
/// Size of the buffer `prepare_boot` copies through (and reads the state word into): one
/// erase sector, as embassy's bootloader examples use (their flash's page size: the default
/// `BUFFER_SIZE` of embassy-boot-nrf's and embassy-boot-rp's `BootLoader`); with feature
/// `min-buffer`, the flash's `WRITE_SIZE` (4 bytes), the smallest `prepare_boot` accepts.
/// `BootLoader::prepare` zeroes it on the stack at every boot.
pub const BUFFER_SIZE: usize = if cfg!(feature = "min-buffer") {
    WRITE_SIZE
} else {
    SECTOR_SIZE as usize
};

// Build-time checks (a failed `assert!` in a `const` is a compile error, never a run-time panic).
const _: () = assert!(DFU_SIZE - ACTIVE_SIZE >= SECTOR_SIZE);
const _: () = assert!(2 + 4 * (ACTIVE_SIZE / SECTOR_SIZE) <= STATE_SIZE / 4);
const _: () = assert!(STATE + STATE_SIZE <= STATE_PARTITION.end);
const _: () =
    assert!(BUFFER_SIZE >= WRITE_SIZE && (SECTOR_SIZE as usize).is_multiple_of(BUFFER_SIZE));

/// Interrupt vectors in the vector table: the machine's 32 interrupts, as fwu's an386 binaries
/// (a 192-byte table; cortex-m-rt's generic one has 240 entries).
pub const IRQS: usize = 32;

extern "C" {
    fn DefaultHandler();
}

/// The device-specific part of the vector table (cortex-m-rt `device` feature): every
/// interrupt goes to `DefaultHandler`.
#[doc(hidden)]
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
pub static __INTERRUPTS: [unsafe extern "C" fn(); IRQS] = [DefaultHandler; IRQS];
