//! On-target self-test of the emulated flash driver (NOR rules, bounds, counters) on QEMU
//! mps2-an505: `cargo run --release -p fwu-board-mps2-an505 --bin selftest` with the workspace runner.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception, ExceptionFrame};
use fwu_board_mps2_an505::{qemu, MAP};

#[entry]
fn main() -> ! {
    qemu::selftest::run(&MAP)
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    qemu::fatal(&MAP, format_args!("selftest HardFault pc={:#x}", ef.pc()))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    qemu::fatal(&MAP, format_args!("selftest panic"))
}
