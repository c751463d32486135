//! `[s]B - [k]A` with one shared chain of doublings (Straus' trick, "Shamir's trick"): both
//! scalars are recoded into width-`w` non-adjacent forms (wNAF: odd digits `|d| < 2^(w-1)`, at
//! least `w - 1` zeros after each non-zero digit), then one pass from the top digit doubles the
//! accumulator once per digit and adds `±d B` and `∓d A` from small tables of odd multiples
//! wherever a digit is non-zero.
//!
//! Both tables hold `2^(W - 2)` = 2 odd multiples (`P`, `3P`) as [`Cached`] points (128 bytes
//! each on the stack, 4M per addition), computed per verification: `A`'s from the key, `B`'s
//! from its 64-byte affine coordinates. Measured on Cortex-M4 (`scripts/verify-bench.sh`,
//! `BENCHMARKS.md`): a 768-byte flash table of 8 multiples of `B` (width 5) saved about 7 % of a
//! verification's time for 700 bytes more of the bootloader, whose flash budget (16 KiB)
//! decides; a wider window for `A` (width 5, 1 KiB of stack) broke its 8 KiB RAM budget.
//!
//! About 253 doublings, 253/(W+1) additions per scalar, and one inversion to compress the
//! result: about 2,800 field multiplications and squarings, against about 9,700 for salty's two
//! 256-step ladders (two unified additions of 9 multiplications per bit each). Variable time: digits decide which additions happen,
//! which is harmless for verification, whose inputs (key, signature, message) are public.

use super::curve::{Cached, Point, Projective};
use super::hex32;

/// Window width of both scalars' digits (each table: `2^(W - 2)` points on the stack; see the
/// module documentation for why 3).
const W: u32 = 3;

/// The width-`w` NAF of the little-endian scalar `s < 2^253` (every scalar here is below
/// `L < 2^253`): digits `d_i` with `s = Σ d_i 2^i`, each zero or odd with `|d_i| < 2^(w-1)`.
/// `2 ≤ w ≤ 8`. Each non-zero digit is handed to `put(i, d_i)` (the others are zero), so the
/// caller chooses the storage: [`base_minus_key`] packs both scalars' digits into one array.
pub fn wnaf(s: &[u8; 32], w: u32, mut put: impl FnMut(usize, i8)) {
    let window = 1u32 << w;
    let mut carry = 0u32;
    let mut pos = 0usize;
    while pos < 256 {
        // Bits pos .. pos + 15 (zero past the end), plus the carry from the digit below.
        let byte = pos / 8;
        let bits = (0..3).fold(0u32, |acc, j| {
            acc | u32::from(s.get(byte + j).copied().unwrap_or(0)) << (8 * j)
        }) >> (pos % 8);
        let value = carry + (bits & (window - 1));
        if value & 1 == 0 {
            // Bit plus carry is 0 or 2: a zero digit, and the carry (if any) moves up.
            pos += 1;
            continue;
        }
        // An odd window: take it as a digit in (-2^(w-1), 2^(w-1)), borrowing 2^w from above
        // when it is in the upper half.
        if value < window / 2 {
            put(pos, value as i8);
            carry = 0;
        } else {
            put(pos, (value as i32 - window as i32) as i8);
            carry = 1;
        }
        pos += w as usize;
    }
}

/// The base point `B` (RFC 8032 §5.1): its affine `x` and `y` as little-endian encodings
/// (64 bytes of flash; its odd multiples are computed per verification, like `A`'s, rather
/// than kept as a table in flash). The unit test `base_point_is_saltys` checks them.
const BASE_X: [u8; 32] = hex32("1ad5258f602d56c9b2a7259560c72c695cdcd6fd31e2a4c0fe536ecdd3366921");
const BASE_Y: [u8; 32] = hex32("5866666666666666666666666666666666666666666666666666666666666666");

/// The odd multiples `P, 3P, ..., (2^(w-1) - 1)P` of `p` for a window of width `w` = 3,
/// prepared for additions.
fn odd_multiples(p: &Point) -> [Cached; 1 << (W - 2)] {
    let p2 = p.projective().double().point().cached();
    [p.cached(), p.add_cached(&p2, false).point().cached()]
}

/// `[s]B - [k]A` in projective coordinates, for `s, k < L` (32 bytes little-endian each);
/// `None` only if a table lookup failed, which the digit ranges rule out. Out of line: inlined
/// into `verify`, and with it into every caller, it costs more code.
#[inline(never)]
pub fn base_minus_key(s: &[u8; 32], k: &[u8; 32], a: &Point) -> Option<Projective> {
    let b_table = odd_multiples(&Point::from_affine(&BASE_X, &BASE_Y));
    let a_table = odd_multiples(a);
    // Both scalars' digits (|d| < 4) packed in one array, `s`'s in the low nibble and `k`'s in
    // the high one: 256 bytes of stack rather than 512.
    let mut digits = [0u8; 256];
    for (scalar, shift) in [(s, 0), (k, 4)] {
        wnaf(scalar, W, |i, d| {
            if let Some(b) = digits.get_mut(i) {
                *b |= ((d as u8) & 0x0f) << shift;
            }
        });
    }
    let mut r = Projective::IDENTITY;
    let mut started = false;
    for &packed in digits.iter().rev() {
        if !started {
            if packed == 0 {
                continue;
            }
            started = true;
        }
        let ds = ((packed << 4) as i8) >> 4;
        let dk = (packed as i8) >> 4;
        let mut c = r.double();
        // Add ds B, and subtract dk A (add |dk| A when dk < 0).
        for (d, table, negate) in [(ds, &b_table, ds < 0), (dk, &a_table, dk > 0)] {
            if d != 0 {
                let entry = table.get(usize::from(d.unsigned_abs() >> 1))?;
                c = c.point().add_cached(entry, negate);
            }
        }
        r = c.projective();
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Σ d_i 2^i` as a little-endian 33-byte integer (digits may be negative; the sum is not).
    fn evaluate(digits: &[i8; 256]) -> [u8; 33] {
        // Horner from the top digit, in i64 limbs of 8 bits with signed carries.
        let mut acc = [0i64; 33];
        for &d in digits.iter().rev() {
            // acc = 2 acc + d
            let mut carry = i64::from(d);
            for limb in acc.iter_mut() {
                let v = *limb * 2 + carry;
                *limb = v.rem_euclid(256);
                carry = v.div_euclid(256);
            }
            assert_eq!(carry, 0);
        }
        acc.map(|l| l as u8)
    }

    fn check_wnaf(s: &[u8; 32], w: u32) {
        let mut digits = [0i8; 256];
        wnaf(s, w, |i, d| digits[i] = d);
        let mut want = [0u8; 33];
        want[..32].copy_from_slice(s);
        assert_eq!(evaluate(&digits), want, "w = {w}, s = {s:02x?}");
        let bound = 1i32 << (w - 1);
        let mut last_nonzero: Option<usize> = None;
        for (i, &d) in digits.iter().enumerate() {
            if d != 0 {
                assert!(d % 2 != 0 && i32::from(d).abs() < bound, "digit {d} at {i}");
                if let Some(j) = last_nonzero {
                    assert!(i - j >= w as usize, "digits at {j} and {i} too close");
                }
                last_nonzero = Some(i);
            }
        }
        // Digits of s < 2^253 stop at bit 253.
        assert!(last_nonzero.is_none_or(|i| i <= 253));
    }

    #[test]
    fn base_minus_key_agrees_with_salty() {
        use salty::{EdwardsPoint, Scalar};
        let mut l_minus_1 = super::super::L;
        l_minus_1[0] -= 1;
        let mut one = [0u8; 32];
        one[0] = 1;
        let edges = [[0u8; 32], one, l_minus_1];
        let mut seed = 0x0123_4567_89ab_cdefu64;
        let mut random = || {
            let mut s = [0u8; 64];
            for b in s.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            Scalar::from_u512_le(&s).0
        };
        let a_scalar = random();
        let salty_a = &Scalar(a_scalar) * &EdwardsPoint::basepoint();
        let a = Point::decompress(&salty_a.compressed().0).expect("a point");
        let mut pairs: Vec<([u8; 32], [u8; 32])> = Vec::new();
        for s in edges {
            for k in edges {
                pairs.push((s, k));
            }
        }
        for _ in 0..30 {
            pairs.push((random(), random()));
        }
        for (s, k) in pairs {
            let want = &(&Scalar(s) * &EdwardsPoint::basepoint()) + &(&Scalar(k) * &(-&salty_a));
            let got = base_minus_key(&s, &k, &a).expect("digits in range");
            assert_eq!(
                got.compress(),
                want.compressed().0,
                "s = {s:02x?}, k = {k:02x?}"
            );
        }
    }

    #[test]
    fn base_point_is_saltys() {
        use salty::{EdwardsPoint, FieldImplementation};
        let b = EdwardsPoint::basepoint();
        assert_eq!(b.x().to_bytes(), BASE_X);
        assert_eq!(b.y().to_bytes(), BASE_Y);
        assert_eq!(
            Point::from_affine(&BASE_X, &BASE_Y).projective().compress(),
            b.compressed().0
        );
    }

    #[test]
    fn wnaf_represents_the_scalar() {
        let mut l_minus_1 = super::super::L;
        l_minus_1[0] -= 1;
        let mut top = [0xffu8; 32];
        top[31] = 0x1f; // 2^253 - 1
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut cases = vec![[0u8; 32], l_minus_1, top, {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }];
        for _ in 0..200 {
            let mut s = [0u8; 32];
            for b in s.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            s[31] &= 0x1f;
            cases.push(s);
        }
        for s in &cases {
            for w in 2..=8 {
                check_wnaf(s, w);
            }
        }
    }
}
