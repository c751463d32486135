//! Strict Ed25519 verification (RFC 8032 §5.1.7 with the encoding rules salty 0.3.0 leaves
//! out), computed with a variable-time double-scalar multiplication over salty's field
//! arithmetic.
//!
//! # Acceptance rules
//!
//! A signature `R || S` over a message `M` by a key `A` is accepted exactly when, in order:
//!
//! 1. the public key `A` is a canonical encoding (`y < p`), is not one of the eight points of
//!    small order, and decodes to a curve point (RFC 8032 §5.1.3; else
//!    [`ImageError::InvalidBuiltInKey`]);
//! 2. the signature's `S` is canonical: `S < L` (RFC 8032 §5.1.7; else
//!    [`ImageError::NonCanonicalSignature`]);
//! 3. the signature's `R` is a canonical encoding and not of small order (an honest signer's
//!    `R = [r]B` never is; this is ed25519-dalek's `verify_strict` rule; else
//!    [`ImageError::NonCanonicalSignature`]);
//! 4. the cofactorless equation holds: `[S]B - [k]A`, with `k = SHA-512(R || A || M) mod L`,
//!    encodes to exactly the signature's 32 `R` bytes, so a non-canonical `R` could never
//!    match (else [`ImageError::BadSignature`]).
//!
//! salty 0.3.0's `PublicKey::verify` takes `S` as 32 raw bytes and never checks `S < L`, so
//! `S + L` of a valid signature verifies too (a second valid signature for any signed image,
//! which RFC 8032 §5.1.7 and §8.4 forbid); its point decoding also accepts a `y` coordinate
//! `≥ p`. Apart from what rules 1–3 refuse on purpose, the verdicts are salty's (the
//! differential test `shared/tests/ed25519_differential.rs` checks that).
//!
//! # Computation
//!
//! [`VerifyingKey::new`] decodes `A` once (a square root: 251 squarings, about 53,000
//! instructions on Cortex-M4). [`VerifyingKey::verify`] hashes with salty's SHA-512, reduces
//! `k` modulo `L` (`scalar`), and computes `[S]B - [k]A` in one pass (`straus`): signed windows
//! (wNAF) of width 3 for both scalars, 2 odd multiples each of `B` and `-A` computed per
//! verification (512 bytes of stack; a flash table of `B`'s multiples was 7 % faster for 700
//! bytes more of the bootloader's 16 KiB), about 253 doublings (4 squarings each, `curve`) and
//! 126 additions, then one inversion to encode the result. On QEMU's Cortex-M4 (mps2-an386)
//! that is about 1.0 M instructions per verification against 3.7 M for salty's `verify`, whose
//! two constant-time 256-step ladders do two unified additions per bit each
//! (`scripts/verify-bench.sh`), in less code (`scripts/size-verifier.sh`).
//!
//! # Variable time
//!
//! The multiplication's running time depends on the digits of `S` and `k` (which additions
//! happen) and the checks return early. That leaks nothing: every input of a verification — the
//! public key, the signature, the message (an image digest) — is public, and no secret is
//! involved. This module must not be used with secret scalars (signing), which it never is.
//!
//! `docs/signatures.md` records the upstream defect and these choices.

use super::ImageError;

mod curve;
mod scalar;
mod straus;

/// The group order `L = 2^252 + 27742317777372353535851937790883648493`, little-endian.
pub const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The field prime `p = 2^255 - 19`, little-endian.
const P: [u8; 32] = [
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
];

/// The canonical encodings of the eight points of small order (the torsion subgroup), plus the
/// two sign-flipped encodings of the points with `x = 0` (identity and order 2), which decoders
/// that skip RFC 8032's `x = 0` check accept. The unit test `small_order_table_is_the_torsion`
/// recomputes the table from curve arithmetic.
pub const SMALL_ORDER: [[u8; 32]; 10] = [
    // identity (0, 1), and its sign-flipped encoding
    hex32("0100000000000000000000000000000000000000000000000000000000000000"),
    hex32("0100000000000000000000000000000000000000000000000000000000000080"),
    // order 2: (0, -1), and its sign-flipped encoding
    hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
    // order 4: (±sqrt(-1), 0)
    hex32("0000000000000000000000000000000000000000000000000000000000000000"),
    hex32("0000000000000000000000000000000000000000000000000000000000000080"),
    // order 8
    hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
];

/// Decode 64 hex digits at compile time (for the tables above). Only ever evaluated in const
/// context, where an out-of-range index or a bad digit is a compile error, never a runtime panic.
#[allow(clippy::indexing_slicing, clippy::panic)]
const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lower-case hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 64, "need 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// Whether the little-endian 256-bit integer `x` is below `bound`.
fn less_than(x: &[u8; 32], bound: &[u8; 32]) -> bool {
    for (a, b) in x.iter().rev().zip(bound.iter().rev()) {
        if a != b {
            return a < b;
        }
    }
    false
}

/// Whether `s` is a canonical scalar, `s < L` (RFC 8032 §5.1.7).
pub fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    less_than(s, &L)
}

/// Whether `point` is a canonical point encoding: its `y` (the low 255 bits) is below `p`
/// (RFC 8032 §5.1.3, step 1). The `x = 0` sign case is covered by [`is_small_order`].
pub fn is_canonical_point(point: &[u8; 32]) -> bool {
    let mut y = *point;
    if let Some(top) = y.last_mut() {
        *top &= 0x7f;
    }
    less_than(&y, &P)
}

/// The `y` coordinates of the points of small order: [`SMALL_ORDER`] holds each with both
/// sign bits, so comparing the low 255 bits with these five decides membership in half the
/// flash (the unit test `small_order_table_is_the_torsion` checks the pairing).
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    SMALL_ORDER[0],
    SMALL_ORDER[2],
    SMALL_ORDER[4],
    SMALL_ORDER[6],
    SMALL_ORDER[8],
];

/// Whether `point` is one of the encodings in [`SMALL_ORDER`] (a point of small order).
pub fn is_small_order(point: &[u8; 32]) -> bool {
    let mut y = *point;
    if let Some(top) = y.last_mut() {
        *top &= 0x7f;
    }
    SMALL_ORDER_Y.contains(&y)
}

/// A public key that passed the key rules (canonical, not of small order, on the curve), kept
/// decoded: build one per key and boot, and each [`VerifyingKey::verify`] skips the square root
/// that decoding costs.
pub struct VerifyingKey {
    /// The key's encoding, hashed into every `k = SHA-512(R || A || M)`.
    bytes: [u8; 32],
    /// The decoded point `A`.
    point: curve::Point,
}

impl VerifyingKey {
    /// Check and decode the 32-byte public key `bytes`; a key that breaks a rule is
    /// [`ImageError::InvalidBuiltInKey`] (keys are configuration, never image data).
    pub fn new(bytes: &[u8; 32]) -> Result<Self, ImageError> {
        if !is_canonical_point(bytes) || is_small_order(bytes) {
            return Err(ImageError::InvalidBuiltInKey);
        }
        let point = curve::Point::decompress(bytes).ok_or(ImageError::InvalidBuiltInKey)?;
        Ok(VerifyingKey {
            bytes: *bytes,
            point,
        })
    }

    /// Verify `signature` (`R || S`) over `message` under the strict rules of this module: a
    /// non-canonical or small-order `R` or a non-canonical `S` is
    /// [`ImageError::NonCanonicalSignature`], a failing equation [`ImageError::BadSignature`].
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), ImageError> {
        let (r, s) = signature.split_at(32);
        let r: &[u8; 32] = r.try_into().map_err(|_| ImageError::BadSignature)?;
        let s: &[u8; 32] = s.try_into().map_err(|_| ImageError::BadSignature)?;
        if !is_canonical_scalar(s) || !is_canonical_point(r) || is_small_order(r) {
            return Err(ImageError::NonCanonicalSignature);
        }
        let hash = salty::Sha512::new()
            .updated(r)
            .updated(&self.bytes)
            .updated(message)
            .finalize();
        let k = scalar::reduce_wide(&hash);
        match straus::base_minus_key(s, &k, &self.point) {
            Some(computed) if computed.compress() == *r => Ok(()),
            _ => Err(ImageError::BadSignature),
        }
    }
}

/// Fuzz builds (`cfg(fuzzing)`, set by cargo-fuzz) and host simulators (feature
/// `host-verify-memo`, never on a bare-metal target): the equation's verdicts, remembered. One
/// verification costs milliseconds and the fuzzers and fault campaigns verify the same few
/// images again and again; the equation is a pure function of its inputs, so the verdict is
/// unchanged. Only verdicts of a valid key and a canonical signature are kept (the equation
/// held or not); the cheap encoding checks run again on a miss. The fingerprint is not
/// cryptographic: this is a test accelerator, not something a device may ever run.
#[cfg(any(fuzzing, all(feature = "host-verify-memo", not(target_os = "none"))))]
mod memo {
    use core::sync::atomic::{AtomicU64, Ordering};

    const ENTRIES: usize = 1024;
    static CACHE: [AtomicU64; ENTRIES] = [const { AtomicU64::new(0) }; ENTRIES];

    /// FNV-1a over the key, the message and the signature, with the low bit left for the
    /// verdict.
    fn fingerprint(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in key.iter().chain(message).chain(signature.iter()) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        (h & !1) | 2
    }

    fn slot(fp: u64) -> Option<&'static AtomicU64> {
        CACHE.get((fp >> 20) as usize % ENTRIES)
    }

    pub(super) fn get(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Option<bool> {
        let fp = fingerprint(key, message, signature);
        let v = slot(fp)?.load(Ordering::Relaxed);
        (v & !1 == fp).then_some(v & 1 == 1)
    }

    pub(super) fn put(key: &[u8; 32], message: &[u8], signature: &[u8; 64], ok: bool) {
        let fp = fingerprint(key, message, signature);
        if let Some(s) = slot(fp) {
            s.store(fp | u64::from(ok), Ordering::Relaxed);
        }
    }
}

/// The `S + L` twin of `signature`, which verifies under a verifier that skips the `S < L`
/// check (salty 0.3.0's own `verify`); `None` when `S + L` does not fit in 32 bytes. Tests use
/// it to prove that every verification path refuses the twin.
pub fn malleated(signature: &[u8; 64]) -> Option<[u8; 64]> {
    let mut out = *signature;
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let b = out.get_mut(32 + i)?;
        let v = u16::from(*b) + u16::from(*l) + carry;
        *b = v as u8;
        carry = v >> 8;
    }
    (carry == 0).then_some(out)
}

/// Verify `signature` over `message` by the public key `public` under the strict rules.
pub fn verify_strict(
    public: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), ImageError> {
    remembered(public, message, signature, || {
        VerifyingKey::new(public).and_then(|k| k.verify(message, signature))
    })
}

/// [`VerifyingKey::verify`] with a key decoded earlier (the bootloader decodes each key once
/// per boot); the same verdicts as [`verify_strict`] with its bytes.
pub fn verify_decoded(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), ImageError> {
    remembered(&key.bytes, message, signature, || {
        key.verify(message, signature)
    })
}

/// The verdict of `verify` for (`public`, `message`, `signature`), remembered in fuzz builds
/// and host simulators (see `memo`); on a device, `verify` itself.
fn remembered(
    public: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
    verify: impl FnOnce() -> Result<(), ImageError>,
) -> Result<(), ImageError> {
    #[cfg(any(fuzzing, all(feature = "host-verify-memo", not(target_os = "none"))))]
    if let Some(ok) = memo::get(public, message, signature) {
        return if ok {
            Ok(())
        } else {
            Err(ImageError::BadSignature)
        };
    }
    let verdict = verify();
    #[cfg(any(fuzzing, all(feature = "host-verify-memo", not(target_os = "none"))))]
    if matches!(verdict, Ok(()) | Err(ImageError::BadSignature)) {
        memo::put(public, message, signature, verdict.is_ok());
    }
    #[cfg(not(any(fuzzing, all(feature = "host-verify-memo", not(target_os = "none")))))]
    let _ = (public, message, signature);
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use salty::{CompressedY, EdwardsPoint, Keypair, Scalar};

    /// `a + b` on little-endian 256-bit integers (no carry out of the top byte in these tests).
    fn add(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = u16::from(a[i]) + u16::from(b[i]) + carry;
            out[i] = v as u8;
            carry = v >> 8;
        }
        out
    }

    #[test]
    fn small_order_table_is_the_torsion() {
        // [L]P of any point P is its torsion component; over enough points every one of the
        // eight torsion points shows up.
        let l = Scalar(L);
        let mut found = std::collections::BTreeSet::new();
        let mut seed = [7u8; 32];
        for i in 0..400u32 {
            seed[..4].copy_from_slice(&i.to_le_bytes());
            let Ok(p) = CompressedY(seed).decompressed() else {
                continue;
            };
            found.insert((&l * &p).compressed().0);
        }
        // Entries 1 and 3 are the sign-flipped x = 0 encodings, which compression never yields.
        let canonical: std::collections::BTreeSet<[u8; 32]> = SMALL_ORDER
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1 && *i != 3)
            .map(|(_, e)| *e)
            .collect();
        assert_eq!(found.len(), 8);
        assert_eq!(found, canonical);
        // Each table entry decodes (salty is lenient) to a point P with [8]P = identity.
        let eight = {
            let mut s = [0u8; 32];
            s[0] = 8;
            Scalar(s)
        };
        let identity = EdwardsPoint::neutral_element().compressed().0;
        for e in SMALL_ORDER {
            let p = CompressedY(e).decompressed().expect("decodes");
            assert_eq!((&eight * &p).compressed().0, identity, "{e:02x?}");
        }
        // The table is SMALL_ORDER_Y with both sign bits, so `is_small_order` (which compares
        // the low 255 bits with SMALL_ORDER_Y) answers exactly membership in SMALL_ORDER.
        let mut with_signs = std::collections::BTreeSet::new();
        for y in SMALL_ORDER_Y {
            assert_eq!(y[31] & 0x80, 0);
            let mut flipped = y;
            flipped[31] |= 0x80;
            with_signs.insert(y);
            with_signs.insert(flipped);
        }
        assert_eq!(with_signs, SMALL_ORDER.into_iter().collect());
        for e in SMALL_ORDER {
            assert!(is_small_order(&e));
        }
    }

    #[test]
    fn s_plus_l_is_refused_while_salty_accepts_it() {
        let kp = Keypair::from(&[42u8; 32]);
        let msg = b"firmware digest";
        let sig = kp.sign(msg).to_bytes();
        let public = kp.public.to_bytes();
        assert_eq!(verify_strict(&public, msg, &sig), Ok(()));
        let mut forged = sig;
        let s: [u8; 32] = sig[32..].try_into().unwrap();
        forged[32..].copy_from_slice(&add(&s, &L));
        // The upstream defect this module exists for.
        assert!(kp
            .public
            .verify(msg, &salty::Signature::from(&forged))
            .is_ok());
        assert_eq!(
            verify_strict(&public, msg, &forged),
            Err(ImageError::NonCanonicalSignature)
        );
    }

    #[test]
    fn scalar_and_point_bounds() {
        let mut below = L;
        below[0] -= 1;
        assert!(is_canonical_scalar(&below));
        assert!(!is_canonical_scalar(&L));
        assert!(!is_canonical_scalar(&[0xff; 32]));
        let mut p_minus_1 = P;
        p_minus_1[0] -= 1;
        assert!(is_canonical_point(&p_minus_1));
        assert!(!is_canonical_point(&P));
        let mut p_signed = P;
        p_signed[31] |= 0x80;
        assert!(!is_canonical_point(&p_signed));
        // y = p + 1 aliases the identity's y = 1.
        let mut p_plus_1 = P;
        p_plus_1[0] += 1;
        assert!(!is_canonical_point(&p_plus_1));
    }

    #[test]
    fn keys_of_small_order_or_non_canonical_are_refused() {
        for e in SMALL_ORDER {
            assert!(matches!(
                VerifyingKey::new(&e),
                Err(ImageError::InvalidBuiltInKey)
            ));
        }
        // A valid key with y + p (non-canonical alias of the same point when y < 19).
        let mut alias = [0u8; 32];
        alias[0] = 0x05; // y = 5 may or may not be on the curve; its alias y + p never decodes
        let aliased = add(&alias, &P);
        assert!(matches!(
            VerifyingKey::new(&aliased),
            Err(ImageError::InvalidBuiltInKey)
        ));
    }

    #[test]
    fn small_order_r_is_refused_even_when_the_equation_holds() {
        // R = identity, S = k*a (mod L): [S]B = [k]A = R + [k]A. A signer can make this; an
        // honest one never does.
        let kp = Keypair::from(&[9u8; 32]);
        let public = kp.public.to_bytes();
        let msg = b"m";
        let r = SMALL_ORDER[0];
        let mut h = salty::Sha512::new();
        h = h.updated(&r).updated(&public).updated(msg);
        let k = Scalar::from_u512_le(&h.finalize());
        // The secret scalar a: the clamped first half of SHA-512(seed) (RFC 8032 §5.1.5).
        let mut expanded = [0u8; 32];
        expanded.copy_from_slice(&salty::Sha512::new().updated(&[9u8; 32]).finalize()[..32]);
        expanded[0] &= 248;
        expanded[31] &= 127;
        expanded[31] |= 64;
        let a = Scalar::from_u256_le(&expanded);
        let s = &k * &a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r);
        sig[32..].copy_from_slice(&s.0);
        assert!(kp.public.verify(msg, &salty::Signature::from(&sig)).is_ok());
        assert_eq!(
            verify_strict(&public, msg, &sig),
            Err(ImageError::NonCanonicalSignature)
        );
    }
}
