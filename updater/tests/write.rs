//! `psa_fwu_start` and `psa_fwu_write` (digest §1.9, §2.3, §2.4): argument limits, padding,
//! lazy erase, idempotent re-sends, checkpoints, resuming after a reset, power cuts and
//! cancelled (dropped) futures.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use fwu_shared::{Error, State, Success};
use fwu_updater::{log2_write_align, PSA_FWU_MAX_WRITE_SIZE};

const MAX: usize = 16 * 4096;
const IA: Result<Success, Error> = Err(Error::InvalidArgument);

fn image() -> Vec<u8> {
    // 2.5 sectors: two checkpoints, and a final partial sector.
    Img::new(v(1, 1), 10_001).build()
}

fn writing() -> (Harness, Svc) {
    let h = Harness::new();
    let u = h.boot_app();
    assert_eq!(run(u.start(0, None)), Ok(Success::Done));
    (h, u)
}

#[test]
fn write_size_constants() {
    assert_eq!(PSA_FWU_MAX_WRITE_SIZE, 1024);
    assert_eq!(Svc::MAX_WRITE_SIZE, 1024);
    assert_eq!(log2_write_align::<TestFlash>(), 2);
    assert_eq!(Svc::LOG2_WRITE_ALIGN, 2);
    assert_eq!(log2_write_align::<fwu_sim_flash::SimFlash<4096, 16>>(), 4);
    // §1.9: the maximum write size is a multiple of the alignment.
    assert_eq!(
        PSA_FWU_MAX_WRITE_SIZE & ((1 << Svc::LOG2_WRITE_ALIGN) - 1),
        0
    );
}

#[test]
fn start_refuses_a_detached_manifest() {
    let h = Harness::new();
    let u = h.boot_app();
    let before = h.flash.contents();
    assert_eq!(run(u.start(0, Some(&[0x96, 0xf3]))), IA);
    assert_eq!(state(&u, 0), State::Ready, "§A8: stays READY");
    assert!(h.flash.contents() == before);
    // An empty detached manifest is still a detached manifest (like a non-NULL pointer with
    // size 0 in C): only `None` (NULL, 0) is the bundled case.
    assert_eq!(run(u.start(0, Some(&[]))), IA);
    assert_eq!(state(&u, 0), State::Ready);
    assert!(h.flash.contents() == before);
    assert_eq!(run(u.start(0, None)), Ok(Success::Done));
    assert_eq!(state(&u, 0), State::Writing);
    assert_eq!(run(u.start(0, None)), BAD_STATE);
}

#[test]
fn write_argument_limits() {
    let (h, u) = writing();
    let block = [0x5au8; 8];
    let before = h.flash.contents();
    let cases: &[(usize, usize)] = &[
        (1, 4), // unaligned offset
        (2, 4),
        (1026, 8),
        (0, 0), // zero size
        (4096, 0),
        (MAX, 4),     // starts at the end of the slot
        (MAX - 4, 8), // runs past the end
        (MAX + 4096, 4),
        (usize::MAX - 3, 4), // aligned, but offset + size overflows
        (usize::MAX & !3, 8),
        (usize::MAX - 1023, 8),
    ];
    for &(off, len) in cases {
        let data = vec![0x5a; len];
        assert_eq!(run(u.write(0, off, &data)), IA, "offset {off} size {len}");
    }
    // Larger than PSA_FWU_MAX_WRITE_SIZE.
    assert_eq!(run(u.write(0, 0, &[0u8; PSA_FWU_MAX_WRITE_SIZE + 1])), IA);
    assert_eq!(run(u.write(0, 0, &[0u8; 4096])), IA);
    assert!(
        h.flash.contents() == before,
        "a refused write touched flash"
    );
    assert_eq!(state(&u, 0), State::Writing, "errors keep WRITING");

    // The limits themselves are fine: the last word of the slot, and a full-size block.
    assert_eq!(run(u.write(0, MAX - 4, &block[..4])), Ok(Success::Done));
    assert_eq!(
        run(u.write(0, 0, &[7u8; PSA_FWU_MAX_WRITE_SIZE])),
        Ok(Success::Done)
    );
    assert_eq!(h.flash.bytes(staging(0) + MAX - 4, 4), vec![0x5a; 4]);
    // Component 1's slot is smaller: its limit is its own.
    run(u.start(1, None)).unwrap();
    assert_eq!(run(u.write(1, 4 * 4096, &block)), IA);
    assert_eq!(run(u.write(1, 4 * 4096 - 8, &block)), Ok(Success::Done));
}

#[test]
fn an_unaligned_final_block_is_padded_with_erased_bytes() {
    let (h, u) = writing();
    let img = image();
    assert_ne!(img.len() % 4, 0, "the test needs an unaligned image length");
    run(send(&u, 0, &img, 0)).unwrap();
    let end = staging(0) + img.len();
    assert_eq!(h.flash.bytes(staging(0), img.len()), img);
    let pad = 4 - img.len() % 4;
    assert_eq!(h.flash.bytes(end, pad), vec![0xff; pad]);
    assert_eq!(run(u.finish(0)), Ok(Success::Done));

    // Single-byte and three-byte blocks.
    let (h, u) = writing();
    run(u.write(0, 0, &[1])).unwrap();
    run(u.write(0, 4, &[2, 3, 4])).unwrap();
    assert_eq!(
        h.flash.bytes(staging(0), 8),
        [1, 0xff, 0xff, 0xff, 2, 3, 4, 0xff]
    );
    // Re-sending a padded block is idempotent as well.
    assert_eq!(run(u.write(0, 4, &[2, 3, 4])), Ok(Success::Done));
}

#[test]
fn resending_identical_data_succeeds_without_programming() {
    let (h, u) = writing();
    let img = image();
    run(send(&u, 0, &img, 0)).unwrap();
    let stats = h.flash.stats();
    let before = h.flash.contents();
    // The whole image again, then single blocks and sub-blocks.
    run(send(&u, 0, &img, 0)).unwrap();
    run(u.write(0, 2048, &img[2048..2048 + 100])).unwrap();
    run(u.write(0, 1024, &img[1024..2048])).unwrap();
    assert!(h.flash.contents() == before);
    let after = h.flash.stats();
    assert_eq!(after.writes, stats.writes, "nothing programmed");
    assert_eq!(after.erases, stats.erases, "nothing erased");

    // Different data over written bytes: INVALID_ARGUMENT, nothing changes, still WRITING.
    let mut other = img[1024..2048].to_vec();
    other[100] ^= 0x01;
    assert_eq!(run(u.write(0, 1024, &other)), IA);
    assert!(h.flash.contents() == before);
    assert_eq!(state(&u, 0), State::Writing);
    // The download is still good.
    assert_eq!(run(u.finish(0)), Ok(Success::Done));
}

#[test]
fn sectors_are_erased_lazily_once_and_not_at_all_after_clean() {
    let slot_sectors = (slots(0).sectors as u64) + 1;
    let h = Harness::new();
    // Stale bytes from an earlier image fill the staging area.
    h.flash.load(staging(0), &vec![0x00; 8 * 4096]);
    let u = h.boot_app();
    let img = image();
    h.flash.reset_stats();
    run(u.start(0, None)).unwrap();
    assert_eq!(h.flash.stats().erases, 0, "start erases nothing");
    run(send(&u, 0, &img, 0)).unwrap();
    let first = staging(0) / 4096;
    let erased: Vec<u64> = h.flash.stats().sector_erases[first..first + 4].to_vec();
    assert_eq!(
        erased,
        [1, 1, 1, 0],
        "each touched sector erased exactly once"
    );
    assert_eq!(run(u.finish(0)), Ok(Success::Done));

    // cancel (no erase) then clean: the slot is erased once, and the next download skips erases.
    h.flash.reset_stats();
    run(u.cancel(0)).unwrap();
    assert_eq!(h.flash.stats().erases, 0, "cancel is cheap");
    run(u.clean(0)).unwrap();
    let cleaned = h.flash.stats().erases;
    assert_eq!(
        cleaned, slot_sectors,
        "clean erases every sector of the secondary slot, blank-reading ones too"
    );
    assert!(h
        .flash
        .bytes(slots(0).secondary as usize, 17 * 4096)
        .iter()
        .all(|&b| b == 0xff));
    h.flash.reset_stats();
    download(&u, 0, &img).unwrap();
    assert_eq!(
        h.flash.stats().erases,
        0,
        "the slot is known to be erased after clean"
    );
    // A sector that reads blank may hold programmed cells (an erase cut short): clean erases it
    // all the same, so the next download can program it.
    run(u.cancel(0)).unwrap();
    run(u.clean(0)).unwrap();
    let at = staging(0) as u32;
    embedded_storage::nor_flash::NorFlash::write(&mut *h.flash.sim.borrow_mut(), at, &[0xff; 4096])
        .unwrap();
    run(u.start(0, None)).unwrap();
    run(u.cancel(0)).unwrap();
    run(u.clean(0)).unwrap();
    download(&u, 0, &img).unwrap();
}

#[test]
fn checkpoints_follow_the_contiguous_prefix() {
    let (h, u) = writing();
    let img = image();
    let resume = |u: &Svc| info(u, 0).impl_.resume_offset;
    run(send(&u, 0, &img[..4096 - 4], 0)).unwrap();
    assert_eq!((resume(&u), h.checkpoint(0)), (0, 0));
    run(u.write(0, 4096 - 4, &img[4096 - 4..4096 + 4])).unwrap();
    assert_eq!((resume(&u), h.checkpoint(0)), (4096, 4096));
    // An out-of-order block does not move the prefix.
    run(u.write(0, 8192 + 16, &img[8192 + 16..8192 + 32])).unwrap();
    assert_eq!(resume(&u), 4096);
    run(send(&u, 0, &img[..8192 + 16], 0)).unwrap();
    assert_eq!(resume(&u), 8192);
    // Gaps are filled; the prefix only tracks in-order progress, and the image is complete.
    run(send(&u, 0, &img[..], 8192 + 16)).unwrap();
    assert_eq!(run(u.finish(0)), Ok(Success::Done));
    assert_eq!(
        info(&u, 0).impl_.resume_offset,
        0,
        "only meaningful in WRITING"
    );
}

#[test]
fn a_download_resumes_after_a_reset() {
    for cleaned_first in [false, true] {
        let h = Harness::new();
        let u = h.boot_app();
        if cleaned_first {
            // The slot is known erased: the session would skip erases, but not after a reset.
            run(u.start(0, None)).unwrap();
            run(u.cancel(0)).unwrap();
            run(u.clean(0)).unwrap();
            assert!(h.record(0).secondary_erased);
        }
        let img = image();
        run(u.start(0, None)).unwrap();
        run(send(&u, 0, &img[..9000], 0)).unwrap();
        drop(u);
        // The reset tore the last writes: the bytes past the checkpoint are garbage.
        h.flash.load(staging(0) + 8192, &vec![0x13; 700]);
        let u = h.boot_app();
        let i = info(&u, 0);
        assert_eq!(i.state, State::Writing as u8);
        assert_eq!(i.impl_.resume_offset, 8192);
        // Resume from the checkpoint: the torn sector is erased again on its first write.
        run(send(&u, 0, &img, 8192)).unwrap();
        assert_eq!(
            run(u.finish(0)),
            Ok(Success::Done),
            "cleaned_first={cleaned_first}"
        );
        assert_eq!(info(&u, 0).impl_.staged_digest, digest(&img));
    }
}

#[test]
fn a_client_that_restarts_from_zero_after_a_reset_also_succeeds() {
    let h = Harness::new();
    let u = h.boot_app();
    let img = image();
    run(u.start(0, None)).unwrap();
    run(send(&u, 0, &img[..9000], 0)).unwrap();
    drop(u);
    let u = h.boot_app();
    // The durable prefix compares equal; the rest is rewritten.
    run(send(&u, 0, &img, 0)).unwrap();
    assert_eq!(run(u.finish(0)), Ok(Success::Done));
}

#[test]
fn flash_failures_during_write_are_storage_failures_and_resumable() {
    let img = image();
    // Cut at each write/erase a download does, from start to finish.
    let ops = {
        let h = Harness::new();
        let u = h.boot_app();
        let at = h.flash.sim.borrow().op_index();
        download(&u, 0, &img).unwrap();
        let end = h.flash.sim.borrow().op_index();
        end - at
    };
    for k in 0..ops {
        let h = Harness::new();
        let u = h.boot_app();
        {
            let mut s = h.flash.sim.borrow_mut();
            let at = s.op_index() + k;
            s.arm_cut(at, fwu_sim_flash::CutModel::TornBits, k);
        }
        let r = download(&u, 0, &img);
        h.flash.power_on();
        // A cut after the first copy of a record took it is after the commit: the call
        // succeeded (the second copy is repaired by the next writer).
        assert!(
            r == Err(Error::StorageFailure)
                || (r == Ok(Success::Done) && state(&u, 0) == State::Candidate),
            "cut at op {k}: {r:?}"
        );
        // Without a restart: the service falls back to its durable state.
        let resume_and_finish = |u: &Svc| {
            run(async {
                let i = u.query(0).await?;
                if i.state == State::Candidate as u8 {
                    return Ok(Success::Done);
                }
                if i.state == State::Ready as u8 {
                    u.start(0, None).await?;
                }
                let from = u.query(0).await?.impl_.resume_offset as usize;
                send(u, 0, &img, from).await?;
                u.finish(0).await
            })
        };
        assert_eq!(resume_and_finish(&u), Ok(Success::Done), "cut at op {k}");
        assert_eq!(state(&u, 0), State::Candidate);

        // And the same after a restart (the power cut's usual consequence).
        let h = Harness::new();
        let u = h.boot_app();
        {
            let mut s = h.flash.sim.borrow_mut();
            let at = s.op_index() + k;
            s.arm_cut(at, fwu_sim_flash::CutModel::TornBits, k);
        }
        let _ = download(&u, 0, &img);
        drop(u);
        h.flash.power_on();
        let u = h.boot_app();
        assert_eq!(
            resume_and_finish(&u),
            Ok(Success::Done),
            "cut at op {k}, restarted"
        );
    }
}

#[test]
fn a_dropped_write_future_is_followed_by_a_successful_resend() {
    let img = image();
    // polls: 1 = dropped before the erase, 2 = after the erase but before programming,
    // 3.. = inside the checkpoint record write (the block at 4092 completes sector 0).
    for (offset, polls) in [
        (0usize, 1usize),
        (0, 2),
        (4092, 1),
        (4092, 2),
        (4092, 3),
        (4092, 4),
    ] {
        let (h, u) = writing();
        run(send(&u, 0, &img[..offset], 0)).unwrap();
        h.flash.ctl.yield_mutations.set(true);
        let end = (offset + 1024).min(img.len());
        poll_then_drop(u.write(0, offset, &img[offset..end]), polls);
        // The mutex was released with the future; the same block is simply sent again.
        assert_eq!(
            run(u.write(0, offset, &img[offset..end])),
            Ok(Success::Done)
        );
        let from = info(&u, 0).impl_.resume_offset as usize;
        assert!(from <= end);
        run(send(&u, 0, &img, from)).unwrap();
        assert_eq!(
            run(u.finish(0)),
            Ok(Success::Done),
            "offset {offset} polls {polls}"
        );
        assert_eq!(info(&u, 0).impl_.staged_digest, digest(&img));
        h.flash.ctl.yield_mutations.set(false);
    }
}

#[test]
fn dropped_futures_of_every_operation_leave_a_consistent_state() {
    // Drop each call after each possible number of polls; the next calls must behave as if
    // the call had either happened or not.
    let img = image();
    for polls in 1..6 {
        let h = Harness::new();
        let u = h.boot_app();
        h.flash.ctl.yield_mutations.set(true);
        let try_drop =
            |f: std::pin::Pin<&mut dyn core::future::Future<Output = fwu_shared::FwuResult>>| {
                let mut f = f;
                let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
                for _ in 0..polls {
                    if f.as_mut().poll(&mut cx).is_ready() {
                        return true;
                    }
                }
                false
            };
        let started = try_drop(std::pin::pin!(u.start(0, None)));
        if !started && state(&u, 0) == State::Ready {
            run(u.start(0, None)).unwrap();
        }
        assert_eq!(state(&u, 0), State::Writing);
        run(send(&u, 0, &img, 0)).unwrap();
        if !try_drop(std::pin::pin!(u.finish(0))) && state(&u, 0) == State::Writing {
            run(u.finish(0)).unwrap();
        }
        assert_eq!(state(&u, 0), State::Candidate);
        if !try_drop(std::pin::pin!(u.install())) && state(&u, 0) == State::Candidate {
            assert_eq!(run(u.install()), Ok(Success::Reboot));
        }
        assert_eq!(state(&u, 0), State::Staged);
        if !try_drop(std::pin::pin!(u.reject(-3))) && state(&u, 0) == State::Staged {
            run(u.reject(-3)).unwrap();
        }
        assert_eq!(state(&u, 0), State::Failed);
        if !try_drop(std::pin::pin!(u.clean(0))) && state(&u, 0) == State::Failed {
            run(u.clean(0)).unwrap();
        }
        assert_eq!(state(&u, 0), State::Ready);
        // A new download over the (possibly half-cleaned) slot still works.
        h.flash.ctl.yield_mutations.set(false);
        assert_eq!(download(&u, 0, &img), Ok(Success::Done), "polls {polls}");
        drop(u);
        assert_eq!(state(&h.boot_app(), 0), State::Candidate);
    }
}
