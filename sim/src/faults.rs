//! Fault models beyond cold power cuts, and what each one's oracle accepts.
//!
//! Every experiment ends with the scenario carried on to its last step and a final cold
//! restart, under the [`Watch`](crate::oracle::Watch) of [`crate::oracle`] (only verifying
//! images run, counters never decrease, the slots hold what the state says, no accepted image
//! is lost). Beyond that:
//!
//! * **bitflip** — one bit of the state partition flipped at rest at a stable point: a step
//!   boundary (idle, downloading, candidate, staged, trial, rejected, accepted, ...) or just
//!   after a swap step or flag of a boot (the device is cut there, the bit flips while it is
//!   off), then the device restarts cold. *Strict*: a single fault at rest must never change the
//!   outcome. The restart must show the state of the boundary (or, inside a boot, of the
//!   boundary before or after it), except that a download may resume from an earlier offset (a
//!   checkpoint lost with the flipped map page only costs re-sent data); carrying the scenario
//!   on must then give exactly the fault-free reference's results and final observation.
//! * **readerr** — *transient*: one read fails (the next succeeds), at a read of a boot or of
//!   any service call. The board boots again after a boot error, the client retries a call
//!   after `PSA_ERROR_STORAGE_FAILURE` and re-sends a download from its resume offset; with
//!   that, most transient errors leave exactly the clean run's results and final observation.
//!   *Degraded* (below), because the design answers some read errors by giving up an
//!   operation with a recorded error (a swap that cannot read a sector is undone with
//!   `ERROR_INSTALL_FLASH_FAILURE`): such an outcome must be reported, and the summary counts
//!   these experiments ("outcomes changed, reported"). *Persistent*: a region (one state
//!   sector, both copies of the boot log or of the catalog, the checkpoint map, the whole state
//!   partition, a slot's first sector) cannot be read any more from a step boundary on. *One
//!   sector of the state partition* must be *masked* ([`crate::campaign::masked`]: the clean
//!   run's results and final observation): each store keeps a second copy in other sectors, and
//!   the checkpoint map only holds hints whose loss costs a re-sent download. *Any larger
//!   region* is *degraded* ([`crate::campaign::degraded`]): either masked, or the device still
//!   boots a verifying image of every component that runs at the end of the clean run and whose
//!   primary slot stays readable, and the failure was reported (a boot error or abnormal boot
//!   report, a service start-up error, a call's error, an error code in `query`), with no
//!   invariant of the watch broken. A component whose primary slot is unreadable cannot be
//!   authenticated: it may be refused (never run unverified).
//! * **wearout** — a sector stops accepting writes (the write fails, or returns `Ok` with
//!   nothing programmed) or erases, from a given operation on that sector on (every write or
//!   erase of the sector in the scenario is the first failing one in some experiment, in the
//!   full run). One sector of the state partition must be *masked*, as above (the writers check
//!   every write and move to another slot or copy). A slot sector is *degraded*, as above; a
//!   component whose primary slot holds the worn sector may end up refused and its accepted
//!   image damaged (nothing can rewrite that sector), but nothing unverified may run, no counter
//!   may fall, and the other components must keep running. These runs exercise the
//!   bootloader's undo of an install after a flash failure (`ERROR_INSTALL_FLASH_FAILURE`) and
//!   the service's `PSA_ERROR_STORAGE_FAILURE` paths: the campaign counts both and fails if it
//!   never reaches them.
//! * **warm** — a warm reset (watchdog or system reset, RAM kept) at a flash operation of a
//!   boot (every swap step) or of a service call: the operation completes, nothing is torn,
//!   and the device restarts. fwu keeps nothing in RAM across a reset (both halves rebuild
//!   everything from flash), so only what reaches the cells differs from a cold cut. Also
//!   repeated resets: the same point relative to each restart, three times in a row, as a
//!   watchdog that bites again. *Strict*, as the cold cuts.

use crate::campaign::{cut_job, degraded, masked, run_cut, run_through, Ctx, Cut, Trace};
use crate::oracle::Signals;
use crate::scenario::{Scenario, Step};
use fwu_shared::state::StateGeometry;
use fwu_sim_flash::rng::Rng;
use fwu_sim_flash::{CutModel, OpKind, Wear};
use std::ops::Range;

/// Where a fault at rest lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// At step boundary `j` (the device off between steps `j - 1` and `j`).
    Boundary(usize),
    /// Just after operation `op` of a boot (a power cut there, then the fault while off).
    AfterOp(u64),
}

/// A named flash region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// What it is.
    pub name: String,
    /// Its addresses.
    pub range: Range<u32>,
}

/// One experiment of the fault models.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Flip `bit` of the byte at `addr` at `at`, restart cold and carry on.
    Flip {
        /// Where.
        at: Point,
        /// Byte address (in the state partition).
        addr: u32,
        /// Bit 0..8.
        bit: u8,
    },
    /// Flip one bit at `at` drawn with `seed`: in a byte of the state partition that is
    /// programmed at that point (`programmed`), or anywhere in it; then as `Flip`.
    FlipSampled {
        /// Where.
        at: Point,
        /// Seed of the draw.
        seed: u64,
        /// Whether to draw among the programmed bytes.
        programmed: bool,
    },
    /// Read number `read` (of the device's life) fails once.
    ReadOnce {
        /// Read index.
        read: u64,
    },
    /// Every read of `region` fails from boundary `from` on.
    Unreadable {
        /// Boundary where the region becomes unreadable.
        from: usize,
        /// The region.
        region: Region,
    },
    /// `sector` wears out: its operations of `model`'s kind fail from operation `first_op` on
    /// (its `after`-th of that kind).
    Worn {
        /// Sector index.
        sector: usize,
        /// How it fails.
        model: Wear,
        /// The first failing operation in the clean run's numbering.
        first_op: u64,
        /// Operations of that kind the sector takes before failing.
        after: u64,
    },
    /// A warm reset at operation `op`, then one at each offset of `again`, each counted from
    /// the start of the restart before it.
    Warm {
        /// First reset.
        op: u64,
        /// Further resets.
        again: Vec<u64>,
    },
    /// A cold power cut (the cut campaign).
    Cut(Cut),
}

/// Components (by layout position) whose primary slot intersects `range`.
fn primary_hit<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    range: &Range<u32>,
) -> Vec<bool> {
    let dev_layout = &ctx.shape.slots;
    let ss = u32::try_from(S).unwrap_or(u32::MAX);
    ctx.trace
        .facts
        .ids
        .iter()
        .map(|&c| {
            dev_layout.iter().find(|s| s.id == c).is_some_and(|s| {
                let p = s.primary_range(ss);
                p.start < range.end && range.start < p.end
            })
        })
        .collect()
}

/// A bit of `dev`'s state partition drawn with `seed`: among the programmed bytes if
/// `programmed` (and there are any), else anywhere.
fn draw_bit<const S: usize, const W: usize>(
    dev: &crate::device::Device<S, W>,
    seed: u64,
    programmed: bool,
) -> (u32, u8) {
    let state = dev.layout().state.clone();
    let mut rng = Rng::new(seed);
    let flash = dev.flash();
    let cells = flash
        .contents()
        .get(state.start as usize..state.end as usize)
        .unwrap_or(&[]);
    let used: Vec<u32> = cells
        .iter()
        .enumerate()
        .filter(|(_, &b)| b != 0xff)
        .map(|(i, _)| state.start + i as u32)
        .collect();
    let addr = if programmed && !used.is_empty() {
        used[rng.below(used.len() as u64) as usize]
    } else {
        state.start + rng.below(u64::from(state.end - state.start)) as u32
    };
    (addr, rng.below(8) as u8)
}

/// Whether `range` is one sector of the state partition: a fault the redundant state must
/// mask entirely (the other copy of a store holds the state; the checkpoint map only holds
/// hints).
fn one_state_sector<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    range: &Range<u32>,
) -> bool {
    let state_end = ctx.shape.state_sectors * u32::try_from(S).unwrap_or(u32::MAX);
    range.end <= state_end && range.end - range.start == u32::try_from(S).unwrap_or(u32::MAX)
}

/// A degraded verdict as a job result: one experiment, counted as `changed` if its outcome
/// differed (reported) from the fault-free run.
fn verdict(v: Result<bool, String>, watch: crate::oracle::Watch) -> Result<(u64, Signals), String> {
    let masked = v?;
    let mut signals = watch.signals;
    signals.changed = u64::from(!masked);
    Ok((1, signals))
}

/// Run one experiment; returns the number of experiments it stands for and their signals.
pub fn fault_job<const S: usize, const W: usize>(
    ctx: &Ctx<'_, S, W>,
    fault: &Fault,
) -> Result<(u64, Signals), String> {
    let t = ctx.trace;
    match fault {
        Fault::Cut(cut) => cut_job(ctx, cut),
        Fault::Warm { op, again } => {
            let cut = Cut {
                op: *op,
                model: CutModel::After,
                nested: again.clone(),
                seed: 0,
            };
            run_cut(ctx, &cut).map(|s| (1, s))
        }
        Fault::Flip { .. } | Fault::FlipSampled { .. } => {
            let at = match fault {
                Fault::Flip { at, .. } | Fault::FlipSampled { at, .. } => *at,
                _ => unreachable!(),
            };
            let (dev, candidates, watch) = match at {
                Point::Boundary(j) => {
                    let dev = t.device_at(ctx.sc, j);
                    let w = crate::oracle::Watch::start(&dev, ctx.sc, &t.facts);
                    (dev, vec![j], w)
                }
                Point::AfterOp(op) => {
                    let (dev, i, w) = crate::campaign::cut_device(ctx, op, CutModel::After, 0)?;
                    (dev, vec![i, i + 1], w)
                }
            };
            let (addr, bit) = match *fault {
                Fault::Flip { addr, bit, .. } => (addr, bit),
                Fault::FlipSampled {
                    seed, programmed, ..
                } => draw_bit(&dev, seed, programmed),
                _ => unreachable!(),
            };
            dev.flash_mut().flip_bit(addr as usize, bit);
            ctx.recover_and_continue(&dev, &candidates, true, watch)
                .map(|s| (1, s))
                .map_err(|e| format!("bit {bit} of {addr:#x}: {e}"))
        }
        Fault::ReadOnce { read } => {
            let i = t
                .step_of_read(*read)
                .ok_or_else(|| format!("read {read} outside the scenario"))?;
            let (s, log, last, watch) = run_through(ctx, i, |dev| dev.flash_mut().fail_read(*read));
            verdict(
                degraded(ctx, s, &log, &last, &watch, &vec![false; t.facts.ids.len()]),
                watch,
            )
        }
        Fault::Unreadable { from, region } => {
            let range = region.range.clone();
            let (s, log, last, watch) = run_through(ctx, *from, |dev| {
                dev.flash_mut().add_unreadable(range.clone())
            });
            if one_state_sector(ctx, &region.range) {
                return masked(ctx, s, &log, &last, &watch).map(|()| (1, watch.signals));
            }
            let exempt = primary_hit(ctx, &region.range);
            verdict(degraded(ctx, s, &log, &last, &watch, &exempt), watch)
        }
        Fault::Worn {
            sector,
            model,
            first_op,
            after,
        } => {
            let i = t
                .step_of(*first_op)
                .ok_or_else(|| format!("op {first_op} outside the scenario"))?;
            let (s, log, last, watch) = run_through(ctx, i, |dev| {
                dev.flash_mut().wear_out(*sector, *model, *after)
            });
            let ss = u32::try_from(S).unwrap_or(u32::MAX);
            let start = u32::try_from(*sector).unwrap_or(u32::MAX) * ss;
            if one_state_sector(ctx, &(start..start + ss)) {
                return masked(ctx, s, &log, &last, &watch).map(|()| (1, watch.signals));
            }
            let exempt = primary_hit(ctx, &(start..start + ss));
            verdict(degraded(ctx, s, &log, &last, &watch, &exempt), watch)
        }
    }
}

/// The stable boundaries of a scenario: the first boot, the end, every boundary next to a step
/// that is not a download block, and the middle of every run of download blocks.
pub fn stable_boundaries(steps: &[Step]) -> Vec<usize> {
    let is_write = |i: usize| matches!(steps.get(i), Some(Step::Write { .. }));
    let mut out = Vec::new();
    let mut run_start = None;
    for j in 0..=steps.len() {
        let inside_writes = j > 0 && is_write(j - 1) && is_write(j);
        if !inside_writes {
            out.push(j);
        }
        if is_write(j) && !(j > 0 && is_write(j - 1)) {
            run_start = Some(j);
        }
        if is_write(j) && !is_write(j + 1) {
            if let Some(a) = run_start.take() {
                let mid = (a + j).div_ceil(2);
                if mid > a && !out.contains(&mid) {
                    out.push(mid);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Operations just after which a boot has recorded a swap step or a flag: every write into the
/// boot log during a `Reboot` step.
pub fn swap_points<const S: usize, const W: usize>(
    trace: &Trace<S, W>,
    geo: &StateGeometry,
) -> Vec<u64> {
    let boot_log = geo.boot[0].base..geo.boot[1].base + geo.boot[1].len;
    let reboots = trace.reboot_ops();
    trace
        .ops
        .iter()
        .filter(|o| {
            o.kind == OpKind::Write
                && boot_log.contains(&o.offset)
                && reboots.iter().any(|r| r.contains(&o.index))
        })
        .map(|o| o.index)
        .collect()
}

/// `n` items of `v` evenly spread (all of them if `n >= v.len()`).
pub fn spread<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    if v.len() <= n {
        return v.to_vec();
    }
    (0..n).map(|i| v[i * v.len() / n].clone()).collect()
}

/// Options of the fault campaigns.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Exhaustive (`--full`) or bounded.
    pub full: bool,
    /// Seed of every sample.
    pub seed: u64,
}

/// The boundaries that stand for the phases of a scenario: idle (after the first boot), the
/// middle of each download, after every `finish`, `install`, `accept`, `reject`, `cancel` and
/// `clean`, the trial (after the first reboot that follows an install), and the end.
pub fn phase_points(steps: &[Step]) -> Vec<usize> {
    let mut out = vec![1.min(steps.len()), steps.len()];
    let mut after_install = false;
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Finish(_)
            | Step::Install
            | Step::Accept
            | Step::Reject(_)
            | Step::Cancel(_)
            | Step::Clean(_) => out.push(i + 1),
            Step::Reboot if after_install => out.push(i + 1),
            _ => {}
        }
        after_install = match step {
            Step::Install => true,
            Step::Reboot => false,
            _ => after_install,
        };
    }
    // The middle of each run of download blocks.
    let is_write = |i: usize| matches!(steps.get(i), Some(Step::Write { .. }));
    let mut i = 0;
    while i < steps.len() {
        if is_write(i) {
            let start = i;
            while is_write(i) {
                i += 1;
            }
            out.push((start + i).div_ceil(2));
        } else {
            i += 1;
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The scenarios whose bit flips the full run makes exhaustive (on the 1 KiB shape, whose
/// small state partition wraps): between them every phase (download, candidate, staged,
/// install swap, trial, accepted, rejected, revert swap, failed, clean).
pub const EXHAUSTIVE_FLIP_SCENARIOS: [&str; 2] = ["full update", "reject in trial"];

/// The bit flip experiments of a scenario, labelled `at a step boundary` (0) and `after a swap
/// step` (1).
///
/// Bounded: every stable boundary with 2 bits (1 drawn from the state partition's programmed
/// bytes, 1 from anywhere in it); 3 swap points with 2 bits (the same way).
///
/// Full, when `exhaustive` (the 1 KiB shape and [`EXHAUSTIVE_FLIP_SCENARIOS`]): at every
/// [`phase_points`] boundary and after the middle step of every swap, every bit of every
/// byte of the state partition that is programmed at that point, and one bit of every erased
/// write word (the bit position rotating over the word, so every position is covered): a flip
/// in an erased word makes it non-blank whichever bit it is, and nothing reads an erased word
/// for more than that. Full otherwise: every stable boundary and up to 6 swap points, 16 bits
/// each (12 in programmed bytes).
pub fn bitflips<const S: usize, const W: usize>(
    trace: &Trace<S, W>,
    sc: &Scenario,
    plan: &Plan,
    exhaustive: bool,
) -> Vec<(usize, Fault)> {
    let dev = trace.snapshot(0);
    let layout = dev.layout().clone();
    let geo = StateGeometry::new(&layout, W as u32).unwrap_or_else(|e| panic!("{e:?}"));
    let state = layout.state.clone();
    let mut rng = Rng::new(plan.seed ^ 0xb17f_11b5 ^ trace.total_ops());
    let swaps = swap_points(trace, &geo);
    let mut out = Vec::new();
    let (per, anywhere) = match (plan.full, exhaustive) {
        (false, _) => ((1, 1), (1, 1)),
        (true, false) => ((12, 4), (12, 4)),
        (true, true) => ((0, 0), (0, 0)),
    };
    let mut add = |label: usize, at: Point, out: &mut Vec<(usize, Fault)>| {
        if !(plan.full && exhaustive) {
            // Drawn when the experiment runs, from the cells at that point.
            let (p, a) = if label == 0 { per } else { anywhere };
            for n in 0..p + a {
                out.push((
                    label,
                    Fault::FlipSampled {
                        at,
                        seed: rng.next_u64(),
                        programmed: n < p,
                    },
                ));
            }
            return;
        }
        // The state partition's cells at that point.
        let d = match at {
            Point::Boundary(j) => trace.device_at(sc, j),
            Point::AfterOp(op) => trace.device_after_op(sc, op),
        };
        let flash = d.flash();
        let cells = &flash.contents()[state.start as usize..state.end as usize];
        for (k, chunk) in cells.chunks(W).enumerate() {
            let base = state.start + (k * W) as u32;
            if chunk.iter().all(|&b| b == 0xff) {
                let r = k % (8 * W);
                out.push((
                    label,
                    Fault::Flip {
                        at,
                        addr: base + (r / 8) as u32,
                        bit: (r % 8) as u8,
                    },
                ));
                continue;
            }
            for (i, &b) in chunk.iter().enumerate() {
                if b == 0xff {
                    continue;
                }
                for bit in 0..8u8 {
                    out.push((
                        label,
                        Fault::Flip {
                            at,
                            addr: base + i as u32,
                            bit,
                        },
                    ));
                }
            }
        }
    };
    let (bs, ss) = if plan.full && exhaustive {
        // The middle swap point of each boot that swaps.
        let mut mids = Vec::new();
        for r in trace.reboot_ops() {
            let inside: Vec<u64> = swaps.iter().copied().filter(|o| r.contains(o)).collect();
            if let Some(&m) = inside.get(inside.len() / 2) {
                mids.push(m);
            }
        }
        (phase_points(&trace.steps), mids)
    } else if plan.full {
        (stable_boundaries(&trace.steps), spread(&swaps, 6))
    } else {
        (stable_boundaries(&trace.steps), spread(&swaps, 3))
    };
    for j in bs {
        add(0, Point::Boundary(j), &mut out);
    }
    for op in ss {
        add(1, Point::AfterOp(op), &mut out);
    }
    out
}

/// The read error experiments of a scenario, labelled `transient` (0) and `persistent` (1).
///
/// Transient, bounded: the first and the last read of every step that is not a download block
/// (boots and every other call) and of the first and last block of each download, plus 2
/// random reads of each boot. Full: every `full_stride`-th read of every step (1: every read).
///
/// Persistent: each region of [`regions`] from a spread of stable boundaries (bounded: 3; full:
/// every stable boundary).
pub fn read_errors<const S: usize, const W: usize>(
    trace: &Trace<S, W>,
    plan: &Plan,
    full_stride: usize,
) -> Vec<(usize, Fault)> {
    let full_stride = full_stride.max(1);
    let mut out = Vec::new();
    let mut rng = Rng::new(plan.seed ^ 0x4ead_e440 ^ trace.total_ops());
    let steps = &trace.steps;
    for (i, r) in trace.records.iter().enumerate() {
        if r.reads.is_empty() {
            continue;
        }
        if plan.full {
            out.extend(
                r.reads
                    .clone()
                    .step_by(full_stride)
                    .map(|read| (0, Fault::ReadOnce { read })),
            );
            continue;
        }
        let is_write = |k: usize| matches!(steps.get(k), Some(Step::Write { .. }));
        let edge = !is_write(i) || !is_write(i.wrapping_sub(1)) || !is_write(i + 1);
        if !edge {
            continue;
        }
        let mut picks = vec![r.reads.start, r.reads.end - 1];
        if steps[i] == Step::Reboot {
            for _ in 0..2 {
                picks.push(r.reads.start + rng.below(r.reads.end - r.reads.start));
            }
        }
        picks.sort_unstable();
        picks.dedup();
        out.extend(picks.into_iter().map(|read| (0, Fault::ReadOnce { read })));
    }
    let dev = trace.snapshot(0);
    let boundaries = stable_boundaries(steps);
    let froms = if plan.full {
        boundaries
    } else {
        spread(&boundaries, 3)
    };
    for region in regions::<S, W>(dev.layout(), &trace.facts.ids) {
        for &from in &froms {
            out.push((
                1,
                Fault::Unreadable {
                    from,
                    region: region.clone(),
                },
            ));
        }
    }
    out
}

/// The regions the persistent read errors make unreadable: every sector of the state
/// partition, each store's two copies together, the checkpoint map, the whole state partition,
/// and the first sector of component 0's primary slot, of its secondary slot and of its
/// staging area.
pub fn regions<const S: usize, const W: usize>(
    layout: &fwu_shared::layout::Layout<'_>,
    ids: &[fwu_shared::ComponentId],
) -> Vec<Region> {
    let ss = layout.sector_size;
    let geo = StateGeometry::new(layout, W as u32).unwrap_or_else(|e| panic!("{e:?}"));
    let mut out = Vec::new();
    let mut a = layout.state.start;
    while a < layout.state.end {
        out.push(Region {
            name: format!("state sector at {a:#x}"),
            range: a..a + ss,
        });
        a += ss;
    }
    out.push(Region {
        name: "both boot log copies".into(),
        range: geo.boot[0].base..geo.boot[1].base + geo.boot[1].len,
    });
    out.push(Region {
        name: "both catalog copies".into(),
        range: geo.catalog[0].base..geo.catalog[1].base + geo.catalog[1].len,
    });
    out.push(Region {
        name: "checkpoint map".into(),
        range: geo.checkpoints.0..geo.checkpoints.1,
    });
    out.push(Region {
        name: "state partition".into(),
        range: layout.state.clone(),
    });
    if let Some(s) = ids.first().and_then(|&c| layout.component(c)) {
        out.push(Region {
            name: format!("component {} primary header sector", s.id),
            range: s.primary..s.primary + ss,
        });
        out.push(Region {
            name: format!("component {} secondary first sector", s.id),
            range: s.secondary..s.secondary + ss,
        });
        out.push(Region {
            name: format!("component {} staging first sector", s.id),
            range: s.staging_offset(ss)..s.staging_offset(ss) + ss,
        });
    }
    out
}

/// The wear-out experiments of a scenario, labelled by [`Wear`] model (0, 1, 2).
///
/// For every sector the scenario writes or erases and every model: full, each of the sector's
/// operations of the model's kind is the first failing one in one experiment; bounded, the
/// sector's first and last such operation in a boot, and its first in a service call, for the
/// state sectors, and for up to 4 sectors of each component's slots.
pub fn wear<const S: usize, const W: usize>(
    trace: &Trace<S, W>,
    plan: &Plan,
) -> Vec<(usize, Fault)> {
    let dev = trace.snapshot(0);
    let layout = dev.layout().clone();
    let ss = S as u32;
    let sectors_of = |o: &fwu_sim_flash::TracedOp| {
        let first = o.offset / ss;
        let last = (o.offset + (o.len.max(1) as u32) - 1) / ss;
        first..=last
    };
    let reboots = trace.reboot_ops();
    let in_boot = |op: u64| reboots.iter().any(|r| r.contains(&op));
    // Per sector and kind: (op index, count of that kind on the sector before it).
    let mut per: std::collections::BTreeMap<(u32, u8), Vec<(u64, u64)>> = Default::default();
    for o in &trace.ops {
        let k = u8::from(o.kind == OpKind::Erase);
        for s in sectors_of(o) {
            let list = per.entry((s, k)).or_default();
            let n = list.len() as u64;
            list.push((o.index, n));
        }
    }
    let state_sectors = layout.state.start / ss..layout.state.end / ss;
    // Bounded: the slot sectors sampled per slot (first, last, two between).
    let mut slot_pick = std::collections::BTreeSet::new();
    for s in layout.components {
        for range in [s.primary_range(ss), s.secondary_range(ss)] {
            let used: Vec<u32> = (range.start / ss..range.end / ss)
                .filter(|x| per.contains_key(&(*x, 0)) || per.contains_key(&(*x, 1)))
                .collect();
            slot_pick.extend(spread(&used, 4));
        }
    }
    let mut out = Vec::new();
    for (label, model) in Wear::ALL.into_iter().enumerate() {
        let k = u8::from(model.kind() == OpKind::Erase);
        for (&(sector, kind), list) in &per {
            if kind != k {
                continue;
            }
            let chosen: Vec<(u64, u64)> = if plan.full {
                list.clone()
            } else {
                if !state_sectors.contains(&sector) && !slot_pick.contains(&sector) {
                    continue;
                }
                let boot: Vec<_> = list.iter().filter(|(op, _)| in_boot(*op)).collect();
                let call = list.iter().find(|(op, _)| !in_boot(*op));
                let mut c: Vec<(u64, u64)> = boot
                    .first()
                    .into_iter()
                    .chain(boot.last())
                    .map(|x| **x)
                    .chain(call.copied())
                    .collect();
                c.sort_unstable();
                c.dedup();
                c
            };
            for (first_op, after) in chosen {
                out.push((
                    label,
                    Fault::Worn {
                        sector: sector as usize,
                        model,
                        first_op,
                        after,
                    },
                ));
            }
        }
    }
    out
}

/// The warm reset experiments of a scenario, labelled `single` (0) and `repeated` (1).
///
/// Single: a reset after an operation of a boot (a swap step) or of a service call — full:
/// every operation; bounded: 24 spread over the scenario and 24 spread over its boots.
/// Repeated: a reset at an operation of a boot, then at the same offset into each of the next
/// two restarts — full: every boot operation; bounded: 6 spread over the boots.
pub fn warm<const S: usize, const W: usize>(
    trace: &Trace<S, W>,
    plan: &Plan,
) -> Vec<(usize, Fault)> {
    let total = trace.total_ops();
    let boot_ops: Vec<u64> = trace.reboot_ops().into_iter().flatten().collect();
    let mut single: Vec<u64> = if plan.full {
        (0..total).collect()
    } else {
        let all: Vec<u64> = (0..total).collect();
        let mut v = spread(&all, 24);
        v.extend(spread(&boot_ops, 24));
        v
    };
    single.sort_unstable();
    single.dedup();
    let mut out: Vec<(usize, Fault)> = single
        .into_iter()
        .map(|op| {
            (
                0,
                Fault::Warm {
                    op,
                    again: Vec::new(),
                },
            )
        })
        .collect();
    let repeated = if plan.full {
        boot_ops.clone()
    } else {
        spread(&boot_ops, 6)
    };
    for op in repeated {
        // The same point relative to the restart: the offset of `op` into its boot.
        let start = trace
            .reboot_ops()
            .into_iter()
            .find(|r| r.contains(&op))
            .map_or(op, |r| r.start);
        let d = op - start;
        out.push((
            1,
            Fault::Warm {
                op,
                again: vec![d, d],
            },
        ));
    }
    out
}
