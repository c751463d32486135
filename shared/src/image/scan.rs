//! The sans-IO image scanner: a state machine that asks for byte ranges, checks the structure as
//! they arrive, and hashes header, payload and protected TLVs through whatever buffer the caller
//! has. It never indexes with an untrusted length and never needs the image in RAM.

use super::header::{ImageHeader, IMAGE_HEADER_SIZE};
use super::sha256::Sha256;
use super::tlv::{self, role, types, Area, TlvEntry, TlvInfo, TlvRole, TLV_HEADER_SIZE};
use super::ImageError;
use crate::version::Dependencies;

/// Largest TLV value the scanner reads into memory (the Ed25519 signature).
pub const MAX_TLV_VALUE: usize = 64;

/// What the scanner needs next: `len` bytes at `offset` from the image start.
///
/// Structural reads (`exact`) must be fed exactly `len` bytes; hashing reads accept any
/// non-empty prefix, so the caller's buffer size sets the chunking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    /// Offset from the start of the image (slot).
    pub offset: u32,
    /// Bytes wanted.
    pub len: u32,
    /// Whether exactly `len` bytes must be supplied in one feed.
    pub exact: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Header,
    AreaInfo(Area),
    EntryHeader(Area),
    EntryValue(Area, TlvEntry),
    Hash,
    Done,
}

/// Everything the scan extracted from an image, plus the digest it computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScannedImage {
    /// The image header.
    pub header: ImageHeader,
    /// Security counter TLV, if present.
    pub security_counter: Option<u32>,
    /// Dependency TLVs.
    pub dependencies: Dependencies,
    /// Vendor UUID TLV (protected), if present.
    pub vendor_id: Option<[u8; 16]>,
    /// Image class UUID TLV (protected), if present.
    pub class_id: Option<[u8; 16]>,
    /// SHA-256 TLV value.
    pub hash_tlv: [u8; 32],
    /// Key hash TLV value.
    pub key_hash: [u8; 32],
    /// Ed25519 signature TLV value.
    pub signature: [u8; 64],
    /// SHA-256 computed over header, payload and protected TLVs.
    pub digest: [u8; 32],
    /// Bytes from the image start to the end of the unprotected TLV area.
    pub total_size: u32,
}

const SEEN_SEC_CNT: u8 = 1 << 0;
const SEEN_SHA256: u8 = 1 << 1;
const SEEN_KEYHASH: u8 = 1 << 2;
const SEEN_ED25519: u8 = 1 << 3;
const SEEN_VID: u8 = 1 << 4;
const SEEN_CID: u8 = 1 << 5;

/// The scanner state machine. Drive it with [`Scanner::request`] / [`Scanner::feed`] until
/// `request` returns `None`, then call [`Scanner::finish`].
#[derive(Clone, Debug)]
pub struct Scanner {
    phase: Phase,
    slot_size: u32,
    header: Option<ImageHeader>,
    pos: u32,
    area_end: u32,
    hashed_len: u32,
    hash_pos: u32,
    hasher: Sha256,
    seen: u8,
    security_counter: Option<u32>,
    dependencies: Dependencies,
    vendor_id: Option<[u8; 16]>,
    class_id: Option<[u8; 16]>,
    hash_tlv: [u8; 32],
    key_hash: [u8; 32],
    signature: [u8; 64],
}

impl Scanner {
    /// A scanner for an image that must fit in a slot of `slot_size` bytes.
    pub fn new(slot_size: u32) -> Self {
        Scanner {
            phase: Phase::Header,
            slot_size,
            header: None,
            pos: 0,
            area_end: 0,
            hashed_len: 0,
            hash_pos: 0,
            hasher: Sha256::new(),
            seen: 0,
            security_counter: None,
            dependencies: Dependencies::default(),
            vendor_id: None,
            class_id: None,
            hash_tlv: [0; 32],
            key_hash: [0; 32],
            signature: [0; 64],
        }
    }

    /// The next read the scanner needs, or `None` once the image is fully scanned.
    pub fn request(&self) -> Option<ReadRequest> {
        let exact = |offset, len| {
            Some(ReadRequest {
                offset,
                len,
                exact: true,
            })
        };
        match self.phase {
            Phase::Header => exact(0, IMAGE_HEADER_SIZE as u32),
            Phase::AreaInfo(_) | Phase::EntryHeader(_) => exact(self.pos, TLV_HEADER_SIZE),
            Phase::EntryValue(_, e) => exact(self.pos, u32::from(e.len)),
            Phase::Hash => Some(ReadRequest {
                offset: self.hash_pos,
                len: self.hashed_len - self.hash_pos,
                exact: false,
            }),
            Phase::Done => None,
        }
    }

    /// Supply the bytes for the current [`ReadRequest`].
    pub fn feed(&mut self, data: &[u8]) -> Result<(), ImageError> {
        let req = self.request().ok_or(ImageError::Truncated)?;
        let len = u32::try_from(data.len()).map_err(|_| ImageError::Truncated)?;
        if data.is_empty() || len > req.len || (req.exact && len != req.len) {
            return Err(ImageError::Truncated);
        }
        match self.phase {
            Phase::Header => self.on_header(data)?,
            Phase::AreaInfo(area) => self.on_area_info(area, data)?,
            Phase::EntryHeader(area) => self.on_entry_header(area, data)?,
            Phase::EntryValue(area, entry) => self.on_entry_value(area, entry, data)?,
            Phase::Hash => {
                self.hasher.update(data);
                self.hash_pos += len;
                if self.hash_pos == self.hashed_len {
                    self.phase = Phase::Done;
                }
            }
            Phase::Done => return Err(ImageError::Truncated),
        }
        self.close_finished_area()
    }

    /// Bytes from the image start to the end of its TLV areas, known as soon as the structure
    /// has been checked (before hashing starts).
    pub fn total_size(&self) -> Option<u32> {
        matches!(self.phase, Phase::Hash | Phase::Done).then_some(self.area_end)
    }

    /// The scan result; fails if the scan did not run to completion.
    pub fn finish(self) -> Result<ScannedImage, ImageError> {
        match (self.phase, self.header) {
            (Phase::Done, Some(header)) => Ok(ScannedImage {
                header,
                security_counter: self.security_counter,
                dependencies: self.dependencies,
                vendor_id: self.vendor_id,
                class_id: self.class_id,
                hash_tlv: self.hash_tlv,
                key_hash: self.key_hash,
                signature: self.signature,
                digest: self.hasher.finalize(),
                total_size: self.area_end,
            }),
            _ => Err(ImageError::Truncated),
        }
    }

    fn too_large(&self, needed: Option<u32>) -> ImageError {
        ImageError::ImageTooLarge {
            needed: needed.unwrap_or(u32::MAX),
            slot: self.slot_size,
        }
    }

    fn on_header(&mut self, data: &[u8]) -> Result<(), ImageError> {
        let bytes: &[u8; IMAGE_HEADER_SIZE] = data.try_into().map_err(|_| ImageError::Truncated)?;
        let header = ImageHeader::parse(bytes)?;
        let tlv_offset = header.tlv_offset();
        let hashed_len = header.hashed_len();
        // The smallest possible image also needs the unprotected area's info word.
        let minimum = hashed_len.and_then(|h| h.checked_add(TLV_HEADER_SIZE));
        match (tlv_offset, hashed_len, minimum) {
            (Some(tlv_offset), Some(hashed_len), Some(min)) if min <= self.slot_size => {
                self.header = Some(header);
                self.hashed_len = hashed_len;
                self.pos = tlv_offset;
                self.phase = if header.protect_tlv_size == 0 {
                    Phase::AreaInfo(Area::Unprotected)
                } else {
                    Phase::AreaInfo(Area::Protected)
                };
                Ok(())
            }
            _ => Err(self.too_large(minimum)),
        }
    }

    fn on_area_info(&mut self, area: Area, data: &[u8]) -> Result<(), ImageError> {
        let word: [u8; 4] = data.try_into().map_err(|_| ImageError::Truncated)?;
        let info = TlvInfo::parse(word);
        let expected = match area {
            Area::Protected => tlv::TLV_PROT_INFO_MAGIC,
            Area::Unprotected => tlv::TLV_INFO_MAGIC,
        };
        if info.magic != expected {
            return Err(ImageError::BadTlvMagic {
                area,
                found: info.magic,
            });
        }
        if let (Area::Protected, Some(h)) = (area, self.header) {
            if info.total_len != h.protect_tlv_size {
                return Err(ImageError::ProtectedSizeMismatch {
                    header: h.protect_tlv_size,
                    info: info.total_len,
                });
            }
        }
        if u32::from(info.total_len) < TLV_HEADER_SIZE {
            return Err(ImageError::TlvAreaTooSmall(area));
        }
        let end = self.pos.checked_add(u32::from(info.total_len));
        match end {
            Some(end) if end <= self.slot_size => {
                self.area_end = end;
                self.pos += TLV_HEADER_SIZE;
                self.phase = Phase::EntryHeader(area);
                Ok(())
            }
            _ => Err(match area {
                Area::Protected => ImageError::TlvAreaOverrun(area),
                Area::Unprotected => self.too_large(end),
            }),
        }
    }

    fn on_entry_header(&mut self, area: Area, data: &[u8]) -> Result<(), ImageError> {
        let word: [u8; 4] = data.try_into().map_err(|_| ImageError::Truncated)?;
        let entry = TlvEntry::parse(word);
        let value_start = self.pos + TLV_HEADER_SIZE;
        let value_end = value_start
            .checked_add(u32::from(entry.len))
            .filter(|&e| e <= self.area_end)
            .ok_or(ImageError::TlvAreaOverrun(area))?;
        match role(area, entry.ty) {
            TlvRole::Known { len, repeatable } => {
                if entry.len != len {
                    return Err(ImageError::BadTlvLength {
                        ty: entry.ty,
                        len: entry.len,
                    });
                }
                let bit = Self::seen_bit(entry.ty);
                if !repeatable && self.seen & bit != 0 {
                    return Err(ImageError::DuplicateTlv(entry.ty));
                }
                self.seen |= bit;
                self.pos = value_start;
                self.phase = Phase::EntryValue(area, entry);
            }
            TlvRole::Ignored => self.pos = value_end,
            TlvRole::Critical => return Err(ImageError::UnknownCriticalTlv(entry.ty)),
            TlvRole::MustBeProtected => return Err(ImageError::TlvNotProtected(entry.ty)),
        }
        Ok(())
    }

    fn on_entry_value(
        &mut self,
        area: Area,
        entry: TlvEntry,
        data: &[u8],
    ) -> Result<(), ImageError> {
        match entry.ty {
            types::SEC_CNT => {
                let v: [u8; 4] = data.try_into().map_err(|_| ImageError::Truncated)?;
                self.security_counter = Some(u32::from_le_bytes(v));
            }
            types::DEPENDENCY => {
                let dep = tlv::decode_dependency(data)?;
                if !self.dependencies.push(dep) {
                    return Err(ImageError::TooManyDependencies);
                }
            }
            types::UUID_VID => self.vendor_id = Some(value16(data)?),
            types::UUID_CID => self.class_id = Some(value16(data)?),
            types::SHA256 => copy_value(&mut self.hash_tlv, data)?,
            types::KEYHASH => copy_value(&mut self.key_hash, data)?,
            types::ED25519 => copy_value(&mut self.signature, data)?,
            other => return Err(ImageError::UnknownCriticalTlv(other)),
        }
        self.pos += u32::from(entry.len);
        self.phase = Phase::EntryHeader(area);
        Ok(())
    }

    /// Leave an area whose entries are all read: protected → unprotected → hashing.
    fn close_finished_area(&mut self) -> Result<(), ImageError> {
        let Phase::EntryHeader(area) = self.phase else {
            return Ok(());
        };
        if self.pos < self.area_end {
            if self.area_end - self.pos < TLV_HEADER_SIZE {
                return Err(ImageError::TlvAreaOverrun(area));
            }
            return Ok(());
        }
        match area {
            Area::Protected => self.phase = Phase::AreaInfo(Area::Unprotected),
            Area::Unprotected => {
                for (bit, ty) in [
                    (SEEN_SHA256, types::SHA256),
                    (SEEN_KEYHASH, types::KEYHASH),
                    (SEEN_ED25519, types::ED25519),
                ] {
                    if self.seen & bit == 0 {
                        return Err(ImageError::MissingTlv(ty));
                    }
                }
                self.phase = Phase::Hash;
            }
        }
        Ok(())
    }

    fn seen_bit(ty: u16) -> u8 {
        match ty {
            types::SEC_CNT => SEEN_SEC_CNT,
            types::SHA256 => SEEN_SHA256,
            types::KEYHASH => SEEN_KEYHASH,
            types::ED25519 => SEEN_ED25519,
            types::UUID_VID => SEEN_VID,
            types::UUID_CID => SEEN_CID,
            _ => 0,
        }
    }
}

/// A 16-byte TLV value (the UUIDs).
fn value16(data: &[u8]) -> Result<[u8; 16], ImageError> {
    data.try_into().map_err(|_| ImageError::Truncated)
}

fn copy_value<const N: usize>(dst: &mut [u8; N], data: &[u8]) -> Result<(), ImageError> {
    *dst = data.try_into().map_err(|_| ImageError::Truncated)?;
    Ok(())
}

impl ScannedImage {
    /// Bytes covered by the hash (header, payload, protected TLVs).
    pub fn hashed_len(&self) -> u32 {
        self.header.hashed_len().unwrap_or(0)
    }
}
