//! Differential test of the strict verifier (`fwu_shared::image::ed25519`, a variable-time
//! double-scalar multiplication of its own) against salty 0.3.0's `PublicKey::verify` (two
//! constant-time ladders), on random keys, messages and signatures, valid and corrupted.
//!
//! The verdicts must be the same, except where the strict rules refuse on purpose what salty
//! accepts; [`check`] asserts exactly that:
//!
//! * a key breaking the key rules (non-canonical, small order) is `InvalidBuiltInKey`, and so is
//!   a key salty cannot decode;
//! * otherwise a signature breaking the signature rules (`S ≥ L`, non-canonical or small-order
//!   `R`) is `NonCanonicalSignature`, whatever salty says;
//! * otherwise the verdict is salty's: `Ok` when salty accepts, `BadSignature` when not.
//!
//! `differential_2000_cases` runs in every `cargo test`; the long run is ignored by default:
//!
//! ```sh
//! cd shared && cargo test --release --test ed25519_differential -- --ignored --nocapture
//! # FWU_DIFF_CASES=100000 for a shorter run (default 1,000,000), FWU_DIFF_SEED to vary it
//! ```
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use fwu_shared::image::ed25519::{
    is_canonical_point, is_canonical_scalar, is_small_order, malleated, verify_strict, SMALL_ORDER,
};
use fwu_shared::image::ImageError;
use salty::{CompressedY, EdwardsPoint, Scalar, Sha512};
use std::collections::BTreeMap;

mod common;
use common::Rng;

/// A uniformly random scalar below `L`.
fn scalar(rng: &mut Rng) -> Scalar {
    Scalar::from_u512_le(&rng.bytes::<64>())
}

/// The outcome counts of a run, by kind of case and verdict.
#[derive(Default)]
struct Stats(BTreeMap<(&'static str, &'static str), u64>);

impl Stats {
    fn add(&mut self, kind: &'static str, outcome: &'static str) {
        *self.0.entry((kind, outcome)).or_default() += 1;
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    fn count(&self, outcome: &str) -> u64 {
        self.0
            .iter()
            .filter(|((_, o), _)| *o == outcome)
            .map(|(_, n)| n)
            .sum()
    }

    fn merge(&mut self, other: Stats) {
        for (k, n) in other.0 {
            *self.0.entry(k).or_default() += n;
        }
    }
}

/// `k = SHA-512(R || A || M) mod L`.
fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    Scalar::from_u512_le(&Sha512::new().updated(r).updated(a).updated(msg).finalize())
}

/// `R || S` with `S = r + k a` under an arbitrary public key `a_enc` (which need not be `[a]B`).
fn sign_raw(r_enc: &[u8; 32], r: &Scalar, a: &Scalar, a_enc: &[u8; 32], msg: &[u8]) -> [u8; 64] {
    let s = r + &(&challenge(r_enc, a_enc, msg) * a);
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r_enc);
    sig[32..].copy_from_slice(&s.0);
    sig
}

/// `y + p` with the sign bit `sign`, for the `y < 19` that have such an alias, as bytes.
fn alias(y: u8, sign: bool) -> [u8; 32] {
    let mut out = [0xffu8; 32];
    out[0] = 0xed + y; // p = 2^255 - 19 ends in 0xed; y < 19 does not carry
    out[31] = 0x7f | if sign { 0x80 } else { 0 };
    out
}

/// Compare both verifiers on one case and record the outcome; panics on a forbidden
/// difference.
fn check(stats: &mut Stats, kind: &'static str, key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) {
    let ours = verify_strict(key, msg, sig);
    let salty_key = salty::PublicKey::try_from(key);
    let salty_ok = salty_key
        .as_ref()
        .is_ok_and(|pk| pk.verify(msg, &salty::Signature::from(sig)).is_ok());
    let r: &[u8; 32] = sig[..32].try_into().unwrap();
    let s: &[u8; 32] = sig[32..].try_into().unwrap();
    let key_rules = is_canonical_point(key) && !is_small_order(key);
    let sig_rules = is_canonical_scalar(s) && is_canonical_point(r) && !is_small_order(r);
    let context = || format!("{kind}: key {key:02x?} msg {msg:02x?} sig {sig:02x?}");
    let outcome = if !key_rules || salty_key.is_err() {
        assert_eq!(ours, Err(ImageError::InvalidBuiltInKey), "{}", context());
        if salty_ok {
            "refused on purpose (key rule), salty accepts"
        } else {
            "both refuse"
        }
    } else if !sig_rules {
        assert_eq!(
            ours,
            Err(ImageError::NonCanonicalSignature),
            "{}",
            context()
        );
        if salty_ok {
            "refused on purpose (signature rule), salty accepts"
        } else {
            "both refuse"
        }
    } else if salty_ok {
        assert_eq!(ours, Ok(()), "{}", context());
        "both accept"
    } else {
        assert_eq!(ours, Err(ImageError::BadSignature), "{}", context());
        "both refuse"
    };
    stats.add(kind, outcome);
}

/// One random signature and its variants: about 13 cases.
fn round(rng: &mut Rng, stats: &mut Stats) {
    let kp = salty::Keypair::from(&rng.bytes::<32>());
    let key = kp.public.to_bytes();
    let len = [0, 1, 32, 32, 32, 64, 100][rng.below(7)];
    let msg: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    let sig = kp.sign(&msg).to_bytes();
    check(stats, "valid", &key, &msg, &sig);

    let mut bad = sig;
    bad[rng.below(32)] ^= 1 << rng.below(8);
    check(stats, "bit flip in R", &key, &msg, &bad);

    let mut bad = sig;
    bad[32 + rng.below(32)] ^= 1 << rng.below(8);
    check(stats, "bit flip in S", &key, &msg, &bad);

    let mut other = msg.clone();
    if other.is_empty() {
        other.push(rng.next() as u8);
    } else {
        let at = rng.below(other.len());
        other[at] ^= 1 << rng.below(8);
    }
    check(stats, "bit flip in message", &key, &other, &sig);

    let mut bad_key = key;
    bad_key[rng.below(32)] ^= 1 << rng.below(8);
    check(stats, "bit flip in key", &bad_key, &msg, &sig);

    if let Some(twin) = malleated(&sig) {
        check(stats, "S + L", &key, &msg, &twin);
    }

    let mut bad = sig;
    bad[32..].copy_from_slice(&rng.bytes::<32>());
    check(stats, "random S", &key, &msg, &bad);

    let mut bad = sig;
    bad[..32].copy_from_slice(&rng.bytes::<32>());
    check(stats, "random R", &key, &msg, &bad);

    check(stats, "random key", &rng.bytes::<32>(), &msg, &sig);

    let mut bad = sig;
    bad[..32].copy_from_slice(&alias(rng.below(19) as u8, rng.below(2) == 1));
    check(stats, "non-canonical R", &key, &msg, &bad);
    check(
        stats,
        "non-canonical key",
        &alias(rng.below(19) as u8, rng.below(2) == 1),
        &msg,
        &sig,
    );

    // Signatures made with an arbitrary scalar `a` and nonce `r`.
    let a = scalar(rng);
    let b = EdwardsPoint::basepoint();
    let a_point = &a * &b;
    let a_enc = a_point.compressed().0;
    let r = scalar(rng);
    let r_enc = (&r * &b).compressed().0;
    check(
        stats,
        "valid, raw signer",
        &a_enc,
        &msg,
        &sign_raw(&r_enc, &r, &a, &a_enc, &msg),
    );

    // A small-order R with S = k a: [S]B - [k]A = identity, so salty accepts R = identity.
    let small = SMALL_ORDER[rng.below(SMALL_ORDER.len())];
    let zero = Scalar::from(0u64);
    check(
        stats,
        "small-order R, S = k a",
        &a_enc,
        &msg,
        &sign_raw(&small, &zero, &a, &a_enc, &msg),
    );

    // A mixed-order key A' = A + T (T of order 2, 4 or 8) signed with a: the cofactorless
    // equation holds exactly when the order of T divides k, and both verifiers must agree.
    let torsion = CompressedY(SMALL_ORDER[[2, 4, 5, 6, 7, 8, 9][rng.below(7)]])
        .decompressed()
        .unwrap();
    let twisted = (&a_point + &torsion).compressed().0;
    check(
        stats,
        "mixed-order key",
        &twisted,
        &msg,
        &sign_raw(&r_enc, &r, &a, &twisted, &msg),
    );
}

/// Run rounds until `cases` cases, on `threads` threads, from `seed`.
fn run(cases: u64, threads: u64, seed: u64) -> Stats {
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ t.wrapping_mul(0xd1b5_4a32_d192_ed03));
                let mut stats = Stats::default();
                while stats.total() < cases / threads {
                    round(&mut rng, &mut stats);
                }
                stats
            })
        })
        .collect();
    let mut all = Stats::default();
    for w in workers {
        all.merge(w.join().unwrap());
    }
    all
}

fn report(stats: &Stats) {
    for ((kind, outcome), n) in &stats.0 {
        println!("{n:>9}  {kind}: {outcome}");
    }
    println!("{:>9}  cases in all", stats.total());
}

/// Every kind of case shows up, valid signatures are accepted, and the on-purpose differences
/// (S + L, small-order R = identity) really occur.
fn assert_coverage(stats: &Stats) {
    let seen = |kind: &str, outcome: &str| stats.0.get(&(kind, outcome)).copied().unwrap_or(0);
    assert!(seen("valid", "both accept") > 0);
    assert!(seen("valid, raw signer", "both accept") > 0);
    assert!(
        seen(
            "S + L",
            "refused on purpose (signature rule), salty accepts"
        ) > 0
    );
    assert!(
        seen(
            "small-order R, S = k a",
            "refused on purpose (signature rule), salty accepts"
        ) > 0
    );
    assert!(seen("mixed-order key", "both accept") > 0);
    assert!(seen("mixed-order key", "both refuse") > 0);
    assert!(stats.count("both refuse") > stats.count("both accept"));
}

#[test]
fn differential_2000_cases() {
    let stats = run(2000, 2, 0x5eed);
    report(&stats);
    assert!(stats.total() >= 2000);
    assert_coverage(&stats);
}

/// The long run (see the module docs for the command).
#[test]
#[ignore = "long: about 10^6 cases; run with --release -- --ignored"]
fn differential_long() {
    let cases = std::env::var("FWU_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000u64);
    let seed = std::env::var("FWU_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x0123_4567_89ab_cdefu64);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get() as u64);
    let start = std::time::Instant::now();
    let stats = run(cases, threads, seed);
    report(&stats);
    println!(
        "{} cases on {threads} threads in {:.0?}",
        stats.total(),
        start.elapsed()
    );
    assert!(stats.total() >= cases);
    assert_coverage(&stats);
}
