//! What several of `shared`'s integration tests use.
#![allow(dead_code)]

/// The simulator's SplitMix64 (deterministic, seedable), with the draws the tests use.
pub struct Rng(fwu_sim_flash::rng::Rng);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(fwu_sim_flash::rng::Rng::new(seed))
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| self.next() as u8)
    }

    /// `len` random bytes.
    pub fn vec(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
