//! The embassy demo application for QEMU mps2-an505 (feature `app`), linked at component 0's
//! primary slot (+0x200 header) like `testapp`: the PSA FWU update service, a watchdog
//! feeder, the trial self-test (`FWU_APP_SELFTEST=pass|fail|hang` at build time) and the host's
//! update protocol on UART0 (see `fwu_board_qemu::app`). `FWU_APP_VERSION` names the version.
#![no_std]
#![no_main]

use cortex_m_rt::{exception, ExceptionFrame};
use embassy_executor::Spawner;
use fwu_board_mps2_an505::{keys::FWU_PUBLIC_KEYS, qemu, MAP};
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
