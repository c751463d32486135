//! A lenient, display-only description of an image file: every header field, every TLV of both
//! areas (known or not) and the trailer of a padded image, like `imgtool dumpinfo`.
//!
//! Unlike the verifier it accepts TLVs and flags fwu would refuse, so it can explain why an
//! image is rejected; inconsistencies become warnings. Every offset and length is still checked
//! against the file: garbage input yields warnings or an error, never a panic.

use crate::hex::hex;
use crate::parse::format_version;
use crate::trailer::{BOOT_MAGIC, BOOT_MAGIC_TAIL, MAGIC_SIZE};
use crate::uuid::format_uuid;
use fwu_shared::image::header::flags;
use fwu_shared::image::tlv::{self, types};
use fwu_shared::image::{IMAGE_HEADER_SIZE, IMAGE_MAGIC};
use fwu_shared::version::Dependency;
use fwu_shared::ImageVersion;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::fmt::{self, Write as _};

/// Why a file cannot be described at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InfoError {
    /// Shorter than an image header.
    TooShort(usize),
    /// The first word is not the image magic.
    NotAnImage(u32),
}

impl fmt::Display for InfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InfoError::TooShort(n) => write!(
                f,
                "not an MCUboot image: {n} bytes is shorter than the {IMAGE_HEADER_SIZE}-byte header"
            ),
            InfoError::NotAnImage(m) => write!(
                f,
                "not an MCUboot image: magic 0x{m:08x} (expected 0x{IMAGE_MAGIC:08x})"
            ),
        }
    }
}

impl std::error::Error for InfoError {}

/// The header fields exactly as stored (no validation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawHeader {
    /// `ih_magic`.
    pub magic: u32,
    /// `ih_load_addr`.
    pub load_addr: u32,
    /// `ih_hdr_size`.
    pub hdr_size: u16,
    /// `ih_protect_tlv_size`.
    pub protect_tlv_size: u16,
    /// `ih_img_size`.
    pub img_size: u32,
    /// `ih_flags`.
    pub flags: u32,
    /// `ih_ver`.
    pub version: ImageVersion,
}

impl RawHeader {
    fn parse(b: &[u8; IMAGE_HEADER_SIZE]) -> Self {
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        RawHeader {
            magic: u32_at(0),
            load_addr: u32_at(4),
            hdr_size: u16_at(8),
            protect_tlv_size: u16_at(10),
            img_size: u32_at(12),
            flags: u32_at(16),
            version: ImageVersion::from_le_bytes([
                b[20], b[21], b[22], b[23], b[24], b[25], b[26], b[27],
            ]),
        }
    }
}

/// Header flag names in imgtool's spelling.
pub const FLAG_NAMES: [(u32, &str); 9] = [
    (flags::PIC, "PIC"),
    (flags::ENCRYPTED_AES128, "ENCRYPTED_AES128"),
    (flags::ENCRYPTED_AES256, "ENCRYPTED_AES256"),
    (flags::NON_BOOTABLE, "NON_BOOTABLE"),
    (flags::RAM_LOAD, "RAM_LOAD"),
    (flags::ROM_FIXED, "ROM_FIXED"),
    (flags::COMPRESSED_LZMA1, "COMPRESSED_LZMA1"),
    (flags::COMPRESSED_LZMA2, "COMPRESSED_LZMA2"),
    (flags::COMPRESSED_ARM_THUMB, "COMPRESSED_ARM_THUMB"),
];

/// The imgtool name of a TLV type (`UNKNOWN` for others, as `imgtool dumpinfo`).
pub fn tlv_name(ty: u16) -> &'static str {
    match ty {
        types::KEYHASH => "KEYHASH",
        types::PUBKEY => "PUBKEY",
        types::SHA256 => "SHA256",
        types::SHA384 => "SHA384",
        types::SHA512 => "SHA512",
        types::RSA2048_PSS => "RSA2048",
        types::ECDSA_SIG => "ECDSASIG",
        types::RSA3072_PSS => "RSA3072",
        types::ED25519 => "ED25519",
        types::SIG_PURE => "SIG_PURE",
        types::ENC_RSA2048 => "ENCRSA2048",
        types::ENC_KW => "ENCKW",
        types::ENC_EC256 => "ENCEC256",
        types::ENC_X25519 => "ENCX25519",
        types::ENC_X25519_SHA512 => "ENCX25519_SHA512",
        types::DEPENDENCY => "DEPENDENCY",
        types::SEC_CNT => "SEC_CNT",
        types::BOOT_RECORD => "BOOT_RECORD",
        types::DECOMP_SIZE => "DECOMP_SIZE",
        types::DECOMP_SHA => "DECOMP_SHA",
        types::DECOMP_SIGNATURE => "DECOMP_SIGNATURE",
        types::COMP_DEC_SIZE => "COMP_DEC_SIZE",
        types::UUID_VID => "UUID_VID",
        types::UUID_CID => "UUID_CID",
        _ => "UNKNOWN",
    }
}

/// One TLV entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlvRecord {
    /// File offset of the entry header.
    pub offset: u64,
    /// Type code.
    pub ty: u16,
    /// Value length.
    pub len: u16,
    /// Value bytes.
    pub data: Vec<u8>,
}

/// A TLV value decoded for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A `SEC_CNT` value.
    SecurityCounter(u32),
    /// A `DEPENDENCY` value.
    Dependency(Dependency),
    /// A `UUID_VID` value: the vendor UUID.
    VendorId([u8; 16]),
    /// A `UUID_CID` value: the image class UUID.
    ClassId([u8; 16]),
}

impl TlvRecord {
    /// The decoded value of the TLV types that have one (and the right length).
    pub fn decoded(&self) -> Option<Decoded> {
        match self.ty {
            types::SEC_CNT => <[u8; 4]>::try_from(self.data.as_slice())
                .ok()
                .map(|b| Decoded::SecurityCounter(u32::from_le_bytes(b))),
            types::DEPENDENCY if self.data.len() == 12 => tlv::decode_dependency(&self.data)
                .ok()
                .map(Decoded::Dependency),
            types::UUID_VID => <[u8; 16]>::try_from(self.data.as_slice())
                .ok()
                .map(Decoded::VendorId),
            types::UUID_CID => <[u8; 16]>::try_from(self.data.as_slice())
                .ok()
                .map(Decoded::ClassId),
            _ => None,
        }
    }
}

/// A TLV area: its info word and entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlvArea {
    /// File offset of the info word.
    pub offset: u64,
    /// Info magic.
    pub magic: u16,
    /// Area length including the info word.
    pub tlv_tot: u16,
    /// Entries, in order (a walk stops at the first entry that overruns the area or file).
    pub entries: Vec<TlvRecord>,
}

/// The trailer fields of a padded image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrailerFields {
    /// image_ok byte.
    pub image_ok: u8,
    /// copy_done byte.
    pub copy_done: u8,
    /// swap_info byte.
    pub swap_info: u8,
    /// swap_size word.
    pub swap_size: u32,
    /// The erased value, inferred from the padding inside the image_ok field.
    pub erased_val: Option<u8>,
}

/// The trailer at the end of a file that extends past its TLV area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// File offset where the bytes after the TLV area start.
    pub padding_offset: u64,
    /// The last 16 bytes of the file.
    pub magic: [u8; 16],
    /// Max alignment encoded by a valid magic; `None` when the magic is invalid.
    pub max_align: Option<u32>,
    /// Fields, when the magic is valid and they lie after the TLV area.
    pub fields: Option<TrailerFields>,
}

/// Everything `info` shows about an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// File length.
    pub file_size: u64,
    /// Header fields.
    pub header: RawHeader,
    /// Protected TLV area, when the header announces one and it lies in the file.
    pub protected: Option<TlvArea>,
    /// Unprotected TLV area, when it lies in the file.
    pub unprotected: Option<TlvArea>,
    /// Trailer, when bytes follow the TLV area.
    pub trailer: Option<Trailer>,
    /// SHA-256 of header, payload and protected TLVs, when they lie in the file.
    pub computed_sha256: Option<[u8; 32]>,
    /// Inconsistencies found.
    pub warnings: Vec<String>,
}

fn slice_at(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(start..end)
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Walk the TLV area whose info word is at `offset`.
fn walk_area(
    bytes: &[u8],
    offset: u64,
    expected_magic: u16,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<TlvArea> {
    let Some(info) = slice_at(bytes, offset, 4) else {
        warnings.push(format!(
            "{name} TLV area at 0x{offset:x} lies beyond the end of the file"
        ));
        return None;
    };
    let magic = u16_le(info, 0)?;
    let tlv_tot = u16_le(info, 2)?;
    if magic != expected_magic {
        warnings.push(format!(
            "{name} TLV area magic is 0x{magic:04x} (expected 0x{expected_magic:04x})"
        ));
    }
    if tlv_tot < 4 {
        warnings.push(format!(
            "{name} TLV area length {tlv_tot} is shorter than its info word"
        ));
    }
    let end = offset + u64::from(tlv_tot);
    let mut pos = offset + 4;
    let mut entries = Vec::new();
    while pos < end {
        let header = slice_at(bytes, pos, 4).filter(|_| pos + 4 <= end);
        let Some(header) = header else {
            warnings.push(format!(
                "{name} TLV entry at 0x{pos:x} overruns its area or the file"
            ));
            break;
        };
        let (ty, len) = match (u16_le(header, 0), u16_le(header, 2)) {
            (Some(t), Some(l)) => (t, l),
            _ => break,
        };
        let value_end = pos + 4 + u64::from(len);
        let value = slice_at(bytes, pos + 4, len.into()).filter(|_| value_end <= end);
        let Some(value) = value else {
            warnings.push(format!(
                "{name} TLV 0x{ty:02x} at 0x{pos:x} (length {len}) overruns its area or the file"
            ));
            break;
        };
        entries.push(TlvRecord {
            offset: pos,
            ty,
            len,
            data: value.to_vec(),
        });
        pos = value_end;
    }
    Some(TlvArea {
        offset,
        magic,
        tlv_tot,
        entries,
    })
}

fn read_trailer(bytes: &[u8], tlv_end: u64, warnings: &mut Vec<String>) -> Option<Trailer> {
    let file = bytes.len() as u64;
    let extra = file.checked_sub(tlv_end).filter(|&n| n > 0)?;
    if extra < u64::from(MAGIC_SIZE) {
        warnings.push(format!(
            "{extra} bytes follow the TLV area, too few for a trailer"
        ));
        return None;
    }
    let magic: [u8; 16] = slice_at(bytes, file - 16, 16)?.try_into().ok()?;
    let max_align = if magic == BOOT_MAGIC {
        Some(8)
    } else if magic.get(2..) == Some(&BOOT_MAGIC_TAIL[..]) {
        Some(u32::from(u16::from_le_bytes([magic[0], magic[1]])))
    } else {
        warnings.push("the trailer magic is not valid".to_string());
        None
    };
    let fields = max_align.and_then(|a| {
        let a = u64::from(a);
        let magic_area = a.max(u64::from(MAGIC_SIZE));
        let image_ok_at = file.checked_sub(magic_area + a)?;
        let swap_size_at = file.checked_sub(magic_area + 4 * a)?;
        if a == 0 || swap_size_at < tlv_end {
            warnings.push(format!(
                "trailer fields for max alignment {a} would overlap the image"
            ));
            return None;
        }
        let byte = |o: u64| slice_at(bytes, o, 1).and_then(|b| b.first().copied());
        let erased_val = if a >= 2 {
            byte(file - magic_area - 1).filter(|&b| b == 0 || b == 0xff)
        } else {
            None
        };
        let size_bytes: [u8; 4] = slice_at(bytes, swap_size_at, 4)?.try_into().ok()?;
        Some(TrailerFields {
            image_ok: byte(image_ok_at)?,
            copy_done: byte(image_ok_at - a)?,
            swap_info: byte(image_ok_at - 2 * a)?,
            swap_size: u32::from_le_bytes(size_bytes),
            erased_val,
        })
    });
    Some(Trailer {
        padding_offset: tlv_end,
        magic,
        max_align,
        fields,
    })
}

/// Describe an image file.
pub fn describe(bytes: &[u8]) -> Result<ImageInfo, InfoError> {
    let head: &[u8; IMAGE_HEADER_SIZE] = bytes
        .get(..IMAGE_HEADER_SIZE)
        .and_then(|h| h.try_into().ok())
        .ok_or(InfoError::TooShort(bytes.len()))?;
    let header = RawHeader::parse(head);
    if header.magic != IMAGE_MAGIC {
        return Err(InfoError::NotAnImage(header.magic));
    }
    let mut warnings = Vec::new();
    if usize::from(header.hdr_size) < IMAGE_HEADER_SIZE {
        warnings.push(format!(
            "header size {} is smaller than {IMAGE_HEADER_SIZE}",
            header.hdr_size
        ));
    }
    let unsupported = header.flags & !flags::SUPPORTED;
    if unsupported != 0 {
        warnings.push(format!(
            "header flags 0x{unsupported:x} are not supported by fwu"
        ));
    }
    let tlv_off = u64::from(header.hdr_size) + u64::from(header.img_size);
    let protected = if header.protect_tlv_size != 0 {
        let area = walk_area(
            bytes,
            tlv_off,
            tlv::TLV_PROT_INFO_MAGIC,
            "protected",
            &mut warnings,
        );
        if let Some(a) = &area {
            if a.tlv_tot != header.protect_tlv_size {
                warnings.push(format!(
                    "protected TLV area length {} disagrees with the header's {}",
                    a.tlv_tot, header.protect_tlv_size
                ));
            }
        }
        area
    } else {
        None
    };
    let hashed_len = tlv_off + u64::from(header.protect_tlv_size);
    let unprotected = walk_area(
        bytes,
        hashed_len,
        tlv::TLV_INFO_MAGIC,
        "unprotected",
        &mut warnings,
    );
    let computed_sha256 = slice_at(bytes, 0, hashed_len).map(|b| Sha256::digest(b).into());
    let trailer = unprotected
        .as_ref()
        .and_then(|u| read_trailer(bytes, u.offset + u64::from(u.tlv_tot).max(4), &mut warnings));
    Ok(ImageInfo {
        file_size: bytes.len() as u64,
        header,
        protected,
        unprotected,
        trailer,
        computed_sha256,
        warnings,
    })
}

impl ImageInfo {
    /// The value of the unprotected SHA256 TLV, if present with 32 bytes.
    pub fn hash_tlv(&self) -> Option<&[u8]> {
        self.unprotected
            .as_ref()?
            .entries
            .iter()
            .find(|e| e.ty == types::SHA256 && e.data.len() == 32)
            .map(|e| e.data.as_slice())
    }

    /// Whether the computed digest equals the SHA256 TLV (`None` if either is missing).
    pub fn hash_matches(&self) -> Option<bool> {
        Some(self.computed_sha256?.as_slice() == self.hash_tlv()?)
    }

    /// JSON description; field names follow `imgtool dumpinfo -f json` (with extra fields:
    /// offsets, decoded TLV values, flag names, the computed digest and warnings).
    pub fn to_json(&self, filename: &str) -> Value {
        let h = &self.header;
        let flag_names: Vec<&str> = FLAG_NAMES
            .iter()
            .filter(|(bit, _)| h.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        let area_hdr = |a: &Option<TlvArea>| match a {
            Some(a) => json!({"offset": a.offset, "magic": a.magic, "tlv_tot": a.tlv_tot}),
            None => Value::Object(Map::new()),
        };
        let records = |a: &Option<TlvArea>| -> Vec<Value> {
            a.iter()
                .flat_map(|a| a.entries.iter())
                .map(record_json)
                .collect()
        };
        json!({
            "filename": filename,
            "file_size": self.file_size,
            "header": {
                "magic": h.magic,
                "load_addr": h.load_addr,
                "hdr_size": h.hdr_size,
                "protected_tlv_size": h.protect_tlv_size,
                "img_size": h.img_size,
                "flags": h.flags,
                "flag_names": flag_names,
                "version": format_version(&h.version),
            },
            "tlv_area": {
                "tlv_hdr_prot": area_hdr(&self.protected),
                "tlvs_prot": records(&self.protected),
                "tlv_hdr": area_hdr(&self.unprotected),
                "tlvs": records(&self.unprotected),
            },
            "trailer": self.trailer.as_ref().map_or_else(|| Value::Object(Map::new()), trailer_json),
            "computed_sha256": self.computed_sha256.map(|d| hex(&d)),
            "hash_matches": self.hash_matches(),
            "warnings": self.warnings,
        })
    }

    /// Human-readable description.
    pub fn to_text(&self, filename: &str) -> String {
        let mut o = String::new();
        let h = &self.header;
        let _ = writeln!(o, "image {filename} ({} bytes)", self.file_size);
        let _ = writeln!(o, "header (offset 0x0):");
        let _ = writeln!(o, "  magic:              0x{:08x}", h.magic);
        let _ = writeln!(o, "  load_addr:          0x{:x}", h.load_addr);
        let _ = writeln!(
            o,
            "  hdr_size:           0x{:x} ({})",
            h.hdr_size, h.hdr_size
        );
        let _ = writeln!(
            o,
            "  protected_tlv_size: 0x{:x} ({})",
            h.protect_tlv_size, h.protect_tlv_size
        );
        let _ = writeln!(
            o,
            "  img_size:           0x{:x} ({})",
            h.img_size, h.img_size
        );
        let names: Vec<&str> = FLAG_NAMES
            .iter()
            .filter(|(bit, _)| h.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        let names = if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(" | "))
        };
        let _ = writeln!(o, "  flags:              0x{:x}{names}", h.flags);
        let _ = writeln!(o, "  version:            {}", format_version(&h.version));
        let _ = writeln!(
            o,
            "payload (offset 0x{:x}): {} bytes",
            h.hdr_size, h.img_size
        );
        for (title, area) in [
            ("protected TLV area", &self.protected),
            ("TLV area", &self.unprotected),
        ] {
            if let Some(a) = area {
                let _ = writeln!(
                    o,
                    "{title} (offset 0x{:x}): magic 0x{:04x}, size 0x{:x}",
                    a.offset, a.magic, a.tlv_tot
                );
                for e in &a.entries {
                    let _ = writeln!(
                        o,
                        "  {} (0x{:02x}), len {}: {}",
                        tlv_name(e.ty),
                        e.ty,
                        e.len,
                        describe_value(e)
                    );
                }
            }
        }
        if let Some(d) = &self.computed_sha256 {
            let verdict = match self.hash_matches() {
                Some(true) => "matches the SHA256 TLV",
                Some(false) => "DOES NOT match the SHA256 TLV",
                None => "no SHA256 TLV",
            };
            let _ = writeln!(o, "computed SHA-256: {} ({verdict})", hex(d));
        }
        if let Some(t) = &self.trailer {
            write_trailer_text(&mut o, t);
        }
        for w in &self.warnings {
            let _ = writeln!(o, "warning: {w}");
        }
        o
    }
}

fn describe_value(e: &TlvRecord) -> String {
    match e.decoded() {
        Some(Decoded::SecurityCounter(c)) => format!("security counter {c} (0x{c:08x})"),
        Some(Decoded::Dependency(d)) => format!(
            "image {} >= {}",
            d.component,
            format_version(&d.min_version)
        ),
        Some(Decoded::VendorId(u)) => format!("vendor {}", format_uuid(&u)),
        Some(Decoded::ClassId(u)) => format!("class {}", format_uuid(&u)),
        None => hex(&e.data),
    }
}

fn record_json(e: &TlvRecord) -> Value {
    let mut v = json!({
        "offset": e.offset,
        "type": e.ty,
        "type_name": tlv_name(e.ty),
        "len": e.len,
        "data": hex(&e.data),
    });
    let decoded = match e.decoded() {
        Some(Decoded::SecurityCounter(c)) => Some(json!({ "security_counter": c })),
        Some(Decoded::Dependency(d)) => Some(json!({
            "image_id": d.component,
            "min_version": format_version(&d.min_version),
        })),
        Some(Decoded::VendorId(u)) => Some(json!({ "vendor_id": format_uuid(&u) })),
        Some(Decoded::ClassId(u)) => Some(json!({ "class_id": format_uuid(&u) })),
        None => None,
    };
    if let (Some(obj), Some(d)) = (v.as_object_mut(), decoded) {
        obj.insert("decoded".into(), d);
    }
    v
}

fn trailer_json(t: &Trailer) -> Value {
    let mut m = Map::new();
    m.insert("padding_offset".into(), json!(t.padding_offset));
    m.insert("magic".into(), json!(hex(&t.magic)));
    m.insert("magic_valid".into(), json!(t.max_align.is_some()));
    if let Some(a) = t.max_align {
        m.insert("max_align".into(), json!(a));
    }
    if let Some(f) = &t.fields {
        m.insert("image_ok".into(), json!(f.image_ok));
        m.insert("copy_done".into(), json!(f.copy_done));
        m.insert("swap_info".into(), json!(f.swap_info));
        m.insert("swap_size".into(), json!(f.swap_size));
        m.insert("erased_val".into(), json!(f.erased_val));
    }
    Value::Object(m)
}

/// MCUboot's reading of an image_ok / copy_done byte.
fn flag_state(v: u8, erased: Option<u8>) -> &'static str {
    if v == 0x01 {
        "set"
    } else if Some(v) == erased {
        "unset"
    } else {
        "bad"
    }
}

fn write_trailer_text(o: &mut String, t: &Trailer) {
    let _ = writeln!(o, "trailer (padding from offset 0x{:x}):", t.padding_offset);
    match t.max_align {
        Some(a) => {
            let _ = writeln!(o, "  magic:      {} (valid, max_align {a})", hex(&t.magic));
        }
        None => {
            let _ = writeln!(o, "  magic:      {} (invalid)", hex(&t.magic));
        }
    }
    let Some(f) = &t.fields else { return };
    let erased = f.erased_val;
    if let Some(e) = erased {
        let _ = writeln!(o, "  erased_val: 0x{e:02x} (inferred)");
    }
    let _ = writeln!(
        o,
        "  image_ok:   0x{:02x} ({})",
        f.image_ok,
        flag_state(f.image_ok, erased)
    );
    let _ = writeln!(
        o,
        "  copy_done:  0x{:02x} ({})",
        f.copy_done,
        flag_state(f.copy_done, erased)
    );
    let swap_info = if Some(f.swap_info) == erased {
        "none".to_string()
    } else {
        let kind = match f.swap_info & 0x0f {
            1 => "NONE",
            2 => "TEST",
            3 => "PERM",
            4 => "REVERT",
            5 => "FAIL",
            _ => "invalid",
        };
        format!("swap type {kind}, image {}", f.swap_info >> 4)
    };
    let _ = writeln!(o, "  swap_info:  0x{:02x} ({swap_info})", f.swap_info);
    let size_erased = erased.is_some_and(|e| f.swap_size.to_le_bytes() == [e; 4]);
    let size = if size_erased {
        "unset".to_string()
    } else {
        format!("{} bytes", f.swap_size)
    };
    let _ = writeln!(o, "  swap_size:  0x{:08x} ({size})", f.swap_size);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::parse::SecurityCounter;
    use crate::sign::{sign_image, SignOptions};
    use crate::trailer::TrailerLayout;

    fn signed(confirm: bool) -> Vec<u8> {
        let mut o = SignOptions::new(ImageVersion::new(1, 2, 3, 4), 0x20, 0x4000);
        o.security_counter = Some(SecurityCounter::Value(5));
        o.dependencies = vec![Dependency {
            component: 2,
            min_version: ImageVersion::new(0, 1, 0, 0),
        }];
        o.confirm = confirm;
        o.trailer = TrailerLayout::new(4, None, 16, false);
        let mut input = vec![0u8; 0x20];
        input.extend_from_slice(b"payload");
        sign_image(&o, &input, &SigningKey::from_seed([1; 32]))
            .unwrap()
            .bytes
    }

    #[test]
    fn describes_every_part_of_a_confirmed_image() {
        let img = signed(true);
        let info = describe(&img).unwrap();
        assert!(info.warnings.is_empty(), "{:?}", info.warnings);
        assert_eq!(info.header.img_size, 7);
        let p = info.protected.as_ref().unwrap();
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].decoded(), Some(Decoded::SecurityCounter(5)));
        assert!(matches!(
            p.entries[1].decoded(),
            Some(Decoded::Dependency(Dependency { component: 2, .. }))
        ));
        let u = info.unprotected.as_ref().unwrap();
        let kinds: Vec<u16> = u.entries.iter().map(|e| e.ty).collect();
        assert_eq!(kinds, vec![types::SHA256, types::KEYHASH, types::ED25519]);
        assert_eq!(info.hash_matches(), Some(true));
        let t = info.trailer.as_ref().unwrap();
        assert_eq!(t.max_align, Some(8));
        let f = t.fields.unwrap();
        assert_eq!(
            (
                f.image_ok,
                f.copy_done,
                f.swap_info,
                f.swap_size,
                f.erased_val
            ),
            (1, 0xff, 0xff, 0xffff_ffff, Some(0xff))
        );
        let json = info.to_json("x.bin");
        assert_eq!(json["tlv_area"]["tlvs_prot"][0]["data"], "05000000");
        assert_eq!(
            json["tlv_area"]["tlvs_prot"][1]["decoded"]["min_version"],
            "0.1.0+0"
        );
        assert_eq!(json["trailer"]["image_ok"], 1);
        let text = info.to_text("x.bin");
        assert!(text.contains("image_ok:   0x01 (set)"), "{text}");
        assert!(text.contains("matches the SHA256 TLV"), "{text}");
    }

    #[test]
    fn shows_vendor_and_class_uuids() {
        let mut o = SignOptions::new(ImageVersion::new(1, 0, 0, 0), 0x20, 0x4000);
        o.pad_header = true;
        o.vendor_id = Some(crate::uuid::uuid5(
            &crate::uuid::NAMESPACE_DNS,
            b"example.com",
        ));
        o.class_id = Some([0xab; 16]);
        let img = sign_image(&o, b"abc", &SigningKey::from_seed([1; 32]))
            .unwrap()
            .bytes;
        let info = describe(&img).unwrap();
        let p = info.protected.as_ref().unwrap();
        assert_eq!(
            p.entries.iter().map(|e| e.ty).collect::<Vec<_>>(),
            vec![types::UUID_VID, types::UUID_CID]
        );
        let text = info.to_text("x");
        assert!(
            text.contains("UUID_VID (0x74), len 16: vendor cfbff0d1-9375-5685-968c-48ce8b15ae17"),
            "{text}"
        );
        assert!(
            text.contains("UUID_CID (0x75), len 16: class abababab-abab-abab-abab-abababababab"),
            "{text}"
        );
        let json = info.to_json("x");
        assert_eq!(
            json["tlv_area"]["tlvs_prot"][0]["decoded"]["vendor_id"],
            "cfbff0d1-9375-5685-968c-48ce8b15ae17"
        );
        assert_eq!(
            json["tlv_area"]["tlvs_prot"][1]["decoded"]["class_id"],
            "abababab-abab-abab-abab-abababababab"
        );
        // The raw bytes stay in `data`, as dumpinfo has them.
        assert_eq!(json["tlv_area"]["tlvs_prot"][1]["data"], "ab".repeat(16));
    }

    #[test]
    fn unpadded_image_has_no_trailer() {
        let mut o = SignOptions::new(ImageVersion::new(1, 0, 0, 0), 0x20, 0x4000);
        o.pad_header = true;
        let img = sign_image(&o, b"abc", &SigningKey::from_seed([1; 32]))
            .unwrap()
            .bytes;
        let info = describe(&img).unwrap();
        assert!(info.protected.is_none());
        assert!(info.trailer.is_none());
        assert_eq!(info.to_json("a")["trailer"], json!({}));
        assert_eq!(info.to_json("a")["tlv_area"]["tlv_hdr_prot"], json!({}));
    }

    #[test]
    fn unknown_tlvs_and_corruption_become_warnings() {
        let img = signed(false);
        let info = describe(&img).unwrap();
        let u = info.unprotected.unwrap();
        // Rename the KEYHASH TLV to an unknown type and corrupt the magic and a length.
        let mut bad = img.clone();
        let kh = u.entries[1].offset as usize;
        bad[kh] = 0x99;
        let i = describe(&bad).unwrap();
        assert_eq!(tlv_name(i.unprotected.unwrap().entries[1].ty), "UNKNOWN");
        let mut bad = img.clone();
        bad[u.offset as usize] ^= 0xff;
        bad[kh + 2] = 0xff;
        let i = describe(&bad).unwrap();
        assert_eq!(i.warnings.len(), 2, "{:?}", i.warnings);
        assert_eq!(i.unprotected.unwrap().entries.len(), 1);
        // Payload modified: the digest no longer matches.
        let mut bad = img.clone();
        bad[0x20] ^= 1;
        assert_eq!(describe(&bad).unwrap().hash_matches(), Some(false));
    }

    #[test]
    fn garbage_never_panics() {
        assert_eq!(describe(&[0u8; 10]), Err(InfoError::TooShort(10)));
        assert_eq!(describe(&[0u8; 64]), Err(InfoError::NotAnImage(0)));
        let img = signed(true);
        // Every truncation and every single-byte corruption of the structure is described
        // without panicking.
        for n in 0..img.len().min(400) {
            let _ = describe(&img[..n]);
        }
        let mut state = 0x1234_5678u32;
        for _ in 0..2000 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let mut b = img.clone();
            // Corrupt one byte among the header and TLV bytes (the first 0x200 of the file).
            let at = (state as usize >> 4) % b.len().min(0x200);
            b[at] = (state >> 24) as u8;
            b[0..4].copy_from_slice(&IMAGE_MAGIC.to_le_bytes());
            let _ = describe(&b).map(|i| (i.to_json("g"), i.to_text("g")));
        }
        let mut huge = img.clone();
        huge[8..10].copy_from_slice(&0xffffu16.to_le_bytes());
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[10..12].copy_from_slice(&0xffffu16.to_le_bytes());
        let i = describe(&huge).unwrap();
        assert!(i.protected.is_none() && i.unprotected.is_none());
        assert!(i.computed_sha256.is_none());
    }
}
