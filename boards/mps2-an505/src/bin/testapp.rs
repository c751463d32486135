//! Bare-metal test application for QEMU mps2-an505, linked at component 0's primary slot
//! (+0x200 header). Prints `FWU_APP_VERSION` (build-time environment, default `0.0.0`), then
//! exits QEMU with success, hangs without feeding the watchdog (feature `app-hang`) or stages
//! the image in component 0's staging area and resets (feature `app-stage`).
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception, ExceptionFrame};
use fwu_board_mps2_an505::{qemu, MAP};
use qemu::testapp::Mode;

const VERSION: &str = match option_env!("FWU_APP_VERSION") {
    Some(v) => v,
    None => "0.0.0",
};

const MODE: Mode = if cfg!(feature = "app-stage") {
    Mode::Stage
} else if cfg!(feature = "app-hang") {
    Mode::Hang
} else {
    Mode::Exit
};

#[entry]
fn main() -> ! {
    qemu::testapp::run(&MAP, VERSION, MODE)
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    qemu::fatal(&MAP, format_args!("testapp HardFault pc={:#x}", ef.pc()))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    qemu::fatal(&MAP, format_args!("testapp panic"))
}
