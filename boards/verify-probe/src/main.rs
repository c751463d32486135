//! Authenticates a signed image on the target CPU and reports through semihosting: exit 0 when
//! the valid image verifies and the tampered one is refused with `HashMismatch`.
//!
//! Features `only-header` and `only-scan` link a subset of the verification path, so that
//! `scripts/size-verifier.sh` can attribute code to the scanner + SHA-256 and to Ed25519;
//! `salty-verify` links the path with salty 0.3.0's own Ed25519 verification instead of
//! fwu-shared's, for comparison. Feature `bench` (`scripts/verify-bench.sh`) also prints what
//! the steps cost in instructions and checks both verifiers on the target (see [`bench`]).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

#[cfg(feature = "bench")]
mod bench;

/// A test vector seen through volatile reads, so the optimizer cannot constant-fold the
/// verification of data it would otherwise know at compile time.
fn opaque(data: &'static [u8]) -> &'static [u8] {
    // SAFETY: pointer and length come from a live 'static slice; the volatile reads only hide
    // their values from the optimizer.
    unsafe {
        let ptr = core::ptr::read_volatile(&data.as_ptr());
        let len = core::ptr::read_volatile(&data.len());
        core::slice::from_raw_parts(ptr, len)
    }
}

#[cfg(feature = "only-header")]
fn run() -> bool {
    // Baseline: touch the vectors without verifying anything.
    let touched = [opaque(&IMAGE), opaque(&TAMPERED), opaque(&KEY)];
    touched.iter().all(|v| !v.is_empty())
}

#[cfg(feature = "only-scan")]
fn run() -> bool {
    use fwu_shared::image::scan_slice;
    let image = opaque(&IMAGE);
    let slot = u32::try_from(image.len()).unwrap_or(0);
    let _ = (opaque(&TAMPERED), opaque(&KEY));
    scan_slice(image, slot).is_ok_and(|s| s.digest == s.hash_tlv)
}

#[cfg(feature = "salty-verify")]
fn run() -> bool {
    // What `KeyRing::authenticate` did before fwu-shared had its own double-scalar
    // multiplication: the same checks, then salty's `PublicKey::verify`.
    use fwu_shared::image::ed25519::{is_canonical_point, is_canonical_scalar, is_small_order};
    use fwu_shared::image::{scan_slice, ImageError, KeyRing, PublicKey, ScannedImage};
    let key = opaque(&KEY).first_chunk::<32>().copied().unwrap_or([0; 32]);
    let keys = [PublicKey(key)];
    let ring = KeyRing::new(&keys);
    let authenticate = |s: &ScannedImage| -> Result<usize, ImageError> {
        if s.digest != s.hash_tlv {
            return Err(ImageError::HashMismatch);
        }
        let index = ring.find(&s.key_hash).ok_or(ImageError::UnknownKey)?;
        let key = keys.get(index).ok_or(ImageError::UnknownKey)?;
        if !is_canonical_point(&key.0) || is_small_order(&key.0) {
            return Err(ImageError::InvalidBuiltInKey);
        }
        let (r, sig_s) = s.signature.split_at(32);
        let r: &[u8; 32] = r.try_into().map_err(|_| ImageError::BadSignature)?;
        let sig_s: &[u8; 32] = sig_s.try_into().map_err(|_| ImageError::BadSignature)?;
        if !is_canonical_scalar(sig_s) || !is_canonical_point(r) || is_small_order(r) {
            return Err(ImageError::NonCanonicalSignature);
        }
        salty::PublicKey::try_from(&key.0)
            .map_err(|_| ImageError::InvalidBuiltInKey)?
            .verify(&s.digest, &salty::Signature::from(&s.signature))
            .map_err(|_| ImageError::BadSignature)?;
        Ok(index)
    };
    let verify = |image: &[u8]| {
        let slot = u32::try_from(image.len()).unwrap_or(0);
        scan_slice(image, slot).and_then(|s| authenticate(&s))
    };
    let good = verify(opaque(&IMAGE)) == Ok(0);
    if !good {
        hprintln!("valid image refused");
    }
    let bad = verify(opaque(&TAMPERED)) == Err(ImageError::HashMismatch);
    if !bad {
        hprintln!("tampered image not refused with HashMismatch");
    }
    good && bad
}

#[cfg(not(any(
    feature = "only-header",
    feature = "only-scan",
    feature = "salty-verify"
)))]
fn run() -> bool {
    use fwu_shared::image::{scan_slice, ImageError, KeyRing, PublicKey};
    let key = opaque(&KEY).first_chunk::<32>().copied().unwrap_or([0; 32]);
    let keys = [PublicKey(key)];
    let ring = KeyRing::new(&keys);
    let verify = |image: &[u8]| {
        let slot = u32::try_from(image.len()).unwrap_or(0);
        scan_slice(image, slot).and_then(|s| ring.authenticate(&s))
    };
    // No formatting of the results: core::fmt would inflate the measured size.
    let good = verify(opaque(&IMAGE)) == Ok(0);
    if !good {
        hprintln!("valid image refused");
    }
    let bad = verify(opaque(&TAMPERED)) == Err(ImageError::HashMismatch);
    if !bad {
        hprintln!("tampered image not refused with HashMismatch");
    }
    good && bad
}

#[entry]
fn main() -> ! {
    let ok = run();
    #[cfg(feature = "bench")]
    let ok = ok && bench::run();
    if ok {
        hprintln!("verify-probe: PASS");
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("verify-probe: FAIL");
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
