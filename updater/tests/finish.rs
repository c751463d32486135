//! `psa_fwu_finish`, `psa_fwu_cancel` and `psa_fwu_clean` (digest §2.5–§2.7, §3.5):
//! authentication, the anti-rollback and downgrade policy, the error recorded in FAILED, and
//! what `query` reports about the staged image.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use fwu_shared::image::build::Signer;
use fwu_shared::image::{ImageIdentity, KeyRing, PublicKey};
use fwu_shared::state::records::{ERROR_CANCELLED, ERROR_UNKNOWN_DEPENDENCY, ERROR_WRONG_DEVICE};
use fwu_shared::state::StoredCounters;
use fwu_shared::version::{BuildNumber, Dependency};
use fwu_shared::{Error, ImageVersion, State, Success};
use fwu_updater::{Config, Updater};

fn expect_failed(h: &Harness, u: &Svc, image: &[u8], want: Error) {
    assert_eq!(download(u, 0, image), Err(want));
    let i = info(u, 0);
    assert_eq!((i.state, i.error), (State::Failed as u8, want.code()));
    assert_eq!(i.impl_.staged_size, 0, "nothing verified is staged");
    // Durable, with its error code.
    let again = Harness {
        flash: h.flash.clone(),
        resets: h.resets.clone(),
    }
    .boot_app();
    let j = info(&again, 0);
    assert_eq!((j.state, j.error), (State::Failed as u8, want.code()));
    drop(again);
    // FAILED needs clean before the next update; then a good image goes through.
    assert_eq!(run(u.start(0, None)), BAD_STATE);
    assert_eq!(run(u.clean(0)), Ok(Success::Done));
    let good = Img::new(v(9, 0), 3000).counter(50).build();
    assert_eq!(download(u, 0, &good), Ok(Success::Done));
    run(u.cancel(0)).unwrap();
    run(u.clean(0)).unwrap();
}

#[test]
fn authentication_failures_are_invalid_signature() {
    let h = Harness::new();
    let u = h.boot_app();
    let good = Img::new(v(1, 1), 5000).build();

    // The signature itself (last bytes of the unprotected TLVs).
    let mut bad_sig = good.clone();
    let n = bad_sig.len();
    bad_sig[n - 10] ^= 0x40;
    expect_failed(&h, &u, &bad_sig, Error::InvalidSignature);

    // A payload byte: the hash no longer matches.
    let mut corrupted = good.clone();
    corrupted[2000] ^= 0x01;
    expect_failed(&h, &u, &corrupted, Error::InvalidSignature);

    // A key the device does not know.
    let foreign = Img::new(v(1, 1), 5000).build_with(&other_signer());
    expect_failed(&h, &u, &foreign, Error::InvalidSignature);

    // The signature's S + L twin (RFC 8032 §5.1.7): same digest, and salty's own `verify`
    // accepts it.
    expect_failed(&h, &u, &malleated(&good), Error::InvalidSignature);
}

#[test]
fn malformed_images_are_invalid_argument() {
    let h = Harness::new();
    let u = h.boot_app();
    // Not an image at all.
    let garbage: Vec<u8> = (0..4000u32).map(|i| (i * 7 + 3) as u8).collect();
    expect_failed(&h, &u, &garbage, Error::InvalidArgument);
    // A header claiming more than the slot holds.
    let mut huge = Img::new(v(1, 1), 5000).build();
    huge[12..16].copy_from_slice(&(70_000u32).to_le_bytes());
    expect_failed(&h, &u, &huge, Error::InvalidArgument);
    // Truncated: the TLV area was never written (reads as erased flash).
    let good = Img::new(v(1, 1), 5000).build();
    expect_failed(&h, &u, &good[..5000], Error::InvalidArgument);
    // Nothing written at all.
    expect_failed(&h, &u, &[], Error::InvalidArgument);
}

#[test]
fn a_lower_security_counter_is_not_permitted() {
    let h = Harness::new();
    h.raise_counter(0, 5);
    let u = h.boot_app();
    expect_failed(
        &h,
        &u,
        &Img::new(v(2, 0), 3000).counter(4).build(),
        Error::NotPermitted,
    );
    // No counter TLV counts as 0.
    expect_failed(
        &h,
        &u,
        &Img::new(v(2, 0), 3000).build(),
        Error::NotPermitted,
    );
    // Equal and higher are fine.
    for c in [5, 6] {
        let img = Img::new(v(2, 0), 3000).counter(c).build();
        assert_eq!(download(&u, 0, &img), Ok(Success::Done));
        run(u.cancel(0)).unwrap();
        run(u.clean(0)).unwrap();
    }
    // With nothing stored, an image without a counter passes.
    let h = Harness::new();
    let u = h.boot_app();
    assert_eq!(
        download(&u, 0, &Img::new(v(2, 0), 3000).build()),
        Ok(Success::Done)
    );
}

#[test]
fn a_downgrade_is_not_permitted() {
    let h = Harness::new();
    h.install_active(0, &Img::new(ImageVersion::new(2, 0, 3, 7), 3000).build());
    let u = h.boot_app();
    assert_eq!(info(&u, 0).version, ImageVersion::new(2, 0, 3, 7));
    expect_failed(
        &h,
        &u,
        &Img::new(ImageVersion::new(2, 0, 2, 99), 3000).build(),
        Error::NotPermitted,
    );
    expect_failed(
        &h,
        &u,
        &Img::new(v(1, 9), 3000).build(),
        Error::NotPermitted,
    );
    // The same version (re-install) and a newer one are allowed; the build number is ignored
    // by default (MCUboot's default).
    for ver in [
        ImageVersion::new(2, 0, 3, 7),
        ImageVersion::new(2, 0, 3, 1),
        ImageVersion::new(2, 1, 0, 0),
    ] {
        assert_eq!(
            download(&u, 0, &Img::new(ver, 3000).build()),
            Ok(Success::Done),
            "{ver:?}"
        );
        run(u.cancel(0)).unwrap();
        run(u.clean(0)).unwrap();
    }
    drop(u);

    // With BuildNumber::Compare the build number counts.
    let u: Svc = run(Updater::new(
        h.flash.clone(),
        Config {
            build_number: BuildNumber::Compare,
            ..config()
        },
        h.resets.clone(),
        StoredCounters,
    ))
    .unwrap();
    expect_failed(
        &h,
        &u,
        &Img::new(ImageVersion::new(2, 0, 3, 6), 3000).build(),
        Error::NotPermitted,
    );
}

#[test]
fn dependencies_are_not_checked_at_finish() {
    let h = Harness::new();
    let u = h.boot_app();
    let deps = [Dependency {
        component: 1,
        min_version: v(9, 0),
    }];
    let img = Img::new(v(1, 1), 3000).deps(&deps).build();
    assert_eq!(download(&u, 0, &img), Ok(Success::Done));
    assert_eq!(state(&u, 0), State::Candidate);
}

#[test]
fn a_dependency_on_a_component_the_device_lacks_is_refused_at_finish() {
    let h = Harness::new();
    let u = h.boot_app();
    // Component 5 is not in the layout: no install could ever meet this dependency.
    let deps = [Dependency {
        component: 5,
        min_version: v(1, 0),
    }];
    let img = Img::new(v(1, 1), 3000).deps(&deps).build();
    assert_eq!(download(&u, 0, &img), Err(Error::InvalidArgument));
    let i = info(&u, 0);
    assert_eq!(
        (i.state, i.error),
        (State::Failed as u8, ERROR_UNKNOWN_DEPENDENCY)
    );
    // Durable, and install has nothing to act on.
    let again = Harness {
        flash: h.flash.clone(),
        resets: h.resets.clone(),
    }
    .boot_app();
    let j = info(&again, 0);
    assert_eq!(
        (j.state, j.error),
        (State::Failed as u8, ERROR_UNKNOWN_DEPENDENCY)
    );
    assert_eq!(run(again.install()), BAD_STATE);
    // clean, then the same image without the dependency goes through.
    assert_eq!(run(again.clean(0)), Ok(Success::Done));
    let good = Img::new(v(1, 1), 3000).build();
    assert_eq!(download(&again, 0, &good), Ok(Success::Done));
}

#[test]
fn an_image_for_another_device_is_not_permitted() {
    let vid = [0x5au8; 16];
    let cid = [0xc1u8; 16];
    let h = Harness::new();
    let u: Svc = run(Updater::new(
        h.flash.clone(),
        Config {
            keys: config().keys.with_identity(ImageIdentity {
                vendor_id: Some(vid),
                class_id: Some(cid),
            }),
            ..config()
        },
        h.resets.clone(),
        StoredCounters,
    ))
    .unwrap();
    // Another class, no class, no ids at all: authentic but not for this device.
    for img in [
        Img::new(v(1, 1), 3000).ids(Some(vid), Some([0xc2; 16])),
        Img::new(v(1, 1), 3000).ids(Some(vid), None),
        Img::new(v(1, 1), 3000),
    ] {
        assert_eq!(download(&u, 0, &img.build()), Err(Error::NotPermitted));
        let i = info(&u, 0);
        assert_eq!(
            (i.state, i.error),
            (State::Failed as u8, ERROR_WRONG_DEVICE)
        );
        run(u.clean(0)).unwrap();
    }
    // This device's ids: accepted.
    let mine = Img::new(v(1, 1), 3000).ids(Some(vid), Some(cid)).build();
    assert_eq!(download(&u, 0, &mine), Ok(Success::Done));
    // A device configured without ids accepts both kinds (as before).
    let h = Harness::new();
    let u = h.boot_app();
    assert_eq!(download(&u, 0, &mine), Ok(Success::Done));
}

#[test]
fn cancel_records_why_the_component_failed() {
    let h = Harness::new();
    let u = h.boot_app();
    let img = Img::new(v(1, 1), 3000).build();
    // From WRITING.
    run(u.start(0, None)).unwrap();
    run(u.write(0, 0, &img[..1024])).unwrap();
    run(u.cancel(0)).unwrap();
    let i = info(&u, 0);
    assert_eq!((i.state, i.error), (State::Failed as u8, ERROR_CANCELLED));
    run(u.clean(0)).unwrap();
    // From CANDIDATE, and durable.
    assert_eq!(download(&u, 0, &img), Ok(Success::Done));
    run(u.cancel(0)).unwrap();
    drop(u);
    let again = h.boot_app();
    let j = info(&again, 0);
    assert_eq!((j.state, j.error), (State::Failed as u8, ERROR_CANCELLED));
}

#[test]
fn a_second_key_in_the_ring_is_accepted() {
    let h = Harness::new();
    let keys: &'static [PublicKey] = Box::leak(Box::new([
        other_signer().public_key(),
        signer().public_key(),
    ]));
    let u: Svc = run(Updater::new(
        h.flash.clone(),
        Config {
            keys: KeyRing::new(keys),
            ..config()
        },
        h.resets.clone(),
        StoredCounters,
    ))
    .unwrap();
    let img = Img::new(v(1, 1), 3000).build_with(&other_signer());
    assert_eq!(download(&u, 0, &img), Ok(Success::Done));
}

#[test]
fn a_read_failure_during_finish_keeps_writing() {
    let h = Harness::new();
    let u = h.boot_app();
    let img = Img::new(v(1, 1), 3000).build();
    run(async {
        u.start(0, None).await?;
        send(&u, 0, &img, 0).await
    })
    .unwrap();
    h.flash.ctl.fail_reads.set(true);
    assert_eq!(run(u.finish(0)), Err(Error::StorageFailure));
    h.flash.ctl.fail_reads.set(false);
    assert_eq!(state(&u, 0), State::Writing);
    assert_eq!(run(u.finish(0)), Ok(Success::Done));
}

#[test]
fn record_write_failures_are_storage_failures() {
    let img = Img::new(v(1, 1), 3000).build();
    // finish: the CANDIDATE record cannot be written → stays WRITING.
    let h = Harness::new();
    let u = h.boot_app();
    run(async {
        u.start(0, None).await?;
        send(&u, 0, &img, 0).await
    })
    .unwrap();
    h.flash.cut_next();
    assert_eq!(run(u.finish(0)), Err(Error::StorageFailure));
    h.flash.power_on();
    assert_eq!(state(&u, 0), State::Writing);
    assert_eq!(run(u.finish(0)), Ok(Success::Done));
    // A verification failure whose FAILED record cannot be written: storage failure, WRITING.
    let h2 = Harness::new();
    let u2 = h2.boot_app();
    let mut bad = img.clone();
    bad[100] ^= 1;
    run(async {
        u2.start(0, None).await?;
        send(&u2, 0, &bad, 0).await
    })
    .unwrap();
    h2.flash.cut_next();
    assert_eq!(run(u2.finish(0)), Err(Error::StorageFailure));
    h2.flash.power_on();
    assert_eq!(state(&u2, 0), State::Writing);
    assert_eq!(run(u2.finish(0)), Err(Error::InvalidSignature));

    // start, cancel, clean.
    let h = Harness::new();
    let u = h.boot_app();
    h.flash.cut_next();
    assert_eq!(run(u.start(0, None)), Err(Error::StorageFailure));
    h.flash.power_on();
    assert_eq!(state(&u, 0), State::Ready);
    run(u.start(0, None)).unwrap();
    run(u.write(0, 0, &img[..64])).unwrap();
    h.flash.cut_next();
    assert_eq!(run(u.cancel(0)), Err(Error::StorageFailure));
    h.flash.power_on();
    assert_eq!(state(&u, 0), State::Writing);
    run(u.cancel(0)).unwrap();
    h.flash.cut_next();
    assert_eq!(
        run(u.clean(0)),
        Err(Error::StorageFailure),
        "the erase fails"
    );
    h.flash.power_on();
    assert_eq!(state(&u, 0), State::Failed);
    assert_eq!(run(u.clean(0)), Ok(Success::Done));
    assert_eq!(state(&u, 0), State::Ready);
}

#[test]
fn query_reports_the_staged_image_from_candidate_on() {
    let h = Harness::new();
    let u = h.boot_app();
    let img = Img::new(v(1, 1), 3000).build();
    let check = |u: &Svc, staged: bool| {
        let i = info(u, 0);
        assert_eq!(i.max_size, 16 * 4096);
        assert_eq!(i.location, 0x6000);
        assert_eq!(i.flags, 0, "non-volatile staging, no encryption");
        if staged {
            assert_eq!(i.impl_.staged_size as usize, img.len());
            assert_eq!(i.impl_.staged_digest, digest(&img));
        } else {
            assert_eq!((i.impl_.staged_size, i.impl_.staged_digest), (0, [0; 32]));
        }
    };
    check(&u, false);
    run(u.start(0, None)).unwrap();
    run(send(&u, 0, &img, 0)).unwrap();
    check(&u, false);
    run(u.finish(0)).unwrap();
    check(&u, true);
    // Cancelled from CANDIDATE: FAILED, error ERROR_CANCELLED, the image is still described.
    run(u.cancel(0)).unwrap();
    let i = info(&u, 0);
    assert_eq!((i.state, i.error), (State::Failed as u8, ERROR_CANCELLED));
    check(&u, true);
    run(u.clean(0)).unwrap();
    check(&u, false);
    // STAGED, TRIAL, UPDATED keep describing it.
    download(&u, 0, &img).unwrap();
    run(u.install()).unwrap();
    check(&u, true);
    drop(u);
    h.boot(fwu_shared::state::Phase::Trial, 0);
    let u = h.boot_app();
    check(&u, true);
    assert_eq!(
        info(&u, 0).version,
        v(1, 1),
        "TRIAL: the new image is active"
    );
    run(u.accept()).unwrap();
    check(&u, true);
    run(u.clean(0)).unwrap();
    check(&u, false);
    assert_eq!(info(&u, 0).version, v(1, 1));
}
