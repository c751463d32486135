//! `psa_fwu_install`, `psa_fwu_reject`, `psa_fwu_accept` (digest §2.8, §2.10, §2.11) and the
//! multi-component semantics of §4: one record per atomic install, dependency checks against
//! candidate and active versions, anti-rollback counters raised only on acceptance, and power
//! cuts at every flash operation of each global call.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use fwu_shared::state::records::ERROR_TRIAL_NOT_ACCEPTED;
use fwu_shared::state::{Members, Phase};
use fwu_shared::version::Dependency;
use fwu_shared::{Error, ImageVersion, State, Success};
use fwu_sim_flash::CutModel;

fn dep(component: u8, major: u8) -> Dependency {
    Dependency {
        component,
        min_version: v(major, 0),
    }
}

fn states(u: &Svc) -> (State, State) {
    (state(u, 0), state(u, 1))
}

#[test]
fn a_multi_component_install_is_one_transaction_record() {
    let h = Harness::new();
    let u = h.boot_app();
    let a = Img::new(v(2, 0), 9000).build();
    let b = Img::new(v(2, 0), 5000).seed(9).build();
    download(&u, 0, &a).unwrap();
    download(&u, 1, &b).unwrap();
    let seq = h.txn().seq;
    let records_before = (h.record(0), h.record(1));
    assert_eq!(run(u.install()), Ok(Success::Reboot));
    assert_eq!(states(&u), (State::Staged, State::Staged));
    let txn = h.txn();
    assert_eq!(txn.phase, Phase::Staged);
    assert_eq!(txn.members, Members(0b11));
    assert_eq!(txn.seq, seq + 1);
    // The component records are untouched: the transaction record alone is the commit.
    assert_eq!((h.record(0), h.record(1)), records_before);
    // Only one installation at a time.
    assert_eq!(run(u.install()), BAD_STATE);
}

#[test]
fn install_is_atomic_under_power_cuts() {
    let a = Img::new(v(2, 0), 9000).build();
    let b = Img::new(v(2, 0), 5000).seed(9).build();
    for model in CutModel::ALL {
        for k in 0..6u64 {
            let h = Harness::new();
            let u = h.boot_app();
            download(&u, 0, &a).unwrap();
            download(&u, 1, &b).unwrap();
            {
                let mut s = h.flash.sim.borrow_mut();
                let at = s.op_index() + k;
                s.arm_cut(at, model, k);
            }
            let r = run(u.install());
            drop(u);
            h.flash.power_on();
            let u = h.boot_app();
            let s = states(&u);
            assert!(
                s == (State::Candidate, State::Candidate) || s == (State::Staged, State::Staged),
                "{model:?} at {k}: {s:?}"
            );
            if r.is_ok() {
                assert_eq!(s, (State::Staged, State::Staged));
            }
            if s.0 == State::Candidate {
                assert_eq!(run(u.install()), Ok(Success::Reboot));
            }
        }
    }
}

#[test]
fn an_unmet_dependency_keeps_the_candidates() {
    let h = Harness::new();
    h.install_active(1, &Img::new(v(1, 0), 3000).seed(5).build());
    let u = h.boot_app();
    let a = Img::new(v(2, 0), 9000).deps(&[dep(1, 2)]).build();
    download(&u, 0, &a).unwrap();
    let before = h.flash.contents();
    assert_eq!(run(u.install()), Err(Error::DependencyNeeded));
    assert_eq!(state(&u, 0), State::Candidate, "§2.8: stays CANDIDATE");
    assert!(h.flash.contents() == before, "nothing was written");
    // Preparing the dependency and installing both together satisfies it.
    let b = Img::new(v(2, 0), 5000).seed(9).build();
    download(&u, 1, &b).unwrap();
    assert_eq!(run(u.install()), Ok(Success::Reboot));
    assert_eq!(states(&u), (State::Staged, State::Staged));
}

#[test]
fn dependencies_are_checked_against_active_and_candidate_versions() {
    // Met by the active version of a component that is not being updated.
    let h = Harness::new();
    h.install_active(1, &Img::new(v(3, 1), 3000).seed(5).build());
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).deps(&[dep(1, 3)]).build()).unwrap();
    assert_eq!(run(u.install()), Ok(Success::Reboot));

    // A candidate's version counts, not the active one: an older candidate breaks it.
    let h = Harness::new();
    h.install_active(1, &Img::new(v(3, 1), 3000).seed(5).build());
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).deps(&[dep(1, 3)]).build()).unwrap();
    // (equal to the active version so finish's downgrade check lets it through)
    let mut b = Img::new(ImageVersion::new(3, 1, 0, 0), 3000)
        .deps(&[dep(0, 3)])
        .build();
    download(&u, 1, &b).unwrap();
    assert_eq!(
        run(u.install()),
        Err(Error::DependencyNeeded),
        "1 needs 0 >= 3.0"
    );
    assert_eq!(states(&u), (State::Candidate, State::Candidate));
    run(u.cancel(1)).unwrap();
    run(u.clean(1)).unwrap();
    // Mutual dependencies installed together.
    b = Img::new(v(3, 2), 3000).deps(&[dep(0, 2)]).build();
    download(&u, 1, &b).unwrap();
    assert_eq!(run(u.install()), Ok(Success::Reboot));

    // A dependency on a component this device does not have is never met: refused at finish
    // (finish.rs), so no such candidate reaches install.
    let h = Harness::new();
    let u = h.boot_app();
    let img = Img::new(v(2, 0), 9000).deps(&[dep(5, 0)]).build();
    assert_eq!(download(&u, 0, &img), Err(Error::InvalidArgument));
    assert_eq!(state(&u, 0), State::Failed);
    assert_eq!(run(u.install()), BAD_STATE);
}

#[test]
fn install_needs_a_candidate() {
    let h = Harness::new();
    let u = h.boot_app();
    assert_eq!(run(u.install()), BAD_STATE);
    run(u.start(0, None)).unwrap();
    let before = h.flash.contents();
    assert_eq!(run(u.install()), BAD_STATE, "WRITING is not CANDIDATE");
    assert_eq!(run(u.accept()), BAD_STATE);
    assert_eq!(run(u.reject(0)), BAD_STATE);
    assert!(h.flash.contents() == before);
}

#[test]
fn counters_rise_on_accept_and_not_before() {
    let h = Harness::new();
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).counter(7).build()).unwrap();
    download(&u, 1, &Img::new(v(2, 0), 5000).counter(3).seed(9).build()).unwrap();
    assert_eq!((h.counter(0), h.counter(1)), (0, 0), "CANDIDATE");
    run(u.install()).unwrap();
    assert_eq!((h.counter(0), h.counter(1)), (0, 0), "STAGED");
    drop(u);
    h.boot(Phase::Trial, 0);
    let u = h.boot_app();
    assert_eq!(states(&u), (State::Trial, State::Trial));
    assert_eq!(
        (h.counter(0), h.counter(1)),
        (0, 0),
        "TRIAL: rollback must stay possible"
    );
    assert_eq!(run(u.accept()), Ok(Success::Done));
    assert_eq!(states(&u), (State::Updated, State::Updated));
    assert_eq!((h.counter(0), h.counter(1)), (7, 3));
    assert_eq!(h.txn().phase, Phase::Idle, "settled");
    // The new floor applies to the next download.
    run(u.clean(0)).unwrap();
    let old = Img::new(v(2, 0), 3000).counter(6).build();
    assert_eq!(download(&u, 0, &old), Err(Error::NotPermitted));

    // A rejected trial never raises them.
    let h = Harness::new();
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).counter(7).build()).unwrap();
    run(u.install()).unwrap();
    drop(u);
    h.boot(Phase::Trial, 0);
    let u = h.boot_app();
    assert_eq!(run(u.reject(-9)), Ok(Success::Reboot));
    drop(u);
    h.boot(Phase::Failed, -9);
    let u = h.boot_app();
    assert_eq!((state(&u, 0), info(&u, 0).error), (State::Failed, -9));
    assert_eq!(h.counter(0), 0);
}

#[test]
fn accept_is_durable_at_its_commit_under_power_cuts() {
    let img = Img::new(v(2, 0), 9000).counter(7).build();
    for model in CutModel::ALL {
        for k in 0..12u64 {
            let h = Harness::new();
            let u = h.boot_app();
            download(&u, 0, &img).unwrap();
            run(u.install()).unwrap();
            drop(u);
            h.boot(Phase::Trial, 0);
            let u = h.boot_app();
            {
                let mut s = h.flash.sim.borrow_mut();
                let at = s.op_index() + k;
                s.arm_cut(at, model, k);
            }
            let r = run(u.accept());
            let cut = h.flash.sim.borrow().is_cut();
            drop(u);
            h.flash.power_on();
            let u = h.boot_app();
            match state(&u, 0) {
                State::Trial => {
                    assert!(r.is_err(), "{model:?} at {k}: success but still TRIAL");
                    assert_eq!(h.counter(0), 0);
                }
                State::Updated => {
                    // Settled at start-up if accept could not finish.
                    assert_eq!(h.counter(0), 7, "{model:?} at {k}");
                    assert_eq!(h.txn().phase, Phase::Idle);
                }
                s => panic!("{model:?} at {k}: {s:?}"),
            }
            if r.is_ok() {
                assert_eq!(state(&u, 0), State::Updated);
            }
            if !cut {
                break;
            }
        }
    }
}

#[test]
fn reject_in_staged_fails_every_member_with_the_error() {
    let h = Harness::new();
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).build()).unwrap();
    download(&u, 1, &Img::new(v(2, 0), 5000).seed(9).build()).unwrap();
    run(u.install()).unwrap();
    assert_eq!(run(u.reject(-1234)), Ok(Success::Done));
    for c in [0, 1] {
        let i = info(&u, c);
        assert_eq!((i.state, i.error), (State::Failed as u8, -1234));
    }
    assert_eq!(run(u.reject(0)), BAD_STATE);
    assert_eq!(run(u.install()), BAD_STATE);
    drop(u);
    // Durable (and settled at start-up), with the error code.
    let u = h.boot_app();
    assert_eq!(h.txn().phase, Phase::Idle);
    for c in [0, 1] {
        let i = info(&u, c);
        assert_eq!((i.state, i.error), (State::Failed as u8, -1234));
        assert_eq!(run(u.clean(c)), Ok(Success::Done));
        assert_eq!(state(&u, c), State::Ready);
    }
}

#[test]
fn clean_settles_a_finished_transaction_first() {
    let h = Harness::new();
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).build()).unwrap();
    download(&u, 1, &Img::new(v(2, 0), 5000).seed(9).build()).unwrap();
    run(u.install()).unwrap();
    run(u.reject(-77)).unwrap();
    assert_eq!(h.txn().phase, Phase::Failed);
    assert_eq!(run(u.clean(0)), Ok(Success::Done));
    assert_eq!(h.txn().phase, Phase::Idle);
    let i = info(&u, 1);
    assert_eq!(
        (i.state, i.error),
        (State::Failed as u8, -77),
        "the other member keeps its error"
    );
    assert_eq!(state(&u, 0), State::Ready);
}

#[test]
fn install_after_an_unsettled_failure_keeps_the_failed_members() {
    let h = Harness::new();
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).build()).unwrap();
    run(u.install()).unwrap();
    run(u.reject(-5)).unwrap();
    // Component 1 is prepared and installed while 0's failure is not settled yet.
    download(&u, 1, &Img::new(v(2, 0), 5000).seed(9).build()).unwrap();
    let seq = h.txn().seq;
    assert_eq!(run(u.install()), Ok(Success::Reboot));
    let i = info(&u, 0);
    assert_eq!((i.state, i.error), (State::Failed as u8, -5));
    assert_eq!(state(&u, 1), State::Staged);
    assert_eq!(h.txn().members, Members(0b10));
    assert_eq!(h.txn().seq, seq + 1);
}

#[test]
fn reject_in_trial_needs_a_reboot_and_the_bootloader_rolls_back() {
    let h = Harness::new();
    let old = Img::new(v(1, 0), 3000).seed(2).build();
    h.install_active(0, &old);
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).build()).unwrap();
    run(u.install()).unwrap();
    drop(u);
    h.boot(Phase::Trial, 0);
    let u = h.boot_app();
    assert_eq!(run(u.reject(-42)), Ok(Success::Reboot));
    let i = info(&u, 0);
    assert_eq!((i.state, i.error), (State::Rejected as u8, -42));
    assert_eq!(i.version, v(2, 0), "still running the trial image");
    assert_eq!(run(u.accept()), BAD_STATE);
    assert_eq!(run(u.reject(0)), BAD_STATE);
    assert_eq!(run(u.install()), BAD_STATE);
    assert_eq!(run(u.request_reboot()), Ok(Success::Done));
    assert_eq!(h.resets.0.get(), 1);
    drop(u);
    // Survives an app restart until the bootloader acts; then FAILED with the same error.
    assert_eq!(state(&h.boot_app(), 0), State::Rejected);
    h.install_active(0, &old);
    h.boot(Phase::Failed, -42);
    let u = h.boot_app();
    let i = info(&u, 0);
    assert_eq!(
        (i.state, i.error, i.version),
        (State::Failed as u8, -42, v(1, 0))
    );
}

#[test]
fn an_unaccepted_trial_is_rolled_back_with_the_documented_error() {
    let h = Harness::new();
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).build()).unwrap();
    run(u.install()).unwrap();
    drop(u);
    h.boot(Phase::Trial, 0);
    drop(h.boot_app());
    h.boot(Phase::Failed, ERROR_TRIAL_NOT_ACCEPTED);
    let u = h.boot_app();
    let i = info(&u, 0);
    assert_eq!(
        (i.state, i.error),
        (State::Failed as u8, ERROR_TRIAL_NOT_ACCEPTED)
    );
}

#[test]
fn installing_phases_only_the_bootloader_may_move_are_left_alone() {
    for (phase, reported) in [
        (Phase::Installing, State::Staged),
        (Phase::Reverting, State::Rejected),
    ] {
        let h = Harness::new();
        let u = h.boot_app();
        download(&u, 0, &Img::new(v(2, 0), 9000).build()).unwrap();
        run(u.install()).unwrap();
        drop(u);
        h.boot(phase, 0);
        let u = h.boot_app();
        assert_eq!(state(&u, 0), reported);
        let before = h.flash.contents();
        assert_eq!(run(u.reject(-1)), BAD_STATE, "{phase:?}");
        assert_eq!(run(u.accept()), BAD_STATE);
        assert_eq!(run(u.install()), BAD_STATE);
        assert!(h.flash.contents() == before);
    }
}

#[test]
fn global_calls_report_storage_failures_and_keep_their_state() {
    let h = Harness::new();
    let u = h.boot_app();
    download(&u, 0, &Img::new(v(2, 0), 9000).build()).unwrap();
    h.flash.cut_next();
    assert_eq!(run(u.install()), Err(Error::StorageFailure));
    h.flash.power_on();
    assert_eq!(state(&u, 0), State::Candidate);
    run(u.install()).unwrap();
    h.flash.cut_next();
    assert_eq!(run(u.reject(1)), Err(Error::StorageFailure));
    h.flash.power_on();
    assert_eq!(state(&u, 0), State::Staged);
    drop(u);
    h.boot(Phase::Trial, 0);
    let u = h.boot_app();
    h.flash.cut_next();
    assert_eq!(run(u.accept()), Err(Error::StorageFailure));
    h.flash.power_on();
    assert_eq!(state(&u, 0), State::Trial);
    h.flash.cut_next();
    assert_eq!(run(u.reject(1)), Err(Error::StorageFailure));
    h.flash.power_on();
    assert_eq!(state(&u, 0), State::Trial);
    assert_eq!(run(u.accept()), Ok(Success::Done));
}
