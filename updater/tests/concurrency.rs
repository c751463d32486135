//! Sharing one service between tasks: two clients downloading two components at the same time
//! on one executor (interleaved at every flash operation), and on two OS threads through a
//! `CriticalSectionRawMutex`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use core::cell::RefCell;
use embassy_futures::join::{join, join3};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use fwu_shared::state::{Members, StoredCounters};
use fwu_shared::{ComponentId, FwuResult, State, Success};
use fwu_sim_flash::{Geometry, SimFlash};
use fwu_updater::{ResetHook, Updater, PSA_FWU_MAX_WRITE_SIZE};

async fn client(
    u: &Svc,
    c: ComponentId,
    image: &[u8],
    log: &RefCell<Vec<(ComponentId, usize)>>,
) -> FwuResult {
    u.start(c, None).await?;
    for (i, block) in image.chunks(PSA_FWU_MAX_WRITE_SIZE).enumerate() {
        u.write(c, i * PSA_FWU_MAX_WRITE_SIZE, block).await?;
        log.borrow_mut().push((c, i));
        // Receiving the next block (network, UART) lets the other tasks run. The mutex is not
        // fair: a task that called back to back without ever awaiting anything else would
        // get it again and again.
        embassy_futures::yield_now().await;
    }
    u.finish(c).await
}

#[test]
fn two_tasks_download_two_components_concurrently() {
    let h = Harness::new();
    let u = h.boot_app();
    h.flash.ctl.yield_mutations.set(true);
    let a = Img::new(v(2, 0), 20_000).build();
    let b = Img::new(v(3, 0), 9_000).seed(4).build();
    let log = RefCell::new(Vec::new());
    let watcher = async {
        // A third task polls the states meanwhile: it only ever sees legal ones.
        let mut seen = Vec::new();
        for _ in 0..50 {
            for c in [0, 1] {
                seen.push(u.query(c).await.unwrap().state);
            }
            embassy_futures::yield_now().await;
        }
        seen
    };
    let (ra, rb, seen) = run(join3(
        client(&u, 0, &a, &log),
        client(&u, 1, &b, &log),
        watcher,
    ));
    assert_eq!((ra, rb), (Ok(Success::Done), Ok(Success::Done)));
    assert!(seen
        .iter()
        .all(|&s| [State::Ready, State::Writing, State::Candidate]
            .contains(&State::from_u8(s).unwrap())));
    // The calls really interleaved.
    let log = log.into_inner();
    let switches = log.windows(2).filter(|w| w[0].0 != w[1].0).count();
    assert!(switches >= 4, "no interleaving: {log:?}");
    // The result is consistent: each slot holds its own image, verified.
    for (c, img) in [(0, &a), (1, &b)] {
        let i = info(&u, c);
        assert_eq!(i.state, State::Candidate as u8);
        assert_eq!(i.impl_.staged_digest, digest(img));
        assert_eq!(h.flash.bytes(staging(c), img.len()), *img);
    }
    assert_eq!(run(u.install()), Ok(Success::Reboot));
    assert_eq!(h.txn().members, Members(0b11));
    h.flash.ctl.yield_mutations.set(false);
}

#[test]
fn a_global_call_waits_for_a_running_call() {
    let h = Harness::new();
    let u = h.boot_app();
    let a = Img::new(v(2, 0), 9_000).build();
    download(&u, 0, &a).unwrap();
    h.flash.ctl.yield_mutations.set(true);
    // install and cancel race: whichever runs first decides, and the other sees its result.
    let (ri, rc) = run(join(u.install(), u.cancel(0)));
    match (ri, rc) {
        (Ok(Success::Reboot), r) => {
            assert_eq!(r, BAD_STATE);
            assert_eq!(state(&u, 0), State::Staged);
        }
        (r, Ok(Success::Done)) => {
            assert_eq!(r, BAD_STATE);
            assert_eq!(state(&u, 0), State::Failed);
        }
        other => panic!("{other:?}"),
    }
}

struct NoReset;
impl ResetHook for NoReset {
    fn reset(&mut self) {}
}

type ThreadSvc =
    Updater<'static, CriticalSectionRawMutex, SimFlash<4096, 4>, NoReset, StoredCounters>;

#[test]
fn the_service_is_sync_and_serves_two_threads() {
    fn assert_sync<T: Sync + Send>() {}
    assert_sync::<ThreadSvc>();

    let flash = SimFlash::<4096, 4>::new(Geometry {
        sectors: DEVICE_SECTORS,
        erased: 0xff,
    });
    let u: ThreadSvc = run(Updater::new(flash, config(), NoReset, StoredCounters)).unwrap();
    let a = Img::new(v(2, 0), 30_000).build();
    let b = Img::new(v(3, 0), 12_000).seed(4).build();
    std::thread::scope(|s| {
        let ta = s.spawn(|| {
            run(async {
                u.start(0, None).await?;
                for (i, block) in a.chunks(PSA_FWU_MAX_WRITE_SIZE).enumerate() {
                    u.write(0, i * PSA_FWU_MAX_WRITE_SIZE, block).await?;
                }
                u.finish(0).await
            })
        });
        let tb = s.spawn(|| {
            run(async {
                u.start(1, None).await?;
                for (i, block) in b.chunks(512).enumerate() {
                    u.write(1, i * 512, block).await?;
                }
                u.finish(1).await
            })
        });
        assert_eq!(ta.join().unwrap(), Ok(Success::Done));
        assert_eq!(tb.join().unwrap(), Ok(Success::Done));
    });
    assert_eq!(run(u.install()), Ok(Success::Reboot));
    let (flash, _, _) = u.release();
    for (c, img) in [(0, &a), (1, &b)] {
        let at = staging(c);
        assert_eq!(&flash.contents()[at..at + img.len()], &img[..]);
    }
}
