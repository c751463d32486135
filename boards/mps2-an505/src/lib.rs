//! QEMU `mps2-an505` (Cortex-M33 in an SSE-200, 20 MHz, running Secure): the board's memory map over the shared MPS2 support
//! in [`fwu_board_qemu`], and the keys the bootloader trusts.
//!
//! Binaries: `bootloader` (production) and `bootloader-test` (instrumented), code at the Secure
//! alias `0x1000_0000`, and `testapp` (component 0's
//! primary slot, executed in place at `0x8001_0200`). Build for `thumbv8m.main-none-eabihf`.
#![no_std]

pub use fwu_board_qemu as qemu;
use fwu_board_qemu::MemoryMap;

/// This board's memory map.
pub const MAP: MemoryMap = fwu_board_qemu::map::AN505;

/// The public keys built into the bootloader (`FWU_PUBKEY_RS` at build time, or the committed
/// development key).
#[allow(missing_docs)]
pub mod keys {
    include!(concat!(env!("OUT_DIR"), "/pubkey.rs"));
}

/// Interrupt vectors in the vector table: the first 112 of the machine's 124 interrupts (IRQs 112..=123 have no vector). With the 16 exception vectors the table is
/// 512 bytes, so it may start right after a 0x200-byte image header (a table must be
/// aligned to its size rounded up to a power of two; cortex-m-rt's generic 240-entry table
/// would need 1 KiB).
pub const IRQS: usize = 112;

extern "C" {
    fn DefaultHandler();
}

/// The device-specific part of the vector table (cortex-m-rt `device` feature): every
/// interrupt goes to `DefaultHandler`.
#[doc(hidden)]
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
pub static __INTERRUPTS: [unsafe extern "C" fn(); IRQS] = [DefaultHandler; IRQS];
