// Body of the `timecheck` binary, shared by the board crates: each includes it after
// `use <its board crate> as board;` and its own crate attributes.

use board::{qemu, MAP};
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m_rt::{exception, ExceptionFrame};
use embassy_executor::Spawner;
use embassy_time::{Duration, Instant, Timer};

static FAST_WAKES: AtomicU32 = AtomicU32::new(0);

#[embassy_executor::task]
async fn fast() {
    loop {
        Timer::after(Duration::from_millis(10)).await;
        FAST_WAKES.fetch_add(1, Ordering::Relaxed);
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    // SAFETY: only this program uses SysTick (through the time driver).
    let syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
    qemu::time::init(syst, MAP.sysclk_hz);
    match fast() {
        Ok(token) => spawner.spawn(token),
        Err(_) => qemu::fatal(&MAP, format_args!("timecheck: cannot spawn")),
    }
    let start = Instant::now();
    let mut ok = true;
    for ms in [1u64, 5, 20, 50, 100] {
        let before = Instant::now();
        Timer::after(Duration::from_millis(ms)).await;
        let slept = before.elapsed().as_millis();
        ok &= slept >= ms && slept < ms + 50;
        qemu::console_line(
            &MAP,
            format_args!("fwu-timecheck: sleep ms={ms} ticks={slept}"),
        );
    }
    let total = start.elapsed().as_millis();
    let wakes = FAST_WAKES.load(Ordering::Relaxed);
    // 176 ms of sleeps: the 10 ms task must have run about 17 times meanwhile.
    ok &= (10..=18).contains(&wakes);
    qemu::console_line(
        &MAP,
        format_args!("fwu-timecheck: total ticks={total} fast-task wakes={wakes}"),
    );
    if ok {
        qemu::console_line(&MAP, format_args!("fwu-timecheck: PASS"));
        qemu::semihost::exit(qemu::semihost::EXIT_SUCCESS)
    } else {
        qemu::fatal(&MAP, format_args!("fwu-timecheck: FAIL"))
    }
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    qemu::fatal(&MAP, format_args!("timecheck HardFault pc={:#x}", ef.pc()))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    qemu::fatal(&MAP, format_args!("timecheck panic"))
}
