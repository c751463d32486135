//! Flash wear of an install and a revert: fwu's offset swap against embassy-boot's swap, on the
//! same simulated device (32 x 4 KiB slots, 4-byte writes, 256-byte copy buffer), and the state
//! metadata each programs (bytes written to the state partition during the boot).
//!
//! Run: `cargo run --release -p fwu-bootloader --example wear`

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use core::cell::RefCell;
use embassy_boot::{BlockingFirmwareState, BootLoader, BootLoaderConfig};
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use fwu_sim_flash::{OpKind, Stats, TracedOp};

/// Erase counts of the sectors of one slot.
fn slot_erases(stats: &Stats, offset: u32, sectors: u32) -> Vec<u64> {
    let first = (offset / SECTOR) as usize;
    stats.sector_erases[first..first + sectors as usize].to_vec()
}

struct Row {
    who: &'static str,
    op: &'static str,
    image: usize,
    primary_max: u64,
    primary_total: u64,
    secondary_max: u64,
    secondary_total: u64,
    other_erases: u64,
    writes: u64,
    bytes: u64,
    /// Bytes programmed into the state partition (metadata).
    state_bytes: u64,
}

/// Bytes programmed by the traced writes that land in `range`.
fn bytes_in(ops: &[TracedOp], range: core::ops::Range<u32>) -> u64 {
    ops.iter()
        .filter(|o| o.kind == OpKind::Write && range.contains(&o.offset))
        .map(|o| o.len as u64)
        .sum()
}

fn row(
    who: &'static str,
    op: &'static str,
    image: usize,
    s: &Stats,
    p: u32,
    d: u32,
    state_bytes: u64,
) -> Row {
    let pe = slot_erases(s, p, 32);
    let se = slot_erases(s, d, 33);
    let slots: u64 = pe.iter().chain(se.iter()).sum();
    Row {
        who,
        op,
        image,
        primary_max: pe.iter().copied().max().unwrap_or(0),
        primary_total: pe.iter().sum(),
        secondary_max: se.iter().copied().max().unwrap_or(0),
        secondary_total: se.iter().sum(),
        other_erases: s.erases - slots,
        writes: s.writes,
        bytes: s.bytes_written,
        state_bytes,
    }
}

fn fwu(image_len: usize) -> (Row, Row) {
    let mut f = new_flash();
    let old = image(v(1, 0), image_len, 1, &[], 0xa1);
    let new = image(v(2, 0), image_len, 2, &[], 0xb2);
    flash_active(&mut f, 0, &old);
    flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 0xc3));
    // The device's first boot writes its first state (not part of an update).
    boot(&mut f).expect("first boot");
    make_candidate(&mut f, 0, &new);
    install(&mut f, &[0]);
    let s0 = slots(0);
    let state = layout().state;
    f.reset_stats();
    f.set_tracing(true);
    boot(&mut f).expect("install boot");
    let install = row(
        "fwu (offset swap)",
        "install",
        image_len,
        f.stats(),
        s0.primary,
        s0.secondary,
        bytes_in(f.traced(), state.clone()),
    );
    f.reset_stats();
    f.set_tracing(true);
    boot(&mut f).expect("revert boot");
    let revert = row(
        "fwu (offset swap)",
        "revert",
        image_len,
        f.stats(),
        s0.primary,
        s0.secondary,
        bytes_in(f.traced(), state),
    );
    assert_eq!(primary(&f, 0, old.len()), &old[..]);
    (install, revert)
}

fn embassy(image_len: usize) -> (Row, Row) {
    // Same device; embassy-boot's STATE needs 2 + 4N words: one 4 KiB page.
    const STATE: u32 = 0x0;
    const ACTIVE: u32 = 0x10000;
    const DFU: u32 = 0x30000;
    let mut f = new_flash();
    let old = image(v(1, 0), image_len, 1, &[], 0xa1);
    let new = image(v(2, 0), image_len, 2, &[], 0xb2);
    f.load(ACTIVE as usize, &old);
    f.load(DFU as usize, &new);
    let flash = Mutex::<NoopRawMutex, _>::new(RefCell::new(f));
    let mut aligned = [0u8; 4];
    {
        let state = BlockingPartition::new(&flash, STATE, SECTOR);
        let mut fw = BlockingFirmwareState::new(state, &mut aligned);
        fw.mark_updated().expect("mark_updated");
    }
    let mut buf = [0u8; 256];
    let mut run = |op| {
        flash.lock(|f| {
            let mut f = f.borrow_mut();
            f.reset_stats();
            f.set_tracing(true);
        });
        let config = BootLoaderConfig {
            active: BlockingPartition::new(&flash, ACTIVE, 32 * SECTOR),
            dfu: BlockingPartition::new(&flash, DFU, 33 * SECTOR),
            state: BlockingPartition::new(&flash, STATE, SECTOR),
        };
        BootLoader::new(config)
            .prepare_boot(&mut buf)
            .expect("prepare_boot");
        flash.lock(|f| {
            let f = f.borrow();
            row(
                "embassy-boot 0.7",
                op,
                image_len,
                f.stats(),
                ACTIVE,
                DFU,
                bytes_in(f.traced(), STATE..STATE + SECTOR),
            )
        })
    };
    let install = run("install");
    let revert = run("revert");
    flash.lock(|f| {
        assert_eq!(
            &f.borrow().contents()[ACTIVE as usize..][..old.len()],
            &old[..]
        )
    });
    (install, revert)
}

fn main() {
    println!("Device: 32 x 4 KiB primary slot, 33 x 4 KiB secondary, 4-byte writes, 256-byte copy buffer.");
    println!("Command: cargo run --release -p fwu-bootloader --example wear\n");
    println!("| swap | operation | image bytes | erases/sector primary (max) | primary erases | erases/sector secondary (max) | secondary erases | state erases | writes | flash ops (writes + erases) | bytes programmed | state bytes programmed | state bytes / image |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for len in [64 * 1024 - 100, 32 * SECTOR as usize] {
        let (fi, fr) = fwu(len);
        let (ei, er) = embassy(len);
        for r in [fi, fr, ei, er] {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} % |",
                r.who,
                r.op,
                r.image,
                r.primary_max,
                r.primary_total,
                r.secondary_max,
                r.secondary_total,
                r.other_erases,
                r.writes,
                r.writes + r.primary_total + r.secondary_total + r.other_erases,
                r.bytes,
                r.state_bytes,
                100.0 * r.state_bytes as f64 / r.image as f64
            );
        }
    }
}
