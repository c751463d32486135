//! [`EmulatedFlash`]: NOR flash over QEMU's memory-mapped flash file.
//!
//! Geometry: 4 KiB erase sectors, 4-byte writes, byte reads, erased value `0xFF`, capacity the
//! file minus its last sector (the control block). NOR rules are enforced, not assumed:
//! * an erase must cover whole, aligned sectors and sets them to `0xFF`;
//! * a write must be 4-byte aligned in offset and length and may only program bytes that are
//!   erased (all `0xFF`): anything else is [`FlashError::NotErased`] and nothing is written;
//! * every access is bounds-checked ([`FlashError::OutOfBounds`]).
//!
//! Every operation is counted in the [`Session`] (so counts run across warm resets), and the
//! write/erase operation numbered like the control block's `at` is cut (see [`crate::fault`]).
//! The driver implements both the blocking and the async `NorFlash` traits; async operations
//! complete immediately.

use crate::console::Uart;
use crate::fault::{CutConfig, CutModel, Rng};
use crate::map::{MemoryMap, CONTROL_BLOCK_OFFSET, FLASH_USABLE, SECTOR_SIZE};
use crate::semihost::{exit, EXIT_POWER_CUT};
use crate::session::{Session, Stats};
use core::fmt::Write as _;
use core::ptr::{read_volatile, write_volatile};
use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Program granularity.
pub const WRITE_SIZE: usize = 4;
/// Read granularity.
pub const READ_SIZE: usize = 1;
/// Erase granularity.
pub const ERASE_SIZE: usize = SECTOR_SIZE as usize;
/// Value of an erased byte.
pub const ERASED: u8 = 0xff;

/// Why a flash operation was refused (nothing was changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashError {
    /// The access extends past the capacity.
    OutOfBounds,
    /// Offset or length not a multiple of the operation's granularity.
    NotAligned,
    /// A write targets bytes that are not erased.
    NotErased,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FlashError::NotErased => NorFlashErrorKind::Other,
        }
    }
}

/// What a counted operation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Write,
    Erase,
}

/// The emulated NOR flash. See the [module documentation](self).
pub struct EmulatedFlash {
    base: usize,
    capacity: u32,
    session: Session,
    cut: Option<CutConfig>,
    uart: usize,
}

impl EmulatedFlash {
    /// The flash window of `map`, with the cut configured in the control block (if any).
    ///
    /// # Safety
    /// `map` must describe the machine this runs on, QEMU must map the flash file at
    /// `map.flash_base`, and no other code may write the window while the driver lives
    /// (reading it, e.g. executing in place, is fine).
    pub unsafe fn new(map: &MemoryMap, session: Session) -> EmulatedFlash {
        // SAFETY: the control block lies inside the mapped window (caller's contract).
        let cut = unsafe { CutConfig::read(map.flash_addr(CONTROL_BLOCK_OFFSET)) };
        EmulatedFlash {
            base: map.flash_base,
            capacity: FLASH_USABLE,
            session,
            cut,
            uart: map.uart0,
        }
    }

    /// Disable (or replace) power-cut injection.
    pub fn set_cut(&mut self, cut: Option<CutConfig>) {
        self.cut = cut;
    }

    /// The configured cut.
    pub fn cut(&self) -> Option<CutConfig> {
        self.cut
    }

    /// The session counters (since the QEMU cold start).
    pub fn stats(&self) -> Stats {
        self.session.stats()
    }

    /// The session.
    pub fn session(&self) -> Session {
        self.session
    }

    /// Absolute address of `offset` (for executing or scanning in place).
    pub fn address(&self, offset: u32) -> usize {
        self.base + offset as usize
    }

    /// A read-only view of `len` bytes at `offset`, bounds-checked.
    pub fn slice(&self, offset: u32, len: u32) -> Result<&[u8], FlashError> {
        self.check(offset, len as usize)?;
        // SAFETY: in bounds of the mapped window; the returned borrow of `self` prevents
        // writes through this driver while the slice lives.
        Ok(unsafe { core::slice::from_raw_parts(self.address(offset) as *const u8, len as usize) })
    }

    fn check(&self, offset: u32, len: usize) -> Result<(), FlashError> {
        let len = u32::try_from(len).map_err(|_| FlashError::OutOfBounds)?;
        match offset.checked_add(len) {
            Some(end) if end <= self.capacity => Ok(()),
            _ => Err(FlashError::OutOfBounds),
        }
    }

    fn byte(&self, offset: u32) -> u8 {
        // SAFETY: callers checked `offset` against the capacity.
        unsafe { read_volatile(self.address(offset) as *const u8) }
    }

    fn set_byte(&mut self, offset: u32, value: u8) {
        // SAFETY: callers checked `offset` against the capacity.
        unsafe { write_volatile(self.address(offset) as *mut u8, value) }
    }

    fn erase_sector(&mut self, offset: u32) {
        let mut word = offset;
        while word < offset + SECTOR_SIZE {
            // SAFETY: callers checked the sector against the capacity; aligned word.
            unsafe { write_volatile(self.address(word) as *mut u32, u32::MAX) };
            word += 4;
        }
    }

    fn read_impl(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.check(offset, bytes.len())?;
        // SAFETY: the source range is inside the mapped window and `bytes` is a distinct
        // RAM buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.address(offset) as *const u8,
                bytes.as_mut_ptr(),
                bytes.len(),
            );
        }
        self.session.note_read(bytes.len());
        Ok(())
    }

    fn write_impl(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        if !(offset as usize).is_multiple_of(WRITE_SIZE) || !bytes.len().is_multiple_of(WRITE_SIZE)
        {
            return Err(FlashError::NotAligned);
        }
        self.check(offset, bytes.len())?;
        for at in offset..offset + bytes.len() as u32 {
            if self.byte(at) != ERASED {
                return Err(FlashError::NotErased);
            }
        }
        let op = self.session.next_op();
        self.session.note_write(bytes.len());
        match self.cut.filter(|c| c.at == op) {
            None => self.program(offset, bytes),
            Some(cut) => {
                let mut rng = Rng::new(cut.seed, cut.at);
                match cut.model {
                    CutModel::Skip => {}
                    CutModel::After => self.program(offset, bytes),
                    CutModel::TornPrefix => {
                        let n = rng.below(bytes.len() as u32) as usize;
                        self.program(offset, bytes.get(..n).unwrap_or_default());
                    }
                    CutModel::TornBits | CutModel::Garbage => {
                        for (at, &b) in (offset..).zip(bytes) {
                            // Each bit to clear is cleared or not, at random.
                            let torn = b | !(rng.next_u32() as u8);
                            self.set_byte(at, torn);
                        }
                    }
                }
                self.power_cut(op, OpKind::Write, offset, cut.model)
            }
        }
        Ok(())
    }

    fn program(&mut self, offset: u32, bytes: &[u8]) {
        for (at, &b) in (offset..).zip(bytes) {
            self.set_byte(at, b);
        }
    }

    fn erase_impl(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        if from > to {
            return Err(FlashError::OutOfBounds);
        }
        if !from.is_multiple_of(SECTOR_SIZE) || !to.is_multiple_of(SECTOR_SIZE) {
            return Err(FlashError::NotAligned);
        }
        if to > self.capacity {
            return Err(FlashError::OutOfBounds);
        }
        let mut sector = from;
        while sector < to {
            let op = self.session.next_op();
            self.session.note_erase();
            match self.cut.filter(|c| c.at == op) {
                None => self.erase_sector(sector),
                Some(cut) => {
                    self.torn_erase(sector, cut);
                    self.power_cut(op, OpKind::Erase, sector, cut.model)
                }
            }
            sector += SECTOR_SIZE;
        }
        Ok(())
    }

    fn torn_erase(&mut self, sector: u32, cut: CutConfig) {
        let mut rng = Rng::new(cut.seed, cut.at);
        match cut.model {
            CutModel::Skip => {}
            CutModel::After => self.erase_sector(sector),
            CutModel::TornPrefix => {
                let n = rng.below(SECTOR_SIZE);
                for at in sector..sector + n {
                    self.set_byte(at, ERASED);
                }
            }
            CutModel::TornBits => {
                for at in sector..sector + SECTOR_SIZE {
                    let r = rng.next_u32();
                    match r % 3 {
                        0 => self.set_byte(at, ERASED),
                        1 => {}
                        _ => self.set_byte(at, (r >> 8) as u8),
                    }
                }
            }
            CutModel::Garbage => {
                for at in sector..sector + SECTOR_SIZE {
                    let r = rng.next_u32();
                    self.set_byte(at, (r >> 8) as u8);
                }
            }
        }
    }

    fn power_cut(&self, op: u32, kind: OpKind, offset: u32, model: CutModel) -> ! {
        // SAFETY: the console UART of this machine; printing is the last thing that happens.
        let mut con = unsafe { Uart::new(self.uart) };
        let kind = match kind {
            OpKind::Write => "write",
            OpKind::Erase => "erase",
        };
        let _ = writeln!(
            con,
            "fwu-cut: op={op} kind={kind} offset={offset:#x} model={}",
            model.name()
        );
        exit(EXIT_POWER_CUT)
    }
}

impl ErrorType for EmulatedFlash {
    type Error = FlashError;
}

impl ReadNorFlash for EmulatedFlash {
    const READ_SIZE: usize = READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.read_impl(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.capacity as usize
    }
}

impl NorFlash for EmulatedFlash {
    const WRITE_SIZE: usize = WRITE_SIZE;
    const ERASE_SIZE: usize = ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.erase_impl(from, to)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.write_impl(offset, bytes)
    }
}

impl embedded_storage_async::nor_flash::ReadNorFlash for EmulatedFlash {
    const READ_SIZE: usize = READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.read_impl(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.capacity as usize
    }
}

impl embedded_storage_async::nor_flash::NorFlash for EmulatedFlash {
    const WRITE_SIZE: usize = WRITE_SIZE;
    const ERASE_SIZE: usize = ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.erase_impl(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.write_impl(offset, bytes)
    }
}
