//! The campaigns' oracle catches what it exists for (planted faults the product would never
//! produce), and a small campaign of each masked fault model passes.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;

use fwu_bootloader::BootReport;
use fwu_shared::State;
use fwu_sim::campaign::{clean_run, run_parallel, Cut};
use fwu_sim::device::{download, DONE};
use fwu_sim::faults::{self, fault_job, Fault, Plan};
use fwu_sim::oracle::{observe, Facts, Watch};
use fwu_sim::scenario::{self, Scenario, Step};
use fwu_sim_flash::CutModel;

/// A scenario over the common device: v1 in the factory, v2 downloaded.
fn scenario() -> Scenario {
    let v1 = img(1, 1, 1);
    let v2 = img(2, 2, 2);
    let n = v2.len();
    let mut steps = Scenario::download_steps(0, 1, n, 0, true);
    steps.push(Step::Install);
    Scenario {
        name: "planted",
        images: vec![v1, v2],
        factory: vec![(0, 0)],
        steps,
    }
}

#[test]
fn the_oracle_sees_a_staged_image_changed_behind_the_services_back() {
    let dev = device();
    let sc = scenario();
    dev.factory(0, &sc.images[0]);
    dev.boot().unwrap();
    {
        let svc = dev.service().unwrap();
        assert_eq!(download(&svc, 0, &sc.images[1]), DONE);
    }
    let facts = Facts::of(dev.layout(), &sc);
    let mut w = Watch::start(&dev, &sc, &facts);
    let obs = observe(&dev, &sc, &facts, &mut w);
    assert_eq!(obs.info.as_ref().unwrap()[0].state, State::Candidate as u8);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
    // One byte of the staged image changes.
    let at = dev.slots(0).staging_offset(SECTOR as u32) as usize + 100;
    dev.flash_mut().flip_bit(at, 0);
    let mut w = Watch::start(&dev, &sc, &facts);
    observe(&dev, &sc, &facts, &mut w);
    assert!(
        w.violations
            .iter()
            .any(|v| v.contains("staging area does not hold the staged image")),
        "{:?}",
        w.violations
    );
}

#[test]
fn the_oracle_sees_a_counter_fall_and_an_unverified_image_run() {
    let dev = device();
    let sc = scenario();
    dev.factory(0, &sc.images[0]);
    dev.boot().unwrap();
    update_and_accept(&dev, &sc.images[1]);
    let facts = Facts::of(dev.layout(), &sc);
    let mut w = Watch::start(&dev, &sc, &facts);
    assert_eq!(w.max_counters[0], 2);
    // The whole state partition erased: the stored floor falls to 0.
    let state = dev.layout().state.clone();
    dev.flash_mut().set_raw(
        state.start as usize,
        &vec![0xff; (state.end - state.start) as usize],
    );
    w.track(&dev, &sc, &facts);
    assert!(
        w.violations
            .iter()
            .any(|v| v.contains("decreased from 2 to 0")),
        "{:?}",
        w.violations
    );
    // A report letting everything run over a primary slot that does not verify.
    let p = dev.slots(0).primary as usize;
    dev.flash_mut().flip_bit(p + 2000, 3);
    let mut w = Watch::start(&dev, &sc, &facts);
    w.ran(&dev, &sc, &facts, &BootReport::default());
    assert!(
        w.violations.iter().any(|v| v.contains("does not verify")),
        "{:?}",
        w.violations
    );
    // And a downgraded image that verifies, under a floor of 2.
    dev.factory(0, &sc.images[0]);
    let mut w = Watch::start(&dev, &sc, &facts);
    w.max_counters[0] = 2;
    w.ran(&dev, &sc, &facts, &BootReport::default());
    assert!(
        w.violations
            .iter()
            .any(|v| v.contains("below the stored 2")),
        "{:?}",
        w.violations
    );
}

#[test]
fn the_oracle_sees_an_accepted_image_lost() {
    let dev = device();
    let sc = scenario();
    dev.factory(0, &sc.images[0]);
    dev.boot().unwrap();
    update_and_accept(&dev, &sc.images[1]);
    let facts = Facts::of(dev.layout(), &sc);
    let mut w = Watch::start(&dev, &sc, &facts);
    assert_eq!(w.committed[0], Some(1));
    // v1 back in the primary slot (and no backup): the accepted v2 is gone.
    dev.factory(0, &sc.images[0]);
    observe(&dev, &sc, &facts, &mut w);
    assert!(
        w.violations
            .iter()
            .any(|v| v.contains("lost its accepted image 1")),
        "{:?}",
        w.violations
    );
}

#[test]
fn a_small_campaign_of_each_masked_model_passes() {
    let shape = scenario::shape_1k();
    let all = scenario::all::<1024, 4>(&shape);
    let sc = all.iter().find(|s| s.name == "reject in staged").unwrap();
    let trace = clean_run::<1024, 4>(&shape, sc, true).unwrap();
    let plan = Plan {
        full: false,
        seed: 7,
    };
    let mut jobs: Vec<(usize, Fault)> = Vec::new();
    let total = trace.total_ops();
    for (k, model) in CutModel::ALL.into_iter().enumerate() {
        jobs.push((
            0,
            Fault::Cut(Cut {
                op: (k as u64 * 13) % total,
                model,
                nested: vec![3],
                seed: 5,
            }),
        ));
    }
    jobs.extend(
        faults::bitflips(&trace, sc, &plan, false)
            .into_iter()
            .map(|(_, f)| (1, f)),
    );
    jobs.extend(
        faults::warm(&trace, &plan)
            .into_iter()
            .step_by(6)
            .map(|(_, f)| (2, f)),
    );
    drop(trace);
    let results = run_parallel::<1024, 4, Fault>(&shape, sc, &jobs, 3, 2, fault_job);
    for (label, r) in results.iter().enumerate() {
        assert!(r.tried > 0, "label {label} ran nothing");
        assert!(r.failures.is_empty(), "{:?}", r.failures);
    }
    assert!(results[1].signals.repaired > 0, "no flip was ever repaired");
}
