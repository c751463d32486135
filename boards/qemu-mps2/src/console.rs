//! CMSDK APB UART driver: the console. In QEMU, UART0 is the first `-serial` backend
//! (`-serial stdio`, `-serial file:log`, `-nographic`). Polled, no interrupts.
//!
//! QEMU drops bytes written while the transmitter is disabled and warns about a baud divisor
//! below 16, so [`Uart::init`] enables TX and RX with divisor 16 before anything is printed.

use core::ptr::{read_volatile, write_volatile};

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// A CMSDK APB UART at a fixed address.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// The UART at `base`.
    ///
    /// # Safety
    /// `base` must be the address of a CMSDK APB UART, and nothing else may drive it
    /// concurrently (several handles print interleaved, which is harmless).
    pub const unsafe fn new(base: usize) -> Self {
        Uart { base }
    }

    fn reg(&self, off: usize) -> *mut u32 {
        (self.base + off) as *mut u32
    }

    /// Enable transmitter and receiver (baud divisor 16; QEMU ignores the rate).
    pub fn init(&mut self) {
        // SAFETY: registers of the UART this handle owns (see `new`).
        unsafe {
            write_volatile(self.reg(BAUDDIV), 16);
            write_volatile(self.reg(CTRL), CTRL_TX_EN | CTRL_RX_EN);
        }
    }

    /// Send one byte, waiting while the transmit buffer is full.
    pub fn write_byte(&mut self, byte: u8) {
        // SAFETY: as in `init`.
        unsafe {
            while read_volatile(self.reg(STATE)) & STATE_TX_FULL != 0 {}
            write_volatile(self.reg(DATA), u32::from(byte));
        }
    }

    /// Send bytes.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&mut self) -> Option<u8> {
        // SAFETY: as in `init`.
        unsafe {
            if read_volatile(self.reg(STATE)) & STATE_RX_FULL != 0 {
                Some((read_volatile(self.reg(DATA)) & 0xff) as u8)
            } else {
                None
            }
        }
    }

    /// Wait for a received byte.
    pub fn read_byte_blocking(&mut self) -> u8 {
        loop {
            if let Some(b) = self.read_byte() {
                return b;
            }
        }
    }
}

impl core::fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}
