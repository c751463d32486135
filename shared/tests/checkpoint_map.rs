//! The checkpoint map (`fwu_shared::state::CheckpointMap`) behind the erase guard: a power cut at
//! any flash operation of a long sequence of checkpoint writes (several garbage collections)
//! leaves each checkpoint reading as its value before or after the interrupted write — the
//! guard completes interrupted page erases and torn page markers — and bits flipped at rest in a
//! page's hidden header change nothing.
#![allow(clippy::unwrap_used, clippy::panic)]

use embassy_futures::block_on;
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::guard::TOLERANCE;
use fwu_shared::state::{Checkpoint, CheckpointMap, StateGeometry};
use fwu_sim_flash::{CutModel, Geometry, SimFlash};

type Flash = SimFlash<1024, 4>;
const S: u32 = 1024;

static SLOTS: [ComponentSlots; 2] = [
    ComponentSlots {
        id: 0,
        primary: 6 * S,
        secondary: 10 * S,
        sectors: 4,
    },
    ComponentSlots {
        id: 2,
        primary: 15 * S,
        secondary: 17 * S,
        sectors: 2,
    },
];

fn layout() -> Layout<'static> {
    Layout {
        sector_size: S,
        components: &SLOTS,
        state: 0..6 * S,
    }
}

fn flash() -> Flash {
    Flash::new(Geometry {
        sectors: 20,
        erased: 0xff,
    })
}

fn cp(v: u32) -> Checkpoint {
    Checkpoint {
        download: 7,
        written: v,
    }
}

fn put(f: &mut Flash, c: u8, v: u32) -> bool {
    let mut map = CheckpointMap::new(f, &layout()).unwrap();
    block_on(map.put(c, &cp(v))).is_ok()
}

fn get(f: &mut Flash, c: u8) -> Option<Checkpoint> {
    let mut map = CheckpointMap::new(f, &layout()).unwrap();
    block_on(map.get(c))
}

#[test]
fn every_cut_in_a_long_write_sequence_keeps_each_checkpoint_old_or_new() {
    let writes: Vec<(u8, u32)> = (1..=240u32).map(|i| (((i % 2) * 2) as u8, i)).collect();
    let mut clean = flash();
    let mut boundaries = vec![clean.op_index()];
    for &(c, v) in &writes {
        assert!(put(&mut clean, c, v));
        boundaries.push(clean.op_index());
    }
    assert!(
        clean.stats().erases >= 4,
        "the sequence must garbage-collect several times"
    );
    let total = clean.op_index();
    for model in CutModel::ALL {
        for op in 0..total {
            let mut f = flash();
            f.arm_cut(op, model, op * 7 + 1);
            for &(c, v) in &writes {
                if !put(&mut f, c, v) {
                    break;
                }
            }
            f.power_on();
            let i = boundaries.iter().rposition(|&b| b <= op).unwrap();
            for c in [0u8, 2] {
                let before = writes[..i].iter().rev().find(|w| w.0 == c).map(|w| cp(w.1));
                let after = writes[..=i]
                    .iter()
                    .rev()
                    .find(|w| w.0 == c)
                    .map(|w| cp(w.1));
                let got = get(&mut f, c);
                assert!(
                    got == before || got == after,
                    "{model:?} op {op}: component {c} reads {got:?}, not {before:?} or {after:?}"
                );
            }
            assert!(
                put(&mut f, 0, 999),
                "{model:?} op {op}: the map keeps working"
            );
            assert_eq!(get(&mut f, 0), Some(cp(999)));
        }
    }
}

#[test]
fn flipped_bits_in_a_page_header_lose_nothing() {
    let geo = StateGeometry::new(&layout(), 4).unwrap();
    let mut f = flash();
    for v in 1..=9 {
        assert!(put(&mut f, 0, v));
        assert!(put(&mut f, 2, 100 + v));
    }
    let pages = (geo.checkpoints.1 - geo.checkpoints.0) / S;
    for page in 0..pages {
        let header = (geo.checkpoints.0 + page * S) as usize;
        // Up to TOLERANCE flips in the OK slot and in the DOOMED slot of the header.
        for (slot, flips) in [(0usize, TOLERANCE), (32, TOLERANCE)] {
            let mut g = f.clone();
            for k in 0..flips as usize {
                let at = header + slot + (k * 5) % 32;
                let b = g.contents()[at] ^ (1 << (k % 8));
                g.load(at, &[b]);
            }
            assert_eq!(get(&mut g, 0), Some(cp(9)), "page {page} slot {slot}");
            assert_eq!(get(&mut g, 2), Some(cp(109)), "page {page} slot {slot}");
        }
    }
}

/// The guard's own rules, page by page: an erase that was decided (DOOMED programmed) or cut
/// (OK marker destroyed) is completed before the map sees the page; a page that only has a few
/// bits flipped in its header is trusted as it is.
#[test]
fn the_guard_completes_decided_and_cut_erases_and_trusts_flipped_headers() {
    use embedded_storage_async::nor_flash::ReadNorFlash;
    use fwu_shared::state::guard::{Guarded, HEADER};
    let base = 0u32;
    let data = [0x3cu8; 64];
    let fresh = || {
        let mut f = Flash::new(Geometry {
            sectors: 4,
            erased: 0xff,
        });
        // Let the guard bless page 0, then put map bytes on it.
        let mut buf = [0u8; 4];
        block_on(Guarded::new(&mut f, base, 2).read(0, &mut buf)).unwrap();
        f.load(HEADER + 100, &data);
        f
    };
    let read = |f: &mut Flash| {
        let mut out = [0u8; 64];
        block_on(Guarded::new(f, base, 2).read(100, &mut out)).unwrap();
        out
    };
    // Trusted page: the data reads back.
    assert_eq!(read(&mut fresh()), data);
    // A decided erase (DOOMED written): completed, the page reads erased.
    let mut f = fresh();
    f.load(32, &[0u8; 32]);
    assert_eq!(read(&mut f), [0xff; 64]);
    // An erase cut after it scrambled the OK marker.
    let mut f = fresh();
    f.load(0, &[0x5au8; 32]);
    assert_eq!(read(&mut f), [0xff; 64]);
    // A torn DOOMED write with more than TOLERANCE programmed bits: the erase was decided.
    let mut f = fresh();
    f.load(32, &[0x00, 0x00, 0xff, 0xff]);
    assert_eq!(read(&mut f), [0xff; 64]);
    // Up to TOLERANCE flipped bits in either header slot: not an erase, nothing is lost.
    let mut f = fresh();
    let mut ok = f.contents()[..32].to_vec();
    ok[3] ^= 0x0f;
    ok[20] ^= 0x0f;
    f.load(0, &ok);
    f.load(40, &[0xfe]);
    assert_eq!(read(&mut f), data);
}
