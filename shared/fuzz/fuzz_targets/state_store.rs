//! Fuzz target `state_store`: the three stores of the persisted state (`fwu_shared::state`: the
//! boot log, the catalog, the checkpoint map) over arbitrary contents of the state partition.
//!
//! Input: one byte picks the geometry (1 KiB sectors with 4-byte words or 2 KiB sectors with
//! 16-byte words; the two-component layout of `fwu_shared_fuzz::layout`), then up to 24
//! painter operations fill the state partition (garbage, flipped bits, well-formed boot records,
//! flag and step words and catalog entries in any slot, histories written through the stores
//! themselves; see `fwu_shared_fuzz::paint`), then up to 16 store operations run: boot log
//! `commit` / `set_flag` / `step_done` / `repair` / `format`, catalog `put` / `repair` /
//! `format`, checkpoint map `put` / `get` / `reset`, and a re-open of all three. Any operation
//! may have a power cut armed at one of its flash operations (any of the simulator's five cut
//! models); the stores are then opened again, as after the reboot.
//!
//! Properties checked (besides "no panic"):
//! * `open` writes nothing; every write and erase stays inside the store it belongs to (boot
//!   log copies, catalog copies, checkpoint map), so never outside the state partition;
//! * every state read is a record `BootRecord::is_consistent` accepts and that fits the layout
//!   (members and backups configured, sector counts within the slots); every catalog record
//!   belongs to a configured component and is in a state that persists by itself;
//! * a store found `Health::Corrupt` refuses every write (`StateError::Corrupt`) and the flash
//!   is unchanged; a commit of a record that is inconsistent or does not fit is refused with
//!   `StateError::Layout` and the flash is unchanged;
//! * without a cut every other write succeeds, and what is read back after a fresh `open` is
//!   exactly what the store holds in RAM (state, counters, records, generations); a checkpoint
//!   that was put reads back as put;
//! * after a cut the re-opened store holds either the state from before the operation or the
//!   one it would have produced, never a corrupt store where there was none, never lower
//!   security counters, and never a checkpoint that was not written (a checkpoint may be lost:
//!   they are hints);
//! * the security counters read after any operation without a cut are at least those read
//!   before it.
//!
//! After a cut, a store may also hold the state before the operation with its last swap step
//! lost (by design: that step's source is intact and the step is redone). The after-cut
//! properties are the product's promise when the power cut is the only fault: they are checked
//! when the store is healthy before the operation (`Health::Ok`, or `Fresh`: no state yet), and
//! also when it is not but only the stores themselves and earlier power cuts ever wrote the
//! flash (a store an earlier cut left `Degraded`). A store that a fault at rest left `Degraded`
//! or `Corrupt` meets a second fault with the cut, and pieces forged by the painter (well-formed
//! records, entries and words with any fields, such as two of one generation) are outside the
//! fault model (no fault at rest forges a CRC): the store must then only open again, consistent.
//! `step_done` is only called with the next step, as the swap engine calls it.
#![no_main]

use embassy_futures::block_on;
use fwu_shared::layout::Layout;
use fwu_shared::state::{
    BootLog, BootRecord, Catalog, Checkpoint, CheckpointMap, Direction, Flag, Health, Members,
    StateError, MAX_COMPONENTS,
};
use fwu_shared::{ComponentId, State};
use fwu_shared_fuzz::flash::Checked;
use fwu_shared_fuzz::input::Input;
use fwu_shared_fuzz::inspect;
use fwu_shared_fuzz::layout::{Geo, IDS};
use fwu_shared_fuzz::paint::{
    fuzz_checkpoint, fuzz_component_record, fuzz_flag, fuzz_id, Painted, Painter,
};
use fwu_shared_fuzz::trace;
use fwu_sim_flash::{CutModel, Geometry, SimFlash};
use libfuzzer_sys::fuzz_target;
use std::ops::Range;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    if input.bool() {
        run::<2048, 16>(&mut input)
    } else {
        run::<1024, 4>(&mut input)
    }
});

/// The stores as the code under test holds them, with the flash.
struct Stores<const S: usize, const W: usize> {
    geo: Geo,
    flash: Checked<S, W>,
    log: BootLog,
    catalog: Catalog,
    /// What the last `get` or `put` of each checkpoint key established (`None`: not known).
    checkpoints: [Option<Option<Checkpoint>>; 256],
    /// The checkpoint keys watched after a `reset`: the configured ids, the gap (1), an unknown
    /// id (7) and every key an operation named (the others, never named, are not read back).
    keys: [bool; 256],
    /// What the painter left besides histories written through the stores.
    painted: Painted,
    /// Every checkpoint ever put (by the painter's histories and by the operations): with a
    /// fault at rest in the map, a damaged newer item may let an older one read again.
    put_history: Vec<(ComponentId, Checkpoint)>,
    boot: Vec<Range<u32>>,
    cat: Vec<Range<u32>>,
    map: Vec<Range<u32>>,
}

fn run<const S: usize, const W: usize>(input: &mut Input) {
    let geo = Geo::new(S as u32, W as u32);
    let sg = geo.state_geometry();
    let mut sim = SimFlash::<S, W>::new(Geometry {
        sectors: geo.sectors,
        erased: 0xff,
    });
    let painted = Painter::new(&geo, geo.state.clone(), false).paint(&mut sim, input, 24);
    let mut flash = Checked::new(sim, Vec::new(), "nothing (open)");
    let layout = geo.layout();
    let log = open_log(&mut flash, &layout);
    let catalog = open_catalog(&mut flash, &layout);
    let mut st = Stores {
        flash,
        log,
        catalog,
        checkpoints: [None; 256],
        keys: core::array::from_fn(|k| matches!(k, 0 | 1 | 2 | 7)),
        put_history: painted.checkpoints.clone(),
        painted,
        boot: sg.boot.iter().map(|c| c.range()).collect(),
        cat: sg.catalog.iter().map(|c| c.range()).collect(),
        map: std::iter::once(sg.checkpoints.0..sg.checkpoints.1).collect(),
        geo,
    };
    for _ in 0..16 {
        if input.is_empty() {
            break;
        }
        let cut = match input.u8() {
            n if n.is_multiple_of(4) => Some((
                u64::from(input.u8() % 32),
                CutModel::ALL[input.below(CutModel::ALL.len())],
                u64::from(input.u16()),
            )),
            _ => None,
        };
        let op = input.u8() % 12;
        match op {
            0..=5 => st.boot_op(op, input, cut),
            6..=8 => st.catalog_op(op, input, cut),
            9 | 10 => st.map_op(input, cut),
            _ => st.reopen(),
        }
    }
}

/// Open the boot log (which must write nothing) and check what it holds.
fn open_log<const S: usize, const W: usize>(f: &mut Checked<S, W>, layout: &Layout) -> BootLog {
    f.allow(Vec::new(), "nothing (BootLog::open)");
    let log = block_on(BootLog::open(f, layout))
        .unwrap_or_else(|e| panic!("BootLog::open failed on a readable flash: {e:?}"));
    check_log(&log, layout);
    log
}

/// Open the catalog (which must write nothing) and check what it holds.
fn open_catalog<const S: usize, const W: usize>(f: &mut Checked<S, W>, layout: &Layout) -> Catalog {
    f.allow(Vec::new(), "nothing (Catalog::open)");
    let cat = block_on(Catalog::open(f, layout))
        .unwrap_or_else(|e| panic!("Catalog::open failed on a readable flash: {e:?}"));
    for c in 0..=255u8 {
        if let Some(rec) = cat.record(c) {
            assert!(
                layout.component(c).is_some(),
                "catalog record for unconfigured component {c}"
            );
            assert!(
                matches!(
                    rec.state,
                    State::Ready
                        | State::Writing
                        | State::Candidate
                        | State::Failed
                        | State::Updated
                ),
                "catalog record in {:?}",
                rec.state
            );
        }
    }
    cat
}

/// Whether `r` fits `layout`: members and backups configured, sector counts within the slots.
fn fits(r: &BootRecord, layout: &Layout) -> bool {
    let ids = layout
        .components
        .iter()
        .fold(Members::NONE, |m, c| m.with(c.id));
    r.members.is_subset(ids)
        && r.backups.is_subset(ids)
        && r.members.iter().all(|c| {
            layout
                .component(c)
                .is_some_and(|s| r.sectors_of(c) <= s.sectors)
        })
}

fn check_log(log: &BootLog, layout: &Layout) {
    let s = log.state();
    assert!(s.is_consistent(), "inconsistent state read: {s:?}");
    assert!(fits(&s, layout), "state does not fit the layout: {s:?}");
}

fn counters(log: &BootLog) -> [u32; MAX_COMPONENTS] {
    core::array::from_fn(|c| log.counter(c as ComponentId))
}

fn assert_counters_kept(before: &[u32; MAX_COMPONENTS], after: &BootLog, what: &str) {
    let now = counters(after);
    for c in 0..MAX_COMPONENTS {
        assert!(
            now[c] >= before[c],
            "{what}: counter of {c} went down from {} to {}",
            before[c],
            now[c]
        );
    }
}

/// Two states equal but for the generation.
fn same_but_gen(a: &BootRecord, b: &BootRecord) -> bool {
    BootRecord { gen: 0, ..*a } == BootRecord { gen: 0, ..*b }
}

impl<const S: usize, const W: usize> Stores<S, W> {
    fn state_bytes(&self) -> Vec<u8> {
        self.flash.sim.contents()[self.geo.state.start as usize..self.geo.state.end as usize]
            .to_vec()
    }

    /// Arm `cut` on `f` (relative to its next operation).
    fn arm(f: &mut Checked<S, W>, cut: (u64, CutModel, u64)) {
        let at = f.sim.op_index() + cut.0;
        f.sim.arm_cut(at, cut.1, cut.2);
    }

    /// Whether a cut during an operation on a store found `health` is the only fault that store
    /// meets, so that the after-cut properties are promised: nothing was forged, and the store
    /// is healthy or only the stores and power cuts ever wrote the flash.
    fn single_fault(&self, health: Health) -> bool {
        !self.painted.forged
            && (matches!(health, Health::Ok | Health::Fresh) || !self.painted.at_rest)
    }

    /// After a cut fired: power on, open everything again (as the next boot does).
    fn power_cycle(&mut self) -> (BootLog, Catalog) {
        self.flash.sim.power_on();
        let layout = self.geo.layout();
        let log = open_log(&mut self.flash, &layout);
        let cat = open_catalog(&mut self.flash, &layout);
        (log, cat)
    }

    fn reopen(&mut self) {
        let layout = self.geo.layout();
        let log = open_log(&mut self.flash, &layout);
        assert_eq!(
            log.state(),
            self.log.state(),
            "re-open changed the boot log state"
        );
        assert_eq!(
            counters(&log),
            counters(&self.log),
            "re-open changed counters"
        );
        let cat = open_catalog(&mut self.flash, &layout);
        for c in IDS {
            assert_eq!(cat.record(c), self.catalog.record(c), "re-open changed {c}");
        }
        self.log = log;
        self.catalog = cat;
    }

    fn boot_op(&mut self, op: u8, input: &mut Input, cut: Option<(u64, CutModel, u64)>) {
        let layout = self.geo.layout();
        let painter = Painter::new(&self.geo, self.geo.state.clone(), false);
        let before = self.log.clone();
        let before_counters = counters(&before);
        let snapshot = self.state_bytes();
        let corrupt = before.health() == Health::Corrupt;
        let op = match op {
            0 | 1 => BootOp::Commit(painter.fuzz_boot_record(input)),
            2 => BootOp::Flag(fuzz_flag(input)),
            3 => {
                let s = before.state();
                let (Some(dir), true) = (
                    fwu_shared::state::boot::direction(s.phase),
                    s.total_steps() > 0,
                ) else {
                    return;
                };
                // As the swap engine does: the next step, never one recorded already nor one
                // past the next (steps alternate between the copies, which is what keeps a lost
                // copy from costing more than the last step).
                if s.done >= s.total_steps() {
                    return;
                }
                BootOp::Step(dir, s.done)
            }
            4 => BootOp::Repair,
            _ => {
                // As its only caller (the service's recovery) formats: an idle record with the
                // counter floors it salvaged.
                let rec = painter.fuzz_boot_record(input);
                BootOp::Format(BootRecord {
                    counters: rec.counters,
                    ..BootRecord::default()
                })
            }
        };
        let name = op.name();
        trace!(
            "boot log {:?} {:?} state {:?}: {op:?}, cut {cut:?}",
            before.health(),
            counters(&before),
            before.state()
        );
        self.flash.allow(self.boot.clone(), "the boot log copies");
        // The operation on copies of the log and the flash, without a cut.
        let mut log = before.clone();
        let mut flash = self.flash.clone();
        let result = op.apply(&mut log, &mut flash);
        let changed = flash.sim.contents()
            [self.geo.state.start as usize..self.geo.state.end as usize]
            != snapshot[..];
        // What a commit or a format stores: the next generation, counters never lower.
        let expected = match op {
            BootOp::Commit(rec) | BootOp::Format(rec) => {
                let mut want = rec;
                want.gen = match op {
                    BootOp::Commit(_) => before.state().gen.wrapping_add(1),
                    _ => log.state().gen,
                };
                for (c, m) in want.counters.iter_mut().enumerate() {
                    *m = (*m).max(before_counters[c]);
                }
                Some(want)
            }
            _ => None,
        };
        match result {
            Err(StateError::Corrupt) => {
                assert!(corrupt, "{name}: Corrupt from a {:?} log", before.health());
                assert!(!changed, "{name}: a corrupt log was written");
            }
            Err(StateError::Layout) => {
                assert!(!changed, "{name}: refused with Layout but wrote");
                let want = expected.unwrap_or_else(|| panic!("{name} refused with Layout"));
                assert!(
                    !want.is_consistent() || !fits(&want, &layout),
                    "{name}: a valid record was refused: {want:?}"
                );
            }
            Err(e) => panic!(
                "{name} failed without a fault: {e:?} (log {:?})",
                before.health()
            ),
            Ok(()) => {
                assert!(
                    !corrupt || name == "format" || !changed,
                    "{name} wrote a corrupt log"
                );
                check_log(&log, &layout);
                if let Some(want) = expected {
                    assert_eq!(log.state(), want, "{name} stored something else");
                }
                match op {
                    BootOp::Step(_, step) => {
                        assert!(log.state().done > step, "step {step} not recorded")
                    }
                    BootOp::Repair => {
                        if before.health() != Health::Degraded {
                            assert!(!changed, "repair of a {:?} log wrote", before.health());
                        }
                        assert!(
                            same_but_gen(&log.state(), &before.state()),
                            "repair changed the state: {:?} -> {:?}",
                            before.state(),
                            log.state()
                        );
                    }
                    _ => {}
                }
                let reread = open_log(&mut flash, &layout);
                assert_eq!(
                    reread.state(),
                    log.state(),
                    "{name}: the flash holds another state than the log in RAM"
                );
                assert_eq!(counters(&reread), counters(&log), "{name}: counters differ");
                if changed {
                    assert!(
                        matches!(reread.health(), Health::Ok | Health::Degraded),
                        "{name}: re-read as {:?}",
                        reread.health()
                    );
                }
            }
        }
        assert_counters_kept(&before_counters, &log, name);
        let Some(cut) = cut else {
            self.flash = flash;
            self.log = log;
            return;
        };
        // The same operation again on the real flash, with the cut armed.
        let new_state = log.state();
        let mut log = before.clone();
        let single_fault = self.single_fault(before.health());
        if fwu_shared_fuzz::tracing() {
            for (copy, slot, r) in inspect::boot_records(&mut self.flash.sim, &self.geo) {
                trace!(
                    "  before: copy {copy} slot {slot}: gen {} {:?} done {}",
                    r.gen,
                    r.phase,
                    r.done
                );
            }
        }
        Self::arm(&mut self.flash, cut);
        self.flash.sim.set_tracing(fwu_shared_fuzz::tracing());
        let _ = op.apply(&mut log, &mut self.flash);
        for t in self.flash.sim.traced() {
            trace!("  op {}: {:?} {:#x} +{}", t.index, t.kind, t.offset, t.len);
        }
        self.flash.sim.set_tracing(false);
        if !self.flash.sim.is_cut() {
            self.flash.sim.disarm();
            self.log = log;
            return;
        }
        if fwu_shared_fuzz::tracing() {
            for (copy, slot, r) in inspect::boot_records(&mut self.flash.sim, &self.geo) {
                trace!(
                    "  cut: copy {copy} slot {slot}: gen {} {:?} done {}",
                    r.gen,
                    r.phase,
                    r.done
                );
            }
        }
        let (log, cat) = self.power_cycle();
        trace!("after the cut: {:?} {:?}", log.health(), log.state());
        if single_fault {
            assert!(
                log.health() != Health::Corrupt || corrupt,
                "{name} cut by {cut:?}: the boot log became corrupt"
            );
            let now = log.state();
            let old = before.state();
            // By design a cut that destroys a copy loses at most the last swap step recorded in
            // it (its source is intact, so it is redone).
            let lost_step = old.phase.swapping()
                && now.done + 1 == old.done
                && BootRecord {
                    done: old.done,
                    ..now
                } == old;
            let ok = now == old
                || now == new_state
                || lost_step
                || (name == "repair" && same_but_gen(&now, &old));
            assert!(
                ok,
                "{name} cut by {cut:?}: state {now:?} is neither the old {old:?} nor the new {new_state:?}"
            );
            assert_counters_kept(&before_counters, &log, name);
        }
        self.log = log;
        self.catalog = cat;
    }

    fn catalog_op(&mut self, op: u8, input: &mut Input, cut: Option<(u64, CutModel, u64)>) {
        let layout = self.geo.layout();
        let before = self.catalog.clone();
        let snapshot = self.state_bytes();
        let corrupt = before.health() == Health::Corrupt;
        self.flash.allow(self.cat.clone(), "the catalog copies");
        let mut cat = before.clone();
        let mut flash = self.flash.clone();
        let c = fuzz_id(input);
        let rec = fuzz_component_record(input);
        let run = |cat: &mut Catalog, flash: &mut Checked<S, W>| match op {
            6 => block_on(cat.put(flash, c, &rec)),
            7 => block_on(cat.repair(flash)).map(|_| ()),
            _ => block_on(cat.format(flash)),
        };
        trace!(
            "catalog {:?} {:?}: op {op} on {c}, cut {cut:?}",
            before.health(),
            IDS.map(|id| before.record(id).map(|r| r.state))
        );
        let result = run(&mut cat, &mut flash);
        let changed = flash.sim.contents()
            [self.geo.state.start as usize..self.geo.state.end as usize]
            != snapshot[..];
        let name = ["put", "repair", "format"][usize::from(op - 6)];
        match result {
            Err(StateError::Corrupt) => {
                assert!(
                    corrupt && op == 6,
                    "{name}: Corrupt from a {:?} catalog",
                    before.health()
                );
                assert!(!changed, "{name}: a corrupt catalog was written");
            }
            Err(StateError::Layout) => {
                assert!(
                    op == 6 && layout.component(c).is_none(),
                    "put of {c} refused"
                );
                assert!(!changed, "put: refused with Layout but wrote");
            }
            Err(e) => panic!(
                "{name} failed without a fault: {e:?} ({:?})",
                before.health()
            ),
            Ok(()) => {
                if op == 6 {
                    assert!(!corrupt, "put wrote a corrupt catalog");
                    assert_eq!(cat.record(c), Some(rec), "put stored something else");
                    assert!(
                        cat.generation(c) > before.generation(c),
                        "put did not raise the generation of {c}"
                    );
                }
                if op == 7 && before.health() != Health::Degraded {
                    assert!(!changed, "repair of a {:?} catalog wrote", before.health());
                }
                for id in IDS {
                    if op != 8 && (op != 6 || id != c) {
                        assert_eq!(cat.record(id), before.record(id), "{name} changed {id}");
                    }
                }
                let reread = open_catalog(&mut flash, &layout);
                for id in IDS {
                    assert_eq!(
                        reread.record(id),
                        cat.record(id),
                        "{name}: flash and RAM differ for {id}"
                    );
                    assert_eq!(
                        reread.generation(id),
                        cat.generation(id),
                        "{name}: generation"
                    );
                }
                if op != 8 && !corrupt {
                    assert!(
                        matches!(reread.health(), Health::Ok | Health::Degraded)
                            || (reread.health() == Health::Fresh
                                && IDS.iter().all(|&id| reread.record(id).is_none())),
                        "{name}: re-read as {:?}",
                        reread.health()
                    );
                }
            }
        }
        let Some(cut) = cut else {
            self.flash = flash;
            self.catalog = cat;
            return;
        };
        let new = cat;
        let mut cat = before.clone();
        // As for the boot log. Two faults are not promised: copies that each hold a record the
        // other lacks (a fault at rest, then a cut between the copies) may lose one to a cut
        // compaction (regressions/state_store-split-catalog-cut, `tests/regressions.rs`).
        let single_fault = self.single_fault(before.health());
        if fwu_shared_fuzz::tracing() {
            for (copy, slot, e) in inspect::catalog_entries(&mut self.flash.sim, &self.geo) {
                let r = e.record;
                trace!(
                    "  before: copy {copy} slot {slot}: gen {} id {} {:?} download {}",
                    e.gen,
                    e.id,
                    r.state,
                    r.download
                );
            }
        }
        Self::arm(&mut self.flash, cut);
        let _ = run(&mut cat, &mut self.flash);
        if !self.flash.sim.is_cut() {
            self.flash.sim.disarm();
            self.catalog = cat;
            return;
        }
        let (log, reread) = self.power_cycle();
        if fwu_shared_fuzz::tracing() {
            for (copy, slot, e) in inspect::catalog_entries(&mut self.flash.sim, &self.geo) {
                let r = e.record;
                trace!(
                    "  cut: copy {copy} slot {slot}: gen {} id {} {:?} download {}",
                    e.gen,
                    e.id,
                    r.state,
                    r.download
                );
            }
        }
        if single_fault {
            assert!(
                reread.health() != Health::Corrupt || corrupt,
                "{name} cut by {cut:?}: the catalog became corrupt"
            );
            for id in IDS {
                let now = reread.record(id);
                assert!(
                    now == before.record(id) || now == new.record(id),
                    "{name} cut by {cut:?}: {id} reads {now:?}, neither {:?} nor {:?}",
                    before.record(id),
                    new.record(id)
                );
            }
        }
        self.log = log;
        self.catalog = reread;
    }

    fn map_op(&mut self, input: &mut Input, cut: Option<(u64, CutModel, u64)>) {
        let geo = self.geo.clone();
        let layout = geo.layout();
        self.flash.allow(self.map.clone(), "the checkpoint map");
        let op = input.u8() % 4;
        let c = fuzz_id(input);
        let cp = fuzz_checkpoint(input);
        self.keys[usize::from(c)] = true;
        if op < 2 {
            self.put_history.push((c, cp));
        }
        // A fault at rest (painted) may have damaged the newest item of a key: the map then
        // reads it lost, or one of the key's older checkpoints (still one that was written,
        // which the service only uses for the same download, where older means a smaller
        // offset: more is sent again, nothing unwritten is trusted).
        let at_rest = self.painted.at_rest;
        let history = self.put_history.clone();
        let older = |k: usize, got: Option<Checkpoint>| {
            at_rest
                && got.is_some_and(|g| {
                    history
                        .iter()
                        .any(|&(id, cp)| usize::from(id) == k && cp == g)
                })
        };
        let known = self.checkpoints;
        let run = |flash: &mut Checked<S, W>| -> Result<Option<Checkpoint>, StateError> {
            let mut map = CheckpointMap::new(flash, &layout)?;
            match op {
                0 | 1 => block_on(map.put(c, &cp)).map(|()| None),
                2 => Ok(block_on(map.get(c))),
                _ => block_on(map.reset()).map(|()| None),
            }
        };
        let mut flash = self.flash.clone();
        let result = run(&mut flash)
            .unwrap_or_else(|e| panic!("checkpoint map op {op} failed without a fault: {e:?}"));
        let mut after = known;
        match op {
            0 | 1 => after[usize::from(c)] = Some(Some(cp)),
            2 => {
                if let Some(k) = known[usize::from(c)] {
                    assert!(
                        result == k || result.is_none(),
                        "get({c}) = {result:?}, but {k:?} was established"
                    );
                }
                after[usize::from(c)] = Some(result);
            }
            _ => after = self.keys.map(|watched| watched.then_some(None)),
        }
        // Read every known key back through a fresh map.
        let mut map = CheckpointMap::new(&mut flash, &layout)
            .unwrap_or_else(|e| panic!("CheckpointMap::new: {e:?}"));
        for (k, want) in after.iter_mut().enumerate() {
            let Some(w) = *want else { continue };
            let got = block_on(map.get(k as ComponentId));
            let must = op < 2 && k == usize::from(c);
            // (A put over bytes a fault at rest left in the map's free space may not read
            // back: the key's older checkpoint then reads, as after a flip in its newest item.)
            assert!(
                got == w || older(k, got) || (!must && got.is_none()),
                "checkpoint {k} reads {got:?}, established {w:?}"
            );
            *want = Some(got);
        }
        let Some(cut) = cut else {
            self.flash = flash;
            self.checkpoints = after;
            return;
        };
        Self::arm(&mut self.flash, cut);
        let _ = run(&mut self.flash);
        if !self.flash.sim.is_cut() {
            self.flash.sim.disarm();
            self.checkpoints = after;
            return;
        }
        let (log, cat) = self.power_cycle();
        self.log = log;
        self.catalog = cat;
        self.flash.allow(self.map.clone(), "the checkpoint map");
        let mut map = CheckpointMap::new(&mut self.flash, &layout)
            .unwrap_or_else(|e| panic!("CheckpointMap::new after a cut: {e:?}"));
        for k in 0..256usize {
            let (old, new) = (known[k], after[k]);
            if old.is_none() && new.is_none() && k != usize::from(c) {
                continue;
            }
            let got = block_on(map.get(k as ComponentId));
            // Lost, unknown before, or one of the two values it may hold.
            let ok = got.is_none()
                || old.is_none()
                || old == Some(got)
                || new == Some(got)
                || older(k, got);
            assert!(
                ok,
                "checkpoint {k} after a cut by {cut:?}: {got:?}, before {old:?}, after {new:?}"
            );
            self.checkpoints[k] = Some(got);
        }
    }
}

/// A boot log operation, decoded before it runs (it may run twice: without and with a cut).
#[derive(Clone, Copy, Debug)]
enum BootOp {
    Commit(BootRecord),
    Flag(Flag),
    Step(Direction, u32),
    Repair,
    Format(BootRecord),
}

impl BootOp {
    fn name(&self) -> &'static str {
        match self {
            BootOp::Commit(_) => "commit",
            BootOp::Flag(_) => "set_flag",
            BootOp::Step(..) => "step_done",
            BootOp::Repair => "repair",
            BootOp::Format(_) => "format",
        }
    }

    fn apply<const S: usize, const W: usize>(
        &self,
        log: &mut BootLog,
        flash: &mut Checked<S, W>,
    ) -> Result<(), StateError> {
        match *self {
            BootOp::Commit(rec) => block_on(log.commit(flash, &rec)),
            BootOp::Flag(f) => block_on(log.set_flag(flash, f)),
            BootOp::Step(dir, step) => block_on(log.step_done(flash, dir, step)),
            BootOp::Repair => block_on(log.repair(flash)).map(|_| ()),
            BootOp::Format(rec) => block_on(log.format(flash, &rec)),
        }
    }
}
