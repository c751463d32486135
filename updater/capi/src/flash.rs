//! The C flash callbacks as an `embedded_storage_async` NOR flash, and the C reset callback as
//! the updater's [`ResetHook`].
//!
//! The callbacks are blocking, so every future here completes on its first poll. Arguments are
//! checked (bounds, alignment) before a callback sees them.

use crate::types::{FlashEraseFn, FlashReadFn, FlashWriteFn, ResetFn};
use crate::{SECTOR_SIZE, WRITE_SIZE};
use core::ffi::c_void;
use embedded_storage_async::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use fwu_updater::ResetHook;

/// Why a flash operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CFlashError {
    /// The range leaves the device.
    OutOfBounds,
    /// The offset or length is not aligned to the write or erase size.
    NotAligned,
    /// A callback reported a failure.
    Device,
}

impl NorFlashError for CFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            CFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            CFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            CFlashError::Device => NorFlashErrorKind::Other,
        }
    }
}

/// The device's flash, through the callbacks of an `fwu_flash_t`.
#[derive(Clone, Copy, Debug)]
pub struct CFlash {
    context: *mut c_void,
    read: FlashReadFn,
    write: FlashWriteFn,
    erase: FlashEraseFn,
    capacity: u32,
}

impl CFlash {
    /// A flash over C callbacks.
    ///
    /// # Safety
    ///
    /// Until the returned value and its copies are dropped, each callback must be safe to call
    /// with `context` and with any offset and buffer inside the device (the adapter checks
    /// bounds and alignment; buffers are valid for the length passed).
    pub unsafe fn new(
        context: *mut c_void,
        read: FlashReadFn,
        write: FlashWriteFn,
        erase: FlashEraseFn,
        capacity: u32,
    ) -> Self {
        CFlash {
            context,
            read,
            write,
            erase,
            capacity,
        }
    }

    /// `Ok` if `offset..offset + len` lies in the device and both ends are multiples of `align`.
    fn check(&self, offset: u32, len: usize, align: usize) -> Result<(), CFlashError> {
        let end = u64::from(offset).saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        if end > u64::from(self.capacity) {
            return Err(CFlashError::OutOfBounds);
        }
        if !(offset as usize).is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(CFlashError::NotAligned);
        }
        Ok(())
    }
}

fn status(rc: core::ffi::c_int) -> Result<(), CFlashError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(CFlashError::Device)
    }
}

impl ErrorType for CFlash {
    type Error = CFlashError;
}

impl ReadNorFlash for CFlash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), CFlashError> {
        self.check(offset, bytes.len(), 1)?;
        if bytes.is_empty() {
            return Ok(());
        }
        // SAFETY: the range is inside the device and `bytes` is writable for its length, as the
        // contract of `CFlash::new` requires.
        let rc =
            unsafe { (self.read)(self.context, offset, bytes.as_mut_ptr().cast(), bytes.len()) };
        status(rc)
    }

    fn capacity(&self) -> usize {
        self.capacity as usize
    }
}

impl NorFlash for CFlash {
    const WRITE_SIZE: usize = WRITE_SIZE;
    const ERASE_SIZE: usize = SECTOR_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), CFlashError> {
        let len = to.checked_sub(from).ok_or(CFlashError::OutOfBounds)?;
        self.check(from, len as usize, SECTOR_SIZE)?;
        let mut sector = from;
        while sector < to {
            // SAFETY: `sector` is a sector boundary inside the device (checked above), as the
            // contract of `CFlash::new` requires.
            status(unsafe { (self.erase)(self.context, sector) })?;
            sector += SECTOR_SIZE as u32;
        }
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), CFlashError> {
        self.check(offset, bytes.len(), WRITE_SIZE)?;
        if bytes.is_empty() {
            return Ok(());
        }
        // SAFETY: the range is aligned and inside the device, and `bytes` is readable for its
        // length, as the contract of `CFlash::new` requires.
        let rc = unsafe { (self.write)(self.context, offset, bytes.as_ptr().cast(), bytes.len()) };
        status(rc)
    }
}

/// `psa_fwu_request_reboot`'s reset, through the C callback.
#[derive(Clone, Copy, Debug)]
pub struct CReset {
    context: *mut c_void,
    reset: ResetFn,
}

impl CReset {
    /// A reset hook over a C callback.
    ///
    /// # Safety
    ///
    /// `reset` must be safe to call with `context` until the hook is dropped.
    pub unsafe fn new(context: *mut c_void, reset: ResetFn) -> Self {
        CReset { context, reset }
    }
}

impl ResetHook for CReset {
    fn reset(&mut self) {
        // SAFETY: the contract of `CReset::new`.
        unsafe { (self.reset)(self.context) }
    }
}
