//! Fuzz target `boot_flow`: the whole bootloader (`fwu_bootloader::Bootloader::boot`, default
//! policy: every active image authenticated) over arbitrary contents of the state partition and
//! the slots.
//!
//! Input: one byte picks the starting device (blank, or the factory images in both primary
//! slots), up to 32 painter operations change it (garbage anywhere in the state partition and
//! the slots, well-formed boot records, flag and step words, catalog entries, histories written
//! through the state stores, the signed images of `fwu_shared_fuzz::images` — trusted, damaged,
//! foreign-key, downgrade, dependent — at the start of any slot, sectors copied between slots as
//! a swap cut half-way leaves them; see `fwu_shared_fuzz::paint`), then one more byte may arm a
//! power cut at any flash operation of the first boot (any of the simulator's five cut models;
//! the device then boots again), and one bit asks for a second boot after the first.
//!
//! Properties checked (besides "no panic"):
//! * no write or erase outside the state partition and the configured slots (the spare sector
//!   after the slots, and anything past the device, is never touched);
//! * the boot does not fail (`Bootloader::boot` returns a report): whatever the flash holds, the
//!   device must come up and say what it found;
//! * every component the report lets run (`BootReport::may_run`) has in its primary slot an
//!   image that verifies against the trusted key (checked by the oracle of
//!   `fwu_shared_fuzz::images`, on the raw bytes) with a security counter at least the floor the
//!   state showed before the first boot (`BootLog::open(..).counter(c)`: the highest of both
//!   copies, or of every readable record when the log is corrupt);
//! * the counters stored after the boot are at least those before it;
//! * a report on trial matches a stored `Trial` phase, and a state that was readable before the
//!   boot is still readable after it;
//! * when nothing was pending (no staged set, no due rollback, no swap under way, or a state that
//!   is corrupt), a component whose primary image verified with a counter at least its floor may
//!   still run and its primary slot is unchanged.
//!
//! When the first boot is cut, the boot after it is checked against the snapshot taken before
//! the first one (floors, readability): the state is readable after it if it was before, and no
//! floor is lower (readability is promised when the cut is the only fault: the state partition
//! was written through the stores only; `regressions/boot_flow-sole-copy-erased-first` shows a
//! degraded log with garbage in both copies whose only valid copy a cut repair erases). One
//! configuration is exempt from the floor check after a cut: a forged stale
//! boot record (an older generation) that holds higher counters than a newer one, which the
//! writers never leave and no fault at rest forges (CRC); the floor comes from it alone, and a
//! cut commit that erases its copy first lowers it (`regressions/boot_flow-stale-counters-cut*`,
//! `tests/regressions.rs`). The boot after that cut is then checked against the floors the flash
//! shows after the cut. So is a state partition with faults at rest or forged pieces (two faults
//! with the cut): a cut repair may erase the only valid copy of a degraded log
//! (`regressions/boot_flow-sole-copy-erased-*`, reported).
#![no_main]

use fwu_bootloader::{BootConfig, BootError, BootReport, Bootloader, StateReport};
use fwu_shared::image::KeyRing;
use fwu_shared::state::{BootLog, Health, Phase, StoredCounters};
use fwu_shared_fuzz::flash::Checked;
use fwu_shared_fuzz::images::{images, keys, verify, FACTORY_0, FACTORY_2};
use fwu_shared_fuzz::input::Input;
use fwu_shared_fuzz::inspect;
use fwu_shared_fuzz::layout::{Geo, IDS};
use fwu_shared_fuzz::paint::{put, Painter};
use fwu_shared_fuzz::trace;
use fwu_sim_flash::{CutModel, Geometry, SimFlash};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const S: usize = 1024;
const W: usize = 4;
type Flash = Checked<S, W>;

fn geo() -> &'static Geo {
    static GEO: OnceLock<Geo> = OnceLock::new();
    GEO.get_or_init(|| Geo::new(S as u32, W as u32))
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let geo = geo();
    let mut sim = SimFlash::<S, W>::new(Geometry {
        sectors: geo.sectors,
        erased: 0xff,
    });
    if !input.u8().is_multiple_of(4) {
        let set = images();
        put(&mut sim, geo.slots[0].primary, &set[FACTORY_0].bytes);
        put(&mut sim, geo.slots[1].primary, &set[FACTORY_2].bytes);
    }
    let spare = geo.size() - geo.sector;
    let painted = Painter::new(geo, 0..spare, true).paint(&mut sim, &mut input, 32);
    let cut = match input.u8() {
        n if n.is_multiple_of(4) => Some((
            u64::from(input.u8()),
            CutModel::ALL[input.below(CutModel::ALL.len())],
            u64::from(input.u16()),
        )),
        _ => None,
    };
    let second = input.bool();

    let mut allowed = geo.slot_ranges();
    allowed.push(geo.state.clone());
    let mut flash = Checked::new(sim, allowed, "the state partition and the slots");
    let mut before = Snapshot::take(&mut flash);
    trace!("before: {before:?}");
    if fwu_shared_fuzz::tracing() {
        let sg = geo.state_geometry();
        trace!(
            "boot log copies {:x?}, {} slots of {} bytes each",
            sg.boot.map(|c| c.range()),
            sg.boot[0].slots,
            sg.boot[0].slot_len
        );
        for (copy, slot, r) in inspect::boot_records(&mut flash.sim, geo) {
            trace!(
                "  copy {copy} slot {slot}: gen {} {:?} counters {:?}",
                r.gen,
                r.phase,
                &r.counters[..3]
            );
        }
    }
    if let Some((at, model, seed)) = cut {
        let stale = inspect::stale_high_counters(&mut flash.sim, geo);
        let at = flash.sim.op_index() + at;
        flash.sim.arm_cut(at, model, seed);
        flash.sim.set_tracing(fwu_shared_fuzz::tracing());
        let first = boot(&mut flash);
        for t in flash.sim.traced() {
            trace!("  op {}: {:?} {:#x} +{}", t.index, t.kind, t.offset, t.len);
        }
        flash.sim.set_tracing(false);
        if flash.sim.is_cut() {
            trace!("boot cut by {cut:?}: {first:?}");
            flash.sim.power_on();
            trace!("after the cut: {:?}", Snapshot::take(&mut flash));
            if stale || painted.at_rest || painted.forged {
                // Known (regressions/boot_flow-stale-counters-cut*, boot_flow-sole-copy-erased-*):
                // a forged stale record with higher counters made the floor, or a cut repair
                // erased the only valid copy of a log that faults at rest had degraded; either
                // may lower the floor. Go on against the floors the flash shows after the cut.
                before = Snapshot::take(&mut flash);
            }
        } else {
            flash.sim.disarm();
            check(&before, &flash, first, false, true);
        }
    }
    let cut_happened = cut.is_some();
    let report = boot(&mut flash);
    trace!("boot: {report:?}");
    // After a cut, the state must stay readable when the cut is the only fault: the state
    // partition was written through the stores only.
    let single_fault = !painted.at_rest && !painted.forged;
    check(&before, &flash, report, cut_happened, single_fault);
    if second {
        let after = Snapshot::take(&mut flash);
        let again = boot(&mut flash);
        trace!("second boot: {again:?}");
        check(&after, &flash, again, false, true);
    }
});

/// One boot with a freshly built bootloader (as after a reset).
fn boot(flash: &mut Flash) -> Result<BootReport, BootError> {
    let geo = geo();
    let layout = geo.layout();
    let mut bootloader = Bootloader::new(
        layout.check_for(flash).map_err(BootError::Layout)?,
        KeyRing::new(keys()),
        BootConfig::default(),
        StoredCounters,
    );
    bootloader.boot(flash)
}

/// What the flash showed before a boot.
#[derive(Debug)]
struct Snapshot {
    /// Counter floor of each component.
    floors: [u32; 2],
    health: Health,
    phase: Phase,
    trial_booted: bool,
    /// Whether each component is a member of the transaction.
    members: [bool; 2],
    /// Whether each primary held an image that verifies with a counter at least its floor.
    runnable: [bool; 2],
    /// The primary slots.
    primaries: [Vec<u8>; 2],
}

impl Snapshot {
    fn take(flash: &mut Flash) -> Snapshot {
        let geo = geo();
        let log = embassy_futures::block_on(BootLog::open(&mut flash.sim, &geo.layout()))
            .unwrap_or_else(|e| panic!("BootLog::open: {e:?}"));
        let floors = IDS.map(|c| log.counter(c));
        let primaries = [0, 1].map(|i| primary(flash, i).to_vec());
        let runnable = [0, 1].map(|i| {
            verify(&primaries[i], slot_size(i))
                .is_ok_and(|s| s.security_counter.unwrap_or(0) >= floors[i])
        });
        let state = log.state();
        Snapshot {
            floors,
            health: log.health(),
            phase: state.phase,
            trial_booted: state.trial_booted,
            members: IDS.map(|c| state.members.contains(c)),
            runnable,
            primaries,
        }
    }

    /// Whether the boot had nothing to move: no staged set, no due rollback (a trial booted
    /// already, or whose image fails), no swap under way.
    fn quiet(&self) -> bool {
        let trial_runs = (0..2).all(|i| !self.members[i] || self.runnable[i]);
        self.health == Health::Corrupt
            || matches!(self.phase, Phase::Idle | Phase::Failed | Phase::Updated)
            || (self.phase == Phase::Trial && !self.trial_booted && trial_runs)
    }
}

fn slot_size(i: usize) -> u32 {
    let geo = geo();
    geo.slots[i].max_image_size(geo.sector)
}

fn primary(flash: &Flash, i: usize) -> &[u8] {
    let s = geo().slots[i];
    let start = s.primary as usize;
    &flash.sim.contents()[start..start + slot_size(i) as usize]
}

/// Check a boot's outcome against the snapshot taken before it (`after_cut`: an earlier boot
/// from that snapshot was cut; `single_fault`: that cut was the only fault).
fn check(
    before: &Snapshot,
    flash: &Flash,
    report: Result<BootReport, BootError>,
    after_cut: bool,
    single_fault: bool,
) {
    let report = report.unwrap_or_else(|e| panic!("the boot failed: {e:?} (before: {before:?})"));
    let geo = geo();
    let mut sim = flash.sim.clone();
    let log = embassy_futures::block_on(BootLog::open(&mut sim, &geo.layout()))
        .unwrap_or_else(|e| panic!("BootLog::open after the boot: {e:?}"));
    for (i, &c) in IDS.iter().enumerate() {
        if report.may_run(c) {
            let bytes = primary(flash, i);
            let scanned = verify(bytes, slot_size(i)).unwrap_or_else(|e| {
                panic!("component {c} may run, but its primary does not verify: {e:?} ({report:?})")
            });
            let counter = scanned.security_counter.unwrap_or(0);
            assert!(
                counter >= before.floors[i],
                "component {c} may run with counter {counter} below the floor {} ({report:?})",
                before.floors[i]
            );
        }
        assert!(
            log.counter(c) >= before.floors[i],
            "the boot lowered the counter of {c} from {} to {}",
            before.floors[i],
            log.counter(c)
        );
        if !after_cut && before.quiet() && before.runnable[i] {
            assert!(
                report.may_run(c),
                "component {c} ran before and has nothing pending, but is refused: {report:?}"
            );
            assert!(
                primary(flash, i) == &before.primaries[i][..],
                "component {c} had nothing pending, but its primary slot changed ({report:?})"
            );
        }
    }
    if report.trial {
        assert_eq!(
            log.state().phase,
            Phase::Trial,
            "report on trial: {report:?}"
        );
    }
    if before.health != Health::Corrupt && (!after_cut || single_fault) {
        assert!(
            report.state != StateReport::Corrupt && log.health() != Health::Corrupt,
            "a readable state ({:?}) is corrupt after the boot: {report:?}, {:?}",
            before.health,
            log.health()
        );
    }
}
