//! Edwards25519 point arithmetic for verification, written over salty's field
//! ([`salty::FieldElement`]: Björn Haase's `UMAAL` assembly on Cortex-M4/M33, TweetNaCl's
//! portable code elsewhere). salty's own `EdwardsPoint` keeps its coordinates private and only
//! offers a unified addition (9 multiplications, also used to double), so the verifier has its
//! own point types with the representations of Hisil–Wong–Carter–Dawson, "Twisted Edwards
//! curves revisited" (2008), for `a = -1`:
//!
//! * [`Point`]: extended coordinates `(X:Y:Z:T)`, `x = X/Z`, `y = Y/Z`, `xy = T/Z`;
//! * [`Projective`]: `(X:Y:Z)`, all a doubling needs;
//! * [`Completed`]: `((X:Z), (Y:T))`, `x = X/Z`, `y = Y/T`, what doublings and additions
//!   produce before the multiplications that bring them back to one of the above (3 for
//!   [`Projective`], 4 for [`Point`]), so that a chain of doublings never computes a `T`;
//! * [`Cached`]: `(Y+X, Y-X, 2Z, 2dT)`, a point prepared for repeated additions.
//!
//! Costs in field multiplications `M` and squarings `S`: doubling `4S` (+`3M` back to
//! [`Projective`]), adding a [`Cached`] `4M` (+`4M` to [`Point`]).
//! The formulas are complete on this curve (`a = -1` is a square, `d` is not), so no input
//! needs a special case. Nothing here is constant-time: verification handles public data only.

use salty::{FieldElement as Fe, FieldImplementation};

// The field operations, each behind one out-of-line call: salty's operators clear a temporary,
// call the assembly and copy the result out, some 26 bytes of code wherever they are inlined;
// through these wrappers a call site is a few instructions, which keeps the verifier smaller
// than salty's own for a few instructions of run time per operation.

/// `a * b`.
#[inline(never)]
fn mul(a: &Fe, b: &Fe) -> Fe {
    a * b
}

/// `a^2`.
#[inline(never)]
fn sq(a: &Fe) -> Fe {
    a.squared()
}

/// `a + b`.
#[inline(never)]
fn add(a: &Fe, b: &Fe) -> Fe {
    a + b
}

/// `a - b`.
#[inline(never)]
fn sub(a: &Fe, b: &Fe) -> Fe {
    a - b
}

/// `(z^((p - 5) / 8), z^3)` with `(p - 5) / 8 = 2^252 - 3`: the exponentiation of the square
/// root, and the pieces of the inversion. 251 squarings and 11 multiplications (salty's own
/// loops take about 250 of each), driven by a table to keep the code small.
fn pow_p58(z: &Fe) -> (Fe, Fe) {
    // e[0] = z and e[i + 1] = e[i]^(2^n) * e[j]: z^(2^m - 1) for m = 1, 2, 4, 5, 10, 20, 40, 50,
    // 100, 200, 250, then (2^250 - 1) * 4 + 1 = 2^252 - 3.
    const STEPS: [(u8, u8); 11] = [
        (1, 0),
        (2, 1),
        (1, 0),
        (5, 3),
        (10, 4),
        (20, 5),
        (10, 4),
        (50, 7),
        (100, 8),
        (50, 7),
        (2, 0),
    ];
    let mut e = [*z; STEPS.len() + 1];
    for (i, &(n, j)) in STEPS.iter().enumerate() {
        let (Some(prev), Some(factor)) = (e.get(i), e.get(usize::from(j))) else {
            break;
        };
        let mut next = *prev;
        for _ in 0..n {
            next = sq(&next);
        }
        next = mul(&next, factor);
        if let Some(slot) = e.get_mut(i + 1) {
            *slot = next;
        }
    }
    let z3 = e.get(1).copied().unwrap_or(Fe::ZERO);
    (e.last().copied().unwrap_or(Fe::ZERO), z3)
}

/// `1/z = z^(p - 2) = (z^((p - 5) / 8))^8 z^3` (zero for zero).
pub fn invert(z: &Fe) -> Fe {
    let (mut t, z3) = pow_p58(z);
    for _ in 0..3 {
        t = sq(&t);
    }
    mul(&t, &z3)
}

/// A point in extended coordinates `(X:Y:Z:T)`.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

/// A point in projective coordinates `(X:Y:Z)`.
#[derive(Clone, Copy, Debug)]
pub struct Projective {
    x: Fe,
    y: Fe,
    z: Fe,
}

/// A point in completed coordinates: `x = X/Z`, `y = Y/T`.
#[derive(Clone, Copy, Debug)]
pub struct Completed {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

/// A point prepared for additions: `(Y+X, Y-X, 2Z, 2dT)`.
#[derive(Clone, Copy, Debug)]
pub struct Cached {
    y_plus_x: Fe,
    y_minus_x: Fe,
    z2: Fe,
    t2d: Fe,
}

impl Point {
    /// Decode a 32-byte point encoding (RFC 8032 §5.1.3) whose `y` the caller has already
    /// checked to be canonical (`y < p`); `None` when no curve point has that `y`, or when
    /// `x = 0` and the sign bit is set. Out of line to keep its callers small.
    #[inline(never)]
    pub fn decompress(bytes: &[u8; 32]) -> Option<Point> {
        // `from_bytes_unchecked` drops the sign bit (bit 255).
        let y = Fe::from_bytes_unchecked(bytes);
        let sign = bytes.last().map_or(0, |b| b >> 7);
        let yy = sq(&y);
        let u = sub(&yy, &Fe::ONE);
        let v = add(&mul(&yy, &Fe::D), &Fe::ONE);
        // x = u v^3 (u v^7)^((p-5)/8) is a square root of u/v when one exists, up to a factor
        // sqrt(-1).
        let v3 = mul(&sq(&v), &v);
        let uv7 = mul(&mul(&sq(&v3), &v), &u);
        let mut x = mul(&mul(&u, &v3), &pow_p58(&uv7).0);
        let vxx = mul(&v, &sq(&x));
        if vxx != u {
            if vxx != sub(&Fe::ZERO, &u) {
                return None;
            }
            x = mul(&x, &Fe::I);
        }
        if x.parity() != sign {
            if x == Fe::ZERO {
                return None;
            }
            x = sub(&Fe::ZERO, &x);
        }
        let t = mul(&x, &y);
        Some(Point {
            x,
            y,
            z: Fe::ONE,
            t,
        })
    }

    /// The point with affine coordinates `x`, `y` (little-endian encodings of a point the
    /// caller knows to be on the curve: a constant such as the base point).
    pub fn from_affine(x: &[u8; 32], y: &[u8; 32]) -> Point {
        let x = Fe::from_bytes_unchecked(x);
        let y = Fe::from_bytes_unchecked(y);
        Point {
            x,
            y,
            z: Fe::ONE,
            t: mul(&x, &y),
        }
    }

    /// The point prepared for additions.
    pub fn cached(&self) -> Cached {
        Cached {
            y_plus_x: add(&self.y, &self.x),
            y_minus_x: sub(&self.y, &self.x),
            z2: add(&self.z, &self.z),
            t2d: mul(&self.t, &Fe::D2),
        }
    }

    /// `self` as a projective point (drops `T`).
    pub fn projective(&self) -> Projective {
        Projective {
            x: self.x,
            y: self.y,
            z: self.z,
        }
    }

    /// `self + q`, or `self - q` when `negate` (add-2008-hwcd-3 with `k = 2d`): 4M.
    pub fn add_cached(&self, q: &Cached, negate: bool) -> Completed {
        // -q = (-x, y): swap y+x with y-x and negate 2dxy.
        let (ypx, ymx) = if negate {
            (&q.y_minus_x, &q.y_plus_x)
        } else {
            (&q.y_plus_x, &q.y_minus_x)
        };
        let two_z = mul(&self.z, &q.z2);
        let a = mul(&sub(&self.y, &self.x), ymx);
        let b = mul(&add(&self.y, &self.x), ypx);
        let c = mul(&self.t, &q.t2d);
        let (f, g) = if negate {
            (add(&two_z, &c), sub(&two_z, &c))
        } else {
            (sub(&two_z, &c), add(&two_z, &c))
        };
        // x3 = E/G, y3 = H/F with E = B - A, H = B + A.
        Completed {
            x: sub(&b, &a),
            z: g,
            y: add(&b, &a),
            t: f,
        }
    }
}

impl Projective {
    /// The neutral element `(0:1:1)`.
    pub const IDENTITY: Projective = Projective {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ONE,
    };

    /// `2 self` (dbl-2008-hwcd with `a = -1`): 4S.
    pub fn double(&self) -> Completed {
        let xx = sq(&self.x);
        let yy = sq(&self.y);
        let zz = sq(&self.z);
        let yy_plus_xx = add(&yy, &xx);
        let yy_minus_xx = sub(&yy, &xx);
        // x3 = 2XY / (Y² - X²), y3 = (Y² + X²) / (2Z² - (Y² - X²)).
        Completed {
            x: sub(&sq(&add(&self.x, &self.y)), &yy_plus_xx),
            z: yy_minus_xx,
            y: yy_plus_xx,
            t: sub(&add(&zz, &zz), &yy_minus_xx),
        }
    }

    /// The 32-byte encoding (RFC 8032 §5.1.2): `y` with the sign of `x` in bit 255. One
    /// inversion.
    pub fn compress(&self) -> [u8; 32] {
        let z_inv = invert(&self.z);
        let x = mul(&self.x, &z_inv);
        let mut bytes = mul(&self.y, &z_inv).to_bytes();
        if let Some(top) = bytes.last_mut() {
            *top ^= x.parity() << 7;
        }
        bytes
    }
}

impl Completed {
    /// To projective coordinates: 3M.
    pub fn projective(&self) -> Projective {
        Projective {
            x: mul(&self.x, &self.t),
            y: mul(&self.y, &self.z),
            z: mul(&self.z, &self.t),
        }
    }

    /// To extended coordinates: 4M.
    pub fn point(&self) -> Point {
        Point {
            x: mul(&self.x, &self.t),
            y: mul(&self.y, &self.z),
            z: mul(&self.z, &self.t),
            t: mul(&self.x, &self.y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use salty::{CompressedY, EdwardsPoint, Scalar};

    /// Deterministic test bytes (xorshift64).
    fn fill(seed: &mut u64, out: &mut [u8]) {
        for b in out.iter_mut() {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *b = *seed as u8;
        }
    }

    #[test]
    fn invert_inverts() {
        let mut seed = 1u64;
        for _ in 0..50 {
            let mut bytes = [0u8; 32];
            fill(&mut seed, &mut bytes);
            let z = Fe::from_bytes_unchecked(&bytes);
            assert_eq!(mul(&z, &invert(&z)), Fe::ONE);
        }
        assert_eq!(invert(&Fe::ZERO), Fe::ZERO);
        assert_eq!(invert(&Fe::ONE), Fe::ONE);
    }

    #[test]
    fn decompression_agrees_with_salty_and_round_trips() {
        let mut seed = 2u64;
        let (mut points, mut misses) = (0, 0);
        for i in 0..600 {
            let mut bytes = [0u8; 32];
            fill(&mut seed, &mut bytes);
            if i % 2 == 0 {
                // A point for sure: a random multiple of B.
                bytes = (&Scalar::from_u256_le(&bytes) * &EdwardsPoint::basepoint())
                    .compressed()
                    .0;
            }
            if !crate::image::ed25519::is_canonical_point(&bytes) {
                continue;
            }
            let ours = Point::decompress(&bytes);
            let theirs = CompressedY(bytes).decompressed();
            match (ours, theirs) {
                (Some(p), Ok(q)) => {
                    assert_eq!(p.projective().compress(), bytes);
                    assert_eq!(q.compressed().0, bytes);
                    points += 1;
                }
                (None, Err(_)) => misses += 1,
                // x = 0 with the sign bit set: RFC 8032 refuses it, salty does not.
                (None, Ok(q)) => assert_eq!(q.x(), Fe::ZERO, "{bytes:02x?}"),
                (Some(_), Err(_)) => panic!("salty refuses {bytes:02x?}"),
            }
        }
        assert!(points > 300 && misses > 50, "{points} {misses}");
    }

    #[test]
    fn doubling_and_additions_agree_with_salty() {
        let mut seed = 3u64;
        for _ in 0..20 {
            let mut bytes = [0u8; 32];
            fill(&mut seed, &mut bytes);
            let salty_p = &Scalar::from_u256_le(&bytes) * &EdwardsPoint::basepoint();
            fill(&mut seed, &mut bytes);
            let salty_q = &Scalar::from_u256_le(&bytes) * &EdwardsPoint::basepoint();
            let p = Point::decompress(&salty_p.compressed().0).expect("a point");
            let q = Point::decompress(&salty_q.compressed().0).expect("a point");
            let enc = |e: &EdwardsPoint| e.compressed().0;
            assert_eq!(
                p.projective().double().projective().compress(),
                enc(&(&salty_p + &salty_p))
            );
            assert_eq!(
                p.add_cached(&q.cached(), false).projective().compress(),
                enc(&(&salty_p + &salty_q))
            );
            assert_eq!(
                p.add_cached(&q.cached(), true)
                    .point()
                    .projective()
                    .compress(),
                enc(&(&salty_p + &(-&salty_q)))
            );
            // Through a non-trivial Z: 2P + Q.
            let two_p = p.projective().double().point();
            assert_eq!(
                two_p.add_cached(&q.cached(), false).projective().compress(),
                enc(&(&(&salty_p + &salty_p) + &salty_q))
            );
        }
    }
}
