//! The 32-byte MCUboot image header (all fields little-endian).

use super::ImageError;
use crate::bytes::{Reader, Writer};
use crate::component::ImageVersion;

/// `IMAGE_MAGIC`: first word of every image.
pub const IMAGE_MAGIC: u32 = 0x96f3_b83d;
/// Size of the fixed header structure; `hdr_size` may be larger (padding before the payload).
pub const IMAGE_HEADER_SIZE: usize = 32;

/// Header flag bits (`IMAGE_F_*`).
pub mod flags {
    /// Position-independent image (not supported by MCUboot either).
    pub const PIC: u32 = 0x0000_0001;
    /// Payload encrypted with AES-128.
    pub const ENCRYPTED_AES128: u32 = 0x0000_0004;
    /// Payload encrypted with AES-256.
    pub const ENCRYPTED_AES256: u32 = 0x0000_0008;
    /// The image is not bootable (e.g. a data component).
    pub const NON_BOOTABLE: u32 = 0x0000_0010;
    /// The image is loaded to RAM at `load_addr`.
    pub const RAM_LOAD: u32 = 0x0000_0020;
    /// The image must run at `load_addr` in flash.
    pub const ROM_FIXED: u32 = 0x0000_0100;
    /// LZMA1-compressed payload.
    pub const COMPRESSED_LZMA1: u32 = 0x0000_0200;
    /// LZMA2-compressed payload.
    pub const COMPRESSED_LZMA2: u32 = 0x0000_0400;
    /// ARM thumb filter applied before compression.
    pub const COMPRESSED_ARM_THUMB: u32 = 0x0000_0800;
    /// Flags this implementation can honour; any other bit makes the image unusable here.
    pub const SUPPORTED: u32 = NON_BOOTABLE | ROM_FIXED;
}

/// A decoded image header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    /// `ih_load_addr`.
    pub load_addr: u32,
    /// `ih_hdr_size`: header length including padding, i.e. the payload offset.
    pub hdr_size: u16,
    /// `ih_protect_tlv_size`: protected TLV area size including its info word, or 0.
    pub protect_tlv_size: u16,
    /// `ih_img_size`: payload length.
    pub img_size: u32,
    /// `ih_flags`.
    pub flags: u32,
    /// `ih_ver`.
    pub version: ImageVersion,
}

impl ImageHeader {
    /// Decode and check the fixed header: magic, `hdr_size >= 32`, and only supported flags.
    pub fn parse(bytes: &[u8; IMAGE_HEADER_SIZE]) -> Result<Self, ImageError> {
        let mut r = Reader::new(bytes);
        let magic = r.u32().ok_or(ImageError::Truncated)?;
        if magic != IMAGE_MAGIC {
            return Err(ImageError::BadMagic(magic));
        }
        let load_addr = r.u32().ok_or(ImageError::Truncated)?;
        let hdr_size = r.u16().ok_or(ImageError::Truncated)?;
        let protect_tlv_size = r.u16().ok_or(ImageError::Truncated)?;
        let img_size = r.u32().ok_or(ImageError::Truncated)?;
        let flags = r.u32().ok_or(ImageError::Truncated)?;
        let version = ImageVersion::from_le_bytes(r.array().ok_or(ImageError::Truncated)?);
        if usize::from(hdr_size) < IMAGE_HEADER_SIZE {
            return Err(ImageError::HeaderTooSmall(hdr_size));
        }
        if flags & !flags::SUPPORTED != 0 {
            return Err(ImageError::UnsupportedFlags(flags & !flags::SUPPORTED));
        }
        Ok(ImageHeader {
            load_addr,
            hdr_size,
            protect_tlv_size,
            img_size,
            flags,
            version,
        })
    }

    /// Encode the header (magic included, `_pad1` zero) as written by `imgtool`.
    pub fn to_bytes(&self) -> [u8; IMAGE_HEADER_SIZE] {
        let mut out = [0u8; IMAGE_HEADER_SIZE];
        // The fields fill exactly IMAGE_HEADER_SIZE bytes, so the writer cannot run out.
        let _ = self.write_fields(&mut Writer::new(&mut out));
        out
    }

    fn write_fields(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u32(IMAGE_MAGIC)?;
        w.u32(self.load_addr)?;
        w.u16(self.hdr_size)?;
        w.u16(self.protect_tlv_size)?;
        w.u32(self.img_size)?;
        w.u32(self.flags)?;
        w.put(&self.version.to_le_bytes())?;
        w.u32(0)
    }

    /// Offset of the first TLV area (protected if present, else unprotected), if it fits in `u32`.
    pub fn tlv_offset(&self) -> Option<u32> {
        u32::from(self.hdr_size).checked_add(self.img_size)
    }

    /// End of the hashed region: header, payload and protected TLV area.
    pub fn hashed_len(&self) -> Option<u32> {
        self.tlv_offset()?
            .checked_add(u32::from(self.protect_tlv_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ImageHeader {
        ImageHeader {
            load_addr: 0x1234,
            hdr_size: 0x200,
            protect_tlv_size: 12,
            img_size: 1000,
            flags: 0,
            version: ImageVersion::new(1, 2, 3, 4),
        }
    }

    #[test]
    fn round_trip_and_layout() {
        let h = sample();
        let b = h.to_bytes();
        assert_eq!(&b[0..4], &[0x3d, 0xb8, 0xf3, 0x96]);
        assert_eq!(&b[8..10], &[0x00, 0x02]);
        assert_eq!(&b[20..28], &[1, 2, 3, 0, 4, 0, 0, 0]);
        assert_eq!(ImageHeader::parse(&b), Ok(h));
        assert_eq!(h.tlv_offset(), Some(0x200 + 1000));
        assert_eq!(h.hashed_len(), Some(0x200 + 1000 + 12));
    }

    #[test]
    fn rejects_each_header_defect() {
        let mut b = sample().to_bytes();
        b[0] ^= 1;
        assert_eq!(
            ImageHeader::parse(&b),
            Err(ImageError::BadMagic(0x96f3_b83c))
        );
        let mut h = sample();
        h.hdr_size = 31;
        assert_eq!(
            ImageHeader::parse(&h.to_bytes()),
            Err(ImageError::HeaderTooSmall(31))
        );
        h = sample();
        h.flags = flags::ENCRYPTED_AES128 | flags::ROM_FIXED;
        assert_eq!(
            ImageHeader::parse(&h.to_bytes()),
            Err(ImageError::UnsupportedFlags(flags::ENCRYPTED_AES128))
        );
        h.flags = flags::ROM_FIXED | flags::NON_BOOTABLE;
        assert!(ImageHeader::parse(&h.to_bytes()).is_ok());
    }

    #[test]
    fn offsets_do_not_overflow() {
        let mut h = sample();
        h.img_size = u32::MAX;
        assert_eq!(h.tlv_offset(), None);
        assert_eq!(h.hashed_len(), None);
    }
}
