//! QEMU `mps2-an386` (Cortex-M4F, 25 MHz): the board's memory map over the shared MPS2 support
//! in [`fwu_board_qemu`], and the keys the bootloader trusts.
//!
//! Binaries: `bootloader` (production) and `bootloader-test` (instrumented) in the boot ROM at
//! 0, and `testapp` (component 0's primary slot, executed
//! in place at `0x2101_0200`). Build for `thumbv7em-none-eabihf`.
#![no_std]

pub use fwu_board_qemu as qemu;
use fwu_board_qemu::MemoryMap;

/// This board's memory map.
pub const MAP: MemoryMap = fwu_board_qemu::map::AN386;

/// The public keys built into the bootloader (`FWU_PUBKEY_RS` at build time, or the committed
/// development key).
#[allow(missing_docs)]
pub mod keys {
    include!(concat!(env!("OUT_DIR"), "/pubkey.rs"));
}

/// Interrupt vectors in the vector table: all of the machine's 32 interrupts. With the 16 exception vectors the table is
/// 192 bytes, so it may start right after a 0x200-byte image header (a table must be
/// aligned to its size rounded up to a power of two; cortex-m-rt's generic 240-entry table
/// would need 1 KiB).
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
