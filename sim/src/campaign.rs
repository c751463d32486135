//! Power-cut campaigns.
//!
//! A clean run of a scenario records, for every step, the range of flash operations it
//! performed and the *observation* a cold restart would produce at each step boundary: the
//! reported state, error, active version and `impl` info of every component, which signed image
//! each primary slot holds, whether the bootloader lets it run, and the stored security
//! counters. A cut inside step `i` followed by a cold restart must produce exactly the
//! observation before or after step `i`: that single comparison checks that a signed image boots
//! (never a mix inside an atomic set), that the state is one the spec allows at that moment,
//! that nothing acknowledged is lost and that the security counter never moves early or back.
//! Nested cuts also cut the recovery, once or several times.

use crate::device::{Device, Service};
use crate::scenario::{run_call, Scenario, Shape, Step};
use fwu_shared::ComponentInfo;
use fwu_sim_flash::CutModel;
use std::ops::Range;

/// What a cold restart shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// `query` of every component.
    pub info: Vec<ComponentInfo>,
    /// Index (into the scenario's images) of the image each primary slot holds, if any.
    pub running: Vec<Option<usize>>,
    /// Whether the bootloader lets each component run.
    pub may_run: Vec<bool>,
    /// Stored security counter of every component.
    pub counters: Vec<u32>,
}

/// Cold restart and look: boot, build the service, query everything.
pub fn observe<const S: usize, const W: usize>(
    dev: &Device<S, W>,
    sc: &Scenario,
) -> Result<Observation, String> {
    let report = dev.boot().map_err(|e| format!("boot failed: {e:?}"))?;
    let ids: Vec<_> = dev.layout().components.iter().map(|s| s.id).collect();
    let mut info = Vec::new();
    {
        let svc = dev
            .service()
            .map_err(|e| format!("service failed to start: {e:?}"))?;
        for &c in &ids {
            info.push(crate::device::query(&svc, c).map_err(|e| format!("query {c}: {e:?}"))?);
        }
    }
    let running = ids
        .iter()
        .map(|&c| sc.images.iter().position(|img| dev.runs(c, img)))
        .collect();
    let may_run = ids.iter().map(|&c| report.may_run(c)).collect();
    let counters = dev.counters()?;
    Ok(Observation {
        info,
        running,
        may_run,
        counters,
    })
}

/// One step of the clean run.
#[derive(Clone, Debug)]
struct StepRecord {
    ops: Range<u64>,
    /// Index of the `Reboot` step that opened this step's power session.
    session: usize,
}

/// The clean run of a scenario.
pub struct Trace<const S: usize, const W: usize> {
    steps: Vec<Step>,
    records: Vec<StepRecord>,
    /// Device before each `Reboot` step (indexed by step).
    snapshots: Vec<Option<Device<S, W>>>,
    /// `observations[i]`: cold restart before step `i`; the last one after all steps.
    observations: Vec<Observation>,
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

    fn step_of(&self, op: u64) -> Option<usize> {
        self.records.iter().position(|r| r.ops.contains(&op))
    }
}

/// A freshly factory-programmed device of `shape` for `sc`.
fn fresh<const S: usize, const W: usize>(shape: &Shape, sc: &Scenario) -> Device<S, W> {
    let dev = shape.device::<S, W>();
    for &(c, i) in &sc.factory {
        dev.factory(c, &sc.images[i]);
    }
    dev
}

/// Run `sc` without cuts, recording operations and observations.
pub fn clean_run<const S: usize, const W: usize>(
    shape: &Shape,
    sc: &Scenario,
) -> Result<Trace<S, W>, String> {
    let dev = fresh::<S, W>(shape, sc);
    let steps: Vec<Step> = std::iter::once(Step::Reboot)
        .chain(sc.steps.iter().cloned())
        .collect();
    let mut records = Vec::new();
    let mut snapshots = Vec::new();
    let mut observations = vec![observe(&dev.clone(), sc)?];
    let mut svc: Option<Service<S, W>> = None;
    let mut session = 0;
    for (i, step) in steps.iter().enumerate() {
        let start = dev.flash().op_index();
        if *step == Step::Reboot {
            snapshots.push(Some(dev.clone()));
            session = i;
            drop(svc.take()); // power off: the application's RAM is gone
            dev.boot()
                .map_err(|e| format!("clean run: boot at step {i}: {e:?}"))?;
            svc = Some(
                dev.service()
                    .map_err(|e| format!("clean run: service at step {i}: {e:?}"))?,
            );
        } else {
            snapshots.push(None);
            let s = svc.as_ref().ok_or("no service")?;
            let r = run_call(s, step, &sc.images);
            if r.is_err() {
                return Err(format!("clean run: step {i} {step:?} failed: {r:?}"));
            }
        }
        records.push(StepRecord {
            ops: start..dev.flash().op_index(),
            session,
        });
        observations.push(observe(&dev.clone(), sc)?);
    }
    drop(svc);
    Ok(Trace {
        steps,
        records,
        snapshots,
        observations,
    })
}

/// One cut experiment: the first cut at `op` with `model`, then optional cuts during the
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

/// Replay the power session holding `op` with a cut there; returns the powered-on device and
/// the index of the interrupted step.
fn cut_device<const S: usize, const W: usize>(
    sc: &Scenario,
    trace: &Trace<S, W>,
    op: u64,
    model: CutModel,
    seed: u64,
) -> Result<(Device<S, W>, usize), String> {
    let i = trace
        .step_of(op)
        .ok_or_else(|| format!("op {op} outside the scenario"))?;
    let session = trace.records[i].session;
    let dev = trace.snapshots[session].clone().ok_or("no snapshot")?;
    dev.flash_mut().arm_cut(op, model, seed);
    let mut svc: Option<Service<S, W>> = None;
    for step in &trace.steps[session..=i] {
        if *step == Step::Reboot {
            drop(svc.take());
            if dev.boot().is_err() || dev.flash().is_cut() {
                break;
            }
            match dev.service() {
                Ok(s) => svc = Some(s),
                Err(_) => break,
            }
        } else if let Some(s) = &svc {
            let _ = run_call(s, step, &sc.images);
        }
        if dev.flash().is_cut() {
            break;
        }
    }
    drop(svc);
    if !dev.flash().is_cut() {
        return Err(format!(
            "the cut at op {op} never fired (nondeterministic replay)"
        ));
    }
    dev.flash_mut().power_on();
    Ok((dev, i))
}

/// Check a recovered device against the observations around interrupted step `i`.
fn check_recovery<const S: usize, const W: usize>(
    sc: &Scenario,
    trace: &Trace<S, W>,
    dev: &Device<S, W>,
    i: usize,
) -> Result<(), String> {
    let after = observe(dev, sc).map_err(|e| format!("recovery: {e}"))?;
    let before_step = &trace.observations[i];
    let after_step = &trace.observations[i + 1];
    if after == *before_step || after == *after_step {
        Ok(())
    } else {
        Err(format!(
            "step {i} {:?}: recovered to a state that is neither before nor after it\n  got    {after:?}\n  before {before_step:?}\n  after  {after_step:?}",
            trace.steps[i]
        ))
    }
}

/// Run one cut experiment against a clean trace; `Err` describes an invariant violation.
pub fn run_cut<const S: usize, const W: usize>(
    sc: &Scenario,
    trace: &Trace<S, W>,
    cut: &Cut,
) -> Result<(), String> {
    let (dev, i) = cut_device(sc, trace, cut.op, cut.model, cut.seed)?;
    for (n, &offset) in cut.nested.iter().enumerate() {
        let at = dev.flash().op_index() + offset;
        dev.flash_mut().arm_cut(
            at,
            cut.model,
            cut.seed ^ (n as u64 + 1).wrapping_mul(0x9e37_79b9),
        );
        let interrupted = observe(&dev, sc);
        let fired = dev.flash().is_cut();
        dev.flash_mut().disarm();
        dev.flash_mut().power_on();
        if !fired {
            // The recovery finished before the nested cut point: nothing more to cut.
            interrupted?;
            break;
        }
    }
    check_recovery(sc, trace, &dev, i)
}

/// The first cut at `op`, then a second cut at *every* operation of the recovery that follows
/// (each from the same post-cut snapshot). Returns the number of double-cut experiments.
pub fn run_double<const S: usize, const W: usize>(
    sc: &Scenario,
    trace: &Trace<S, W>,
    op: u64,
    model: CutModel,
    seed: u64,
) -> Result<u64, String> {
    let (dev, i) = cut_device(sc, trace, op, model, seed)?;
    let start = dev.flash().op_index();
    let probe = dev.clone();
    observe(&probe, sc).map_err(|e| format!("recovery: {e}"))?;
    let recovery_ops = probe.flash().op_index() - start;
    for j in 0..recovery_ops {
        let d = dev.clone();
        d.flash_mut()
            .arm_cut(start + j, model, seed ^ j.wrapping_mul(0x9e37_79b9));
        let _ = observe(&d, sc);
        if !d.flash().is_cut() {
            return Err(format!("second cut at recovery op {j} never fired"));
        }
        d.flash_mut().power_on();
        check_recovery(sc, trace, &d, i)
            .map_err(|e| format!("second cut at recovery op {j}: {e}"))?;
    }
    Ok(recovery_ops)
}

/// `Cut::nested` value that asks for a second cut at every operation of the recovery.
pub const DOUBLE: u64 = u64::MAX;

/// Result of one campaign row.
#[derive(Clone, Debug, Default)]
pub struct RowResult {
    /// Cut experiments run.
    pub tried: u64,
    /// Failures (reproducible descriptions).
    pub failures: Vec<String>,
}

/// Run labelled cut experiments for one scenario on one shape over `threads` workers (each
/// builds the clean trace once) and return one result per label.
pub fn run_cuts<const S: usize, const W: usize>(
    shape: &Shape,
    sc: &Scenario,
    cuts: &[(usize, Cut)],
    labels: usize,
    threads: usize,
) -> Vec<RowResult> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![RowResult::default(); labels]);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                // Devices are single-threaded: each worker builds its own clean trace.
                let trace = match clean_run::<S, W>(shape, sc) {
                    Ok(t) => t,
                    Err(e) => {
                        if let Ok(mut r) = results.lock() {
                            if let Some(first) = r.first_mut() {
                                first.failures.push(e);
                            }
                        }
                        return;
                    }
                };
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((label, cut)) = cuts.get(k) else {
                        break;
                    };
                    let mut count = 1;
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        if cut.nested == [DOUBLE] {
                            run_double(sc, &trace, cut.op, cut.model, cut.seed)
                                .map(|n| count = n.max(1))
                        } else {
                            run_cut(sc, &trace, cut)
                        }
                    }));
                    let failure = match outcome {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e),
                        Err(p) => Some(format!(
                            "panic: {}",
                            p.downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default()
                        )),
                    };
                    if let Ok(mut r) = results.lock() {
                        if let Some(row) = r.get_mut(*label) {
                            row.tried += count;
                            if let Some(e) = failure {
                                row.failures.push(format!(
                                    "{} / {}: cut {:?} at op {} nested {:?} seed {}: {e}",
                                    shape.name, sc.name, cut.model, cut.op, cut.nested, cut.seed
                                ));
                            }
                        }
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}
