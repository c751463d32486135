//! `[s]B - [k]A` with one shared chain of doublings (Straus' trick, "Shamir's trick"): both
//! scalars are recoded into width-`w` non-adjacent forms (wNAF: odd digits `|d| < 2^(w-1)`, at
//! least `w - 1` zeros after each non-zero digit), then one pass from the top digit doubles the
//! accumulator once per digit and adds `±d B` and `∓d A` from small tables of odd multiples
//! wherever a digit is non-zero.
//!
//! * `B`: a table of [`BASE_TABLE`]`.len()` = `2^(W_B - 2)` odd multiples in flash, as affine
//!   [`AffineCached`] encodings (96 bytes each, 3M per addition);
//! * `A`: `2^(W_A - 2)` odd multiples computed per verification as
//!   [`Cached`](super::curve::Cached) points (128 bytes each on the stack, 4M per addition).
//!   `W_A = 3` keeps that to 256 bytes: with `W_A = 5` (1 KiB) the bootloader's peak stack
//!   exceeded its 8 KiB budget, for a verification about 3 % faster (`scripts/verify-bench.sh`).
//!
//! About 253 doublings, 253/(W+1) additions per scalar, and one inversion to compress the
//! result: about 2,800 field multiplications and squarings, against about 9,700 for salty's two
//! 256-step ladders (two unified additions of 9 multiplications per bit each). Variable time: digits decide which additions happen,
//! which is harmless for verification, whose inputs (key, signature, message) are public.

use super::curve::{AffineCached, Point, Projective};
use super::hex32;

/// Window width of `k`'s digits (the key's table: `2^(W_A - 2)` points on the stack; see the
/// module documentation for why 3).
const W_A: u32 = 3;
/// Window width of `s`'s digits (the base point table: `2^(W_B - 2)` points).
const W_B: u32 = 5;

/// The width-`w` NAF of the little-endian scalar `s < 2^253` (every scalar here is below
/// `L < 2^253`): digits `d_i` with `s = Σ d_i 2^i`, each zero or odd with `|d_i| < 2^(w-1)`.
/// `2 ≤ w ≤ 8`. Written into `digits` (all 256 of them) rather than returned, which saves a
/// copy of the array on the stack.
pub fn wnaf(s: &[u8; 32], w: u32, digits: &mut [i8; 256]) {
    digits.fill(0);
    let window = 1u32 << w;
    let mut carry = 0u32;
    let mut pos = 0usize;
    while let Some(digit) = digits.get_mut(pos) {
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
            *digit = value as i8;
            carry = 0;
        } else {
            *digit = (value as i32 - window as i32) as i8;
            carry = 1;
        }
        pos += w as usize;
    }
}

/// The odd multiples `B, 3B, 5B, ..., (2^(W_B-1) - 1)B` of the base point `B` as
/// [`AffineCached`] encodings `(y+x, y-x, 2dxy)`; the unit test `base_table_is_odd_multiples`
/// recomputes them from salty's base point.
pub static BASE_TABLE: [AffineCached; 1 << (W_B - 2)] = [
    [
        hex32("853b8cf5c693bc2f190e8cfbc62d93cfc2423d6498480b2765bad4333a9dcf07"),
        hex32("3e9140d70539109db3be40d1059f39fd098a8f683484c1a56712f898922ffd44"),
        hex32("68aa7a870512c9ab9ec4aacc23e8d9268c5943ddcb7d1b5aa8650c9f687b116f"),
    ],
    [
        hex32("3097ee4ca8b025af8a4b86e830845a023267019f02501bc1f4f8809a1b4e167a"),
        hex32("65d2fca4e81f61567dbac1e5fd53d33bbdd64b211af3318162da5b558715b92a"),
        hex32("89d8d00d3f93ae1462da351c222394584cdbf28c45e570d1c6b4b912af26285a"),
    ],
    [
        hex32("33bba50844bc12a202ed5ec7c348508d44ecbf5a0ceb1bddeb06e246f1cc4529"),
        hex32("bad647a4c382917fb729274bd11400d587a064b81cf13ce3f3551beb737e4a15"),
        hex32("85822a81f1dbbbbcfcd1bdd007080e272da7bd1b0b671bb49ab63b6b69beaa43"),
    ],
    [
        hex32("bfa34e94d05c1a6bd2c09db33a357074492e54288252b2717e923c2869ea1b46"),
        hex32("b12132aa9a2c6fbaa723ba3b5321a06c3a2c19924f76ea9de017532e5ddd6e1d"),
        hex32("a2b3b801c86d83f19aa43e05475f03b3f3ad7758ba419c52a7900f6a1cbb9f7a"),
    ],
    [
        hex32("2f63a8a68a672e9bc546bc516f9e50a6b5f586c6c933b2ce597fdd8a33edb934"),
        hex32("64809d037e216ef39b4120f5b681a09844b05ee708c6cb968f9cdcfa515ac049"),
        hex32("1baf4590bfe8b4062fd219a7e883ffe216cfd49329fcf6aa068b001b0272c173"),
    ],
    [
        hex32("de2a808a8400bf2f272e3002cffed9e50634701771843e11af8f6d54e2aa7542"),
        hex32("48438649025b5f318183087769b3d63e95eb8d6a5575a0a37fc7d5298059ab18"),
        hex32("e98960fdc52c2bd8a4e48232a1b41e0322861ab59911314448f93db52255c63d"),
    ],
    [
        hex32("6d7f00a222c270bfdbdebcb59ab384bf07ba07fb120e7a5341f246c3eed74f23"),
        hex32("93bf7f323b016f506b6f779bc9ebfcae6859adaa32b2129da72460172d886702"),
        hex32("78a32e7319a1605371d48ddfb1e6372433e5a791f837efa2637809aafda67b49"),
    ],
    [
        hex32("a0eacf1303ccce246d249c188dc24886d0d4f2c1fabdbd2d2be72df11729e261"),
        hex32("0bcf8c4686cd0b04d610992aa49b82d39251b20708300875bf5ed01842cdb543"),
        hex32("16b5d09b2f769a5deede3f374eaf38eb7042d6937d5a2e0342d8e40a21611d51"),
    ],
];

/// `[s]B - [k]A` in projective coordinates, for `s, k < L` (32 bytes little-endian each);
/// `None` only if a table lookup failed, which the digit ranges rule out. Out of line: inlined
/// into `verify`, and with it into every caller, it costs more code.
#[inline(never)]
pub fn base_minus_key(s: &[u8; 32], k: &[u8; 32], a: &Point) -> Option<Projective> {
    // Odd multiples A, 3A, ..., (2^(W_A-1) - 1)A.
    let mut a_table = [a.cached(); 1 << (W_A - 2)];
    let a2 = a.projective().double().point().cached();
    let mut previous = *a;
    for entry in a_table.iter_mut().skip(1) {
        previous = previous.add_cached(&a2, false).point();
        *entry = previous.cached();
    }

    let mut s_digits = [0i8; 256];
    let mut k_digits = [0i8; 256];
    wnaf(s, W_B, &mut s_digits);
    wnaf(k, W_A, &mut k_digits);
    let mut r = Projective::IDENTITY;
    let mut started = false;
    for (&ds, &dk) in s_digits.iter().zip(k_digits.iter()).rev() {
        if !started {
            if ds == 0 && dk == 0 {
                continue;
            }
            started = true;
        }
        let mut c = r.double();
        if ds != 0 {
            let entry = BASE_TABLE.get(usize::from(ds.unsigned_abs() >> 1))?;
            c = c.point().add_affine(entry, ds < 0);
        }
        if dk != 0 {
            // Subtract dk A: add |dk| A when dk < 0.
            let entry = a_table.get(usize::from(dk.unsigned_abs() >> 1))?;
            c = c.point().add_cached(entry, dk > 0);
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
        let mut digits = [0x55i8; 256];
        wnaf(s, w, &mut digits);
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
    fn base_table_is_odd_multiples() {
        use salty::{EdwardsPoint, FieldImplementation, Scalar};
        let b = EdwardsPoint::basepoint();
        let want: Vec<AffineCached> = (0..BASE_TABLE.len() as u64)
            .map(|i| {
                let p = &Scalar::from(2 * i + 1) * &b;
                let (x, y) = (p.x(), p.y());
                [
                    (&y + &x).to_bytes(),
                    (&y - &x).to_bytes(),
                    (&(&x * &y) * &salty::FieldElement::D2).to_bytes(),
                ]
            })
            .collect();
        if want != BASE_TABLE {
            // Print the table in source form, to paste above after changing W_B.
            for e in &want {
                println!("    [");
                for c in e {
                    let h: String = c.iter().map(|b| format!("{b:02x}")).collect();
                    println!("        hex32(\"{h}\"),");
                }
                println!("    ],");
            }
            panic!("BASE_TABLE is not the odd multiples of B");
        }
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
