//! Fuzz target `image`: untrusted bytes through every image-reading path of `fwu-shared`, plus
//! the record decoder.
//!
//! Input layout: the first 4 bytes (if present) are the slot size, little-endian, clamped to at
//! most the image length + 64; the rest is the image. The same bytes also go to
//! `record::decode` whole.
//!
//! Properties checked (besides "no panic"):
//! * `scan_slice` and a hand-driven `Scanner` fed hashing reads in random chunk sizes agree
//!   exactly (chunking must not change the result);
//! * `scan_flash` and `scan_flash_async` over a mock NOR flash (read sizes 1/4/16, image at an
//!   unaligned base, varied buffer sizes) only issue aligned reads and agree with `scan_slice`;
//! * an `Ok` scan is authenticated against two key rings, one whose key is not a valid point and
//!   one valid key (errors are expected, panics are not);
//! * a decoded record's length bookkeeping is consistent with the input.
#![no_main]

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use embedded_storage::nor_flash::{ErrorType, NorFlashErrorKind, ReadNorFlash};
use embedded_storage_async::nor_flash::ReadNorFlash as AsyncReadNorFlash;
use fwu_shared::image::{
    scan_flash, scan_flash_async, scan_slice, ImageError, KeyRing, PublicKey, ScannedImage, Scanner,
};
use fwu_shared::record;
use fwu_sim_flash::rng::Rng;
use libfuzzer_sys::fuzz_target;

const KEYS: [PublicKey; 1] = [PublicKey([7u8; 32])];

/// A valid Ed25519 key (RFC 8032 test 1) so that the signature check itself is reached; the
/// `seed-signed` corpus file is signed with its secret key.
const VALID_KEYS: [PublicKey; 1] = [PublicKey([
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
])];

type ScanResult = Result<ScannedImage, ImageError>;

fuzz_target!(|data: &[u8]| {
    let (slot, image) = split_input(data);
    let mut rng = Choices::new(data);

    let by_slice = scan_slice(image, slot);
    if let Ok(scanned) = &by_slice {
        let _ = KeyRing::new(&KEYS).authenticate(scanned);
        let _ = KeyRing::new(&VALID_KEYS).authenticate(scanned);
    }

    let chunked = scan_chunked(image, slot, &mut rng);
    assert_eq!(
        chunked, by_slice,
        "hashing chunk sizes changed the scan result"
    );

    check_flash(image, slot, &by_slice, &mut rng);

    if let Ok(frame) = record::decode(data) {
        assert_eq!(
            frame.encoded_len,
            frame.payload.len() + record::RECORD_OVERHEAD
        );
        assert!(frame.encoded_len <= data.len());
    }
});

/// Slot size from the first 4 bytes (clamped to image length + 64) and the image after them.
fn split_input(data: &[u8]) -> (u32, &[u8]) {
    let (slot, image) = match data.split_first_chunk::<4>() {
        Some((head, rest)) => (u32::from_le_bytes(*head), rest),
        None => (u32::MAX, data),
    };
    let limit = u32::try_from(image.len().saturating_add(64)).unwrap_or(u32::MAX);
    (slot.min(limit), image)
}

/// Drive the scanner by hand: structural reads exactly, hashing reads in random chunks.
fn scan_chunked(image: &[u8], slot: u32, rng: &mut Choices) -> ScanResult {
    let mut scanner = Scanner::new(slot);
    while let Some(req) = scanner.request() {
        let start = usize::try_from(req.offset).map_err(|_| ImageError::Truncated)?;
        let want = usize::try_from(req.len).map_err(|_| ImageError::Truncated)?;
        let len = if req.exact {
            want
        } else {
            rng.chunk().min(want)
        };
        let end = start.checked_add(len).ok_or(ImageError::Truncated)?;
        let bytes = image.get(start..end).ok_or(ImageError::Truncated)?;
        scanner.feed(bytes)?;
    }
    scanner.finish()
}

/// Scan through the blocking and async flash drivers and compare with the slice scan.
fn check_flash(image: &[u8], slot: u32, by_slice: &ScanResult, rng: &mut Choices) {
    let base = rng.below(40);
    let mut mem = vec![0xa5u8; base];
    mem.extend_from_slice(image);
    let buf_len = [64, 65, 100, 256, 4096][rng.below(5)];
    let mut buf = vec![0u8; buf_len];
    let base = u32::try_from(base).unwrap_or(0);
    let (blocking, asynch, read_size) = match rng.below(3) {
        0 => run_flash::<1>(&mem, base, slot, &mut buf),
        1 => run_flash::<4>(&mem, base, slot, &mut buf),
        _ => run_flash::<16>(&mem, base, slot, &mut buf),
    };
    assert_eq!(blocking, asynch, "blocking and async flash scans differ");
    if blocking.is_ok() {
        // Every byte the scan needed was read from the image, so the slice scan sees the same.
        assert_eq!(
            &blocking, by_slice,
            "flash scan succeeded where the slice scan did not"
        );
    }
    if mem.len().is_multiple_of(read_size) {
        // No aligned window can run past the end: only the error for a short image differs.
        let mapped = blocking.map_err(|e| match e {
            ImageError::Storage => ImageError::Truncated,
            e => e,
        });
        assert_eq!(&mapped, by_slice, "flash scan and slice scan differ");
    }
}

fn run_flash<const R: usize>(
    mem: &[u8],
    base: u32,
    slot: u32,
    buf: &mut [u8],
) -> (ScanResult, ScanResult, usize) {
    let blocking = scan_flash(&mut MockFlash::<R>(mem), base, slot, buf);
    let asynch = block_on(scan_flash_async(&mut MockFlash::<R>(mem), base, slot, buf));
    (blocking, asynch, R)
}

/// A read-only NOR flash over a byte slice that enforces `READ_SIZE` alignment.
struct MockFlash<'a, const R: usize>(&'a [u8]);

impl<const R: usize> MockFlash<'_, R> {
    fn read_at(&self, offset: u32, bytes: &mut [u8]) -> Result<(), NorFlashErrorKind> {
        let start = usize::try_from(offset).map_err(|_| NorFlashErrorKind::OutOfBounds)?;
        assert!(
            start.is_multiple_of(R) && bytes.len().is_multiple_of(R),
            "driver issued a misaligned read: offset {start}, len {}, READ_SIZE {R}",
            bytes.len()
        );
        let src = start
            .checked_add(bytes.len())
            .and_then(|end| self.0.get(start..end))
            .ok_or(NorFlashErrorKind::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
}

impl<const R: usize> ErrorType for MockFlash<'_, R> {
    type Error = NorFlashErrorKind;
}

impl<const R: usize> ReadNorFlash for MockFlash<'_, R> {
    const READ_SIZE: usize = R;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.read_at(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.len()
    }
}

impl<const R: usize> AsyncReadNorFlash for MockFlash<'_, R> {
    const READ_SIZE: usize = R;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.read_at(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.len()
    }
}

/// Poll a future that never waits (the mock flash is always ready) to completion.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Deterministic choices derived from the input (the simulator's SplitMix64 seeded with
/// FNV-1a), so that a crash reproduces from its input file alone.
struct Choices(Rng);

impl Choices {
    fn new(data: &[u8]) -> Self {
        let seed = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Choices(Rng::new(seed))
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.0.below(n as u64)).unwrap_or(0)
    }

    /// A hashing chunk size: mostly tiny or small, sometimes large, sometimes "everything".
    fn chunk(&mut self) -> usize {
        match self.below(4) {
            0 => 1 + self.below(4),
            1 => 1 + self.below(64),
            2 => 1 + self.below(4096),
            _ => usize::MAX,
        }
    }
}
