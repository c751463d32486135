//! The bare-metal test application's flows, shared by both boards (feature `testapp`).
//!
//! Console lines (UART0):
//! ```text
//! fwu-app: version=1.0.0 mode=Exit
//! fwu-app: state=Ready txn=Idle
//! fwu-app: staged version=2.0.0 size=12345 seq=1
//! fwu-app: exit code=0 boots=1 ops=0 writes=0 erases=0 bytes_written=0 reads=12 bytes_read=480
//! ```

use crate::console::Uart;
use crate::flash::EmulatedFlash;
use crate::map::{MemoryMap, APP_SLOTS, SECTOR_SIZE};
use crate::semihost::{exit, EXIT_FAILURE, EXIT_SUCCESS};
use crate::session::Session;
use core::fmt::Write as _;
use embassy_futures::block_on;
use fwu_shared::image::scan_slice;
use fwu_shared::state::plan::swap_sectors;
use fwu_shared::state::records::StagedImage;
use fwu_shared::state::{
    staged_set_digest, BootLog, BootRecord, Catalog, ComponentRecord, Members, Phase,
};
use fwu_shared::State;

/// What the test application does after printing its version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Exit QEMU with success.
    Exit,
    /// Spin forever without feeding the watchdog (a trial that hangs).
    Hang,
    /// If component 0 is READY, stage the image found in its staging area (CANDIDATE record +
    /// Staged transaction, as the update service's `finish` and `install` would) and reset;
    /// otherwise print the state and exit with success.
    Stage,
}

fn print_stats_and_exit(con: &mut Uart, session: Session, code: u32) -> ! {
    let s = session.stats();
    let _ = writeln!(
        con,
        "fwu-app: exit code={code} boots={} ops={} writes={} erases={} bytes_written={} reads={} bytes_read={}",
        s.boots, s.ops, s.writes, s.erases, s.bytes_written, s.reads, s.bytes_read
    );
    exit(code)
}

/// Run the test application in `mode`, announcing `version`.
pub fn run(map: &MemoryMap, version: &str, mode: Mode) -> ! {
    // SAFETY: the console UART of this machine.
    let mut con = unsafe { Uart::new(map.uart0) };
    con.init();
    // SAFETY: the session block is reserved by every program's memory.x.
    let (session, _) = unsafe { Session::attach(map.session_block) };
    let _ = writeln!(con, "fwu-app: version={version} mode={mode:?}");
    match mode {
        Mode::Exit => print_stats_and_exit(&mut con, session, EXIT_SUCCESS),
        Mode::Hang => {
            let _ = writeln!(con, "fwu-app: hanging");
            loop {
                cortex_m::asm::nop();
            }
        }
        Mode::Stage => {
            // SAFETY: the flash file is mapped at `map.flash_base`; this is its only writer.
            let mut flash = unsafe { EmulatedFlash::new(map, session) };
            match stage(&mut con, &mut flash) {
                Ok(true) => crate::reset(),
                Ok(false) => print_stats_and_exit(&mut con, session, EXIT_SUCCESS),
                Err(why) => {
                    let _ = writeln!(con, "fwu-app: stage-error {why}");
                    print_stats_and_exit(&mut con, session, EXIT_FAILURE)
                }
            }
        }
    }
}

/// Stage component 0's staging area if the component is READY. Returns whether it did.
fn stage(con: &mut Uart, flash: &mut EmulatedFlash) -> Result<bool, &'static str> {
    let layout = crate::map::layout();
    let mut log = block_on(BootLog::open(flash, &layout)).map_err(|_| "state-read")?;
    let mut catalog = block_on(Catalog::open(flash, &layout)).map_err(|_| "state-read")?;
    let txn = log.state();
    let rec = catalog.record(APP_SLOTS.id).unwrap_or_default();
    let (state, error) = txn
        .member_state(APP_SLOTS.id)
        .unwrap_or((rec.state, rec.error));
    let _ = writeln!(
        con,
        "fwu-app: state={state:?} error={error} txn={:?}",
        txn.phase
    );
    if state != State::Ready {
        return Ok(false);
    }
    let max = APP_SLOTS.max_image_size(SECTOR_SIZE);
    let staging = APP_SLOTS.staging_offset(SECTOR_SIZE);
    let scanned = {
        let image = flash.slice(staging, max).map_err(|_| "staging-bounds")?;
        scan_slice(image, max).map_err(|_| "staging-image")?
    };
    let candidate = ComponentRecord {
        state: State::Candidate,
        staged: StagedImage {
            size: scanned.total_size,
            digest: scanned.digest,
            version: scanned.header.version,
            security_counter: scanned.security_counter.unwrap_or(0),
            dependencies: scanned.dependencies,
        },
        ..ComponentRecord::default()
    };
    block_on(catalog.put(flash, APP_SLOTS.id, &candidate)).map_err(|_| "state-write")?;
    let mut sectors = [0u16; 8];
    if let Some(s) = sectors.get_mut(usize::from(APP_SLOTS.id)) {
        *s = block_on(swap_sectors(
            flash,
            &APP_SLOTS,
            SECTOR_SIZE,
            scanned.total_size,
        ))
        .map_err(|_| "staging-read")?;
    }
    let staged = BootRecord {
        seq: txn.seq.wrapping_add(1),
        phase: Phase::Staged,
        members: Members::NONE.with(APP_SLOTS.id),
        sectors,
        digest: staged_set_digest(core::iter::once((APP_SLOTS.id, scanned.digest))),
        counters: txn.counters,
        ..BootRecord::default()
    };
    block_on(log.commit(flash, &staged)).map_err(|_| "state-write")?;
    let v = scanned.header.version;
    let _ = writeln!(
        con,
        "fwu-app: staged version={}.{}.{}+{} size={} seq={}",
        v.major, v.minor, v.patch, v.build, scanned.total_size, staged.seq
    );
    Ok(true)
}
