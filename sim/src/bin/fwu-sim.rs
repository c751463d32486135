//! `fwu-sim`: run the power-cut campaigns and print a summary table.
//!
//! ```text
//! fwu-sim [--full] [--threads N] [--scenario TEXT] [--shape TEXT] [--seed N]
//! ```
//!
//! Bounded (default, for CI): single cuts at up to 120 evenly spaced operations of every
//! scenario per cut model, plus 40 random chains of two or three cuts (the later ones inside
//! the recovery). `--full`: every operation under every cut model, exhaustive double cuts over
//! every swap operation of the small-sector shape (each first cut followed by a cut at every
//! operation of its recovery), and 300 random chains of up to four cuts per row.
//! Exit status 1 if any experiment fails; each failure line reproduces it (shape, scenario,
//! model, operation index, nested offsets and seed).

use fwu_sim::campaign::{clean_run, run_cuts, Cut, RowResult, DOUBLE};
use fwu_sim::scenario::{self, Scenario, Shape};
use fwu_sim_flash::rng::Rng;
use fwu_sim_flash::CutModel;
use std::time::Instant;

struct Options {
    full: bool,
    threads: usize,
    scenario: Option<String>,
    shape: Option<String>,
    seed: u64,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        full: false,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        scenario: None,
        shape: None,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--full" => o.full = true,
            "--threads" => o.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--scenario" => o.scenario = Some(value()?),
            "--shape" => o.shape = Some(value()?),
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "-h" | "--help" => {
                println!("usage: fwu-sim [--full] [--threads N] [--scenario TEXT] [--shape TEXT] [--seed N]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

/// A printed row of the summary.
struct Row {
    scenario: &'static str,
    shape: &'static str,
    model: String,
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

fn campaign<const S: usize, const W: usize>(shape: &Shape, o: &Options, rows: &mut Vec<Row>) {
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
        run_scenario::<S, W>(shape, &sc, o, rows);
    }
}

fn run_scenario<const S: usize, const W: usize>(
    shape: &Shape,
    sc: &Scenario,
    o: &Options,
    rows: &mut Vec<Row>,
) {
    let trace = match clean_run::<S, W>(shape, sc) {
        Ok(t) => t,
        Err(e) => {
            rows.push(Row {
                scenario: sc.name,
                shape: shape.name,
                model: "clean run".into(),
                result: RowResult {
                    tried: 1,
                    failures: vec![e],
                },
                ops: 0,
            });
            return;
        }
    };
    let total = trace.total_ops();
    let mut rng = Rng::new(o.seed ^ total);
    let mut labels: Vec<String> = Vec::new();
    let mut cuts: Vec<(usize, Cut)> = Vec::new();
    for model in CutModel::ALL {
        let label = labels.len();
        labels.push(format!("{model:?}"));
        let points = if o.full {
            (0..total).collect()
        } else {
            evenly(total, 120)
        };
        cuts.extend(points.into_iter().map(|op| {
            (
                label,
                Cut {
                    op,
                    model,
                    nested: vec![],
                    seed: o.seed.wrapping_mul(op + 1),
                },
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
                    cuts.push((
                        label,
                        Cut {
                            op,
                            model,
                            nested: vec![DOUBLE],
                            seed: op,
                        },
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
    for _ in 0..(if o.full { 300 } else { 40 }) {
        let depth = 1 + rng.below(if o.full { 3 } else { 2 });
        let cut = Cut {
            op: rng.below(total),
            model: CutModel::ALL[rng.below(5) as usize],
            nested: (0..depth).map(|_| rng.below(60)).collect(),
            seed: rng.next_u64(),
        };
        cuts.push((label, cut));
    }
    drop(trace);
    let results = run_cuts::<S, W>(shape, sc, &cuts, labels.len(), o.threads);
    for (model, result) in labels.into_iter().zip(results) {
        rows.push(Row {
            scenario: sc.name,
            shape: shape.name,
            model,
            result,
            ops: total,
        });
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
    let mut rows = Vec::new();
    campaign::<4096, 4>(&scenario::shape_4k(), &o, &mut rows);
    campaign::<{ 128 * 1024 }, 16>(&scenario::shape_128k(), &o, &mut rows);
    campaign::<2048, 8>(&scenario::shape_2k(), &o, &mut rows);
    campaign::<1024, 4>(&scenario::shape_1k(), &o, &mut rows);

    println!(
        "| scenario | layout | cut model | flash ops in scenario | cut experiments | failures |"
    );
    println!("|---|---|---|---:|---:|---:|");
    let mut tried = 0;
    let mut failed = 0;
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.shape,
            r.model,
            r.ops,
            r.result.tried,
            r.result.failures.len()
        );
        tried += r.result.tried;
        failed += r.result.failures.len();
    }
    for r in &rows {
        for f in r.result.failures.iter().take(5) {
            println!("FAIL {f}");
        }
    }
    println!(
        "\n{} mode, {} threads: {tried} cut experiments, {failed} failures, {:.1} s",
        if o.full { "full" } else { "bounded" },
        o.threads,
        started.elapsed().as_secs_f64()
    );
    println!("{} passed, {failed} failed", tried as usize - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
