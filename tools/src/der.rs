//! The little DER needed for Ed25519 key files (RFC 8410): tag-length-value reading with every
//! length checked against the input, and OID naming for error messages.

use std::fmt;

/// ASN.1 tags used by key files.
pub mod tag {
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
}

/// DER encoding of the Ed25519 algorithm OID 1.3.101.112 (content bytes only).
pub const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// Why a DER structure could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DerError {
    /// The input ended inside a tag, a length or a value.
    Truncated,
    /// A different tag was found than the structure requires.
    UnexpectedTag {
        /// Tag required.
        expected: u8,
        /// Tag found.
        found: u8,
    },
    /// Indefinite or oversized length encoding (not DER).
    BadLength,
    /// Bytes left over after a complete structure.
    TrailingData,
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerError::Truncated => write!(f, "DER data is truncated"),
            DerError::UnexpectedTag { expected, found } => write!(
                f,
                "unexpected DER tag 0x{found:02x} (expected 0x{expected:02x})"
            ),
            DerError::BadLength => write!(f, "invalid DER length encoding"),
            DerError::TrailingData => write!(f, "unexpected data after the DER structure"),
        }
    }
}

impl std::error::Error for DerError {}

/// A cursor over DER-encoded bytes.
#[derive(Clone, Copy, Debug)]
pub struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    /// Whether all bytes have been consumed.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next tag, without consuming it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Fail unless every byte has been consumed.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData)
        }
    }

    /// Read one element of any tag: `(tag, content)`.
    pub fn read_any(&mut self) -> Result<(u8, &'a [u8]), DerError> {
        let (&tag, rest) = self.rest.split_first().ok_or(DerError::Truncated)?;
        if tag & 0x1f == 0x1f {
            // High tag numbers never occur in key files.
            return Err(DerError::BadLength);
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError::Truncated)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(DerError::BadLength);
            }
            let (len_bytes, after) = rest.split_at_checked(n).ok_or(DerError::Truncated)?;
            rest = after;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        let (content, after) = rest.split_at_checked(len).ok_or(DerError::Truncated)?;
        self.rest = after;
        Ok((tag, content))
    }

    /// Read one element that must carry `expected` as its tag.
    pub fn read(&mut self, expected: u8) -> Result<&'a [u8], DerError> {
        let (found, content) = self.read_any()?;
        if found == expected {
            Ok(content)
        } else {
            Err(DerError::UnexpectedTag { expected, found })
        }
    }
}

/// Dotted form of an OID's content bytes, e.g. `1.3.101.112`.
pub fn oid_to_string(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in content {
        acc = match acc.checked_mul(128) {
            Some(v) => v | u64::from(b & 0x7f),
            None => return "<invalid OID>".to_string(),
        };
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    if arcs.is_empty() {
        return "<empty OID>".to_string();
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A human name for a key algorithm OID (content bytes).
pub fn algorithm_name(content: &[u8]) -> String {
    let dotted = oid_to_string(content);
    let name = match dotted.as_str() {
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        "1.2.840.10045.2.1" => "EC",
        "1.2.840.10040.4.1" => "DSA",
        _ => return format!("OID {dotted}"),
    };
    format!("{name} ({dotted})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut d = Der::new(&[0x04, 0x02, 0xaa, 0xbb, 0x30, 0x81, 0x01, 0x05]);
        assert_eq!(d.read(tag::OCTET_STRING), Ok(&[0xaa, 0xbb][..]));
        assert_eq!(d.read(tag::SEQUENCE), Ok(&[0x05][..]));
        assert!(d.is_empty());
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn rejects_bad_encodings() {
        assert_eq!(
            Der::new(&[0x04, 0x05, 0x00]).read_any(),
            Err(DerError::Truncated)
        );
        assert_eq!(
            Der::new(&[0x04, 0x80, 0x00]).read_any(),
            Err(DerError::BadLength)
        );
        assert_eq!(
            Der::new(&[0x04, 0x85, 0, 0, 0, 0, 1]).read_any(),
            Err(DerError::BadLength)
        );
        assert_eq!(
            Der::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]).read_any(),
            Err(DerError::Truncated)
        );
        assert_eq!(
            Der::new(&[0x02, 0x00]).read(tag::SEQUENCE),
            Err(DerError::UnexpectedTag {
                expected: 0x30,
                found: 0x02
            })
        );
        assert_eq!(Der::new(&[]).read_any(), Err(DerError::Truncated));
        assert_eq!(Der::new(&[0x01]).finish(), Err(DerError::TrailingData));
    }

    #[test]
    fn names_oids() {
        assert_eq!(oid_to_string(OID_ED25519), "1.3.101.112");
        assert_eq!(
            algorithm_name(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]),
            "RSA (1.2.840.113549.1.1.1)"
        );
        assert_eq!(
            algorithm_name(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
            "EC (1.2.840.10045.2.1)"
        );
        assert_eq!(algorithm_name(&[0x2b, 0x65, 0x6e]), "X25519 (1.3.101.110)");
        assert_eq!(algorithm_name(&[0x55, 0x04]), "OID 2.5.4");
        assert_eq!(oid_to_string(&[]), "<empty OID>");
    }
}
