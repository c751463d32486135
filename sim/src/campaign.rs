//! Campaign machinery: the clean run of a scenario, fault-free references, the power-cut
//! experiments, and a parallel executor shared by every fault model.
//!
//! A clean run plays a scenario with the [`Driver`] and records, for every step, the range of
//! flash operations and reads it performed, what it returned, and the device before every
//! reboot; the [`Observation`] a cold restart would produce at a step boundary (boundary `j` is
//! just before step `j`; step 0 is the first boot) is computed from those on demand, once per
//! scenario ([`Ctx::observation`]), as are the fault-free references ([`Ctx::reference`]).
//!
//! **Oracle of the power cuts** (cold cuts, and warm resets in `faults`): a cut inside step `i`
//! followed by a cold restart must show exactly the observation at boundary `i` or `i + 1`;
//! then the run is carried on from that boundary to the end of the scenario and every step's
//! result and the final observation must equal those of the fault-free *reference* from the
//! same boundary (a cold restart at boundary `j`, then the same steps: a restart during a trial
//! is itself an event the outcome depends on, so the reference has it too). Along the whole
//! experiment — the replay up to the cut, the recovery, every nested cut, the continuation —
//! the [`Watch`] checks that only verifying images run, that no counter decreases, that the
//! slots hold what the state says and that no accepted image is lost (see [`crate::oracle`]).

use crate::device::Device;
use crate::oracle::{observe, raw_boot_log, Driver, Facts, Logged, Observation, Signals, Watch};
use crate::scenario::{Scenario, Shape, Step};
use fwu_bootloader::{BootAction, ERROR_TRIAL_NOT_ACCEPTED};
use fwu_shared::state::Phase;
use fwu_sim_flash::{CutModel, TracedOp};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// One step of the clean run.
#[derive(Clone, Debug)]
pub struct StepRecord {
    /// Write and erase operations of the step.
    pub ops: Range<u64>,
    /// Reads of the step.
    pub reads: Range<u64>,
    /// Index of the `Reboot` step that opened this step's power session.
    pub session: usize,
}

/// The clean run of a scenario.
pub struct Trace<const S: usize, const W: usize> {
    /// What the oracle knows about the scenario.
    pub facts: Facts,
    /// The steps played: a first `Reboot`, then the scenario's.
    pub steps: Vec<Step>,
    /// Per step: operations, reads, power session.
    pub records: Vec<StepRecord>,
    /// Device before each `Reboot` step (indexed by step).
    snapshots: Vec<Option<Device<S, W>>>,
    /// A cold restart after the last step.
    pub last: Observation,
    /// What each step returned.
    pub log: Vec<Logged>,
    /// `marks[i]`: the clean driver's signals before step `i`; the last entry after the final
    /// observation.
    pub marks: Vec<Signals>,
    /// Every write and erase of the run, in order.
    pub ops: Vec<TracedOp>,
}

impl<const S: usize, const W: usize> Trace<S, W> {
    /// Operations of the whole scenario.
    pub fn total_ops(&self) -> u64 {
        self.records.last().map_or(0, |r| r.ops.end)
    }

    /// Operation ranges of the steps that are reboots (where swaps happen).
    pub fn reboot_ops(&self) -> Vec<Range<u64>> {
        self.steps
            .iter()
            .zip(&self.records)
            .filter(|(s, _)| **s == Step::Reboot)
            .map(|(_, r)| r.ops.clone())
            .collect()
    }

    /// The step that performed operation `op`.
    pub fn step_of(&self, op: u64) -> Option<usize> {
        self.records.iter().position(|r| r.ops.contains(&op))
    }

    /// The step that performed read `read`.
    pub fn step_of_read(&self, read: u64) -> Option<usize> {
        self.records.iter().position(|r| r.reads.contains(&read))
    }

    /// The power session (its `Reboot` step) a fault at boundary `j` falls into: the session of
    /// step `j`, or of the last step for the final boundary.
    pub fn session_at(&self, j: usize) -> usize {
        let i = j.min(self.records.len().saturating_sub(1));
        self.records.get(i).map_or(0, |r| r.session)
    }

    /// The final observation of the clean run.
    pub fn last(&self) -> &Observation {
        &self.last
    }

    /// What a cold restart at boundary `j` shows (computed: see [`Ctx::observation`], which
    /// caches it).
    pub fn observe_at(&self, sc: &Scenario, j: usize) -> Observation {
        if j >= self.steps.len() {
            return self.last.clone();
        }
        let dev = self.device_at(sc, j);
        let mut w = Watch::start(&dev, sc, &self.facts);
        observe(&dev, sc, &self.facts, &mut w)
    }

    /// A copy of the device as it was before the `Reboot` step `session`.
    pub fn snapshot(&self, session: usize) -> Device<S, W> {
        self.snapshots
            .get(session)
            .and_then(|s| s.clone())
            .unwrap_or_else(|| panic!("no snapshot at step {session}"))
    }

    /// The device at boundary `j` of the clean run (replayed from the session's snapshot),
    /// powered off there.
    pub fn device_at(&self, sc: &Scenario, j: usize) -> Device<S, W> {
        if j == 0 {
            return self.snapshot(0);
        }
        let s = self.records[j - 1].session;
        let dev = self.snapshot(s);
        {
            let watch = Watch::start(&dev, sc, &self.facts);
            let mut d = Driver::new(&dev, sc, &self.facts, &self.steps, watch);
            for i in s..j {
                d.step(i);
            }
            d.power_off();
        }
        dev
    }
}

impl<const S: usize, const W: usize> Trace<S, W> {
    /// The device just after operation `op` completed, with the power cut there and back on
    /// (the state a fault at rest lands on at that point).
    pub fn device_after_op(&self, sc: &Scenario, op: u64) -> Device<S, W> {
        let i = self.step_of(op).unwrap_or(0);
        let s = self.records.get(i).map_or(0, |r| r.session);
        let dev = self.snapshot(s);
        dev.flash_mut().arm_cut(op, CutModel::After, 0);
        {
            let watch = Watch::start(&dev, sc, &self.facts);
            let mut d = Driver::new(&dev, sc, &self.facts, &self.steps, watch);
            for k in s..=i {
                d.step(k);
                if dev.flash().is_cut() {
                    break;
                }
            }
            d.power_off();
        }
        dev.flash_mut().power_on();
        dev
    }
}

/// A freshly factory-programmed device of `shape` for `sc`.
pub fn fresh<const S: usize, const W: usize>(shape: &Shape, sc: &Scenario) -> Device<S, W> {
    let dev = shape.device::<S, W>();
    for &(c, i) in &sc.factory {
        dev.factory(c, &sc.images[i]);
    }
    dev
}

/// Run `sc` without faults, recording operations, reads and results (and, with `with_ops`,
/// every write and erase, from a second run with tracing). Fails if a step fails or the
/// oracle finds anything wrong in the clean run itself.
pub fn clean_run<const S: usize, const W: usize>(
    shape: &Shape,
    sc: &Scenario,
    with_ops: bool,
) -> Result<Trace<S, W>, String> {
    let dev = fresh::<S, W>(shape, sc);
    let facts = Facts::of(dev.layout(), sc);
    let steps: Vec<Step> = std::iter::once(Step::Reboot)
        .chain(sc.steps.iter().cloned())
        .collect();
    let mut records = Vec::new();
    let mut snapshots = Vec::new();
    let mut session = 0;
    let watch = Watch::start(&dev, sc, &facts);
    let mut driver = Driver::new(&dev, sc, &facts, &steps, watch);
    let mut marks = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        marks.push(driver.watch.signals);
        let start = (dev.flash().op_index(), dev.flash().read_index());
        if *step == Step::Reboot {
            snapshots.push(Some(dev.clone()));
            session = i;
        } else {
            snapshots.push(None);
        }
        driver.step(i);
        if let Some(Logged::Call(Err(e))) = driver.log.last() {
            return Err(format!("clean run: step {i} {step:?} failed: {e:?}"));
        }
        if let Some(Logged::Boot(None)) = driver.log.last() {
            return Err(format!("clean run: boot at step {i} failed"));
        }
        records.push(StepRecord {
            ops: start.0..dev.flash().op_index(),
            reads: start.1..dev.flash().read_index(),
            session,
        });
    }
    let (log, last, watch) = driver.finish();
    marks.push(watch.signals);
    if let Some(p) = watch.violations.first() {
        return Err(format!("clean run: {p}"));
    }
    if !last.booted || last.info.is_none() {
        return Err("clean run: the final restart fails".into());
    }
    let mut ops = Vec::new();
    if with_ops {
        let traced = fresh::<S, W>(shape, sc);
        traced.flash_mut().set_tracing(true);
        {
            let w = Watch::start(&traced, sc, &facts);
            let mut d = Driver::new(&traced, sc, &facts, &steps, w);
            d.run(0);
        }
        ops = traced.flash().traced().to_vec();
    }
    Ok(Trace {
        facts,
        steps,
        records,
        snapshots,
        last,
        log,
        marks,
        ops,
    })
}

/// A fault-free run from a cold restart at a boundary to the end of the scenario.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What the cold restart showed.
    pub first: Observation,
    /// Results of the steps from the boundary on.
    pub log: Vec<Logged>,
    /// The final observation.
    pub last: Observation,
    /// Signals of the run.
    pub signals: Signals,
}

/// Observations and references computed so far, shared by the workers of one scenario.
#[derive(Default)]
pub struct Shared {
    refs: Mutex<HashMap<usize, Arc<Result<Outcome, String>>>>,
    observations: Mutex<HashMap<usize, Arc<Observation>>>,
}

/// Everything an experiment runs against.
pub struct Ctx<'a, const S: usize, const W: usize> {
    /// The device shape.
    pub shape: &'a Shape,
    /// The scenario.
    pub sc: &'a Scenario,
    /// Its clean run (each worker has its own: devices are single-threaded).
    pub trace: &'a Trace<S, W>,
    shared: &'a Shared,
}

impl<const S: usize, const W: usize> Ctx<'_, S, W> {
    /// The fault-free reference from a cold restart at boundary `j` (computed once per
    /// scenario).
    pub fn reference(&self, j: usize) -> Arc<Result<Outcome, String>> {
        if let Some(r) = self
            .shared
            .refs
            .lock()
            .ok()
            .and_then(|m| m.get(&j).cloned())
        {
            return r;
        }
        let r = Arc::new(self.compute_reference(j));
        if let Ok(mut m) = self.shared.refs.lock() {
            m.insert(j, r.clone());
        }
        r
    }

    /// What a cold restart at boundary `j` of the clean run shows (computed once per scenario).
    pub fn observation(&self, j: usize) -> Arc<Observation> {
        if let Some(o) = self
            .shared
            .observations
            .lock()
            .ok()
            .and_then(|m| m.get(&j).cloned())
        {
            return o;
        }
        let o = Arc::new(self.trace.observe_at(self.sc, j));
        if let Ok(mut m) = self.shared.observations.lock() {
            m.insert(j, o.clone());
        }
        o
    }

    fn compute_reference(&self, j: usize) -> Result<Outcome, String> {
        let t = self.trace;
        let dev = t.device_at(self.sc, j);
        let mut watch = Watch::start(&dev, self.sc, &t.facts);
        let first = observe(&dev, self.sc, &t.facts, &mut watch);
        if let Ok(mut m) = self.shared.observations.lock() {
            m.entry(j).or_insert_with(|| Arc::new(first.clone()));
        }
        let mut d = Driver::new(&dev, self.sc, &t.facts, &t.steps, watch);
        d.run(j);
        let (log, last, watch) = d.finish();
        if let Some(v) = watch.violations.first() {
            return Err(format!("reference from boundary {j}: {v}"));
        }
        Ok(Outcome {
            first,
            log,
            last,
            signals: watch.signals,
        })
    }

    /// The strict verdict after a fault followed by a cold restart: the restart must show the
    /// observation of one of the boundaries `candidates` (`lenient`: downloads may resume
    /// earlier), and carrying the scenario on from there must give the reference's results and
    /// final observation. Returns the run's signals.
    pub fn recover_and_continue(
        &self,
        dev: &Device<S, W>,
        candidates: &[usize],
        lenient: bool,
        mut watch: Watch,
    ) -> Result<Signals, String> {
        let t = self.trace;
        let first = observe(dev, self.sc, &t.facts, &mut watch);
        if let Some(v) = watch.violations.first() {
            return Err(format!("at the restart: {v}"));
        }
        let matches = |j: &&usize| {
            let want = self.observation(**j);
            if lenient {
                first.matches_resuming_earlier(&want)
            } else {
                first == *want
            }
        };
        let Some(&j) = candidates.iter().find(matches) else {
            let want: Vec<String> = candidates
                .iter()
                .map(|&j| format!("\n  boundary {j}: {:?}", self.observation(j)))
                .collect();
            return Err(format!(
                "the restart shows a state of none of the expected boundaries\n  got: {first:?}{}",
                want.concat()
            ));
        };
        let mut d = Driver::new(dev, self.sc, &t.facts, &t.steps, watch);
        d.run(j);
        let (log, last, watch) = d.finish();
        if let Some(v) = watch.violations.first() {
            return Err(format!("carrying on from boundary {j}: {v}"));
        }
        let reference = self.reference(j);
        let reference = reference.as_ref().as_ref().map_err(|e| e.clone())?;
        if let Some(k) =
            (0..log.len().max(reference.log.len())).find(|&k| log.get(k) != reference.log.get(k))
        {
            return Err(format!(
                "carrying on from boundary {j}: step {} {:?} gave {:?}, the reference {:?}",
                j + k,
                t.steps.get(j + k),
                log.get(k),
                reference.log.get(k)
            ));
        }
        if last != reference.last {
            return Err(format!(
                "carrying on from boundary {j}: final observation differs\n  got       {last:?}\n  reference {:?}",
                reference.last
            ));
        }
        Ok(watch.signals)
    }
}

/// Play from the snapshot of the session that holds boundary `at` to the end of the scenario
/// without a restart, calling `arm` on the device at boundary `at` (to inject a fault there).
/// Returns the results of steps `session..`, the final observation and the watch.
pub fn run_through<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    at: usize,
    arm: impl FnOnce(&Device<S, W>),
) -> (usize, Vec<Logged>, Observation, Watch) {
    let t = ctx.trace;
    let s = t.session_at(at);
    let dev = t.snapshot(s);
    let watch = Watch::start(&dev, ctx.sc, &t.facts);
    let mut d = Driver::new(&dev, ctx.sc, &t.facts, &t.steps, watch);
    for i in s..at {
        d.step(i);
    }
    arm(&dev);
    d.run(at);
    let (log, last, watch) = d.finish();
    (s, log, last, watch)
}

/// The verdict for a fault the design masks (one sector of the state partition unreadable or
/// worn out: the other copy holds the state), after a run without a restart from session `s`:
/// no violation of the [`Watch`], and the clean run's results and final observation.
pub fn masked<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    s: usize,
    log: &[Logged],
    last: &Observation,
    watch: &Watch,
) -> Result<(), String> {
    let t = ctx.trace;
    if let Some(v) = watch.violations.first() {
        return Err(v.clone());
    }
    let want = t.log.get(s..).unwrap_or(&[]);
    if let Some(k) = (0..log.len().max(want.len())).find(|&k| log.get(k) != want.get(k)) {
        return Err(format!(
            "not masked: step {} {:?} gave {:?}, the clean run {:?}",
            s + k,
            t.steps.get(s + k),
            log.get(k),
            want.get(k)
        ));
    }
    if last != t.last() {
        return Err(format!(
            "not masked: final observation differs\n  got   {last:?}\n  clean {:?}",
            t.last()
        ));
    }
    Ok(())
}

/// The verdict for a fault the design cannot mask (a region that cannot be read, a worn-out
/// sector), after a run without a restart from session `s`:
///
/// * no violation of the [`Watch`] (only verifying images ran, with counters not below the
///   stored floor; no counter decreased; the slots hold what the state says; no accepted image
///   lost, except for a component whose primary slot the fault hits, listed in `exempt`);
/// * the same results and final observation as the clean run (the fault was masked: returns
///   `true`), or: the device still boots and runs a verifying image of every component that
///   runs at the end of the clean run and is not in `exempt`, and the run *reported*
///   something the clean run did not (a boot error or abnormal boot report, a failed service
///   start, an error from a call, `PSA_ERROR_DATA_CORRUPT`): returns `false`.
pub fn degraded<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    s: usize,
    log: &[Logged],
    last: &Observation,
    watch: &Watch,
    exempt: &[bool],
) -> Result<bool, String> {
    let t = ctx.trace;
    let lost_exempt = |v: &String| {
        t.facts.ids.iter().enumerate().any(|(k, c)| {
            exempt.get(k).copied().unwrap_or(false)
                && v.starts_with(&format!("component {c} lost its accepted image"))
        })
    };
    if let Some(v) = watch.violations.iter().find(|v| !lost_exempt(v)) {
        return Err(v.clone());
    }
    let want = t.log.get(s..).unwrap_or(&[]);
    if log == want && last == t.last() {
        return Ok(true);
    }
    let ran_clean = |k: usize| t.last().may_run.get(k).copied().unwrap_or(false);
    let needed = (0..exempt.len()).any(|k| ran_clean(k) && !exempt[k]);
    if !last.booted && needed {
        return Err("the device no longer boots".into());
    }
    for (k, &c) in t.facts.ids.iter().enumerate() {
        let ran = t.last().may_run.get(k).copied().unwrap_or(false);
        if ran
            && !exempt.get(k).copied().unwrap_or(false)
            && !last.may_run.get(k).copied().unwrap_or(false)
        {
            return Err(format!(
                "component {c} no longer runs a verifying image (final {last:?})"
            ));
        }
    }
    let call_error = log
        .iter()
        .zip(want.iter().map(Some).chain(std::iter::repeat(None)))
        .any(|(a, b)| matches!(a, Logged::Call(Err(_)) | Logged::NoService) && Some(a) != b);
    let reference = match (t.marks.last(), t.marks.get(s)) {
        (Some(end), Some(start)) => end.since(start),
        _ => Signals::default(),
    };
    // A final state with an error code the clean run does not show is a report too.
    let query_error = match (&last.info, &t.last().info) {
        (Some(a), Some(b)) => a
            .iter()
            .zip(b)
            .any(|(x, y)| x.error != 0 && (x.state, x.error) != (y.state, y.error)),
        (None, _) => true,
        _ => false,
    };
    if !(call_error || query_error || watch.signals.alarmed_beyond(&reference)) {
        return Err(format!(
            "the outcome changed without any error reported\n  got   {last:?}\n  clean {:?}",
            t.last()
        ));
    }
    Ok(false)
}

/// One power-cut experiment: the first cut at `op` with `model`, then optional cuts during the
/// recovery at the given offsets (operations counted from the start of each recovery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Operation index of the first cut.
    pub op: u64,
    /// Cut model (for every cut of the chain).
    pub model: CutModel,
    /// Offsets of further cuts, each into the recovery after the previous one.
    pub nested: Vec<u64>,
    /// Seed of the random effects.
    pub seed: u64,
}

/// `Cut::nested` value that asks for a second cut at every operation of the recovery.
pub const DOUBLE: u64 = u64::MAX;

/// Replay the power session holding `op` with a cut there (the watch checking the replay);
/// returns the powered-on device, the index of the interrupted step and the watch.
pub fn cut_device<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    op: u64,
    model: CutModel,
    seed: u64,
) -> Result<(Device<S, W>, usize, Watch), String> {
    let t = ctx.trace;
    let i = t
        .step_of(op)
        .ok_or_else(|| format!("op {op} outside the scenario"))?;
    let session = t.records[i].session;
    let dev = t.snapshot(session);
    let watch = Watch::start(&dev, ctx.sc, &t.facts);
    dev.flash_mut().arm_cut(op, model, seed);
    let mut d = Driver::new(&dev, ctx.sc, &t.facts, &t.steps, watch);
    for k in session..=i {
        d.step(k);
        if dev.flash().is_cut() {
            break;
        }
    }
    d.power_off();
    let watch = d.watch;
    if !dev.flash().is_cut() {
        return Err(format!(
            "the cut at op {op} never fired (nondeterministic replay)"
        ));
    }
    dev.flash_mut().power_on();
    Ok((dev, i, watch))
}

/// Run one cut experiment (the chain of cuts, then the strict verdict).
pub fn run_cut<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    cut: &Cut,
) -> Result<Signals, String> {
    let (mut dev, i, mut watch) = cut_device(ctx, cut.op, cut.model, cut.seed)?;
    let t = ctx.trace;
    for (n, &offset) in cut.nested.iter().enumerate() {
        let before = (dev.clone(), watch.clone());
        let at = dev.flash().op_index() + offset;
        dev.flash_mut().arm_cut(
            at,
            cut.model,
            cut.seed ^ (n as u64 + 1).wrapping_mul(0x9e37_79b9),
        );
        let seen = observe(&dev, ctx.sc, &t.facts, &mut watch);
        let fired = dev.flash().is_cut();
        dev.flash_mut().disarm();
        dev.flash_mut().power_on();
        if !fired {
            // The recovery finished before the nested cut point: nothing more to cut. The
            // restart to judge is the one below, from the device as it was before this one (a
            // second restart would be a second boot of an unaccepted trial, which rolls it
            // back by design).
            (dev, watch) = before;
            break;
        }
        if seen.booted && trial_handed_over(&dev) {
            // The cut landed after the hand-over to a trial (`Booted`, the boot's last write),
            // in the application's start: the service repairing a copy of a store that an
            // earlier cut left lagging. The trial ran and lost power without `accept`, so the
            // spec's verdict is the scenario's no longer: the next boot must roll it back.
            return trial_lost_power_verdict(&dev);
        }
    }
    ctx.recover_and_continue(&dev, &[i, i + 1], false, watch)
}

/// The verdict on a trial that ran and lost power before `accept`: the next boot rolls it
/// back (`ERROR_TRIAL_NOT_ACCEPTED`) and runs what it restored. Terminal: the scenario, which
/// accepts the trial, cannot go on from there.
fn trial_lost_power_verdict<const S: usize, const W: usize>(
    dev: &Device<S, W>,
) -> Result<Signals, String> {
    let report = dev
        .boot()
        .map_err(|e| format!("the boot after a trial lost power failed: {e:?}"))?;
    match report.action {
        BootAction::Reverted(members, ERROR_TRIAL_NOT_ACCEPTED)
            if members.iter().all(|c| report.may_run(c)) =>
        {
            Ok(Signals {
                reverted: 1,
                ..Signals::default()
            })
        }
        other => Err(format!(
            "a trial that ran and lost power before accept was not rolled back: {other:?} \
             ({report:?})"
        )),
    }
}

/// Whether the boot log shows a trial that was handed over (the application ran it).
fn trial_handed_over<const S: usize, const W: usize>(dev: &Device<S, W>) -> bool {
    raw_boot_log(dev).is_some_and(|log| {
        let s = log.state();
        s.phase == Phase::Trial && s.trial_booted
    })
}

/// The first cut at `op`, then a second cut at *every* operation of the recovery that follows
/// (each from the same post-cut state). Returns the number of double-cut experiments.
pub fn run_double<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    op: u64,
    model: CutModel,
    seed: u64,
) -> Result<(u64, Signals), String> {
    let (dev, i, watch) = cut_device(ctx, op, model, seed)?;
    let t = ctx.trace;
    let start = dev.flash().op_index();
    let probe = dev.clone();
    let mut w = watch.clone();
    observe(&probe, ctx.sc, &t.facts, &mut w);
    let recovery_ops = probe.flash().op_index() - start;
    let mut signals = Signals::default();
    for j in 0..recovery_ops {
        let d = dev.clone();
        let mut w = watch.clone();
        d.flash_mut()
            .arm_cut(start + j, model, seed ^ j.wrapping_mul(0x9e37_79b9));
        observe(&d, ctx.sc, &t.facts, &mut w);
        if !d.flash().is_cut() {
            return Err(format!("second cut at recovery op {j} never fired"));
        }
        d.flash_mut().power_on();
        let s = ctx
            .recover_and_continue(&d, &[i, i + 1], false, w)
            .map_err(|e| format!("second cut at recovery op {j}: {e}"))?;
        signals.add(&s);
    }
    Ok((recovery_ops.max(1), signals))
}

/// Result of one campaign row.
#[derive(Clone, Debug, Default)]
pub struct RowResult {
    /// Experiments run.
    pub tried: u64,
    /// Failures (reproducible descriptions).
    pub failures: Vec<String>,
    /// Signals summed over the row's experiments.
    pub signals: Signals,
}

/// Run labelled experiments for one scenario on one shape over `threads` workers (each builds
/// the clean trace once; references are shared) and return one result per label. `run` returns
/// the number of experiments a job stands for and their signals, or a failure.
pub fn run_parallel<const S: usize, const W: usize, J: Sync + core::fmt::Debug>(
    shape: &Shape,
    sc: &Scenario,
    jobs: &[(usize, J)],
    labels: usize,
    threads: usize,
    run: impl Fn(&Ctx<'_, S, W>, &J) -> Result<(u64, Signals), String> + Sync,
) -> Vec<RowResult> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = Mutex::new(vec![RowResult::default(); labels]);
    let shared = Shared::default();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                // Devices are single-threaded: each worker builds its own clean trace.
                let trace = match clean_run::<S, W>(shape, sc, false) {
                    Ok(t) => t,
                    Err(e) => {
                        if let Ok(mut r) = results.lock() {
                            if let Some(first) = r.first_mut() {
                                if first.failures.is_empty() {
                                    first.tried += 1;
                                    first
                                        .failures
                                        .push(format!("{} / {}: {e}", shape.name, sc.name));
                                }
                            }
                        }
                        return;
                    }
                };
                let ctx = Ctx {
                    shape,
                    sc,
                    trace: &trace,
                    shared: &shared,
                };
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((label, job)) = jobs.get(k) else {
                        break;
                    };
                    let outcome =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&ctx, job)));
                    let (count, signals, failure) = match outcome {
                        Ok(Ok((n, s))) => (n, s, None),
                        Ok(Err(e)) => (1, Signals::default(), Some(e)),
                        Err(p) => (
                            1,
                            Signals::default(),
                            Some(format!(
                                "panic: {}",
                                p.downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_default()
                            )),
                        ),
                    };
                    if let Ok(mut r) = results.lock() {
                        if let Some(row) = r.get_mut(*label) {
                            row.tried += count;
                            row.signals.add(&signals);
                            if let Some(e) = failure {
                                row.failures
                                    .push(format!("{} / {}: {job:?}: {e}", shape.name, sc.name));
                            }
                        }
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

/// The cut experiments' runner for [`run_parallel`].
pub fn cut_job<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    cut: &Cut,
) -> Result<(u64, Signals), String> {
    if cut.nested == [DOUBLE] {
        run_double(ctx, cut.op, cut.model, cut.seed)
    } else {
        run_cut(ctx, cut).map(|s| (1, s))
    }
}
