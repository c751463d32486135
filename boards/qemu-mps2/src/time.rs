//! A SysTick embassy-time driver (feature `time-driver`): 1 kHz ticks from the core clock
//! (25 MHz on mps2-an386, 20 MHz on mps2-an505), a 64-bit tick count, and embassy's timer queue
//! (`embassy-time-queue-utils`; the integrated queue of `embassy-executor` unless the
//! application enables a `generic-queue-*` feature of that crate).
//!
//! The application calls [`init`] once before awaiting any timer; this module defines the
//! `SysTick` exception handler. QEMU's virtual clock follows host time unless `-icount` is given.

use core::cell::{Cell, RefCell};
use core::task::Waker;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// Ticks per second.
pub const TICK_HZ: u64 = 1_000;
const _: () = assert!(embassy_time_driver::TICK_HZ == TICK_HZ);

struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    alarm: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    alarm: Mutex::new(Cell::new(u64::MAX)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow_ref_mut(cs);
            if queue.schedule_wake(at, waker) {
                let now = self.ticks.borrow(cs).get();
                self.alarm.borrow(cs).set(queue.next_expiration(now));
            }
        });
    }
}

impl SysTickDriver {
    fn tick(&self) {
        critical_section::with(|cs| {
            let ticks = self.ticks.borrow(cs);
            let now = ticks.get().wrapping_add(1);
            ticks.set(now);
            let alarm = self.alarm.borrow(cs);
            if now >= alarm.get() {
                let next = self.queue.borrow_ref_mut(cs).next_expiration(now);
                alarm.set(next);
            }
        });
    }
}

/// Start SysTick at [`TICK_HZ`] from the core clock `sysclk_hz`
/// ([`MemoryMap::sysclk_hz`](crate::map::MemoryMap::sysclk_hz)).
pub fn init(mut syst: SYST, sysclk_hz: u32) {
    let reload = (sysclk_hz / TICK_HZ as u32).saturating_sub(1);
    syst.disable_counter();
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(reload.clamp(1, 0x00ff_ffff));
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`init`].
pub fn now() -> u64 {
    DRIVER.now()
}

#[exception]
fn SysTick() {
    DRIVER.tick();
}
