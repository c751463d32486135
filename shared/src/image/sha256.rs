//! SHA-256 (FIPS 180-4), written for the bootloader's flash budget: the image hash, the key
//! hash and the staged-set digest all go through it, on the target and on the host alike.
//!
//! `no_std`, no heap, no panic path: blocks are taken from the input with `as_chunks`, the
//! schedule and the state are fixed-size arrays, and every variable index goes through `get`.
//!
//! # Design
//!
//! One compression function, `compress`, kept out of line so that the streaming API, the
//! padding and the one-shot [`sha256`] share a single copy of it:
//!
//! * the message schedule is computed first into a 64-word array on the stack (256 bytes), two
//!   words per loop iteration: each round then reads its word at a constant offset, without the
//!   `t & 15` masking of a 16-word circular schedule;
//! * the 64 rounds run as 8 iterations of 8 rounds unrolled, the roles of the eight working
//!   variables rotating through the names (`round!(a, b, …, h)`, then `round!(h, a, …, g)`, …),
//!   so no value moves between registers from one round to the next;
//! * `Σ0(a) = ROTR²(a ⊕ ROTR¹¹(a ⊕ ROTR⁹(a)))` and `Σ1(e) = ROTR⁶(e ⊕ ROTR⁵(e ⊕ ROTR¹⁴(e)))`:
//!   on Thumb-2 each XOR with a rotated operand is one instruction and the outer rotation folds
//!   into the addition that consumes it (2 instructions per Σ instead of 3);
//! * `Maj(a, b, c) = ((a ⊕ b) ∧ (b ⊕ c)) ⊕ b`, where `b ⊕ c` is the previous round's `a ⊕ b`,
//!   carried over (3 instructions instead of 4).
//!
//! Variants measured on QEMU's Cortex-M4 (`mps2-an386`, `-icount shift=0`; release profile:
//! opt-level "s", LTO), in a throwaway harness that runs the compression function alone over
//! 256 blocks: instructions per byte, and bytes of code of the compression function (ours also
//! read the 256-byte table `K`; `sha2` builds its constants into the code):
//!
//! | variant | instructions/byte | code bytes |
//! |---|---:|---:|
//! | `sha2` 0.10, default soft backend (before) | 48.6 | 2,382 |
//! | rolled 64-round loop, 16-word circular schedule (`t & 15`), 8 locals rotated | 72.1 | 360 |
//! | rolled 64-round loop, 64-word schedule computed first, 8 locals rotated | 60.3 | 306 |
//! | 8 rounds unrolled with renaming, 16-word circular schedule in the rounds | 49.9 | 1,538 |
//! | 8 rounds unrolled with renaming, 64-word schedule one word per iteration | 41.9 | 772 |
//! | **8 rounds unrolled with renaming, 64-word schedule two words per iteration** | **39.0** | **816** |
//! | the same, schedule four words per iteration | 38.4 | 882 |
//! | 16 rounds unrolled, 16-word schedule computed 16 words ahead in the rounds | 38.0 | 1,894 |
//!
//! The variant in bold is the smallest within issue 12's 40 instructions per byte. The rolled
//! loops pay for moving the eight variables every round, and the 8-round unrolling with a
//! circular schedule for the masked indices and for the `t < 16` test inside the body. The
//! distance left to the ideal (about 19 instructions per round plus 14 per schedule word, 33
//! per byte) is spilling: 8 working variables, the carried `a ⊕ b`, two pointers and the
//! temporaries fill the 13 allocatable registers, and LLVM computes the `e` chain of the next
//! rounds ahead of the `a` chain.
//!
//! In place (`scripts/verify-bench.sh an386`: [`sha256`] over the verify probe's 17,052-byte
//! image, padding included) it runs at 38.8 instructions per byte against 48.6 for `sha2` 0.10,
//! in 1,356 bytes (compression 802, `update` 154, `finalize` 144, `K` 256) against about 3.3 KB.

/// The round constants `K` (FIPS 180-4 §4.2.2): the first 32 bits of the fractional parts of
/// the cube roots of the first 64 primes. A `static` so that the rounds read them from one
/// 256-byte table instead of materialising each constant in code.
#[rustfmt::skip]
static K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// The initial hash value `H(0)` (FIPS 180-4 §5.3.3): the first 32 bits of the fractional
/// parts of the square roots of the first 8 primes.
#[rustfmt::skip]
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Bytes per block.
const BLOCK: usize = 64;

/// A streaming SHA-256: feed the message in pieces of any size with [`Sha256::update`], then
/// take the digest with [`Sha256::finalize`]. Full blocks are compressed straight from the
/// caller's slice; only a partial block is copied into the 64-byte buffer.
#[derive(Clone, Debug)]
pub struct Sha256 {
    /// The intermediate hash value.
    state: [u32; 8],
    /// The pending partial block: its first `len % 64` bytes are valid.
    block: [u8; BLOCK],
    /// Message bytes fed so far (FIPS 180-4 bounds a message to 2^64 - 1 bits; the padding
    /// takes the bit count modulo 2^64).
    len: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256 {
    /// A hasher over the empty message.
    pub const fn new() -> Self {
        Sha256 {
            state: H0,
            block: [0; BLOCK],
            len: 0,
        }
    }

    /// Append `data` to the message.
    ///
    /// Out of line, like [`Sha256::finalize`]: the scanner, the key hash and the staged-set
    /// digest share one copy (inlined into the scanner it cost 124 bytes more in
    /// `scripts/size-verifier.sh`'s scanner stage).
    #[inline(never)]
    pub fn update(&mut self, data: &[u8]) {
        let fill = (self.len % BLOCK as u64) as usize;
        self.len = self.len.wrapping_add(data.len() as u64);
        let mut data = data;
        if fill != 0 {
            // Complete the pending block first.
            let take = (BLOCK - fill).min(data.len());
            let Some((head, rest)) = data.split_at_checked(take) else {
                return;
            };
            if let Some(dst) = self.block.get_mut(fill..fill + take) {
                dst.copy_from_slice(head);
            }
            if fill + take < BLOCK {
                return;
            }
            compress(&mut self.state, &self.block);
            data = rest;
        }
        let (blocks, tail) = data.as_chunks::<BLOCK>();
        for block in blocks {
            compress(&mut self.state, block);
        }
        for (dst, src) in self.block.iter_mut().zip(tail) {
            *dst = *src;
        }
    }

    /// Pad the message (FIPS 180-4 §5.1.1: a 1 bit, zeros, the length in bits as 64 bits big
    /// endian) and return the digest.
    #[inline(never)]
    pub fn finalize(mut self) -> [u8; 32] {
        let fill = (self.len % BLOCK as u64) as usize;
        let bits = self.len.wrapping_mul(8).to_be_bytes();
        if let Some((one, zeros)) = self.block.get_mut(fill..).and_then(|p| p.split_first_mut()) {
            *one = 0x80;
            zeros.fill(0);
        }
        if fill >= BLOCK - bits.len() {
            // No room left for the length: it goes in a block of its own.
            compress(&mut self.state, &self.block);
            self.block = [0; BLOCK];
        }
        if let Some(last) = self.block.last_chunk_mut() {
            *last = bits;
        }
        compress(&mut self.state, &self.block);
        let words = self.state.map(u32::to_be_bytes);
        words
            .as_flattened()
            .first_chunk()
            .copied()
            .unwrap_or_default()
    }
}

/// The SHA-256 digest of `data` in one call.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(data);
    hasher.finalize()
}

/// `σ0` of the message schedule (FIPS 180-4 (4.6)).
#[inline(always)]
fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}

/// `σ1` of the message schedule (FIPS 180-4 (4.7)).
#[inline(always)]
fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// `Σ0` (FIPS 180-4 (4.4)) as `ROTR²(a ⊕ ROTR¹¹(a ⊕ ROTR⁹(a)))` = `ROTR²(a) ⊕ ROTR¹³(a) ⊕
/// ROTR²²(a)`: two XORs with a rotated operand, the last rotation folded into the addition.
#[inline(always)]
fn big_sigma0(a: u32) -> u32 {
    (a ^ (a ^ a.rotate_right(9)).rotate_right(11)).rotate_right(2)
}

/// `Σ1` (FIPS 180-4 (4.5)) as `ROTR⁶(e ⊕ ROTR⁵(e ⊕ ROTR¹⁴(e)))` = `ROTR⁶(e) ⊕ ROTR¹¹(e) ⊕
/// ROTR²⁵(e)`.
#[inline(always)]
fn big_sigma1(e: u32) -> u32 {
    (e ^ (e ^ e.rotate_right(14)).rotate_right(5)).rotate_right(6)
}

/// `Ch(e, f, g)` (FIPS 180-4 (4.2)): `f` where `e` has a 1, `g` elsewhere.
#[inline(always)]
fn ch(e: u32, f: u32, g: u32) -> u32 {
    ((f ^ g) & e) ^ g
}

/// `W[t]` for `16 <= t < 64` (FIPS 180-4 §6.2.2 step 1) from the words before it.
#[inline(always)]
fn schedule_word(w: &[u32; 64], t: usize) -> u32 {
    let at = |i: usize| w.get(i).copied().unwrap_or(0);
    small_sigma1(at(t - 2))
        .wrapping_add(at(t - 7))
        .wrapping_add(small_sigma0(at(t - 15)))
        .wrapping_add(at(t - 16))
}

/// The whole message schedule of `block`, two words per iteration: `W[t + 1]` does not depend
/// on `W[t]`, and the halved loop overhead is worth 3 instructions per byte on the M4.
#[inline(always)]
fn schedule(block: &[u8; BLOCK]) -> [u32; 64] {
    let mut w = [0u32; 64];
    for (word, bytes) in w.iter_mut().zip(block.as_chunks::<4>().0) {
        *word = u32::from_be_bytes(*bytes);
    }
    for t in (16..64).step_by(2) {
        let x = schedule_word(&w, t);
        if let Some(word) = w.get_mut(t) {
            *word = x;
        }
        let y = schedule_word(&w, t + 1);
        if let Some(word) = w.get_mut(t + 1) {
            *word = y;
        }
    }
    w
}

/// One round (FIPS 180-4 §6.2.2 step 3) with the working variables named by their role in it:
/// `h` becomes the new `a` and `d` the new `e`, so the next round is the same macro with the
/// names rotated by one. `$ab` receives `a ⊕ b`; `$bc` holds `b ⊕ c`, the previous round's
/// `a ⊕ b`, so that `Maj(a, b, c) = ((a ⊕ b) ∧ (b ⊕ c)) ⊕ b` costs one XOR fewer.
macro_rules! round {
    ($k:ident, $w:ident, $j:literal, $ab:ident, $bc:ident,
     $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {
        $h = $h
            .wrapping_add(big_sigma1($e))
            .wrapping_add(ch($e, $f, $g))
            .wrapping_add($w[$j])
            .wrapping_add($k[$j]);
        $d = $d.wrapping_add($h);
        $ab = $a ^ $b;
        $h = $h
            .wrapping_add(big_sigma0($a))
            .wrapping_add(($ab & $bc) ^ $b);
    };
}

/// The SHA-256 compression function: hash one 64-byte block into `state`. Out of line: it is
/// the bulk of the code, called from the block loop, the pending block and the padding.
#[inline(never)]
fn compress(state: &mut [u32; 8], block: &[u8; BLOCK]) {
    let w = schedule(block);
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    let mut p = b ^ c;
    let mut q;
    for (k, w) in K.as_chunks::<8>().0.iter().zip(w.as_chunks::<8>().0) {
        round!(k, w, 0, q, p, a, b, c, d, e, f, g, h);
        round!(k, w, 1, p, q, h, a, b, c, d, e, f, g);
        round!(k, w, 2, q, p, g, h, a, b, c, d, e, f);
        round!(k, w, 3, p, q, f, g, h, a, b, c, d, e);
        round!(k, w, 4, q, p, e, f, g, h, a, b, c, d);
        round!(k, w, 5, p, q, d, e, f, g, h, a, b, c);
        round!(k, w, 6, q, p, c, d, e, f, g, h, a, b);
        round!(k, w, 7, p, q, b, c, d, e, f, g, h, a);
    }
    for (word, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *word = word.wrapping_add(v);
    }
}
