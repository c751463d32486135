// Body of the `testapp` binary, shared by the board crates: each includes it after
// `use <its board crate> as board;` and its own crate attributes.

use board::{qemu, MAP};
use cortex_m_rt::{entry, exception, ExceptionFrame};
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
