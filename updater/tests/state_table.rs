//! Every cell of the digest's §3.2 table (complete model: reboot to install, trial, non-volatile
//! staging), for each of the eight states, plus the reboot column of §3.3.
//!
//! TRIAL and REJECTED are reached by imitating the bootloader's decision (see
//! `common::Harness::boot`); the bootloader crate tests those transitions end to end.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use fwu_shared::state::records::{ERROR_INSTALL_FLASH_FAILURE, ERROR_TRIAL_NOT_ACCEPTED};
use fwu_shared::state::Phase;
use fwu_shared::{Error, FwuResult, State, Success};

const OLD: (u8, u8) = (1, 0);

fn img0() -> Vec<u8> {
    Img::new(v(1, 1), 10_000).build()
}

fn img1() -> Vec<u8> {
    Img::new(v(1, 1), 5_000).seed(7).build()
}

/// A device whose component 0 is in `state` (component 1 READY), and the running service.
fn setup(state: State) -> (Harness, Svc) {
    let h = Harness::new();
    h.install_active(0, &Img::new(v(OLD.0, OLD.1), 9_000).seed(3).build());
    let u = h.boot_app();
    let img = img0();
    match state {
        State::Ready => {}
        State::Writing => {
            run(u.start(0, None)).unwrap();
            run(send(&u, 0, &img, 0)).unwrap();
        }
        State::Candidate => {
            download(&u, 0, &img).unwrap();
        }
        State::Staged => {
            download(&u, 0, &img).unwrap();
            assert_eq!(run(u.install()), Ok(Success::Reboot));
        }
        State::Failed => {
            run(u.start(0, None)).unwrap();
            run(u.cancel(0)).unwrap();
        }
        State::Trial | State::Rejected | State::Updated => {
            download(&u, 0, &img).unwrap();
            run(u.install()).unwrap();
            drop(u);
            h.boot(Phase::Trial, 0);
            let u = h.boot_app();
            match state {
                State::Rejected => assert_eq!(run(u.reject(-5)), Ok(Success::Reboot)),
                State::Updated => assert_eq!(run(u.accept()), Ok(Success::Done)),
                _ => {}
            }
            assert_eq!(common::state(&u, 0), state);
            return (h, u);
        }
    }
    assert_eq!(common::state(&u, 0), state);
    (h, u)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Start,
    Write,
    Finish,
    Cancel,
    Clean,
    Install,
    Accept,
    Reject,
}

const OPS: [Op; 8] = [
    Op::Start,
    Op::Write,
    Op::Finish,
    Op::Cancel,
    Op::Clean,
    Op::Install,
    Op::Accept,
    Op::Reject,
];

fn apply(u: &Svc, op: Op) -> FwuResult {
    let img = img0();
    run(async {
        match op {
            Op::Start => u.start(0, None).await,
            Op::Write => u.write(0, 0, &img[..1024]).await,
            Op::Finish => u.finish(0).await,
            Op::Cancel => u.cancel(0).await,
            Op::Clean => u.clean(0).await,
            Op::Install => u.install().await,
            Op::Accept => u.accept().await,
            Op::Reject => u.reject(-7).await,
        }
    })
}

/// The §3.2 table: result and new state of component 0 (the only component in play).
fn expected(from: State, op: Op) -> (FwuResult, State) {
    use State::*;
    let ok = |to| (Ok(Success::Done), to);
    match (from, op) {
        (Ready, Op::Start) => ok(Writing),
        (Writing, Op::Write) => ok(Writing),
        (Writing, Op::Finish) => ok(Candidate),
        (Writing | Candidate, Op::Cancel) => ok(Failed),
        (Failed | Updated, Op::Clean) => ok(Ready),
        (Candidate, Op::Install) => (Ok(Success::Reboot), Staged),
        (Trial, Op::Accept) => ok(Updated),
        (Staged, Op::Reject) => ok(Failed),
        (Trial, Op::Reject) => (Ok(Success::Reboot), Rejected),
        // Every other cell: BAD_STATE, including the global operations when no component is
        // in their starting state ("n/a" for this one and nobody else to act on).
        _ => (BAD_STATE, from),
    }
}

#[test]
fn every_cell_of_the_state_table() {
    let mut cells = 0;
    for from in State::ALL {
        for op in OPS {
            let (h, u) = setup(from);
            let before = h.flash.contents();
            let (want, to) = expected(from, op);
            assert_eq!(apply(&u, op), want, "{from:?} × {op:?}");
            assert_eq!(state(&u, 0), to, "{from:?} × {op:?}");
            if want == BAD_STATE {
                // §3.5: BAD_STATE means nothing was done, not even a record rewrite.
                assert!(
                    h.flash.contents() == before,
                    "{from:?} × {op:?} touched flash"
                );
            }
            // The new state is durable (non-volatile staging) or, for STAGED / TRIAL /
            // REJECTED, left for the bootloader: a restart of the app alone keeps it.
            drop(u);
            assert_eq!(
                state(&h.boot_app(), 0),
                to,
                "{from:?} × {op:?} after restart"
            );
            cells += 1;
        }
    }
    assert_eq!(cells, 64);
}

/// The global operations act on the components in their starting state and leave the others
/// alone ("n/a" cells): component 1 is the one in the starting state.
#[test]
fn global_operations_skip_components_in_other_states() {
    for from in State::ALL {
        // install: component 1 CANDIDATE.
        let (_h, u) = setup(from);
        download(&u, 1, &img1()).unwrap();
        let r = run(u.install());
        match from {
            State::Staged | State::Trial | State::Rejected => {
                assert_eq!(r, BAD_STATE, "{from:?}");
                assert_eq!(state(&u, 1), State::Candidate);
                assert_eq!(state(&u, 0), from);
            }
            State::Candidate => {
                assert_eq!(r, Ok(Success::Reboot));
                assert_eq!((state(&u, 0), state(&u, 1)), (State::Staged, State::Staged));
            }
            _ => {
                assert_eq!(r, Ok(Success::Reboot), "{from:?}");
                assert_eq!(state(&u, 1), State::Staged);
                assert_eq!(state(&u, 0), from, "install touched a non-candidate");
            }
        }
    }
    // accept / reject with component 1 on trial (or staged) and 0 in each non-transaction state.
    for from in [
        State::Ready,
        State::Writing,
        State::Candidate,
        State::Failed,
    ] {
        for (phase, op, want, s1) in [
            (None, Op::Reject, Ok(Success::Done), State::Failed),
            (
                Some(Phase::Trial),
                Op::Reject,
                Ok(Success::Reboot),
                State::Rejected,
            ),
            (
                Some(Phase::Trial),
                Op::Accept,
                Ok(Success::Done),
                State::Updated,
            ),
        ] {
            let h = Harness::new();
            let u = h.boot_app();
            download(&u, 1, &img1()).unwrap();
            run(u.install()).unwrap();
            let u = match phase {
                Some(p) => {
                    drop(u);
                    h.boot(p, 0);
                    h.boot_app()
                }
                None => u,
            };
            match from {
                State::Ready => {}
                State::Writing => run(u.start(0, None)).map(drop).unwrap(),
                State::Candidate => download(&u, 0, &img0()).map(drop).unwrap(),
                State::Failed => run(async {
                    u.start(0, None).await?;
                    u.cancel(0).await
                })
                .map(drop)
                .unwrap(),
                _ => unreachable!(),
            }
            assert_eq!(apply(&u, op), want, "{from:?} {op:?}");
            assert_eq!(state(&u, 1), s1);
            assert_eq!(state(&u, 0), from, "{op:?} touched component 0 in {from:?}");
        }
    }
}

/// §3.3, non-volatile staging, reboot column: READY, WRITING, CANDIDATE, FAILED and UPDATED
/// persist; STAGED, TRIAL and REJECTED are resolved by the bootloader.
#[test]
fn reboot_transitions() {
    // STAGED, install succeeds → TRIAL running the new version.
    let (h, u) = setup(State::Staged);
    assert_eq!(info(&u, 0).version, v(1, 0));
    drop(u);
    h.boot(Phase::Trial, 0);
    let u = h.boot_app();
    assert_eq!(state(&u, 0), State::Trial);
    assert_eq!(info(&u, 0).version, v(1, 1));

    // STAGED, install fails at boot → FAILED with the bootloader's reason; settled at init.
    let (h, u) = setup(State::Staged);
    drop(u);
    h.boot(Phase::Failed, ERROR_INSTALL_FLASH_FAILURE);
    let u = h.boot_app();
    let i = info(&u, 0);
    assert_eq!(
        (i.state, i.error),
        (State::Failed as u8, ERROR_INSTALL_FLASH_FAILURE)
    );
    assert_eq!(i.version, v(1, 0));
    assert_eq!(h.txn().phase, Phase::Idle, "settled at start-up");

    // TRIAL without accept → the bootloader rolls back → FAILED (never REJECTED, digest A2).
    for (from, err) in [
        (State::Trial, ERROR_TRIAL_NOT_ACCEPTED),
        (State::Rejected, -5),
    ] {
        let (h, u) = setup(from);
        drop(u);
        h.install_active(0, &Img::new(v(1, 0), 9_000).seed(3).build());
        h.boot(Phase::Failed, err);
        let u = h.boot_app();
        let i = info(&u, 0);
        assert_eq!((i.state, i.error), (State::Failed as u8, err), "{from:?}");
        assert_eq!(
            i.version,
            v(1, 0),
            "{from:?}: the old image is active again"
        );
        assert_eq!(run(u.clean(0)), Ok(Success::Done));
        assert_eq!(state(&u, 0), State::Ready);
    }

    // The persistent states survive a restart with everything query reports.
    for s in [
        State::Ready,
        State::Writing,
        State::Candidate,
        State::Failed,
        State::Updated,
    ] {
        let (h, u) = setup(s);
        let before = info(&u, 0);
        drop(u);
        assert_eq!(info(&h.boot_app(), 0), before, "{s:?}");
    }
}

#[test]
fn request_reboot_calls_the_board_reset() {
    let (h, u) = setup(State::Staged);
    assert_eq!(h.resets.0.get(), 0);
    assert_eq!(run(u.request_reboot()), Ok(Success::Done));
    assert_eq!(h.resets.0.get(), 1);
    // No state change by itself (§2.9).
    assert_eq!(state(&u, 0), State::Staged);
}

#[test]
fn unknown_components_do_not_exist_in_any_state() {
    for from in State::ALL {
        let (h, u) = setup(from);
        let before = h.flash.contents();
        for c in [2u8, 7, 8, 255] {
            let img = img0();
            let dne = Err(Error::DoesNotExist);
            assert_eq!(run(u.query(c)), Err(Error::DoesNotExist));
            assert_eq!(run(u.start(c, None)), dne);
            assert_eq!(run(u.start(c, Some(&[1, 2]))), dne);
            assert_eq!(run(u.write(c, 0, &img[..16])), dne);
            assert_eq!(run(u.write(c, 3, &[])), dne);
            assert_eq!(run(u.finish(c)), dne);
            assert_eq!(run(u.cancel(c)), dne);
            assert_eq!(run(u.clean(c)), dne);
        }
        assert!(h.flash.contents() == before);
        assert_eq!(state(&u, 0), from);
    }
}
