//! The redundant stores of the persisted state (`fwu_shared::state`): the boot log and the
//! catalog survive every single fault at rest — each bit flipped, each copy erased or filled
//! with garbage — and power cuts at every flash operation of their writes; what cannot be
//! recovered is reported, never taken for a state; counters never read lower.
#![allow(clippy::unwrap_used, clippy::panic)]

use embassy_futures::block_on;
use fwu_shared::layout::{ComponentSlots, Layout};
use fwu_shared::state::{
    BootLog, BootRecord, Catalog, Checkpoint, CheckpointMap, ComponentRecord, Direction, Flag,
    Health, Members, Phase, StateGeometry,
};
use fwu_shared::State;
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
    let f = Flash::new(Geometry {
        sectors: 20,
        erased: 0xff,
    });
    assert_eq!(
        layout().validate(20 * 1024, 1024, 4),
        Ok(()),
        "the test layout is valid"
    );
    f
}

fn geometry() -> StateGeometry {
    StateGeometry::new(&layout(), 4).unwrap()
}

fn open(f: &mut Flash) -> BootLog {
    block_on(BootLog::open(f, &layout())).unwrap()
}

fn staged(seq: u32) -> BootRecord {
    BootRecord {
        seq,
        phase: Phase::Staged,
        members: Members(0b101),
        sectors: [3, 0, 2, 0, 0, 0, 0, 0],
        counters: [5, 0, 9, 0, 0, 0, 0, 0],
        digest: [0x5a; 32],
        ..BootRecord::default()
    }
}

/// A device in the middle of an install: several records committed (so the log has history),
/// the current one staged, installing, with `steps` swap steps recorded.
fn mid_swap(steps: u32) -> Flash {
    let mut f = flash();
    let mut log = open(&mut f);
    assert_eq!(log.health(), Health::Fresh);
    block_on(log.commit(&mut f, &BootRecord::default())).unwrap();
    block_on(log.commit(&mut f, &staged(1))).unwrap();
    block_on(log.commit(&mut f, &staged(2))).unwrap();
    block_on(log.set_flag(&mut f, Flag::Installing)).unwrap();
    for s in 0..steps {
        block_on(log.step_done(&mut f, Direction::Install, s)).unwrap();
    }
    f
}

#[test]
fn a_fresh_log_commits_and_reads_back() {
    let mut f = flash();
    let mut log = open(&mut f);
    assert_eq!(log.health(), Health::Fresh);
    block_on(log.commit(&mut f, &staged(1))).unwrap();
    let again = open(&mut f);
    assert_eq!(again.health(), Health::Ok);
    assert_eq!(again.state(), log.state());
    assert_eq!(again.state().phase, Phase::Staged);
    assert_eq!((again.counter(0), again.counter(2)), (5, 9));
}

#[test]
fn flags_and_steps_move_the_state_and_survive_reopening() {
    let mut f = mid_swap(5);
    let log = open(&mut f);
    let t = log.state();
    assert_eq!((t.phase, t.done), (Phase::Installing, 5));
    let mut log = log;
    for s in 5..10 {
        block_on(log.step_done(&mut f, Direction::Install, s)).unwrap();
    }
    block_on(log.set_flag(&mut f, Flag::Trial)).unwrap();
    block_on(log.set_flag(&mut f, Flag::Booted)).unwrap();
    let t = open(&mut f).state();
    assert_eq!((t.phase, t.trial_booted, t.done), (Phase::Trial, true, 0));
    // An install of 10 steps costs a few words per copy, not a record per step.
    let geo = geometry();
    assert_eq!(geo.boot[0].slot_len, 108 + 7 * 4 + 2 * 6 * 4);
}

/// `r` without its generation (a repair rewrites the same state as a newer record).
fn content(r: &BootRecord) -> BootRecord {
    BootRecord { gen: 0, ..*r }
}

/// Flip each bit (`stride` apart) of `range` on copies of `f` and check that the state reads
/// the same — but for the last swap step, whose word may be the flipped one: redoing that step
/// is safe, its source is intact — and that counters never read lower.
fn every_flip_reads_the_same(f: &Flash, range: std::ops::Range<u32>, stride: usize) -> usize {
    let mut g = f.clone();
    let want = open(&mut g).state();
    let want_counters = (open(&mut g).counter(0), open(&mut g).counter(2));
    let mut n = 0;
    for bit in (range.start as usize * 8..range.end as usize * 8).step_by(stride) {
        let mut g = f.clone();
        let byte = g.contents()[bit / 8] ^ (1 << (bit % 8));
        g.load(bit / 8, &[byte]);
        let log = open(&mut g);
        assert_ne!(log.health(), Health::Corrupt, "bit {bit}");
        let got = log.state();
        let redo = BootRecord {
            done: want.done.saturating_sub(1),
            ..want
        };
        assert!(got == want || got == redo, "bit {bit}: {got:?}");
        assert_eq!((log.counter(0), log.counter(2)), want_counters, "bit {bit}");
        n += 1;
    }
    n
}

#[test]
fn no_single_flipped_bit_changes_the_boot_state() {
    let geo = geometry();
    let boot = geo.boot[0].base..geo.boot[1].base + geo.boot[1].len;
    // Mid-swap (odd and even step counts), staged, and trial.
    for steps in [0, 3, 4] {
        let f = mid_swap(steps);
        assert!(every_flip_reads_the_same(&f, boot.clone(), 7) > 2000);
    }
    let mut f = mid_swap(6);
    let mut log = open(&mut f);
    block_on(log.set_flag(&mut f, Flag::Trial)).unwrap();
    every_flip_reads_the_same(&f, boot, 3);
}

#[test]
fn one_erased_or_garbage_copy_loses_nothing_and_is_repaired() {
    let geo = geometry();
    for steps in [2, 3] {
        for copy in geo.boot {
            for garbage in [false, true] {
                let mut f = mid_swap(steps);
                let want = open(&mut f).state();
                let fill: Vec<u8> = (0..copy.len as usize)
                    .map(|i| if garbage { (i * 37 % 251) as u8 } else { 0xff })
                    .collect();
                f.load(copy.base as usize, &fill);
                let mut log = open(&mut f);
                assert_eq!(log.health(), Health::Degraded);
                let got = log.state();
                assert_eq!(
                    (got.phase, got.seq, got.counters),
                    (want.phase, want.seq, want.counters)
                );
                // At most the last step is lost (its copy is gone), and it is safe to redo.
                assert!(
                    got.done == want.done || got.done + 1 == want.done,
                    "{steps}"
                );
                assert!(block_on(log.repair(&mut f)).unwrap());
                let healed = open(&mut f);
                assert_eq!(healed.health(), Health::Ok);
                assert_eq!(content(&healed.state()), content(&got));
            }
        }
    }
}

#[test]
fn two_bad_copies_are_corrupt_and_show_the_highest_counters_any_record_shows() {
    let geo = geometry();
    let mut f = mid_swap(2);
    let mut log = open(&mut f);
    let mut raised = log.state();
    raised.counters[2] = 11;
    block_on(log.commit(&mut f, &raised)).unwrap();
    // Garbage over most of both copies, but an older record with counter 11 survives in the
    // second copy's last slot... as garbage cannot be told from state, only counters are
    // salvaged.
    let last = geo.boot[1].slot(open(&mut f).geometry().boot[1].slots - 1);
    let _ = last;
    for copy in geo.boot {
        let junk: Vec<u8> = (0..copy.slot_len as usize)
            .map(|i| (i * 29 % 253) as u8)
            .collect();
        for slot in 0..copy.slots {
            // Keep one old record readable in copy 0's slot 1 (counter 9), destroy the rest.
            if copy.base == geo.boot[0].base && slot == 1 {
                continue;
            }
            f.load(copy.slot(slot) as usize, &junk);
        }
    }
    let log = open(&mut f);
    assert_eq!(log.health(), Health::Degraded, "one old record still reads");
    // Now destroy that one too: nothing readable is left.
    let junk: Vec<u8> = (0..geo.boot[0].slot_len as usize)
        .map(|i| i as u8)
        .collect();
    f.load(geo.boot[0].slot(1) as usize, &junk);
    let mut log = open(&mut f);
    assert_eq!(log.health(), Health::Corrupt);
    assert_eq!(log.state().phase, Phase::Idle);
    // Writes are refused until an explicit format.
    assert!(block_on(log.commit(&mut f, &BootRecord::default())).is_err());
    block_on(log.format(&mut f, &BootRecord::default())).unwrap();
    assert_eq!(open(&mut f).health(), Health::Ok);
}

#[test]
fn salvage_keeps_the_highest_counter_of_any_readable_record() {
    let geo = geometry();
    let mut f = mid_swap(0);
    let mut log = open(&mut f);
    let mut raised = log.state();
    raised.counters[0] = 42;
    block_on(log.commit(&mut f, &raised)).unwrap();
    // Copy 1 garbage; copy 0's newest record (the one with 42) survives, its older ones do not
    // matter: the floor is 42.
    let junk: Vec<u8> = (0..geo.boot[1].len as usize)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    f.load(geo.boot[1].base as usize, &junk);
    assert_eq!(open(&mut f).counter(0), 42);
}

/// Cut the operation `k` of `op` on a copy of `start` under `model`, power on, reopen: the
/// state must be the one before or the one after.
fn cut_each_op(start: &Flash, op: impl Fn(&mut Flash, &mut BootLog)) {
    let mut probe = start.clone();
    let before = open(&mut probe).state();
    let at = probe.op_index();
    let mut log = open(&mut probe);
    op(&mut probe, &mut log);
    let after = open(&mut probe).state();
    let ops = probe.op_index() - at;
    assert!(ops > 0);
    for model in CutModel::ALL {
        for k in 0..ops {
            let mut f = start.clone();
            f.arm_cut(f.op_index() + k, model, k);
            let mut log = open(&mut f);
            op(&mut f, &mut log);
            f.power_on();
            let mut log = open(&mut f);
            let got = content(&log.state());
            assert!(
                got == content(&before) || got == content(&after),
                "{model:?} at {k}: {got:?}"
            );
            // The next writer repairs whatever the cut left.
            block_on(log.repair(&mut f)).unwrap();
            assert_eq!(open(&mut f).health(), Health::Ok, "{model:?} at {k}");
        }
    }
}

#[test]
fn cuts_during_commits_flags_and_steps_leave_before_or_after() {
    let start = mid_swap(3);
    cut_each_op(&start, |f, log| {
        let _ = block_on(log.step_done(f, Direction::Install, 3));
    });
    cut_each_op(&start, |f, log| {
        let _ = block_on(log.commit(f, &staged(9)));
    });
    let mut done = mid_swap(10);
    let mut log = open(&mut done);
    cut_each_op(&done, |f, log| {
        let _ = block_on(log.set_flag(f, Flag::Trial));
    });
    // A full log: the commit rewrites a copy.
    for i in 0..20 {
        block_on(log.commit(&mut done, &staged(10 + i))).unwrap();
    }
    cut_each_op(&done, |f, log| {
        let _ = block_on(log.commit(f, &staged(99)));
    });
}

/// A record write that returns `Ok` without programming anything (a worn-out cell) is caught by
/// the read-back: the writer knows the copy lacks the record (health `Degraded`, as a reopen
/// finds it) instead of believing both copies hold it.
#[test]
fn a_commit_that_does_not_stick_in_one_copy_is_known_as_degraded() {
    // Both writers: the service's (async) and the bootloader's (`state::blocking`).
    for blocking in [false, true] {
        let geo = geometry();
        let mut f = flash();
        let mut log = open(&mut f);
        block_on(log.commit(&mut f, &staged(1))).unwrap();
        assert_eq!(log.health(), Health::Ok);
        for sector in geo.boot[0].base / S..(geo.boot[0].base + geo.boot[0].len) / S {
            f.wear_out(sector as usize, fwu_sim_flash::Wear::WriteNoStick, 0);
        }
        if blocking {
            log.commit_blocking(&mut f, &staged(2)).unwrap();
        } else {
            block_on(log.commit(&mut f, &staged(2))).unwrap();
        }
        let again = open(&mut f);
        assert_eq!(again.state(), log.state(), "copy B holds the new record");
        assert_eq!(again.health(), Health::Degraded);
        assert_eq!(
            log.health(),
            Health::Degraded,
            "the writer (blocking: {blocking}) must know that copy A lacks the record"
        );
    }
}

#[test]
fn a_step_word_that_cannot_be_written_becomes_a_record() {
    let geo = geometry();
    let mut f = mid_swap(3);
    let log = open(&mut f);
    let before = f.stats().writes;
    // A bit flipped at rest in the word of step 3 (copy 1): never programmed over.
    let slot = (0..geo.boot[1].slots)
        .rev()
        .find(|&i| f.contents()[geo.boot[1].slot(i) as usize] != 0xff)
        .unwrap();
    let word = geo.boot[1].slot(slot) + geo.boot_slot.install + 4;
    let b = f.contents()[word as usize] ^ 0x10;
    f.load(word as usize, &[b]);
    // Both writers: the service's (async) and the bootloader's (`state::blocking`).
    for blocking in [false, true] {
        let mut g = f.clone();
        let mut log2 = open(&mut g);
        assert_eq!(log2.state().done, 3);
        if blocking {
            log2.step_done_blocking(&mut g, Direction::Install, 3)
                .unwrap();
        } else {
            block_on(log2.step_done(&mut g, Direction::Install, 3)).unwrap();
        }
        assert!(g.stats().writes - before >= 2, "two records, one per copy");
        let t = open(&mut g).state();
        assert_eq!(
            (t.phase, t.done),
            (Phase::Installing, 4),
            "blocking: {blocking}"
        );
    }
    let _ = log;
}

#[test]
fn records_that_do_not_fit_the_layout_are_ignored() {
    let mut f = flash();
    let mut log = open(&mut f);
    block_on(log.commit(&mut f, &staged(1))).unwrap();
    // Sectors beyond the slot, or a member the layout lacks, are refused at commit...
    let mut bad = staged(2);
    bad.sectors[0] = 5;
    assert!(block_on(log.commit(&mut f, &bad)).is_err());
    let mut bad = staged(2);
    bad.members = Members(0b111);
    bad.sectors[1] = 1;
    assert!(block_on(log.commit(&mut f, &bad)).is_err());
    assert_eq!(open(&mut f).state().seq, 1);
}

#[test]
fn counters_never_go_down_through_a_commit() {
    let mut f = flash();
    let mut log = open(&mut f);
    block_on(log.commit(&mut f, &staged(1))).unwrap();
    let mut lower = staged(2);
    lower.counters = [0; 8];
    block_on(log.commit(&mut f, &lower)).unwrap();
    let log = open(&mut f);
    assert_eq!((log.counter(0), log.counter(2)), (5, 9));
}

fn catalog(f: &mut Flash) -> Catalog {
    block_on(Catalog::open(f, &layout())).unwrap()
}

fn writing(download: u32) -> ComponentRecord {
    ComponentRecord {
        state: State::Writing,
        download,
        ..ComponentRecord::default()
    }
}

#[test]
fn the_catalog_survives_single_faults_and_compacts() {
    let geo = geometry();
    let mut f = flash();
    let mut cat = catalog(&mut f);
    assert_eq!(cat.health(), Health::Fresh);
    // Enough writes to compact each copy several times.
    for i in 0..40 {
        block_on(cat.put(&mut f, 0, &writing(i))).unwrap();
        block_on(cat.put(&mut f, 2, &writing(1000 + i))).unwrap();
    }
    let want = (cat.record(0), cat.record(2));
    assert_eq!(want.0.unwrap().download, 39);
    // Every flipped bit (sampled), then each copy erased or garbage.
    let range = geo.catalog[0].base..geo.catalog[1].base + geo.catalog[1].len;
    for bit in (range.start as usize * 8..range.end as usize * 8).step_by(5) {
        let mut g = f.clone();
        let byte = g.contents()[bit / 8] ^ (1 << (bit % 8));
        g.load(bit / 8, &[byte]);
        let c = catalog(&mut g);
        assert_eq!((c.record(0), c.record(2)), want, "bit {bit}");
    }
    for copy in geo.catalog {
        for garbage in [false, true] {
            let mut g = f.clone();
            let fill: Vec<u8> = (0..copy.len as usize)
                .map(|i| if garbage { (i * 13 % 255) as u8 } else { 0xff })
                .collect();
            g.load(copy.base as usize, &fill);
            let mut c = catalog(&mut g);
            assert_eq!(c.health(), Health::Degraded);
            assert_eq!((c.record(0), c.record(2)), want);
            assert!(block_on(c.repair(&mut g)).unwrap());
            assert_eq!(catalog(&mut g).health(), Health::Ok);
        }
    }
    // Both copies garbage: corrupt, and writes are refused.
    let mut g = f.clone();
    for copy in geo.catalog {
        let junk: Vec<u8> = (0..copy.len as usize)
            .map(|i| (i * 3 % 256) as u8)
            .collect();
        g.load(copy.base as usize, &junk);
    }
    let mut c = catalog(&mut g);
    assert_eq!(c.health(), Health::Corrupt);
    assert!(block_on(c.put(&mut g, 0, &writing(1))).is_err());
}

#[test]
fn cuts_during_catalog_writes_leave_before_or_after() {
    let mut start = flash();
    let mut cat = catalog(&mut start);
    for i in 0..9 {
        block_on(cat.put(&mut start, 0, &writing(i))).unwrap();
    }
    let mut probe = start.clone();
    let at = probe.op_index();
    let mut c = catalog(&mut probe);
    block_on(c.put(&mut probe, 2, &writing(77))).unwrap();
    let ops = probe.op_index() - at;
    for model in CutModel::ALL {
        for k in 0..ops {
            let mut f = start.clone();
            f.arm_cut(f.op_index() + k, model, k);
            let mut c = catalog(&mut f);
            let _ = block_on(c.put(&mut f, 2, &writing(77)));
            f.power_on();
            let c = catalog(&mut f);
            let got = (
                c.record(0).unwrap().download,
                c.record(2).map(|r| r.download),
            );
            assert!(
                got == (8, None) || got == (8, Some(77)),
                "{model:?} {k}: {got:?}"
            );
        }
    }
}

#[test]
fn checkpoints_never_read_newer_than_written() {
    let geo = geometry();
    let mut f = flash();
    {
        let mut map = CheckpointMap::new(&mut f, &layout()).unwrap();
        for w in 1..=30u32 {
            block_on(map.put(
                0,
                &Checkpoint {
                    download: 7,
                    written: w * 1024,
                },
            ))
            .unwrap();
        }
    }
    let range = geo.checkpoints.0..geo.checkpoints.1;
    for bit in (range.start as usize * 8..range.end as usize * 8).step_by(3) {
        let mut g = f.clone();
        let byte = g.contents()[bit / 8] ^ (1 << (bit % 8));
        g.load(bit / 8, &[byte]);
        let mut map = CheckpointMap::new(&mut g, &layout()).unwrap();
        if let Some(cp) = block_on(map.get(0)) {
            assert_eq!(cp.download, 7, "bit {bit}");
            assert!(cp.written <= 30 * 1024, "bit {bit}");
        }
        // And the map keeps working.
        block_on(map.put(
            0,
            &Checkpoint {
                download: 8,
                written: 1024,
            },
        ))
        .unwrap();
        assert_eq!(block_on(map.get(0)).unwrap().download, 8, "bit {bit}");
    }
}

/// Every path of flags a record can take, and any number of swap steps in between: after each
/// write, the state a writer holds in RAM is the state both readers (async and blocking) find.
#[test]
fn what_is_written_is_what_both_readers_read() {
    use embedded_storage::nor_flash::NorFlash as _;
    let chains: [&[Flag]; 5] = [
        &[
            Flag::Installing,
            Flag::Trial,
            Flag::Booted,
            Flag::Revert,
            Flag::Reverted,
            Flag::Settled,
        ],
        &[
            Flag::Installing,
            Flag::Trial,
            Flag::RevertInvalid,
            Flag::Reverted,
            Flag::Settled,
        ],
        &[Flag::Installing, Flag::Trial, Flag::Booted],
        &[Flag::Installing],
        &[],
    ];
    let mut f = flash();
    let _ = f.erase(0, 6 * S);
    for (n, chain) in chains.iter().enumerate() {
        for rejected in [false, true] {
            let mut log = open(&mut f);
            let mut first = staged(10 * n as u32 + u32::from(rejected));
            if rejected {
                first.phase = Phase::Rejected;
                first.error = -9;
            }
            block_on(log.commit(&mut f, &first)).unwrap();
            let check = |f: &mut Flash, log: &BootLog, what: &str| {
                let a = block_on(BootLog::open(f, &layout())).unwrap();
                let b = BootLog::open_blocking(f, &layout()).unwrap();
                assert_eq!(a.state(), log.state(), "{what}: async reader");
                assert_eq!(b.state(), log.state(), "{what}: blocking reader");
                assert_eq!(a.health(), Health::Ok, "{what}");
            };
            check(&mut f, &log, "record");
            let chain: &[Flag] = if rejected {
                &[Flag::Revert, Flag::Reverted, Flag::Settled]
            } else {
                chain
            };
            for (k, &flag) in chain.iter().enumerate() {
                let phase = log.state().phase;
                if phase.swapping() {
                    let dir = fwu_shared::state::boot::direction(phase).unwrap();
                    for s in 0..(3 + k as u32).min(log.state().total_steps()) {
                        block_on(log.step_done(&mut f, dir, s)).unwrap();
                        check(&mut f, &log, &format!("{n}/{k} step {s}"));
                    }
                }
                block_on(log.set_flag(&mut f, flag)).unwrap();
                check(&mut f, &log, &format!("{n}/{k} {flag:?}"));
            }
        }
    }
}

/// A new device whose state partition is not fully erased (one copy of each store holds a few
/// programmed bytes): a cut at any operation of the first write never makes a store `Corrupt`.
#[test]
fn a_cut_first_write_of_a_fresh_store_with_one_dirty_copy_stays_fresh() {
    let geo = geometry();
    for dirty in 0..2 {
        for model in CutModel::ALL {
            for k in 0..6u64 {
                let mut f = flash();
                f.load(geo.boot[dirty].base as usize + 8, &[0u8; 16]);
                f.load(geo.catalog[dirty].base as usize + 8, &[0u8; 16]);
                let mut log = open(&mut f);
                let mut cat = catalog(&mut f);
                assert_eq!((log.health(), cat.health()), (Health::Fresh, Health::Fresh));
                let at = f.op_index() + k;
                f.arm_cut(at, model, k);
                let _ = block_on(log.commit(&mut f, &BootRecord::default()));
                let _ = block_on(cat.put(&mut f, 0, &writing(1)));
                f.power_on();
                assert_ne!(
                    open(&mut f).health(),
                    Health::Corrupt,
                    "{dirty} {model:?} {k}"
                );
                assert_ne!(
                    catalog(&mut f).health(),
                    Health::Corrupt,
                    "{dirty} {model:?} {k}"
                );
            }
        }
    }
}

/// A state partition that cannot be read at all is a storage failure — the log says nothing,
/// so neither reader may take it for a fresh or corrupt state (which would format or salvage
/// it) — while one unreadable copy leaves the state to the other.
#[test]
fn an_unreadable_partition_is_a_flash_error_and_one_unreadable_copy_is_not() {
    let mut f = flash();
    let mut log = open(&mut f);
    block_on(log.commit(&mut f, &staged(1))).unwrap();
    let mut cat = catalog(&mut f);
    block_on(cat.put(&mut f, 0, &writing(512))).unwrap();
    let want = content(&open(&mut f).state());

    let mut all = f.clone();
    all.add_unreadable(0..6 * S);
    assert!(matches!(
        block_on(BootLog::open(&mut all, &layout())),
        Err(fwu_shared::state::StateError::Flash)
    ));
    assert!(matches!(
        BootLog::open_blocking(&mut all, &layout()),
        Err(fwu_shared::state::StateError::Flash)
    ));
    assert!(matches!(
        block_on(Catalog::open(&mut all, &layout())),
        Err(fwu_shared::state::StateError::Flash)
    ));

    let g = geometry();
    for copy in 0..2 {
        let mut one = f.clone();
        let b = g.boot[copy];
        one.add_unreadable(b.base..b.base + b.len);
        let c = g.catalog[copy];
        one.add_unreadable(c.base..c.base + c.len);
        let log = open(&mut one);
        assert_eq!(content(&log.state()), want, "boot copy {copy} unreadable");
        assert_ne!(log.health(), Health::Corrupt);
        let cat = catalog(&mut one);
        assert_eq!(cat.record(0).map(|r| r.download), Some(512));
    }
}
