//! The application the anchor boots: linked at the start of embassy-boot's ACTIVE partition,
//! it exits QEMU with success (semihosting), so a run that reaches it ends with status 0.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use fwu_board_qemu::semihost::{exit, EXIT_FAILURE, EXIT_SUCCESS};
// The vector table's interrupt part (`__INTERRUPTS`).
use fwu_embassy_boot_anchor as _;

#[entry]
fn main() -> ! {
    exit(EXIT_SUCCESS)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(EXIT_FAILURE)
}
