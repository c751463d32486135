//! `k = SHA-512(R || A || M) mod L`: a 512-bit reduction modulo the group order, byte by byte
//! from the top. It replaces salty's `Scalar::from_u512_le` (a Montgomery reduction in 29-bit
//! limbs, 2.2 KB of unrolled code on Cortex-M4) with some 150 bytes, for a few thousand
//! instructions per verification. Variable time; the hash is public.

/// `L = 2^252 + 27742317777372353535851937790883648493` in 32-bit little-endian limbs, with a
/// zero limb on top to match the 9-limb intermediate.
const L: [u32; 9] = [
    0x5cf5_d3ed,
    0x5812_631a,
    0xa2f7_9cd6,
    0x14de_f9de,
    0,
    0,
    0,
    0x1000_0000,
    0,
];

/// `x mod L` for the little-endian 512-bit integer `x`, as 32 little-endian bytes.
pub fn reduce_wide(x: &[u8; 64]) -> [u8; 32] {
    // Invariant: r < L. Each step computes t = 256 r + b < 2^261, subtracts q L for
    // q = floor(t / 2^252) (t - q 2^252 < 2^252 < L, and q L exceeds q 2^252 by
    // q (L - 2^252) < 2^9 2^125 < L), then adds L back once if that went below zero.
    let mut r = [0u32; 9];
    for &b in x.iter().rev() {
        let mut carry = u32::from(b);
        for limb in r.iter_mut() {
            let next = *limb >> 24;
            *limb = *limb << 8 | carry;
            carry = next;
        }
        let q = i64::from(r.last().map_or(0, |top| top << 4) | r.get(7).map_or(0, |l| l >> 28));
        let mut borrow = 0i64;
        for (limb, l) in r.iter_mut().zip(L.iter()) {
            let v = i64::from(*limb) - q * i64::from(*l) + borrow;
            *limb = v as u32;
            borrow = v >> 32;
        }
        if borrow < 0 {
            let mut carry = 0u64;
            for (limb, l) in r.iter_mut().zip(L.iter()) {
                let v = u64::from(*limb) + u64::from(*l) + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
        }
    }
    let mut out = [0u8; 32];
    for (chunk, limb) in out.chunks_exact_mut(4).zip(r.iter()) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_are_l() {
        let mut bytes = [0u8; 36];
        for (chunk, limb) in bytes.chunks_exact_mut(4).zip(L.iter()) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        assert_eq!(bytes[..32], super::super::L);
        assert_eq!(bytes[32..], [0; 4]);
    }

    #[test]
    fn agrees_with_salty() {
        let mut cases = vec![[0u8; 64], [0xff; 64]];
        let mut l = [0u8; 64];
        l[..32].copy_from_slice(&super::super::L);
        cases.push(l);
        let mut l_minus_1 = l;
        l_minus_1[0] -= 1;
        cases.push(l_minus_1);
        let mut l_plus_1 = l;
        l_plus_1[0] += 1;
        cases.push(l_plus_1);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let mut x = [0u8; 64];
            for b in x.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            cases.push(x);
            // Values just above multiples of 2^252 and of L stress the correction step.
            let mut y = [0u8; 64];
            y[31] = x[0] & 0xf0;
            y[32..].copy_from_slice(&x[32..]);
            cases.push(y);
        }
        for x in &cases {
            assert_eq!(
                reduce_wide(x),
                salty::Scalar::from_u512_le(x).0,
                "x = {x:02x?}"
            );
        }
    }
}
