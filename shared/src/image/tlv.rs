//! TLV areas after the payload: the optional protected area (covered by the hash) and the
//! mandatory unprotected area, each a 4-byte info word followed by `{type u16, len u16, value}`.

use super::ImageError;
use crate::bytes::{Reader, Writer};

/// Info magic of the unprotected TLV area.
pub const TLV_INFO_MAGIC: u16 = 0x6907;
/// Info magic of the protected TLV area.
pub const TLV_PROT_INFO_MAGIC: u16 = 0x6908;
/// Size of a TLV area info word and of a TLV entry header.
pub const TLV_HEADER_SIZE: u32 = 4;

/// TLV type codes (`IMAGE_TLV_*`).
pub mod types {
    /// SHA-256 of the signer's public key (DER SubjectPublicKeyInfo).
    pub const KEYHASH: u16 = 0x01;
    /// Full DER public key.
    pub const PUBKEY: u16 = 0x02;
    /// SHA-256 of header, payload and protected TLVs.
    pub const SHA256: u16 = 0x10;
    /// SHA-384 image hash.
    pub const SHA384: u16 = 0x11;
    /// SHA-512 image hash.
    pub const SHA512: u16 = 0x12;
    /// RSA-2048 PSS signature.
    pub const RSA2048_PSS: u16 = 0x20;
    /// ECDSA-224 signature (obsolete).
    pub const ECDSA224: u16 = 0x21;
    /// ECDSA P-256/P-384 signature.
    pub const ECDSA_SIG: u16 = 0x22;
    /// RSA-3072 PSS signature.
    pub const RSA3072_PSS: u16 = 0x23;
    /// Ed25519 signature over the SHA-256 digest.
    pub const ED25519: u16 = 0x24;
    /// Signature is over the image rather than its digest.
    pub const SIG_PURE: u16 = 0x25;
    /// RSA-OAEP wrapped AES key.
    pub const ENC_RSA2048: u16 = 0x30;
    /// AES-KW wrapped AES key.
    pub const ENC_KW: u16 = 0x31;
    /// ECIES-P256 wrapped AES key.
    pub const ENC_EC256: u16 = 0x32;
    /// ECIES-X25519 wrapped AES key.
    pub const ENC_X25519: u16 = 0x33;
    /// ECIES-X25519 (SHA-512) wrapped AES key.
    pub const ENC_X25519_SHA512: u16 = 0x34;
    /// Dependency on a minimum version of another component (12 bytes).
    pub const DEPENDENCY: u16 = 0x40;
    /// Security counter (u32).
    pub const SEC_CNT: u16 = 0x50;
    /// CBOR measured-boot record.
    pub const BOOT_RECORD: u16 = 0x60;
    /// Decompressed size.
    pub const DECOMP_SIZE: u16 = 0x70;
    /// Decompressed hash.
    pub const DECOMP_SHA: u16 = 0x71;
    /// Decompressed signature.
    pub const DECOMP_SIGNATURE: u16 = 0x72;
    /// Compressed-decrypted size.
    pub const COMP_DEC_SIZE: u16 = 0x73;
    /// Vendor UUID.
    pub const UUID_VID: u16 = 0x74;
    /// Class UUID.
    pub const UUID_CID: u16 = 0x75;
    /// First vendor-reserved type.
    pub const VENDOR_MIN: u16 = 0x00a0;
    /// Last vendor-reserved type.
    pub const VENDOR_MAX: u16 = 0xfffe;
}

/// Which of the two TLV areas an entry sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// The protected area (magic 0x6908), covered by the image hash.
    Protected,
    /// The unprotected area (magic 0x6907).
    Unprotected,
}

/// How the verifier treats a TLV type found in a given area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlvRole {
    /// A TLV the verifier reads; the value must have exactly this length.
    Known {
        /// Required value length in bytes.
        len: u16,
        /// Whether it may appear more than once (dependencies).
        repeatable: bool,
    },
    /// Informational: skipped without reading (boot record, vendor types).
    Ignored,
    /// A TLV that changes how the image must be processed and that this verifier cannot honour
    /// (other hash or signature algorithms, encryption, compression, pure signatures).
    Critical,
    /// A TLV that is only trusted when protected (security counter, dependency, vendor and
    /// class UUIDs) found unprotected.
    MustBeProtected,
}

/// The role of TLV type `ty` in `area`.
pub const fn role(area: Area, ty: u16) -> TlvRole {
    use types::*;
    match (area, ty) {
        (Area::Protected, SEC_CNT) => TlvRole::Known {
            len: 4,
            repeatable: false,
        },
        (Area::Protected, DEPENDENCY) => TlvRole::Known {
            len: 12,
            repeatable: true,
        },
        (Area::Unprotected, SHA256) => TlvRole::Known {
            len: 32,
            repeatable: false,
        },
        (Area::Unprotected, KEYHASH) => TlvRole::Known {
            len: 32,
            repeatable: false,
        },
        (Area::Unprotected, ED25519) => TlvRole::Known {
            len: 64,
            repeatable: false,
        },
        (Area::Protected, UUID_VID | UUID_CID) => TlvRole::Known {
            len: 16,
            repeatable: false,
        },
        // An identity the signature does not cover proves nothing: refused, never ignored.
        (Area::Unprotected, SEC_CNT | DEPENDENCY | UUID_VID | UUID_CID) => TlvRole::MustBeProtected,
        (_, BOOT_RECORD) => TlvRole::Ignored,
        (_, t) if t >= VENDOR_MIN && t <= VENDOR_MAX => TlvRole::Ignored,
        _ => TlvRole::Critical,
    }
}

/// The 4-byte info word that opens a TLV area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlvInfo {
    /// `TLV_INFO_MAGIC` or `TLV_PROT_INFO_MAGIC`.
    pub magic: u16,
    /// Area length including this info word.
    pub total_len: u16,
}

impl TlvInfo {
    /// Decode an info word (no checks).
    pub fn parse(b: [u8; 4]) -> Self {
        let mut r = Reader::new(&b);
        TlvInfo {
            magic: r.u16().unwrap_or(0),
            total_len: r.u16().unwrap_or(0),
        }
    }

    /// Encode an info word.
    pub fn to_bytes(self) -> [u8; 4] {
        let m = self.magic.to_le_bytes();
        let l = self.total_len.to_le_bytes();
        [m[0], m[1], l[0], l[1]]
    }
}

/// The 4-byte header of one TLV entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlvEntry {
    /// Type code.
    pub ty: u16,
    /// Value length in bytes.
    pub len: u16,
}

impl TlvEntry {
    /// Decode an entry header.
    pub fn parse(b: [u8; 4]) -> Self {
        let info = TlvInfo::parse(b);
        TlvEntry {
            ty: info.magic,
            len: info.total_len,
        }
    }

    /// Encode an entry header.
    pub fn to_bytes(self) -> [u8; 4] {
        TlvInfo {
            magic: self.ty,
            total_len: self.len,
        }
        .to_bytes()
    }
}

/// A dependency TLV value: `image_id u8, 3 pad bytes, min version (8 bytes)`.
pub fn encode_dependency(dep: &crate::version::Dependency) -> [u8; 12] {
    let mut out = [0u8; 12];
    let mut w = Writer::new(&mut out);
    // 1 + 3 + 8 bytes fill the 12-byte buffer exactly.
    let _ = w
        .u8(dep.component)
        .and_then(|_| w.put(&[0, 0, 0]))
        .and_then(|_| w.put(&dep.min_version.to_le_bytes()));
    out
}

/// Decode a dependency TLV value.
pub fn decode_dependency(value: &[u8]) -> Result<crate::version::Dependency, ImageError> {
    let mut r = Reader::new(value);
    let bad = ImageError::BadTlvLength {
        ty: types::DEPENDENCY,
        len: u16::try_from(value.len()).unwrap_or(u16::MAX),
    };
    let component = r.u8().ok_or(bad)?;
    r.take(3).ok_or(bad)?;
    let v: [u8; 8] = r.array().ok_or(bad)?;
    Ok(crate::version::Dependency {
        component,
        min_version: crate::component::ImageVersion::from_le_bytes(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::ImageVersion;
    use crate::version::Dependency;

    #[test]
    fn roles_follow_mcuboot_rules() {
        assert_eq!(
            role(Area::Unprotected, types::ED25519),
            TlvRole::Known {
                len: 64,
                repeatable: false
            }
        );
        assert_eq!(role(Area::Protected, types::ED25519), TlvRole::Critical);
        assert_eq!(
            role(Area::Unprotected, types::SEC_CNT),
            TlvRole::MustBeProtected
        );
        assert_eq!(
            role(Area::Unprotected, types::ENC_X25519),
            TlvRole::Critical
        );
        assert_eq!(role(Area::Unprotected, types::SHA512), TlvRole::Critical);
        assert_eq!(role(Area::Protected, types::DECOMP_SIZE), TlvRole::Critical);
        assert_eq!(role(Area::Protected, types::BOOT_RECORD), TlvRole::Ignored);
        assert_eq!(role(Area::Protected, 0x00a0), TlvRole::Ignored);
        assert_eq!(role(Area::Unprotected, 0xfffe), TlvRole::Ignored);
        assert_eq!(role(Area::Unprotected, 0xffff), TlvRole::Critical);
    }

    #[test]
    fn dependency_round_trip() {
        let d = Dependency {
            component: 1,
            min_version: ImageVersion::new(2, 3, 4, 5),
        };
        let b = encode_dependency(&d);
        assert_eq!(b, [1, 0, 0, 0, 2, 3, 4, 0, 5, 0, 0, 0]);
        assert_eq!(decode_dependency(&b), Ok(d));
        assert!(decode_dependency(&b[..11]).is_err());
    }
}
