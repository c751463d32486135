//! Memory and flash overhead of the update service.
//!
//! Run: `cargo run --release -p fwu-updater --example overhead`
//!
//! Prints (1) the size of the service object and of the future of each API call (what a task
//! awaiting it must hold: the largest one sizes the task), and (2) the flash operations of
//! downloading a 64 KiB image on a simulated NOR flash with 4 KiB sectors and 4-byte words,
//! split into the slot traffic and the state-store traffic (records, checkpoints, garbage
//! collection), per KiB of image.
//!
//! Sizes are for the host the program runs on (64-bit pointers); on a 32-bit MCU the pointer-
//! and `usize`-sized fields halve.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use core::cell::RefCell;
use core::mem::{size_of, size_of_val};
use embassy_futures::block_on;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embedded_storage::nor_flash::{NorFlash as BlockingNorFlash, ReadNorFlash as BlockingRead};
use embedded_storage_async::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::KeyRing;
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{BootLog, BootRecord, Phase, StoredCounters};
use fwu_shared::version::BuildNumber;
use fwu_shared::ImageVersion;
use fwu_sim_flash::{FlashError, Geometry, SimFlash};
use fwu_updater::{Config, ResetHook, Updater, PSA_FWU_MAX_WRITE_SIZE};
use std::rc::Rc;

const SECTOR: u32 = 4096;
const STATE: core::ops::Range<u32> = 0..6 * SECTOR;
static SLOTS: [ComponentSlots; 1] = [ComponentSlots {
    id: 0,
    primary: 0x6000,
    secondary: 0x16000,
    sectors: 16,
}];

type Sim = SimFlash<4096, 4>;

/// Operation counts, split by region.
#[derive(Clone, Copy, Default, Debug)]
struct Count {
    writes: u64,
    bytes: u64,
    erases: u64,
}

#[derive(Default)]
struct Counters {
    slot: Count,
    store: Count,
}

/// A handle on the simulated flash that counts writes and erases per region.
#[derive(Clone)]
struct Counting {
    sim: Rc<RefCell<Sim>>,
    counts: Rc<RefCell<Counters>>,
}

impl Counting {
    fn region(&self, addr: u32) -> std::cell::RefMut<'_, Count> {
        std::cell::RefMut::map(self.counts.borrow_mut(), |c| {
            if STATE.contains(&addr) {
                &mut c.store
            } else {
                &mut c.slot
            }
        })
    }
    fn take(&self) -> Counters {
        std::mem::take(&mut *self.counts.borrow_mut())
    }
}

impl ErrorType for Counting {
    type Error = FlashError;
}

impl ReadNorFlash for Counting {
    const READ_SIZE: usize = 1;
    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        BlockingRead::read(&mut *self.sim.borrow_mut(), offset, bytes)
    }
    fn capacity(&self) -> usize {
        BlockingRead::capacity(&*self.sim.borrow())
    }
}

impl NorFlash for Counting {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 4096;
    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.region(from).erases += u64::from((to - from) / SECTOR);
        BlockingNorFlash::erase(&mut *self.sim.borrow_mut(), from, to)
    }
    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        {
            let mut r = self.region(offset);
            r.writes += 1;
            r.bytes += bytes.len() as u64;
        }
        BlockingNorFlash::write(&mut *self.sim.borrow_mut(), offset, bytes)
    }
}

struct NoReset;
impl ResetHook for NoReset {
    fn reset(&mut self) {}
}

fn config(keys: &'static [fwu_shared::image::PublicKey]) -> Config<'static> {
    Config {
        layout: Layout {
            sector_size: SECTOR,
            components: &SLOTS,
            state: STATE,
        },
        keys: KeyRing::new(keys),
        build_number: BuildNumber::Ignore,
    }
}

fn row(name: &str, c: &Count, kib: f64) {
    println!(
        "| {name} | {} | {} | {} | {:.2} | {:.2} | {:.0} |",
        c.writes,
        c.erases,
        c.bytes,
        c.writes as f64 / kib,
        c.erases as f64 / kib,
        c.bytes as f64 / kib,
    );
}

fn main() {
    let signer = Ed25519Signer::from_seed(&[1; 32]);
    let keys: &'static [_] = Box::leak(Box::new([signer.public_key()]));
    // A 64 KiB image: exactly the slot.
    let spec = ImageSpec {
        security_counter: Some(1),
        ..ImageSpec::new(ImageVersion::new(1, 0, 0, 0))
    };
    let total = 64 * 1024;
    let payload: Vec<u8> = (0..total - spec.image_len(0)).map(|i| i as u8).collect();
    let mut image = vec![0u8; total];
    build_image(&spec, &payload, &signer, &mut image).unwrap();
    let kib = total as f64 / 1024.0;

    let flash = Counting {
        sim: Rc::new(RefCell::new(Sim::new(Geometry {
            sectors: 0x27000 / 4096,
            erased: 0xff,
        }))),
        counts: Rc::default(),
    };
    let u: Updater<'static, CriticalSectionRawMutex, Counting, NoReset> = block_on(Updater::new(
        flash.clone(),
        config(keys),
        NoReset,
        StoredCounters,
    ))
    .unwrap();

    // (1) Memory.
    println!("## Memory (host, 64-bit)\n");
    println!("| item | bytes |\n|---|---|");
    println!(
        "| `Updater` (over a {}-byte flash handle) | {} |",
        size_of::<Counting>(),
        size_of::<Updater<'static, CriticalSectionRawMutex, Counting, NoReset>>()
    );
    let block = [0u8; PSA_FWU_MAX_WRITE_SIZE];
    let futures = [
        ("query", size_of_val(&u.query(0))),
        ("start", size_of_val(&u.start(0, None))),
        ("write", size_of_val(&u.write(0, 0, &block))),
        ("finish", size_of_val(&u.finish(0))),
        ("cancel", size_of_val(&u.cancel(0))),
        ("clean", size_of_val(&u.clean(0))),
        ("install", size_of_val(&u.install())),
        ("request_reboot", size_of_val(&u.request_reboot())),
        ("reject", size_of_val(&u.reject(0))),
        ("accept", size_of_val(&u.accept())),
    ];
    for (name, size) in futures {
        println!("| `{name}` future | {size} |");
    }
    let (largest, size) = futures.iter().max_by_key(|f| f.1).unwrap();
    println!("| **largest future** (`{largest}`) | **{size}** |\n");

    // (2) Flash operations.
    let download = |u: &Updater<'static, CriticalSectionRawMutex, Counting, NoReset>| {
        block_on(async {
            u.start(0, None).await.unwrap();
            for (i, b) in image.chunks(PSA_FWU_MAX_WRITE_SIZE).enumerate() {
                u.write(0, i * PSA_FWU_MAX_WRITE_SIZE, b).await.unwrap();
            }
            u.finish(0).await.unwrap();
        })
    };
    flash.take();
    download(&u);
    let fresh = flash.take();
    block_on(u.cancel(0)).unwrap();
    let cancel = flash.take();
    block_on(u.clean(0)).unwrap();
    let clean = flash.take();
    download(&u);
    let after_clean = flash.take();
    block_on(u.install()).unwrap();
    let install = flash.take();
    // The bootloader's part is not measured here: put the transaction on trial directly.
    drop(u);
    {
        let mut h = flash.clone();
        let layout = config(keys).layout;
        block_on(async {
            let mut log = BootLog::open(&mut h, &layout).await.unwrap();
            let txn = log.state();
            log.commit(
                &mut h,
                &BootRecord {
                    phase: Phase::Trial,
                    ..txn
                },
            )
            .await
            .unwrap();
        });
    }
    let u: Updater<'static, CriticalSectionRawMutex, Counting, NoReset> = block_on(Updater::new(
        flash.clone(),
        config(keys),
        NoReset,
        StoredCounters,
    ))
    .unwrap();
    flash.take();
    block_on(u.accept()).unwrap();
    let accept = flash.take();

    // Steady state of the state store: many update cycles, so garbage collection is included.
    let cycles = 20;
    flash.take();
    for _ in 0..cycles {
        block_on(u.clean(0)).unwrap();
        download(&u);
        block_on(u.cancel(0)).unwrap();
    }
    let steady = flash.take();
    let n = cycles as f64;
    let (w, e, b) = (
        steady.store.writes as f64 / n,
        steady.store.erases as f64 / n,
        steady.store.bytes as f64 / n,
    );
    println!("## Flash operations, 64 KiB image, 4 KiB sectors, 4-byte words\n");
    println!("| what | writes | erases | bytes programmed | writes/KiB | erases/KiB | bytes/KiB |");
    println!("|---|---|---|---|---|---|---|");
    let sum = |c: &Counters| Count {
        writes: c.slot.writes + c.store.writes,
        bytes: c.slot.bytes + c.store.bytes,
        erases: c.slot.erases + c.store.erases,
    };
    row(
        "download, fresh slot (start + 64 writes + finish): total",
        &sum(&fresh),
        kib,
    );
    row("… of which slot", &fresh.slot, kib);
    row("… of which state store", &fresh.store, kib);
    row("download after `clean`: total", &sum(&after_clean), kib);
    row("… of which state store", &after_clean.store, kib);
    println!(
        "| state store, mean per download over {cycles} cycles incl. GC | {w:.1} | {e:.2} | {b:.0} | {:.2} | {:.3} | {:.0} |",
        w / kib,
        e / kib,
        b / kib
    );
    println!("\n| call | writes | erases | bytes programmed |\n|---|---|---|---|");
    for (name, c) in [
        ("cancel", sum(&cancel)),
        ("clean (full slot)", sum(&clean)),
        ("install", sum(&install)),
        ("accept (commit + settle + counter)", sum(&accept)),
    ] {
        println!("| {name} | {} | {} | {} |", c.writes, c.erases, c.bytes);
    }
    println!("\nCommand: `cargo run --release -p fwu-updater --example overhead`");
}
