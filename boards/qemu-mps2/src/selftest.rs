//! On-target self-test of [`EmulatedFlash`] (feature `testapp`): NOR rules, bounds, alignment,
//! counters and the async trait path, on a scratch sector outside the layout (the last usable
//! sector, just below the control block). Runs under the plain cargo runner too: QEMU maps its
//! default RAM at the flash window when no backend file is given.
//!
//! Prints `fwu-selftest: <check> ok|FAIL ...` lines and exits 0 when every check passes.

use crate::console::Uart;
use crate::flash::{EmulatedFlash, FlashError, ERASED};
use crate::map::{MemoryMap, FLASH_USABLE, SECTOR_SIZE};
use crate::semihost::{exit, EXIT_FAILURE, EXIT_SUCCESS};
use crate::session::Session;
use core::fmt::Write as _;
use embassy_futures::block_on;
use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};

/// The scratch sector.
pub const SCRATCH: u32 = FLASH_USABLE - SECTOR_SIZE;

struct Checker {
    con: Uart,
    failed: u32,
}

impl Checker {
    fn check(&mut self, what: &str, ok: bool) {
        let _ = writeln!(
            self.con,
            "fwu-selftest: {what} {}",
            if ok { "ok" } else { "FAIL" }
        );
        if !ok {
            self.failed += 1;
        }
    }
}

fn sector_is(flash: &mut EmulatedFlash, offset: u32, value: u8) -> bool {
    let mut buf = [0u8; 256];
    let mut at = offset;
    while at < offset + SECTOR_SIZE {
        if ReadNorFlash::read(flash, at, &mut buf).is_err() || buf.iter().any(|&b| b != value) {
            return false;
        }
        at += buf.len() as u32;
    }
    true
}

/// The async trait path, as the update service uses it.
async fn async_path<F>(flash: &mut F) -> bool
where
    F: embedded_storage_async::nor_flash::NorFlash<Error = FlashError>,
{
    let mut b = [0u8; 4];
    flash.erase(SCRATCH, SCRATCH + SECTOR_SIZE).await.is_ok()
        && flash.write(SCRATCH + 4, &[1, 2, 3, 4]).await.is_ok()
        && flash.read(SCRATCH + 4, &mut b).await.is_ok()
        && b == [1, 2, 3, 4]
        && flash.write(SCRATCH + 4, &[1, 2, 3, 4]).await == Err(FlashError::NotErased)
}

/// Run the self-test on the machine described by `map` and exit QEMU.
pub fn run(map: &MemoryMap) -> ! {
    // SAFETY: the console UART of this machine.
    let mut con = unsafe { Uart::new(map.uart0) };
    con.init();
    // SAFETY: the session block is reserved by every program's memory.x.
    let (session, _) = unsafe { Session::attach(map.session_block) };
    // SAFETY: the flash window of this machine; this program is its only writer.
    let mut flash = unsafe { EmulatedFlash::new(map, session) };
    flash.set_cut(None);
    let mut t = Checker { con, failed: 0 };
    let before = flash.stats();

    t.check(
        "geometry",
        flash.capacity() == FLASH_USABLE as usize
            && <EmulatedFlash as NorFlash>::ERASE_SIZE == 4096
            && <EmulatedFlash as NorFlash>::WRITE_SIZE == 4
            && <EmulatedFlash as ReadNorFlash>::READ_SIZE == 1,
    );
    t.check(
        "erase sets 0xff",
        flash.erase(SCRATCH, SCRATCH + SECTOR_SIZE).is_ok()
            && sector_is(&mut flash, SCRATCH, ERASED),
    );
    let data = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];
    let mut back = [0u8; 8];
    t.check(
        "write then read back",
        flash.write(SCRATCH + 16, &data).is_ok()
            && ReadNorFlash::read(&mut flash, SCRATCH + 16, &mut back).is_ok()
            && back == data,
    );
    t.check(
        "rewrite refused (not erased)",
        flash.write(SCRATCH + 16, &[0, 0, 0, 0]) == Err(FlashError::NotErased),
    );
    t.check(
        "partly programmed word refused",
        flash.write(SCRATCH + 20, &[0xf0, 0xff, 0xff, 0xff]) == Err(FlashError::NotErased)
            && ReadNorFlash::read(&mut flash, SCRATCH + 16, &mut back).is_ok()
            && back == data,
    );
    t.check(
        "misaligned write refused",
        flash.write(SCRATCH + 2, &[0, 0, 0, 0]) == Err(FlashError::NotAligned)
            && flash.write(SCRATCH + 32, &[0, 0, 0]) == Err(FlashError::NotAligned),
    );
    t.check(
        "out-of-bounds write refused",
        flash.write(FLASH_USABLE, &[0; 4]) == Err(FlashError::OutOfBounds)
            && flash.write(FLASH_USABLE - 4, &[0; 8]) == Err(FlashError::OutOfBounds),
    );
    t.check(
        "out-of-bounds read refused",
        ReadNorFlash::read(&mut flash, FLASH_USABLE - 1, &mut [0u8; 2])
            == Err(FlashError::OutOfBounds)
            && ReadNorFlash::read(&mut flash, FLASH_USABLE - 1, &mut [0u8; 1]).is_ok(),
    );
    t.check(
        "misaligned or out-of-bounds erase refused",
        flash.erase(SCRATCH + 4, SCRATCH + SECTOR_SIZE) == Err(FlashError::NotAligned)
            && flash.erase(SCRATCH, SCRATCH + 100) == Err(FlashError::NotAligned)
            && flash.erase(SCRATCH, FLASH_USABLE + SECTOR_SIZE) == Err(FlashError::OutOfBounds)
            && flash.erase(SCRATCH + SECTOR_SIZE, SCRATCH) == Err(FlashError::OutOfBounds),
    );
    let async_ok = block_on(async_path(&mut flash));
    t.check("async traits", async_ok);
    t.check(
        "erase after write",
        flash.erase(SCRATCH, SCRATCH + SECTOR_SIZE).is_ok()
            && sector_is(&mut flash, SCRATCH, ERASED),
    );
    // Counted: 3 erases and 2 writes succeeded; refused operations are not numbered.
    let after = flash.stats();
    t.check(
        "operation counters",
        after.ops - before.ops == 5
            && after.erases - before.erases == 3
            && after.writes - before.writes == 2
            && after.bytes_written - before.bytes_written == 12,
    );
    let failed = t.failed;
    if failed == 0 {
        let _ = writeln!(t.con, "fwu-selftest: PASS");
        exit(EXIT_SUCCESS)
    } else {
        let _ = writeln!(t.con, "fwu-selftest: FAIL ({failed} checks)");
        exit(EXIT_FAILURE)
    }
}
