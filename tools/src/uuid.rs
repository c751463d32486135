//! Image identity UUIDs as `imgtool sign --vid/--cid` (2.5.0) reads them, and name-based
//! UUIDs (version 5, RFC 4122 §4.3).
//!
//! A value is, in this order:
//!
//! 1. a raw UUID `12345678-1234-5678-1234-567812345678` (hex digits of any case);
//! 2. 32 hex digits, the same 16 bytes without dashes;
//! 3. any other printable string (Python's `str.isprintable`, so also the empty string): a
//!    name, hashed into a version 5 UUID. The vendor name's namespace is `NAMESPACE_DNS`
//!    (a domain name); the class name's namespace is the vendor UUID, so a class name needs
//!    `--vid` (imgtool: "Unknown namespace for UUID").
//!
//! Anything else (a string with a control, format, separator or private-use character) is
//! refused, as imgtool refuses it ("Unknown UUID format"). One difference: imgtool also refuses
//! code points unassigned in its Unicode database (category Cn) except the noncharacters, which
//! both refuse; without Unicode tables this module accepts them.

use fwu_shared::image::ImageIdentity;
use sha1::{Digest, Sha1};
use std::fmt;

/// The RFC 4122 namespace for domain names, `6ba7b810-9dad-11d1-80b4-00c04fd430c8`: the
/// namespace of a vendor name (`--vid`).
pub const NAMESPACE_DNS: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// The name-based (SHA-1, version 5) UUID of `name` in `namespace` (RFC 4122 §4.3): the first 16
/// bytes of SHA-1(namespace || name), with the version nibble 5 and the variant bits `10`.
pub fn uuid5(namespace: &[u8; 16], name: &[u8]) -> [u8; 16] {
    let digest = Sha1::new()
        .chain_update(namespace)
        .chain_update(name)
        .finalize();
    let mut out = [0u8; 16];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out[6] = (out[6] & 0x0f) | 0x50;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// The canonical text form of a UUID: lower-case hex, dashes after bytes 4, 6, 8 and 10.
pub fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A parsed `--vid`/`--cid` value, before the namespace of a name is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UuidValue {
    /// A raw UUID (with or without dashes): these bytes.
    Raw([u8; 16]),
    /// A printable name, to be hashed into a version 5 UUID in its namespace.
    Name(String),
}

/// Why a `--vid`/`--cid` value is unusable; `Display` is one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UuidError {
    /// Neither a UUID, 32 hex digits nor a printable string.
    Format(String),
    /// A class name (`--cid`) without a vendor (`--vid`) to serve as its namespace.
    NoNamespace(String),
}

impl fmt::Display for UuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UuidError::Format(v) => write!(
                f,
                "unknown UUID format {v:?}: expected a UUID (12345678-1234-5678-1234-567812345678), 32 hex digits or a printable name"
            ),
            UuidError::NoNamespace(v) => write!(
                f,
                "unknown namespace for UUID {v:?}: a class name in --cid needs --vid (the vendor UUID is its namespace); give --vid or a raw class UUID"
            ),
        }
    }
}

impl std::error::Error for UuidError {}

/// Whether the hex digits of `text` are 16 bytes in the given groups (`[32]` or the UUID's
/// `[8, 4, 4, 4, 12]` separated by `-`); the bytes if so.
fn hex_groups(text: &str, groups: &[usize]) -> Option<[u8; 16]> {
    let parts: Vec<&str> = text.split('-').collect();
    if parts.len() != groups.len()
        || parts
            .iter()
            .zip(groups)
            .any(|(p, &n)| p.len() != n || !p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return None;
    }
    let digits: Vec<u8> = parts.concat().into_bytes();
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let nibble = |c: u8| char::from(c).to_digit(16).unwrap_or(0) as u8;
        *o = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Some(out)
}

/// Python's `str.isprintable` for one character: not a control (Cc), format (Cf), surrogate
/// (Cs, impossible in a `char`), private-use (Co), separator (Zs, Zl, Zp; the space excepted)
/// or noncharacter. Format characters are those of Unicode 14.0 (Python 3.11's database).
fn is_printable_char(c: char) -> bool {
    const FORMAT: &[(u32, u32)] = &[
        (0xad, 0xad),
        (0x600, 0x605),
        (0x61c, 0x61c),
        (0x6dd, 0x6dd),
        (0x70f, 0x70f),
        (0x890, 0x891),
        (0x8e2, 0x8e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x13438),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
    ];
    const PRIVATE_USE: &[(u32, u32)] =
        &[(0xe000, 0xf8ff), (0xf0000, 0xffffd), (0x100000, 0x10fffd)];
    let u = u32::from(c);
    let in_table = |t: &[(u32, u32)]| t.iter().any(|&(lo, hi)| (lo..=hi).contains(&u));
    let noncharacter = (0xfdd0..=0xfdef).contains(&u) || (u & 0xfffe) == 0xfffe;
    // White_Space is exactly Zs, Zl, Zp and some controls.
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || in_table(FORMAT)
        || in_table(PRIVATE_USE)
        || noncharacter)
}

/// Python's `str.isprintable`: no control (Cc), format (Cf, as in Unicode 14.0, Python 3.11's
/// database), private-use (Co) or separator (Zs, Zl, Zp; the space excepted) character and no
/// noncharacter; true for the empty string. Unlike Python, unassigned code points (Cn) other
/// than the noncharacters are accepted.
pub fn is_printable(text: &str) -> bool {
    text.chars().all(is_printable_char)
}

/// Parse a `--vid`/`--cid` value (imgtool's `parse_uuid`, without the namespace).
pub fn parse_uuid_value(text: &str) -> Result<UuidValue, UuidError> {
    if let Some(b) = hex_groups(text, &[8, 4, 4, 4, 12]).or_else(|| hex_groups(text, &[32])) {
        Ok(UuidValue::Raw(b))
    } else if is_printable(text) {
        Ok(UuidValue::Name(text.to_string()))
    } else {
        Err(UuidError::Format(text.to_string()))
    }
}

impl UuidValue {
    /// The 16 UUID bytes: raw bytes as given, a name hashed in `namespace` (an error without
    /// one).
    pub fn resolve(&self, namespace: Option<&[u8; 16]>) -> Result<[u8; 16], UuidError> {
        match self {
            UuidValue::Raw(b) => Ok(*b),
            UuidValue::Name(n) => namespace
                .map(|ns| uuid5(ns, n.as_bytes()))
                .ok_or_else(|| UuidError::NoNamespace(n.clone())),
        }
    }
}

/// The identity `--vid` and `--cid` give, as imgtool computes it: the vendor in
/// [`NAMESPACE_DNS`], the class in the vendor's UUID.
pub fn resolve_identity(
    vid: Option<&UuidValue>,
    cid: Option<&UuidValue>,
) -> Result<ImageIdentity, UuidError> {
    let vendor_id = vid.map(|v| v.resolve(Some(&NAMESPACE_DNS))).transpose()?;
    let class_id = cid.map(|c| c.resolve(vendor_id.as_ref())).transpose()?;
    Ok(ImageIdentity {
        vendor_id,
        class_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_hex(s: &str) -> [u8; 16] {
        match parse_uuid_value(s) {
            Ok(UuidValue::Raw(b)) => b,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn name(n: &str) -> String {
        format_uuid(&uuid5(&NAMESPACE_DNS, n.as_bytes()))
    }

    #[test]
    fn uuid5_matches_python() {
        // Python: str(uuid.uuid5(uuid.NAMESPACE_DNS, name)).
        assert_eq!(name("example.com"), "cfbff0d1-9375-5685-968c-48ce8b15ae17");
        assert_eq!(name("python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
        assert_eq!(name("arm.com"), "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
        assert_eq!(name(""), "4ebd0208-8328-5d69-8c44-ec50939c0967");
        // Names are hashed as UTF-8.
        assert_eq!(name("Müller GmbH"), "6dabeed8-ae99-5ae1-ae4a-e35a5199a0a4");
        // Another namespace: uuid.uuid5(uuid.NAMESPACE_URL, "https://www.python.org/").
        let url = parse_hex("6ba7b811-9dad-11d1-80b4-00c04fd430c8");
        assert_eq!(
            format_uuid(&uuid5(&url, b"https://www.python.org/")),
            "5406f80d-92e9-51cd-a176-77445955e733"
        );
        assert_eq!(
            format_uuid(&NAMESPACE_DNS),
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
        );
    }

    #[test]
    fn raw_forms_any_case() {
        let want = [
            0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0xab, 0xcd,
            0xef, 0x78,
        ];
        assert_eq!(parse_hex("12345678-1234-5678-1234-5678abcdef78"), want);
        assert_eq!(parse_hex("12345678-1234-5678-1234-5678ABCDEF78"), want);
        assert_eq!(parse_hex("123456781234567812345678abCDef78"), want);
        assert_eq!(format_uuid(&want), "12345678-1234-5678-1234-5678abcdef78");
        // Near misses are names (printable), as in imgtool.
        for s in [
            "12345678-1234-5678-1234-5678abcdef7",
            "12345678-1234-5678-1234-5678abcdef789",
            "1234567-81234-5678-1234-5678abcdef78",
            "{12345678-1234-5678-1234-5678abcdef78}",
            "12345678123456781234567812345678-",
            "1234567812345678123456781234567",
            "12345678-1234-5678-1234-5678abcdef7g",
            " 12345678123456781234567812345678",
            "+2345678123456781234567812345678",
        ] {
            assert_eq!(parse_uuid_value(s), Ok(UuidValue::Name(s.into())), "{s}");
        }
    }

    #[test]
    fn printable_follows_python() {
        for s in ["", "example.com", "a b", "Müller GmbH", "日本", "\u{1F600}"] {
            assert!(is_printable(s), "{s:?}");
        }
        for s in [
            "a\tb",
            "a\nb",
            "\u{7f}",
            "\u{85}",
            "\u{a0}",
            "\u{ad}",
            "\u{200b}",
            "\u{2028}",
            "\u{3000}",
            "\u{feff}",
            "\u{e000}",
            "\u{fdd0}",
            "\u{fffe}",
            "\u{10ffff}",
            "\u{e0041}",
        ] {
            assert!(!is_printable(s), "{s:?}");
            assert_eq!(
                parse_uuid_value(s),
                Err(UuidError::Format(s.to_string())),
                "{s:?}"
            );
        }
    }

    #[test]
    fn identity_namespaces() {
        let vid = parse_uuid_value("example.com").unwrap();
        let cid = parse_uuid_value("bootloader").unwrap();
        let id = resolve_identity(Some(&vid), Some(&cid)).unwrap();
        let vendor = id.vendor_id.unwrap();
        assert_eq!(format_uuid(&vendor), "cfbff0d1-9375-5685-968c-48ce8b15ae17");
        // Python: uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_DNS, "example.com"), "bootloader").
        assert_eq!(
            format_uuid(&id.class_id.unwrap()),
            "74ae8dfa-6d17-59aa-8d41-d526fcf641b4"
        );
        // A raw vendor is the class name's namespace as given.
        let raw_vid = UuidValue::Raw(vendor);
        assert_eq!(resolve_identity(Some(&raw_vid), Some(&cid)).unwrap(), id);
        // A class name without a vendor has no namespace; a raw class needs none.
        assert_eq!(
            resolve_identity(None, Some(&cid)),
            Err(UuidError::NoNamespace("bootloader".into()))
        );
        let raw_cid = UuidValue::Raw([9; 16]);
        assert_eq!(
            resolve_identity(None, Some(&raw_cid)).unwrap(),
            ImageIdentity {
                vendor_id: None,
                class_id: Some([9; 16])
            }
        );
        assert_eq!(resolve_identity(None, None).unwrap(), ImageIdentity::ANY);
    }
}
