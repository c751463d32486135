//! The "power session": counters kept in a reserved RAM block that survives warm resets (SCB
//! `SYSRESETREQ`, watchdog) but not a new QEMU process, so flash operations are numbered from
//! the cold start of the emulated device, across every boot, bootloader and application alike.
//!
//! QEMU starts with zeroed RAM, so a cold start is recognised by a missing magic (on real
//! hardware, by the magic and its complement not matching), and the block is re-initialised.
//! Both the bootloader and applications link their RAM below the block
//! ([`MemoryMap::session_block`](crate::map::MemoryMap::session_block)).

use core::ptr::{read_volatile, write_volatile};

const MAGIC: u32 = 0x5e55_10f0;

// Word indices in the block.
const MAGIC_W: usize = 0;
const MAGIC_INV_W: usize = 1;
const BOOTS: usize = 2;
const OPS: usize = 3;
const READS: usize = 4;
const WRITES: usize = 5;
const ERASES: usize = 6;
const BYTES_READ: usize = 7;
const BYTES_WRITTEN: usize = 8;
const FAILED_BOOTS: usize = 9;
const WORDS: usize = 10;

/// Operation counters since the cold start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Boots (calls to [`Session::note_boot`]).
    pub boots: u32,
    /// Counted write and erase operations: the numbering power cuts refer to (a write call is
    /// one operation, an erase is one per sector).
    pub ops: u32,
    /// Read calls.
    pub reads: u32,
    /// Write calls.
    pub writes: u32,
    /// Sectors erased.
    pub erases: u32,
    /// Bytes read.
    pub bytes_read: u32,
    /// Bytes programmed.
    pub bytes_written: u32,
    /// Consecutive boots that ended with a bootloader error.
    pub failed_boots: u32,
}

/// Handle on the session block. Copies share the same counters.
#[derive(Clone, Copy, Debug)]
pub struct Session {
    base: usize,
}

impl Session {
    /// Attach to the block at `addr`, initialising it on a cold start. Returns the handle and
    /// whether this was a cold start.
    ///
    /// # Safety
    /// `addr` must be 4-byte aligned RAM of at least 64 bytes that no program links anything
    /// into, used only through `Session`.
    pub unsafe fn attach(addr: usize) -> (Session, bool) {
        let s = Session { base: addr };
        let cold = s.get(MAGIC_W) != MAGIC || s.get(MAGIC_INV_W) != !MAGIC;
        if cold {
            for w in 0..WORDS {
                s.set(w, 0);
            }
            s.set(MAGIC_W, MAGIC);
            s.set(MAGIC_INV_W, !MAGIC);
        }
        (s, cold)
    }

    fn get(&self, word: usize) -> u32 {
        // SAFETY: `base` is the reserved block (see `attach`) and `word < WORDS`.
        unsafe { read_volatile((self.base + 4 * word) as *const u32) }
    }

    fn set(&self, word: usize, value: u32) {
        // SAFETY: as in `get`.
        unsafe { write_volatile((self.base + 4 * word) as *mut u32, value) }
    }

    fn add(&self, word: usize, n: u32) -> u32 {
        let v = self.get(word).wrapping_add(n);
        self.set(word, v);
        v
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        Stats {
            boots: self.get(BOOTS),
            ops: self.get(OPS),
            reads: self.get(READS),
            writes: self.get(WRITES),
            erases: self.get(ERASES),
            bytes_read: self.get(BYTES_READ),
            bytes_written: self.get(BYTES_WRITTEN),
            failed_boots: self.get(FAILED_BOOTS),
        }
    }

    /// Count a boot; returns the boot number (1 for the cold boot).
    pub fn note_boot(&self) -> u32 {
        self.add(BOOTS, 1)
    }

    /// Count a boot that ended with an error; returns how many in a row.
    pub fn note_failed_boot(&self) -> u32 {
        self.add(FAILED_BOOTS, 1)
    }

    /// Reset the failed-boot streak.
    pub fn clear_failed_boots(&self) {
        self.set(FAILED_BOOTS, 0);
    }

    /// Number the next write or erase operation (1-based) and count it.
    pub(crate) fn next_op(&self) -> u32 {
        self.add(OPS, 1)
    }

    pub(crate) fn note_read(&self, bytes: usize) {
        self.add(READS, 1);
        self.add(BYTES_READ, bytes as u32);
    }

    pub(crate) fn note_write(&self, bytes: usize) {
        self.add(WRITES, 1);
        self.add(BYTES_WRITTEN, bytes as u32);
    }

    pub(crate) fn note_erase(&self) {
        self.add(ERASES, 1);
    }
}
