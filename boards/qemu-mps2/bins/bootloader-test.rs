// Body of the `bootloader-test` binary (the bootloader with the test builds' instruments:
// console reports, timers, power-cut injection), shared by the board crates: each includes it
// after `use <its board crate> as board;` and its own crate attributes.

use board::{keys::FWU_PUBLIC_KEYS, qemu, MAP};
use cortex_m_rt::{entry, exception, ExceptionFrame};
// The small mem* functions (fwu-tiny-mem) replace compiler_builtins' in this binary.
use fwu_tiny_mem as _;

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
