// Body of the `app` binary, shared by the board crates: each includes it after
// `use <its board crate> as board;` and its own crate attributes.

use board::{keys::FWU_PUBLIC_KEYS, qemu, MAP};
use cortex_m_rt::{exception, ExceptionFrame};
use embassy_executor::Spawner;
use qemu::app::SelfTest;

const VERSION: &str = match option_env!("FWU_APP_VERSION") {
    Some(v) => v,
    None => "0.0.0",
};

const SELFTEST: SelfTest = SelfTest::parse(option_env!("FWU_APP_SELFTEST"));

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    // SAFETY: only this program uses SysTick (through the time driver).
    let syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
    qemu::time::init(syst, MAP.sysclk_hz);
    qemu::app::run(&MAP, FWU_PUBLIC_KEYS, VERSION, SELFTEST).await
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    qemu::fatal(&MAP, format_args!("app HardFault pc={:#x}", ef.pc()))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    qemu::fatal(&MAP, format_args!("app panic"))
}
