//! `fwu-sim`: run the fault campaigns and print a summary table per fault model.
//!
//! ```text
//! fwu-sim [--faults MODEL[,MODEL...]] [--full] [--threads N] [--scenario TEXT] [--shape TEXT] [--seed N]
//! ```
//!
//! Every scenario runs on every device shape under each chosen fault model (all of them when
//! `--faults` is not given), bounded by default (CI) or exhaustive with `--full`; `--help`
//! says what each covers. What each model's oracle accepts is documented in
//! `fwu_sim::campaign` (cuts) and `fwu_sim::faults` (the others). The run ends with the line
//! `N passed, M failed` and exits with status 1 if any experiment failed; each failure line
//! reproduces it (shape, scenario, the experiment's parameters).

use fwu_sim::campaign::{clean_run, run_parallel, Cut, RowResult, Trace, DOUBLE};
use fwu_sim::faults::{self, fault_job, Fault, Plan};
use fwu_sim::oracle::Signals;
use fwu_sim::scenario::{self, Scenario, Shape};
use fwu_sim_flash::rng::Rng;
use fwu_sim_flash::CutModel;
use std::time::Instant;

/// The fault models, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    Cut,
    Bitflip,
    Readerr,
    Wearout,
    Warm,
}

impl Model {
    const ALL: [Model; 5] = [
        Model::Cut,
        Model::Bitflip,
        Model::Readerr,
        Model::Wearout,
        Model::Warm,
    ];

    fn name(self) -> &'static str {
        match self {
            Model::Cut => "cut",
            Model::Bitflip => "bitflip",
            Model::Readerr => "readerr",
            Model::Wearout => "wearout",
            Model::Warm => "warm",
        }
    }
}

const HELP: &str = "\
usage: fwu-sim [--faults MODEL[,MODEL...]] [--full] [--threads N] [--scenario TEXT] [--shape TEXT] [--seed N]

Runs the scenarios (full update, automatic revert, reject in trial / in staged, cancel and clean,
resumed download, two or three components reverted / accepted) on four device shapes under fault
models, and checks every experiment with the oracle: only verifying images run, counters never
decrease, the slots hold what the state says, no accepted image is lost, and the scenario carried
on to its end gives the fault-free outcome (or, for faults that cannot be masked, a reported
error and a device that still boots what verifies). Without --faults every model runs.

fault models (--faults cut,bitflip,...; every model when not given):
  cut      cold power cuts at a flash operation (five cut models), then a cold restart
  bitflip  one bit of the state partition flipped at rest at a stable point, then a restart
  readerr  read failures, transient (one read) or persistent (a region), in boots and calls
  wearout  a worn-out sector: writes that fail or do not stick, or erases that fail
  warm     warm resets (the operation completes, RAM kept) at boot and service operations

what each covers, bounded (default, CI) / exhaustive (--full):
  cut      bounded: 24 spread operations per cut model (skipped, torn prefix, torn bits,
           garbage erase, after) and 16 random chains of 2-3 cuts per scenario; full: every
           operation x every cut model, exhaustive double cuts over the swaps of the 1 KiB
           shape (every swap op, then every op of its recovery), 300 chains of 2-4 cuts
  bitflip  stable points: step boundaries (idle, downloading, candidate, staged, trial,
           rejected, accepted, ...) and right after a swap step or flag of a boot (a cut
           there, the flip while off). bounded: every stable boundary with 2 sampled bits (1
           in a programmed byte), 3 swap points with 2 bits; full: on the 1 KiB shape, for full
           update and reject in trial, every bit of every programmed byte of the state
           partition and one bit of every erased word, at every phase boundary (idle,
           mid-download, after each finish, install, accept, reject and clean, trial, end) and
           after the middle step of every swap; elsewhere every stable boundary and 6 swap
           points with 16 bits each
  readerr  transient: bounded, the first and last read of each step and 2 random reads per
           boot; full, every read of every step (every 16th on the 128 KiB shape). persistent
           (each state sector, both copies of a store, the checkpoint map, the whole state
           partition, a slot's first sector) from a step boundary on: bounded, 3 boundaries per
           region; full, every stable boundary
  wearout  bounded: the first and last operation of a sector in a boot and its first in a
           service call, for the state sectors and 4 sectors per slot; full: every write or
           erase of every sector the scenario touches is the first failing one once
  warm     bounded: 24 spread operations and 24 spread boot operations, 6 resets repeated at
           the same point of the next two restarts; full: every operation, every boot
           operation repeated

options:
  --faults LIST    comma-separated fault models to run (default: all)
  --full           exhaustive instead of bounded
  --threads N      worker threads (default: available parallelism)
  --scenario TEXT  only scenarios whose name contains TEXT
  --shape TEXT     only device shapes whose name contains TEXT
  --seed N         seed of the random samples and cut effects (default 1)
  --count          only count the experiments the run would make (no summary line)
";

struct Options {
    full: bool,
    threads: usize,
    scenario: Option<String>,
    shape: Option<String>,
    seed: u64,
    models: Vec<Model>,
    count: bool,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        full: false,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        scenario: None,
        shape: None,
        seed: 1,
        models: Vec::new(),
        count: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--full" => o.full = true,
            "--count" => o.count = true,
            "--threads" => o.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--scenario" => o.scenario = Some(value()?),
            "--shape" => o.shape = Some(value()?),
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--faults" => {
                for name in value()?.split(',') {
                    let m = Model::ALL
                        .into_iter()
                        .find(|m| m.name() == name.trim())
                        .ok_or(format!(
                            "unknown fault model {name:?} (cut, bitflip, readerr, wearout, warm)"
                        ))?;
                    if !o.models.contains(&m) {
                        o.models.push(m);
                    }
                }
            }
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    if o.models.is_empty() {
        o.models = Model::ALL.to_vec();
    }
    Ok(o)
}

/// A printed row of the summary.
struct Row {
    #[allow(dead_code)]
    model: Model,
    scenario: &'static str,
    shape: &'static str,
    label: String,
    result: RowResult,
    ops: u64,
}

fn evenly(total: u64, max: u64) -> Vec<u64> {
    if total <= max {
        (0..total).collect()
    } else {
        (0..max).map(|i| i * total / max).collect()
    }
}

/// Cut points per model in the bounded run.
const BOUNDED_CUTS: u64 = 24;

/// The cut campaign's experiments of one scenario.
fn cuts<const S: usize, const W: usize>(
    shape: &Shape,
    trace: &Trace<S, W>,
    o: &Options,
) -> (Vec<String>, Vec<(usize, Fault)>) {
    let total = trace.total_ops();
    let mut rng = Rng::new(o.seed ^ total);
    let mut labels: Vec<String> = Vec::new();
    let mut jobs: Vec<(usize, Fault)> = Vec::new();
    for model in CutModel::ALL {
        let label = labels.len();
        labels.push(format!("{model:?}"));
        let points = if o.full {
            (0..total).collect()
        } else {
            evenly(total, BOUNDED_CUTS)
        };
        jobs.extend(points.into_iter().map(|op| {
            (
                label,
                Fault::Cut(Cut {
                    op,
                    model,
                    nested: vec![],
                    seed: o.seed.wrapping_mul(op + 1),
                }),
            )
        }));
    }
    // Exhaustive double cuts over the swaps of the small-sector shape: every operation of every
    // reboot (where the swaps run), then every operation of the recovery that follows it.
    if o.full && shape.name.starts_with("1KiB") {
        for model in [CutModel::Skip, CutModel::TornBits] {
            let label = labels.len();
            labels.push(format!(
                "{model:?}, double: every swap op x every recovery op"
            ));
            for range in trace.reboot_ops() {
                for op in range {
                    jobs.push((
                        label,
                        Fault::Cut(Cut {
                            op,
                            model,
                            nested: vec![DOUBLE],
                            seed: op,
                        }),
                    ));
                }
            }
        }
    }
    // Random chains of cuts inside recoveries.
    let label = labels.len();
    labels.push(if o.full {
        "random chains of 2 to 4 cuts".into()
    } else {
        "random chains of 2 or 3 cuts".into()
    });
    for _ in 0..(if o.full { 300 } else { 16 }) {
        let depth = 1 + rng.below(if o.full { 3 } else { 2 });
        let cut = Cut {
            op: rng.below(total),
            model: CutModel::ALL[rng.below(5) as usize],
            nested: (0..depth).map(|_| rng.below(60)).collect(),
            seed: rng.next_u64(),
        };
        jobs.push((label, Fault::Cut(cut)));
    }
    (labels, jobs)
}

fn experiments<const S: usize, const W: usize>(
    #[allow(dead_code)] model: Model,
    shape: &Shape,
    sc: &Scenario,
    trace: &Trace<S, W>,
    o: &Options,
) -> (Vec<String>, Vec<(usize, Fault)>) {
    let plan = Plan {
        full: o.full,
        seed: o.seed,
    };
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match model {
        Model::Cut => cuts(shape, trace, o),
        Model::Bitflip => {
            let exhaustive = shape.name.starts_with("1KiB")
                && faults::EXHAUSTIVE_FLIP_SCENARIOS.contains(&sc.name);
            (
                strs(&[
                    if o.full && exhaustive {
                        "flip at a phase boundary, every programmed bit"
                    } else {
                        "flip at a step boundary"
                    },
                    if o.full && exhaustive {
                        "flip after a swap step, every programmed bit"
                    } else {
                        "flip after a swap step"
                    },
                ]),
                faults::bitflips(trace, sc, &plan, exhaustive),
            )
        }
        Model::Readerr => {
            // The 8 x 128 KiB shape reads its large images in thousands of chunks per boot:
            // its full run takes every 16th read.
            let stride = if shape.name.starts_with("8x128KiB") {
                16
            } else {
                1
            };
            (
                strs(&["transient read error", "persistent read error"]),
                faults::read_errors(trace, &plan, stride),
            )
        }
        Model::Wearout => (
            strs(&[
                "worn: write fails",
                "worn: write does not stick",
                "worn: erase fails",
            ]),
            faults::wear(trace, &plan),
        ),
        Model::Warm => (
            strs(&["warm reset", "warm reset, repeated 3 times"]),
            faults::warm(trace, &plan),
        ),
    }
}

fn campaign<const S: usize, const W: usize>(
    #[allow(dead_code)] model: Model,
    shape: &Shape,
    o: &Options,
    rows: &mut Vec<Row>,
) {
    if o.shape
        .as_ref()
        .is_some_and(|f| !shape.name.contains(f.as_str()))
    {
        return;
    }
    for sc in scenario::all::<S, W>(shape) {
        if o.scenario
            .as_ref()
            .is_some_and(|f| !sc.name.contains(f.as_str()))
        {
            continue;
        }
        let ops = matches!(model, Model::Bitflip | Model::Wearout);
        let trace = match clean_run::<S, W>(shape, &sc, ops) {
            Ok(t) => t,
            Err(e) => {
                rows.push(Row {
                    model,
                    scenario: sc.name,
                    shape: shape.name,
                    label: "clean run".into(),
                    result: RowResult {
                        tried: 1,
                        failures: vec![e],
                        signals: Signals::default(),
                    },
                    ops: 0,
                });
                continue;
            }
        };
        let total = trace.total_ops();
        let (labels, jobs) = experiments(model, shape, &sc, &trace, o);
        drop(trace);
        if o.count {
            for (k, label) in labels.into_iter().enumerate() {
                rows.push(Row {
                    model,
                    scenario: sc.name,
                    shape: shape.name,
                    label,
                    result: RowResult {
                        tried: jobs.iter().filter(|(l, _)| *l == k).count() as u64,
                        ..RowResult::default()
                    },
                    ops: total,
                });
            }
            continue;
        }
        let results = run_parallel::<S, W, Fault>(
            shape,
            &sc,
            &jobs,
            labels.len(),
            o.threads,
            fault_job::<S, W>,
        );
        if o.full {
            let n: u64 = results.iter().map(|r| r.tried).sum();
            let bad: usize = results.iter().map(|r| r.failures.len()).sum();
            eprintln!(
                "[{}] {} / {}: {n} experiments, {bad} failures",
                model.name(),
                shape.name,
                sc.name
            );
        }
        for (label, result) in labels.into_iter().zip(results) {
            rows.push(Row {
                model,
                scenario: sc.name,
                shape: shape.name,
                label,
                result,
                ops: total,
            });
        }
    }
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    if o.count {
        for &model in &o.models {
            let mut rows = Vec::new();
            campaign::<4096, 4>(model, &scenario::shape_4k(), &o, &mut rows);
            campaign::<{ 128 * 1024 }, 16>(model, &scenario::shape_128k(), &o, &mut rows);
            campaign::<2048, 8>(model, &scenario::shape_2k(), &o, &mut rows);
            campaign::<1024, 4>(model, &scenario::shape_1k(), &o, &mut rows);
            let n: u64 = rows.iter().map(|r| r.result.tried).sum();
            for r in &rows {
                println!(
                    "{} | {} | {} | {}",
                    r.scenario, r.shape, r.label, r.result.tried
                );
            }
            println!(
                "{}: {n} experiments ({})",
                model.name(),
                if o.full { "full" } else { "bounded" }
            );
        }
        return;
    }
    let mut passed = 0u64;
    let mut failed = 0u64;
    let mut failure_lines = Vec::new();
    for &model in &o.models {
        let t0 = Instant::now();
        let mut rows = Vec::new();
        campaign::<4096, 4>(model, &scenario::shape_4k(), &o, &mut rows);
        campaign::<{ 128 * 1024 }, 16>(model, &scenario::shape_128k(), &o, &mut rows);
        campaign::<2048, 8>(model, &scenario::shape_2k(), &o, &mut rows);
        campaign::<1024, 4>(model, &scenario::shape_1k(), &o, &mut rows);
        println!(
            "\n## {} ({})\n",
            model.name(),
            if o.full { "full" } else { "bounded" }
        );
        println!(
            "| scenario | layout | experiment | flash ops in scenario | experiments | failures |"
        );
        println!("|---|---|---|---:|---:|---:|");
        let (mut tried, mut bad) = (0u64, 0u64);
        let mut signals = Signals::default();
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r.scenario,
                r.shape,
                r.label,
                r.ops,
                r.result.tried,
                r.result.failures.len()
            );
            tried += r.result.tried;
            bad += r.result.failures.len() as u64;
            signals.add(&r.result.signals);
            for f in r.result.failures.iter().take(5) {
                failure_lines.push(format!("FAIL [{}] {f}", model.name()));
            }
        }
        // The wear-out runs must reach the failure paths they exist for.
        if model == Model::Wearout && o.scenario.is_none() && o.shape.is_none() {
            for (what, n) in [
                (
                    "an install undone after a flash failure (ERROR_INSTALL_FLASH_FAILURE)",
                    signals.flash_failure_undone,
                ),
                (
                    "a service call failing with PSA_ERROR_STORAGE_FAILURE",
                    signals.storage_failures,
                ),
            ] {
                if n == 0 {
                    tried += 1;
                    bad += 1;
                    failure_lines
                        .push(format!("FAIL [wearout] the campaign never produced {what}"));
                }
            }
        }
        println!(
            "\n{}: {tried} experiments, {bad} failures, {:.1} s",
            model.name(),
            t0.elapsed().as_secs_f64()
        );
        println!(
            "outcomes changed by the fault (reported): {}",
            signals.changed
        );
        println!(
            "signals: boot errors {}, corrupt reports {}, repaired {}, degraded {}, refusals {}, installs refused {}, installs undone after a flash failure {}, rollbacks of an invalid active image {}, reverts {}, reverts refused {}, recoveries from backup {}, other boot actions {}, service start-up errors {}, STORAGE_FAILURE {}, DATA_CORRUPT {}, other errors {}, recover_state {}",
            signals.boot_errors,
            signals.corrupt,
            signals.repaired,
            signals.degraded,
            signals.refusals(),
            signals.install_refused,
            signals.flash_failure_undone,
            signals.active_invalid,
            signals.reverted,
            signals.revert_refused,
            signals.recovered,
            signals.other_actions,
            signals.service_errors,
            signals.storage_failures,
            signals.data_corrupt,
            signals.other_errors,
            signals.recoveries
        );
        passed += tried - bad;
        failed += bad;
    }
    if !failure_lines.is_empty() {
        println!();
        for f in &failure_lines {
            println!("{f}");
        }
    }
    println!(
        "\n{} mode, {} threads, models {}: {:.1} s",
        if o.full { "full" } else { "bounded" },
        o.threads,
        o.models
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(","),
        started.elapsed().as_secs_f64()
    );
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
