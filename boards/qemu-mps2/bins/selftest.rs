// Body of the `selftest` binary, shared by the board crates: each includes it after
// `use <its board crate> as board;` and its own crate attributes.

use board::{qemu, MAP};
use cortex_m_rt::{entry, exception, ExceptionFrame};

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
