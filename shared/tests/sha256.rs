//! fwu-shared's SHA-256 (`image::sha256`) against the FIPS 180-4 / NIST CAVP examples and,
//! differentially, against the `sha2` crate: every message length from 0 to 300 bytes, each fed
//! whole and in random pieces (fixed seeds, so a failure reproduces).

#![allow(clippy::unwrap_used)]

use fwu_shared::image::sha256::{sha256, Sha256};
use sha2::Digest;

mod common;
use common::Rng;

fn hex(s: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn reference(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// Hash `data` through `update` calls at the given cut points.
fn chunked(data: &[u8], cuts: &[usize]) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut at = 0;
    for &cut in cuts {
        h.update(&data[at..cut]);
        at = cut;
    }
    h.update(&data[at..]);
    h.finalize()
}

#[test]
fn fips_180_examples() {
    // FIPS 180-4 examples (NIST "SHA256.pdf", "SHA2_Additional.pdf") and the CAVP empty message.
    let cases: [(&[u8], &str); 4] = [
        (
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
        (
            b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(sha256(msg), hex(want), "{:?}", String::from_utf8_lossy(msg));
        let mut h = Sha256::new();
        for byte in msg {
            h.update(core::slice::from_ref(byte));
        }
        assert_eq!(h.finalize(), hex(want));
    }
}

#[test]
fn one_million_a() {
    let want = hex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    let million = vec![b'a'; 1_000_000];
    assert_eq!(sha256(&million), want);
    // The same through 1000 updates of 1000 bytes: the pending block straddles most of them.
    let mut h = Sha256::new();
    for piece in million.chunks(1000) {
        h.update(piece);
    }
    assert_eq!(h.finalize(), want);
}

#[test]
fn bit_lengths_around_the_padding_boundaries() {
    // 55 bytes is the longest message whose padding fits its last block, 56..=63 need one more
    // block, 64 starts a new one: each side of each edge, over several blocks.
    for blocks in 0..4 {
        for tail in [0, 1, 54, 55, 56, 57, 62, 63] {
            let msg: Vec<u8> = (0..blocks * 64 + tail).map(|i| i as u8).collect();
            assert_eq!(sha256(&msg), reference(&msg), "length {}", msg.len());
        }
    }
}

#[test]
fn matches_sha2_on_every_length_and_random_chunking() {
    let mut rng = Rng::new(0x5a5a_0256);
    for len in 0..=300 {
        let msg = rng.vec(len);
        let want = reference(&msg);
        assert_eq!(sha256(&msg), want, "one-shot, length {len}");
        for round in 0..8 {
            // Up to 6 cut points anywhere (empty pieces included), sorted.
            let mut cuts: Vec<usize> = (0..rng.below(7)).map(|_| rng.below(len + 1)).collect();
            cuts.sort_unstable();
            assert_eq!(
                chunked(&msg, &cuts),
                want,
                "length {len}, round {round}, cuts {cuts:?}"
            );
        }
    }
}

#[test]
fn a_clone_continues_independently() {
    let mut rng = Rng::new(7);
    let msg = rng.vec(200);
    let mut h = Sha256::new();
    h.update(&msg[..77]);
    let fork = h.clone();
    h.update(&msg[77..]);
    assert_eq!(h.finalize(), reference(&msg));
    assert_eq!(fork.finalize(), reference(&msg[..77]));
    assert_eq!(Sha256::default().finalize(), reference(b""));
}
