//! CMSDK APB watchdog (mps2-an386: `0x4000_8000`; mps2-an505: the SSE-200 Secure watchdog
//! at `0x5008_1000`). Both clocked by the system clock in QEMU 7.2.
//!
//! The counter runs while `INTEN` is set. When it reaches zero the interrupt (wired to NMI on
//! both machines) is raised and the counter reloads; when it reaches zero again with the
//! interrupt still pending and `RESEN` set, QEMU resets the machine (verified on both boards:
//! RAM survives, the watchdog itself comes back disabled). [`Watchdog::start`] therefore loads
//! half the requested timeout: an application that does not [`feed`](Watchdog::feed) within
//! `timeout_ms` is reset, and sees an NMI halfway (the default NMI handler just spins).

use core::ptr::{read_volatile, write_volatile};

const LOAD: usize = 0x000;
const VALUE: usize = 0x004;
const CONTROL: usize = 0x008;
const INTCLR: usize = 0x00c;
const LOCK: usize = 0xc00;

const CONTROL_INTEN: u32 = 1 << 0;
const CONTROL_RESEN: u32 = 1 << 1;
const UNLOCK_KEY: u32 = 0x1acc_e551;

/// A CMSDK APB watchdog.
pub struct Watchdog {
    base: usize,
    clock_hz: u32,
}

impl Watchdog {
    /// The watchdog at `base`, counting at `clock_hz`.
    ///
    /// # Safety
    /// `base` must be a CMSDK APB watchdog, driven by no one else.
    pub const unsafe fn new(base: usize, clock_hz: u32) -> Watchdog {
        Watchdog { base, clock_hz }
    }

    fn write(&mut self, off: usize, value: u32) {
        // SAFETY: a register of the watchdog this handle owns (see `new`).
        unsafe { write_volatile((self.base + off) as *mut u32, value) }
    }

    fn read(&self, off: usize) -> u32 {
        // SAFETY: as in `write`.
        unsafe { read_volatile((self.base + off) as *const u32) }
    }

    fn unlocked(&mut self, f: impl FnOnce(&mut Self)) {
        self.write(LOCK, UNLOCK_KEY);
        f(self);
        self.write(LOCK, 0);
    }

    /// Reset the machine if not fed within `timeout_ms` (at least 2 ms).
    pub fn start(&mut self, timeout_ms: u32) {
        let half = u64::from(self.clock_hz) * u64::from(timeout_ms.max(2)) / 2000;
        let load = u32::try_from(half).unwrap_or(u32::MAX).max(1);
        self.unlocked(|w| {
            w.write(LOAD, load);
            w.write(INTCLR, 1);
            w.write(CONTROL, CONTROL_INTEN | CONTROL_RESEN);
        });
    }

    /// Restart the countdown (clears the interrupt and reloads).
    pub fn feed(&mut self) {
        self.unlocked(|w| w.write(INTCLR, 1));
    }

    /// Stop the watchdog.
    pub fn stop(&mut self) {
        self.unlocked(|w| {
            w.write(CONTROL, 0);
            w.write(INTCLR, 1);
        });
    }

    /// Whether the watchdog is counting.
    pub fn is_running(&self) -> bool {
        self.read(CONTROL) & CONTROL_INTEN != 0
    }

    /// Current counter value.
    pub fn value(&self) -> u32 {
        self.read(VALUE)
    }
}
