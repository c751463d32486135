//! The fwu bootloader for QEMU mps2-an505: boots, installs or reverts per the persisted FWU
//! state, reports on UART0, arms the watchdog for a trial and jumps to component 0.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception, ExceptionFrame};
use fwu_board_mps2_an505::{keys::FWU_PUBLIC_KEYS, qemu, MAP};

#[entry]
fn main() -> ! {
    qemu::boot::run(&MAP, FWU_PUBLIC_KEYS)
}

#[exception]
fn SysTick() {
    qemu::boot::on_systick();
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    qemu::fatal(&MAP, format_args!("bootloader HardFault pc={:#x}", ef.pc()))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    qemu::fatal(&MAP, format_args!("bootloader panic"))
}
