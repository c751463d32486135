//! Instruction counts of the verification steps on the target CPU (feature `bench`), printed
//! over semihosting as one line of `name=value` pairs:
//!
//! * `verify`: one `VerifyingKey::verify` of the probe image's signature, key already decoded
//!   (SHA-512 of `R || A || M`, reduction mod `L`, `[S]B - [k]A`, compression);
//! * `key_decode`: `VerifyingKey::new` (encoding checks and point decompression);
//! * `verify_strict`: both, as `KeyRing::authenticate` calls them;
//! * `salty_verify`, `salty_key_decode`: salty 0.3.0's `PublicKey::verify` and
//!   `PublicKey::try_from` on the same inputs (the verifier fwu-shared used before);
//! * `sha256_per_byte_x100`: SHA-256 (fwu-shared's `image::sha256`, as the scanner uses it) over
//!   the probe image, instructions per byte times 100;
//! * `sha2_per_byte_x100`: the same with the `sha2` 0.10 crate (default soft backend), which the
//!   scanner used before, for comparison.
//!
//! Time is SysTick at the core clock: under QEMU's `-icount shift=0` one instruction takes one
//! virtual nanosecond, so instructions = cycles * 10^9 / core clock (resolution: 40
//! instructions on mps2-an386, 50 on mps2-an505). Each figure is the mean of [`REPEAT`] runs.
//!
//! Before timing, the probe checks both verifiers against `CASES`, whose verdicts `build.rs`
//! computed on the host: the target's field arithmetic (salty's assembly on Cortex-M4/M33) is
//! not the host's (TweetNaCl's portable code), so this is the on-target half of the
//! differential test in `shared/tests/ed25519_differential.rs`. It also checks fwu-shared's
//! SHA-256 against `sha2` on the target (every prefix of the image up to 300 bytes, then the
//! whole image fed in uneven pieces), the on-target half of `shared/tests/sha256.rs`.

use super::{opaque, CASES, IMAGE, KEY, SYSCLK_HZ};
use core::hint::black_box;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_semihosting::hprintln;
use fwu_shared::image::ed25519::{verify_strict, VerifyingKey};
use fwu_shared::image::sha256::{sha256, Sha256};
use fwu_shared::image::{scan_slice, ImageError};
use sha2::Digest;

/// Runs averaged per figure.
const REPEAT: u32 = 4;

/// SysTick as a free-running 24-bit down-counter at the core clock.
fn start_counter() {
    // SAFETY: the probe owns SysTick; nothing else runs.
    let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(0x00ff_ffff);
    syst.clear_current();
    syst.enable_counter();
}

/// Mean instructions of `f` over [`REPEAT`] runs (each run well under the counter's 2^24
/// cycles, 671 M instructions at 25 MHz).
fn measure<T>(mut f: impl FnMut() -> T) -> u64 {
    let start = cortex_m::peripheral::SYST::get_current();
    for _ in 0..REPEAT {
        black_box(f());
    }
    let cycles = start.wrapping_sub(cortex_m::peripheral::SYST::get_current()) & 0x00ff_ffff;
    u64::from(cycles) * 1_000_000_000 / SYSCLK_HZ / u64::from(REPEAT)
}

/// The strict verdict coded as `build.rs` codes it.
fn code(verdict: Result<(), ImageError>) -> u8 {
    match verdict {
        Ok(()) => 0,
        Err(ImageError::BadSignature) => 1,
        Err(ImageError::NonCanonicalSignature) => 2,
        Err(ImageError::InvalidBuiltInKey) => 3,
        Err(_) => 4,
    }
}

/// salty's own verdict: the key decodes and `PublicKey::verify` accepts.
fn salty_accepts(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    salty::PublicKey::try_from(key)
        .and_then(|pk| pk.verify(msg, &salty::Signature::from(sig)))
        .is_ok()
}

/// Both verifiers on the target agree with the host on every case of `CASES`.
fn differential() -> bool {
    let mut ok = true;
    for (i, (key, msg, sig, strict, lenient)) in CASES.iter().enumerate() {
        let got = code(verify_strict(key, msg, sig));
        if got != *strict {
            hprintln!(
                "case {}: strict verdict {} on target, {} on host",
                i,
                got,
                strict
            );
            ok = false;
        }
        if salty_accepts(key, msg, sig) != *lenient {
            hprintln!("case {}: salty verdict differs between target and host", i);
            ok = false;
        }
    }
    ok
}

/// fwu-shared's SHA-256 agrees with `sha2` on the target: one-shot on every prefix of `image` up
/// to 300 bytes, and streaming over the whole image in pieces of 1 to 157 bytes.
fn sha256_matches_sha2(image: &[u8]) -> bool {
    let reference = |data: &[u8]| -> [u8; 32] { sha2::Sha256::digest(data).into() };
    let mut ok = true;
    for len in 0..=300 {
        let prefix = image.get(..len).unwrap_or(image);
        if sha256(prefix) != reference(prefix) {
            hprintln!("sha256: length {} differs from sha2", len);
            ok = false;
        }
    }
    let mut hasher = Sha256::new();
    let (mut rest, mut piece) = (image, 1);
    while !rest.is_empty() {
        let (head, tail) = rest.split_at(piece.min(rest.len()));
        hasher.update(head);
        rest = tail;
        piece = piece * 5 % 157 + 1;
    }
    if hasher.finalize() != reference(image) {
        hprintln!("sha256: the image fed in pieces differs from sha2");
        ok = false;
    }
    ok
}

/// Check, measure and print; false when a check failed.
pub fn run() -> bool {
    if !differential() || !sha256_matches_sha2(opaque(&IMAGE)) {
        return false;
    }
    let Some(key) = opaque(&KEY).first_chunk::<32>().copied() else {
        return false;
    };
    let image = opaque(&IMAGE);
    let Ok(scanned) = scan_slice(image, u32::try_from(image.len()).unwrap_or(0)) else {
        return false;
    };
    let (digest, signature) = (scanned.digest, scanned.signature);
    let Ok(vk) = VerifyingKey::new(&key) else {
        return false;
    };
    let Ok(pk) = salty::PublicKey::try_from(&key) else {
        return false;
    };
    let salty_sig = salty::Signature::from(&signature);
    if vk.verify(&digest, &signature).is_err() || pk.verify(&digest, &salty_sig).is_err() {
        hprintln!("the probe image's signature is refused");
        return false;
    }

    start_counter();
    let verify = measure(|| vk.verify(black_box(&digest), black_box(&signature)));
    let key_decode = measure(|| VerifyingKey::new(black_box(&key)).is_ok());
    let strict = measure(|| verify_strict(black_box(&key), black_box(&digest), &signature));
    let salty_verify = measure(|| pk.verify(black_box(&digest), black_box(&salty_sig)));
    let salty_key_decode = measure(|| salty::PublicKey::try_from(black_box(&key)).is_ok());
    let per_byte_x100 = |instructions: u64| instructions * 100 / image.len().max(1) as u64;
    let sha256 = per_byte_x100(measure(|| sha256(black_box(image))));
    let sha2 = per_byte_x100(measure(|| sha2::Sha256::digest(black_box(image))));
    hprintln!(
        "verify-probe: instructions verify={} key_decode={} verify_strict={} salty_verify={} salty_key_decode={} sha256_per_byte_x100={} sha2_per_byte_x100={} cases={}",
        verify,
        key_decode,
        strict,
        salty_verify,
        salty_key_decode,
        sha256,
        sha2,
        CASES.len()
    );
    true
}
