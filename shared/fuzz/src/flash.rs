//! [`Checked`]: the simulator's NOR flash behind an address check. Every write and erase must
//! lie entirely inside one of the ranges the target currently allows; anything else panics
//! (a crash for libFuzzer), whatever the flash itself would have answered.

use core::ops::Range;
use embedded_storage::nor_flash::{
    ErrorType, NorFlash as BlockingNorFlash, ReadNorFlash as BlockingReadNorFlash,
};
use embedded_storage_async::nor_flash::{NorFlash, ReadNorFlash};
use fwu_sim_flash::{FlashError, SimFlash};

/// A [`SimFlash`] whose writes and erases are checked against allowed ranges.
#[derive(Clone, Debug)]
pub struct Checked<const S: usize, const W: usize> {
    /// The flash cells.
    pub sim: SimFlash<S, W>,
    allowed: Vec<Range<u32>>,
    what: &'static str,
}

impl<const S: usize, const W: usize> Checked<S, W> {
    /// `sim` with writes and erases allowed in `allowed` (described as `what` in panics).
    pub fn new(sim: SimFlash<S, W>, allowed: Vec<Range<u32>>, what: &'static str) -> Self {
        Checked { sim, allowed, what }
    }

    /// Change the allowed ranges.
    pub fn allow(&mut self, allowed: Vec<Range<u32>>, what: &'static str) {
        self.allowed = allowed;
        self.what = what;
    }

    fn check(&self, op: &str, from: u32, len: usize) {
        let to = u64::from(from) + len as u64;
        let inside = self
            .allowed
            .iter()
            .any(|r| u64::from(r.start) <= u64::from(from) && to <= u64::from(r.end));
        assert!(
            inside || len == 0,
            "{op} of [{from:#x}, {to:#x}) outside {}: allowed {:x?}",
            self.what,
            self.allowed
        );
    }
}

impl<const S: usize, const W: usize> ErrorType for Checked<S, W> {
    type Error = FlashError;
}

impl<const S: usize, const W: usize> BlockingReadNorFlash for Checked<S, W> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        BlockingReadNorFlash::read(&mut self.sim, offset, bytes)
    }

    fn capacity(&self) -> usize {
        BlockingReadNorFlash::capacity(&self.sim)
    }
}

impl<const S: usize, const W: usize> BlockingNorFlash for Checked<S, W> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = S;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.check("erase", from, to.saturating_sub(from) as usize);
        BlockingNorFlash::erase(&mut self.sim, from, to)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.check("write", offset, bytes.len());
        BlockingNorFlash::write(&mut self.sim, offset, bytes)
    }
}

impl<const S: usize, const W: usize> ReadNorFlash for Checked<S, W> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        BlockingReadNorFlash::read(&mut self.sim, offset, bytes)
    }

    fn capacity(&self) -> usize {
        BlockingReadNorFlash::capacity(&self.sim)
    }
}

impl<const S: usize, const W: usize> NorFlash for Checked<S, W> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = S;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        BlockingNorFlash::erase(self, from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        BlockingNorFlash::write(self, offset, bytes)
    }
}
