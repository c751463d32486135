//! Codec for persisted records: a small framed encoding with a format version and a CRC-32C, so
//! that a torn or stale write decodes as an error (never as a valid record) and a future format
//! change is detected instead of misread.
//!
//! Encoding: `kind u8 | format u8 | payload length u16 LE | payload | CRC-32C LE` where the CRC
//! (Castagnoli, `crc::CRC_32_ISCSI`) covers every byte before it.

use crate::bytes::{Reader, Writer};
#[cfg(any(test, not(feature = "compact-crc")))]
use crc::{Crc, CRC_32_ISCSI};

/// Format version written into every record; decoding refuses any other value.
pub const RECORD_FORMAT_VERSION: u8 = 1;
/// Bytes a record adds around its payload (4-byte frame header + 4-byte CRC).
pub const RECORD_OVERHEAD: usize = 8;

#[cfg(not(feature = "compact-crc"))]
const CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// CRC-32C (Castagnoli) of `data`: the `crc` crate's 1 KiB-table implementation, or with the
/// `compact-crc` feature (bootloaders, where 1 KiB is 6 % of the budget) [`crc32c_compact`].
#[cfg(not(feature = "compact-crc"))]
pub fn crc32c(data: &[u8]) -> u32 {
    CASTAGNOLI.checksum(data)
}

/// CRC-32C (Castagnoli) of `data`: [`crc32c_compact`] (feature `compact-crc`).
#[cfg(feature = "compact-crc")]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_compact(data)
}

/// The reflected CRC-32C polynomial.
const CASTAGNOLI_REFLECTED: u32 = 0x82F6_3B78;

/// The CRC of each 4-bit value, for [`crc32c_compact`] (64 bytes instead of 1 KiB).
#[allow(clippy::indexing_slicing)] // evaluated at compile time: an index out of range fails the build
const NIBBLES: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut n = 0;
    while n < 16 {
        let mut c = n as u32;
        let mut bit = 0;
        while bit < 4 {
            c = if c & 1 != 0 {
                (c >> 1) ^ CASTAGNOLI_REFLECTED
            } else {
                c >> 1
            };
            bit += 1;
        }
        t[n] = c;
        n += 1;
    }
    t
};

/// CRC-32C of `data` four bits at a time from a 16-entry table: the same value as the `crc`
/// crate's `CRC_32_ISCSI`, about 1.6x its time per byte in 1/16 of its table.
#[inline(never)]
pub fn crc32c_compact(data: &[u8]) -> u32 {
    let nibble = |c: u32| (c >> 4) ^ NIBBLES.get((c & 0xf) as usize).copied().unwrap_or(0);
    !data
        .iter()
        .fold(!0u32, |c, &b| nibble(nibble(c ^ u32::from(b))))
}

/// Why a record could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The output buffer is too small for the record.
    BufferTooSmall,
    /// The payload is longer than a record can carry.
    PayloadTooLong,
    /// The bytes end before the record does.
    Truncated,
    /// The CRC does not match: torn, corrupted or never written.
    BadCrc,
    /// A format version this code does not understand.
    UnsupportedVersion(u8),
    /// A record of another kind.
    WrongKind {
        /// Kind asked for.
        expected: u8,
        /// Kind found.
        found: u8,
    },
    /// The frame is intact but its payload does not decode as this record type.
    Invalid,
}

/// A decoded frame: its kind, its payload and the number of bytes it occupied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Record kind.
    pub kind: u8,
    /// Payload bytes (CRC-checked).
    pub payload: &'a [u8],
    /// Encoded length including frame header and CRC.
    pub encoded_len: usize,
}

/// Encode one record into `out`; returns the encoded length.
pub fn encode(kind: u8, payload: &[u8], out: &mut [u8]) -> Result<usize, RecordError> {
    let len = u16::try_from(payload.len()).map_err(|_| RecordError::PayloadTooLong)?;
    let total = payload.len() + RECORD_OVERHEAD;
    let body_len = total - 4;
    {
        let mut w = Writer::new(out);
        w.u8(kind)
            .and_then(|_| w.u8(RECORD_FORMAT_VERSION))
            .and_then(|_| w.u16(len))
            .and_then(|_| w.put(payload))
            .ok_or(RecordError::BufferTooSmall)?;
    }
    let crc = crc32c(out.get(..body_len).ok_or(RecordError::BufferTooSmall)?);
    out.get_mut(body_len..total)
        .ok_or(RecordError::BufferTooSmall)?
        .copy_from_slice(&crc.to_le_bytes());
    Ok(total)
}

/// Decode the record at the start of `bytes` (trailing bytes, e.g. write-size padding, are
/// ignored) and check its CRC and format version.
pub fn decode(bytes: &[u8]) -> Result<Frame<'_>, RecordError> {
    let mut r = Reader::new(bytes);
    let kind = r.u8().ok_or(RecordError::Truncated)?;
    let version = r.u8().ok_or(RecordError::Truncated)?;
    let len = usize::from(r.u16().ok_or(RecordError::Truncated)?);
    let payload = r.take(len).ok_or(RecordError::Truncated)?;
    let crc = r.u32().ok_or(RecordError::Truncated)?;
    let body = bytes.get(..len + 4).ok_or(RecordError::Truncated)?;
    if crc32c(body) != crc {
        return Err(RecordError::BadCrc);
    }
    if version != RECORD_FORMAT_VERSION {
        return Err(RecordError::UnsupportedVersion(version));
    }
    Ok(Frame {
        kind,
        payload,
        encoded_len: len + RECORD_OVERHEAD,
    })
}

/// A fixed-size persisted structure with its own kind byte.
pub trait Record: Sized {
    /// Kind byte that identifies this record type.
    const KIND: u8;
    /// Exact payload length.
    const PAYLOAD_LEN: usize;
    /// Largest encoded size, for sizing buffers.
    const ENCODED_LEN: usize = Self::PAYLOAD_LEN + RECORD_OVERHEAD;

    /// Write the payload fields; `None` if the writer runs out (never, with `PAYLOAD_LEN` bytes).
    fn write_payload(&self, w: &mut Writer<'_>) -> Option<()>;

    /// Read the payload fields; `None` for values that are not valid for this type.
    fn read_payload(r: &mut Reader<'_>) -> Option<Self>;

    /// Encode into `out`, returning the encoded length.
    fn encode_into(&self, out: &mut [u8]) -> Result<usize, RecordError> {
        let mut payload = [0u8; 256];
        let p = payload
            .get_mut(..Self::PAYLOAD_LEN)
            .ok_or(RecordError::PayloadTooLong)?;
        let mut w = Writer::new(p);
        self.write_payload(&mut w).ok_or(RecordError::Invalid)?;
        if w.position() != Self::PAYLOAD_LEN {
            return Err(RecordError::Invalid);
        }
        encode(Self::KIND, p, out)
    }

    /// Decode from bytes produced by [`Record::encode_into`].
    fn decode_from(bytes: &[u8]) -> Result<Self, RecordError> {
        let frame = decode(bytes)?;
        if frame.kind != Self::KIND {
            return Err(RecordError::WrongKind {
                expected: Self::KIND,
                found: frame.kind,
            });
        }
        if frame.payload.len() != Self::PAYLOAD_LEN {
            return Err(RecordError::Invalid);
        }
        let mut r = Reader::new(frame.payload);
        Self::read_payload(&mut r).ok_or(RecordError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Pair {
        a: u32,
        b: u8,
    }

    impl Record for Pair {
        const KIND: u8 = 0x42;
        const PAYLOAD_LEN: usize = 5;
        fn write_payload(&self, w: &mut Writer<'_>) -> Option<()> {
            w.u32(self.a)?;
            w.u8(self.b)
        }
        fn read_payload(r: &mut Reader<'_>) -> Option<Self> {
            let a = r.u32()?;
            let b = r.u8().filter(|&b| b < 10)?;
            Some(Pair { a, b })
        }
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_compact(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn compact_crc32c_agrees_with_the_crc_crate() {
        let table = Crc::<u32>::new(&CRC_32_ISCSI);
        let mut x = 0x1234_5678u32;
        let mut data = [0u8; 300];
        for len in 0..data.len() {
            for b in data.iter_mut().take(len) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            assert_eq!(
                crc32c_compact(&data[..len]),
                table.checksum(&data[..len]),
                "{len}"
            );
        }
    }

    #[test]
    fn round_trip_with_padding() {
        let mut buf = [0xffu8; 32];
        let n = Pair { a: 7, b: 3 }.encode_into(&mut buf).unwrap();
        assert_eq!(n, 13);
        assert_eq!(Pair::decode_from(&buf), Ok(Pair { a: 7, b: 3 }));
        assert_eq!(decode(&buf).unwrap().encoded_len, 13);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let mut buf = [0u8; 13];
        Pair {
            a: 0xdead_beef,
            b: 9,
        }
        .encode_into(&mut buf)
        .unwrap();
        for i in 0..buf.len() * 8 {
            let mut c = buf;
            c[i / 8] ^= 1 << (i % 8);
            assert!(Pair::decode_from(&c).is_err(), "flip {i} undetected");
        }
    }

    #[test]
    fn every_torn_prefix_is_rejected() {
        let mut buf = [0u8; 13];
        Pair { a: 1, b: 2 }.encode_into(&mut buf).unwrap();
        for cut in 0..buf.len() {
            let mut torn = [0xffu8; 13];
            torn[..cut].copy_from_slice(&buf[..cut]);
            assert!(Pair::decode_from(&torn).is_err(), "prefix {cut} accepted");
            assert!(Pair::decode_from(&buf[..cut]).is_err());
        }
        assert!(Pair::decode_from(&[0xff; 13]).is_err());
        assert!(Pair::decode_from(&[0x00; 13]).is_err());
    }

    #[test]
    fn kind_version_and_value_checks() {
        let mut buf = [0u8; 13];
        encode(0x43, &[1, 0, 0, 0, 2], &mut buf).unwrap();
        assert_eq!(
            Pair::decode_from(&buf),
            Err(RecordError::WrongKind {
                expected: 0x42,
                found: 0x43
            })
        );
        encode(0x42, &[1, 0, 0, 0, 99], &mut buf).unwrap();
        assert_eq!(Pair::decode_from(&buf), Err(RecordError::Invalid));
        let mut v2 = [0u8; 13];
        encode(0x42, &[1, 0, 0, 0, 2], &mut v2).unwrap();
        v2[1] = 2;
        let crc = crc32c(&v2[..9]);
        v2[9..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            Pair::decode_from(&v2),
            Err(RecordError::UnsupportedVersion(2))
        );
        assert_eq!(
            encode(1, &[0; 10], &mut [0u8; 17]),
            Err(RecordError::BufferTooSmall)
        );
    }
}
