//! The MCUboot image format, bit-compatible with `imgtool` 2.5.0: a 32-byte header, the payload,
//! an optional protected TLV area and the unprotected TLV area.
//!
//! Parsing is sans-IO ([`scan::Scanner`]): the scanner says which bytes it needs next and the
//! caller reads them from wherever the image lives ([`read`] has drivers for byte slices, blocking
//! and async NOR flash). Nothing in an image is trusted: every offset and length is checked
//! against the slot before use, and each defect has its own [`ImageError`].

pub mod build;
pub mod ed25519;
pub mod header;
pub mod identity;
pub mod keys;
pub mod read;
pub mod scan;
pub mod sha256;
pub mod tlv;

pub use header::{ImageHeader, IMAGE_HEADER_SIZE, IMAGE_MAGIC};
pub use identity::ImageIdentity;
pub use keys::{DecodedKeyRing, KeyRing, PublicKey};
pub use read::{
    image_extent, image_extent_async, scan_flash, scan_flash_async, scan_slice, verify_slice,
};
pub use scan::{ScannedImage, Scanner};
pub use tlv::Area;

use crate::status::Error;

/// Every way an image can be unacceptable, precise enough to tell the signer what to fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The first word is not `IMAGE_MAGIC` (the value found is attached).
    BadMagic(u32),
    /// `ih_hdr_size` is smaller than the 32-byte header.
    HeaderTooSmall(u16),
    /// Header flags this implementation cannot honour (encryption, compression, RAM load, ...).
    UnsupportedFlags(u32),
    /// Header, payload and TLV areas do not fit in the slot (`needed` bytes, `slot` available).
    ImageTooLarge {
        /// Bytes the image claims, saturated at `u32::MAX`.
        needed: u32,
        /// Slot size.
        slot: u32,
    },
    /// A TLV area's info word carries the wrong magic.
    BadTlvMagic {
        /// Which area was expected.
        area: Area,
        /// The magic found.
        found: u16,
    },
    /// The protected area's length disagrees with `ih_protect_tlv_size`.
    ProtectedSizeMismatch {
        /// Size in the header.
        header: u16,
        /// Size in the area's info word.
        info: u16,
    },
    /// A TLV area is shorter than its own info word.
    TlvAreaTooSmall(Area),
    /// A TLV entry or area runs past the end of its area or of the slot.
    TlvAreaOverrun(Area),
    /// A TLV the verifier reads has the wrong length.
    BadTlvLength {
        /// TLV type.
        ty: u16,
        /// Length found.
        len: u16,
    },
    /// A TLV that may appear once appears twice.
    DuplicateTlv(u16),
    /// A mandatory TLV (hash, key hash, signature) is missing.
    MissingTlv(u16),
    /// A TLV that changes how the image must be processed and that is not supported here.
    UnknownCriticalTlv(u16),
    /// A security counter or dependency TLV outside the protected area.
    TlvNotProtected(u16),
    /// More dependency TLVs than `MAX_DEPENDENCIES`.
    TooManyDependencies,
    /// The image ended before the scanner had everything it needs (a driver fed too little).
    Truncated,
    /// The computed SHA-256 differs from the hash TLV.
    HashMismatch,
    /// The key hash matches none of the built-in keys.
    UnknownKey,
    /// A built-in public key is not a valid Ed25519 point (a configuration error).
    InvalidBuiltInKey,
    /// The Ed25519 signature does not verify.
    BadSignature,
    /// The Ed25519 signature is not in canonical form (`S >= L`, or `R` non-canonical or of
    /// small order, RFC 8032 §5.1.7): refused before the equation is checked.
    NonCanonicalSignature,
    /// The image is authentic but not for this device: a vendor or class UUID the device is
    /// configured with is missing from its protected TLVs or differs
    /// ([`ImageIdentity`](identity::ImageIdentity)).
    WrongDevice,
    /// Reading the image from flash failed.
    Storage,
}

impl ImageError {
    /// The PSA status a verification failure maps to (digest §2.5, §2.8).
    pub const fn psa_error(self) -> Error {
        match self {
            ImageError::HashMismatch
            | ImageError::UnknownKey
            | ImageError::BadSignature
            | ImageError::NonCanonicalSignature => Error::InvalidSignature,
            // Valid, but the update policy refuses it (PSA FWU 1.0 `psa_fwu_finish`).
            ImageError::WrongDevice => Error::NotPermitted,
            ImageError::Storage => Error::StorageFailure,
            _ => Error::InvalidArgument,
        }
    }
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ImageError::BadMagic(m) => write!(
                f,
                "bad image magic 0x{m:08x} (expected 0x{IMAGE_MAGIC:08x})"
            ),
            ImageError::HeaderTooSmall(s) => {
                write!(f, "header size {s} is smaller than {IMAGE_HEADER_SIZE}")
            }
            ImageError::UnsupportedFlags(b) => write!(f, "unsupported header flags 0x{b:08x}"),
            ImageError::ImageTooLarge { needed, slot } => {
                write!(f, "image needs {needed} bytes but the slot has {slot}")
            }
            ImageError::BadTlvMagic { area, found } => {
                write!(f, "bad {area:?} TLV area magic 0x{found:04x}")
            }
            ImageError::ProtectedSizeMismatch { header, info } => write!(
                f,
                "protected TLV size {header} in the header disagrees with {info} in the area"
            ),
            ImageError::TlvAreaTooSmall(a) => {
                write!(f, "{a:?} TLV area is shorter than its info word")
            }
            ImageError::TlvAreaOverrun(a) => write!(f, "{a:?} TLV area overruns its bounds"),
            ImageError::BadTlvLength { ty, len } => {
                write!(f, "TLV 0x{ty:02x} has bad length {len}")
            }
            ImageError::DuplicateTlv(t) => write!(f, "duplicate TLV 0x{t:02x}"),
            ImageError::MissingTlv(t) => write!(f, "missing mandatory TLV 0x{t:02x}"),
            ImageError::UnknownCriticalTlv(t) => write!(f, "unsupported critical TLV 0x{t:02x}"),
            ImageError::TlvNotProtected(t) => {
                write!(f, "TLV 0x{t:02x} must be in the protected area")
            }
            ImageError::TooManyDependencies => write!(f, "too many dependency TLVs"),
            ImageError::Truncated => write!(f, "image is truncated"),
            ImageError::HashMismatch => write!(f, "image hash does not match the SHA-256 TLV"),
            ImageError::UnknownKey => write!(f, "image is signed by an unknown key"),
            ImageError::InvalidBuiltInKey => write!(f, "a built-in public key is invalid"),
            ImageError::BadSignature => write!(f, "Ed25519 signature does not verify"),
            ImageError::NonCanonicalSignature => write!(
                f,
                "Ed25519 signature is not canonical (S >= L, or R non-canonical or of small order)"
            ),
            ImageError::WrongDevice => write!(
                f,
                "image is not for this device (its vendor or class UUID is missing or differs)"
            ),
            ImageError::Storage => write!(f, "flash read failed"),
        }
    }
}
