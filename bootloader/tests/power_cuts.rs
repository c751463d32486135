//! Resume after power cuts: every flash operation of an install and of a revert is cut under
//! every cut model, then the device cold-starts (a new bootloader over the same cells). The
//! primary slot must hold exactly the old or the new image, never a mix, and the reported state
//! must be one the spec allows at that moment. A sample of second cuts lands in the recovery.
//! (The exhaustive multi-layout campaigns live in `sim/`.)
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use fwu_bootloader::{BootAction, BootError};
use fwu_shared::state::Phase;
use fwu_shared::State;
use fwu_sim_flash::CutModel;

fn base() -> (Flash, Vec<u8>, Vec<u8>) {
    let mut f = new_flash();
    let old = image(v(1, 0), 2 * SECTOR as usize + 700, 1, &[], 0xa1);
    let new = image(v(2, 0), 3 * SECTOR as usize - 300, 2, &[], 0xb2);
    flash_active(&mut f, 0, &old);
    flash_active(&mut f, 1, &image(v(1, 0), 3000, 1, &[], 0xc3));
    make_candidate(&mut f, 0, &new);
    install(&mut f, &[0]);
    (f, old, new)
}

/// Which image the primary slot of component 0 holds: 1 = old, 2 = new; anything else panics.
fn which(f: &Flash, old: &[u8], new: &[u8]) -> u8 {
    if primary(f, 0, new.len()) == new {
        2
    } else if primary(f, 0, old.len()) == old {
        1
    } else {
        panic!("primary slot holds a mix of images");
    }
}

/// Cut the boot that starts from `start` at operation `k` with `model`; then boot again with
/// an optional second cut at `nested`; then boot cleanly. Returns the flash afterwards.
fn cut_boot(start: &Flash, k: u64, model: CutModel, seed: u64, nested: Option<u64>) -> Flash {
    let mut f = start.clone();
    let at = f.op_index() + k;
    f.arm_cut(at, model, seed);
    let first = boot(&mut f);
    if f.is_cut() {
        // A cut surfaces as a flash error, unless it hit the second copy of the boot log after
        // the commit point of the last record: then the boot's decision stands.
        assert!(
            first == Err(BootError::Flash) || first.is_ok(),
            "a cut surfaces as a flash error: {first:?}"
        );
        f.power_on();
    }
    if let Some(n) = nested {
        let at = f.op_index() + n;
        f.arm_cut(at, model, seed ^ 0x55);
        let _ = boot(&mut f);
        f.power_on();
        f.disarm();
    }
    f
}

fn ops_of_boot(start: &Flash) -> u64 {
    let mut f = start.clone();
    let before = f.op_index();
    boot(&mut f).unwrap();
    f.op_index() - before
}

#[test]
fn every_cut_during_an_install_resumes_to_a_whole_image() {
    let (start, old, new) = base();
    let ops = ops_of_boot(&start);
    assert!(ops > 20, "an install of 3 sectors takes {ops} operations");
    let mut cuts = 0;
    for model in CutModel::ALL {
        for k in 0..ops {
            let nested = (k % 7 == 3).then_some(k / 2 + 1);
            let mut f = cut_boot(&start, k, model, k, nested);
            let r = boot(&mut f).unwrap();
            let (state, _) = state_of(&mut f, 0);
            match which(&f, &old, &new) {
                // Installed: on trial (or already rolled back if the cut fell after the
                // hand-over record, which counts as a trial boot).
                2 => assert_eq!(state, State::Trial, "{model:?} op {k}"),
                1 => assert_eq!(
                    state,
                    State::Failed,
                    "{model:?} op {k}: rolled back after the hand-over"
                ),
                _ => unreachable!(),
            }
            assert!(
                r.may_run(0),
                "{model:?} op {k}: the image must authenticate"
            );
            cuts += 1;
        }
    }
    assert_eq!(cuts, 5 * ops);
}

#[test]
fn every_cut_during_a_revert_resumes_to_the_old_image() {
    let (mut start, old, new) = base();
    boot(&mut start).unwrap();
    assert_eq!(state_of(&mut start, 0).0, State::Trial);
    let ops = ops_of_boot(&start);
    assert!(ops > 20);
    for model in CutModel::ALL {
        for k in 0..ops {
            let nested = (k % 5 == 2).then_some(k / 3 + 1);
            let mut f = cut_boot(&start, k, model, k + 1000, nested);
            let r = boot(&mut f).unwrap();
            assert_eq!(which(&f, &old, &new), 1, "{model:?} op {k}");
            assert_eq!(state_of(&mut f, 0).0, State::Failed, "{model:?} op {k}");
            assert!(r.may_run(0));
            assert!(matches!(txn(&mut f).phase, Phase::Failed | Phase::Idle));
        }
    }
}

#[test]
fn chosen_cuts_inside_the_swap_resume_from_the_progress_record() {
    let (start, _old, new) = base();
    let ops = ops_of_boot(&start);
    // Cut in the middle of the swap, then check the resumed boot does less work than a full one.
    let mut f = start.clone();
    let at = f.op_index() + ops / 2;
    f.arm_cut(at, CutModel::TornBits, 1);
    assert_eq!(boot(&mut f), Err(BootError::Flash));
    f.power_on();
    let before = f.op_index();
    let r = boot(&mut f).unwrap();
    assert_eq!(
        r.action,
        BootAction::Installed(fwu_shared::state::Members(1))
    );
    assert!(
        f.op_index() - before < ops,
        "the resume skips the steps already recorded"
    );
    assert_eq!(primary(&f, 0, new.len()), &new[..]);
}
