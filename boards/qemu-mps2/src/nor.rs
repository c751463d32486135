//! [`MappedNor`]: the production bootloader's flash driver over QEMU's memory-mapped flash
//! file: bounds and alignment checks and NOR semantics (an erase sets whole sectors to `0xFF`,
//! a write can only clear bits), nothing else. No operation counting, no power-cut injection
//! and no console: those belong to the test builds' [`EmulatedFlash`](crate::flash::EmulatedFlash).

use crate::flash::{FlashError, ERASED, ERASE_SIZE, READ_SIZE, WRITE_SIZE};
use crate::map::{MemoryMap, FLASH_USABLE};
use core::ptr::{read_volatile, write_volatile};
use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

/// NOR flash over the mapped window of one machine. See the [module documentation](self).
pub struct MappedNor {
    base: usize,
}

impl MappedNor {
    /// The flash window of `map`.
    ///
    /// # Safety
    /// QEMU must map the flash file at `map.flash_base`, and no other code may write the
    /// window while the driver lives (executing from it is fine).
    pub const unsafe fn new(map: &MemoryMap) -> MappedNor {
        MappedNor {
            base: map.flash_base,
        }
    }

    /// The absolute address of `len` bytes at `offset`, if they lie in the usable flash and
    /// `offset` and `len` are multiples of `align`.
    #[inline(never)]
    fn at(&self, offset: u32, len: usize, align: usize) -> Result<usize, FlashError> {
        let end = (offset as usize).checked_add(len);
        if end.is_none_or(|e| e > FLASH_USABLE as usize) {
            return Err(FlashError::OutOfBounds);
        }
        if !(offset as usize).is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(FlashError::NotAligned);
        }
        Ok(self.base + offset as usize)
    }
}

impl ErrorType for MappedNor {
    type Error = FlashError;
}

impl ReadNorFlash for MappedNor {
    const READ_SIZE: usize = READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let at = self.at(offset, bytes.len(), READ_SIZE)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: inside the mapped window (checked above).
            *b = unsafe { read_volatile((at + i) as *const u8) };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        FLASH_USABLE as usize
    }
}

impl NorFlash for MappedNor {
    const WRITE_SIZE: usize = WRITE_SIZE;
    const ERASE_SIZE: usize = ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let len = to.checked_sub(from).ok_or(FlashError::OutOfBounds)? as usize;
        let at = self.at(from, len, ERASE_SIZE)?;
        let word = u32::from_ne_bytes([ERASED; 4]);
        for i in (0..len).step_by(4) {
            // SAFETY: inside the mapped window (checked above), word aligned.
            unsafe { write_volatile((at + i) as *mut u32, word) };
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let at = self.at(offset, bytes.len(), WRITE_SIZE)?;
        for (i, &b) in bytes.iter().enumerate() {
            let p = (at + i) as *mut u8;
            // SAFETY: inside the mapped window (checked above). NOR programming clears bits.
            unsafe { write_volatile(p, read_volatile(p) & b) };
        }
        Ok(())
    }
}
