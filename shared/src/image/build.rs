//! Building signed images, byte-identical to `imgtool sign` for the same inputs (Ed25519 is
//! deterministic). It writes into a caller-supplied buffer, so firmware-side tests and the host
//! signing tool share one implementation without a heap.
//!
//! Layout written: header (32 bytes) | header padding (`hdr_size - 32` bytes of `header_fill`) |
//! payload | protected TLVs (security counter, dependencies, vendor and class UUIDs) | unprotected TLVs (SHA-256,
//! key hash, Ed25519 signature over the digest).

use super::header::{ImageHeader, IMAGE_HEADER_SIZE};
use super::keys::PublicKey;
use super::sha256::sha256;
use super::tlv::{self, types, TlvEntry, TlvInfo, TLV_HEADER_SIZE};
use crate::bytes::Writer;
use crate::component::ImageVersion;
use crate::version::Dependency;

/// Size of the unprotected TLV area this builder writes: info + SHA-256 + key hash + Ed25519.
pub const UNPROTECTED_TLV_SIZE: usize = 4 + (4 + 32) + (4 + 32) + (4 + 64);

/// What goes into an image besides its payload.
#[derive(Clone, Copy, Debug)]
pub struct ImageSpec<'a> {
    /// Image version (`ih_ver`).
    pub version: ImageVersion,
    /// Header size including padding (`ih_hdr_size`), at least 32.
    pub header_size: u16,
    /// Byte used for the header padding (imgtool's `--pad-header` uses the erased value).
    pub header_fill: u8,
    /// `ih_load_addr`.
    pub load_addr: u32,
    /// `ih_flags`.
    pub flags: u32,
    /// Security counter TLV, if any.
    pub security_counter: Option<u32>,
    /// Dependency TLVs.
    pub dependencies: &'a [Dependency],
    /// Vendor UUID TLV (`UUID_VID`, imgtool's `--vid`), if any.
    pub vendor_id: Option<[u8; 16]>,
    /// Image class UUID TLV (`UUID_CID`, imgtool's `--cid`), if any.
    pub class_id: Option<[u8; 16]>,
}

impl ImageSpec<'_> {
    /// A spec with the given version and a 32-byte header, no counter, no dependencies.
    pub const fn new(version: ImageVersion) -> ImageSpec<'static> {
        ImageSpec {
            version,
            header_size: IMAGE_HEADER_SIZE as u16,
            header_fill: 0xff,
            load_addr: 0,
            flags: 0,
            security_counter: None,
            dependencies: &[],
            vendor_id: None,
            class_id: None,
        }
    }

    /// Size of the protected TLV area (0 when there is nothing to protect).
    pub fn protected_tlv_size(&self) -> usize {
        let sec = if self.security_counter.is_some() {
            4 + 4
        } else {
            0
        };
        let deps = self.dependencies.len() * (4 + 12);
        let ids = (usize::from(self.vendor_id.is_some()) + usize::from(self.class_id.is_some()))
            * (4 + 16);
        if sec + deps + ids == 0 {
            0
        } else {
            TLV_HEADER_SIZE as usize + sec + deps + ids
        }
    }

    /// Total size of the signed image for a payload of `payload_len` bytes.
    pub fn image_len(&self, payload_len: usize) -> usize {
        usize::from(self.header_size)
            + payload_len
            + self.protected_tlv_size()
            + UNPROTECTED_TLV_SIZE
    }
}

/// Something that can sign a 32-byte image digest with Ed25519.
pub trait Signer {
    /// The public key matching the signatures.
    fn public_key(&self) -> PublicKey;
    /// The Ed25519 signature of `digest` (the message is the digest itself, as MCUboot expects).
    fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 64];
}

/// An Ed25519 signing key held in memory (a 32-byte seed, as in a PKCS#8 file).
pub struct Ed25519Signer {
    keypair: salty::Keypair,
}

impl Ed25519Signer {
    /// A signer from a 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519Signer {
            keypair: salty::Keypair::from(seed),
        }
    }
}

impl Signer for Ed25519Signer {
    fn public_key(&self) -> PublicKey {
        PublicKey(self.keypair.public.to_bytes())
    }

    fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 64] {
        self.keypair.sign(digest).to_bytes()
    }
}

/// Why an image could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// `header_size` is below 32.
    HeaderTooSmall,
    /// The protected area or the payload is too large for the header fields.
    TooLarge,
    /// `out` is smaller than [`ImageSpec::image_len`].
    BufferTooSmall,
}

/// The result of a build: the image length and its SHA-256 digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltImage {
    /// Bytes written to the output buffer.
    pub len: usize,
    /// Image digest (the SHA-256 TLV value).
    pub digest: [u8; 32],
}

/// Build a signed image of `payload` into `out`.
pub fn build_image(
    spec: &ImageSpec<'_>,
    payload: &[u8],
    signer: &dyn Signer,
    out: &mut [u8],
) -> Result<BuiltImage, BuildError> {
    if usize::from(spec.header_size) < IMAGE_HEADER_SIZE {
        return Err(BuildError::HeaderTooSmall);
    }
    let prot_size = u16::try_from(spec.protected_tlv_size()).map_err(|_| BuildError::TooLarge)?;
    let img_size = u32::try_from(payload.len()).map_err(|_| BuildError::TooLarge)?;
    let total = spec.image_len(payload.len());
    u32::try_from(total).map_err(|_| BuildError::TooLarge)?;
    let out = out.get_mut(..total).ok_or(BuildError::BufferTooSmall)?;
    let header = ImageHeader {
        load_addr: spec.load_addr,
        hdr_size: spec.header_size,
        protect_tlv_size: prot_size,
        img_size,
        flags: spec.flags,
        version: spec.version,
    };
    let hashed_len = write_hashed(&mut Writer::new(out), spec, &header, payload)
        .ok_or(BuildError::BufferTooSmall)?;
    let hashed = out.get(..hashed_len).ok_or(BuildError::BufferTooSmall)?;
    let digest = sha256(hashed);
    let key_hash = signer.public_key().key_hash();
    let signature = signer.sign_digest(&digest);
    let tail = out
        .get_mut(hashed_len..)
        .ok_or(BuildError::BufferTooSmall)?;
    write_unprotected(&mut Writer::new(tail), &digest, &key_hash, &signature)
        .ok_or(BuildError::BufferTooSmall)?;
    Ok(BuiltImage { len: total, digest })
}

fn write_hashed(
    w: &mut Writer<'_>,
    spec: &ImageSpec<'_>,
    header: &ImageHeader,
    payload: &[u8],
) -> Option<usize> {
    w.put(&header.to_bytes())?;
    for _ in IMAGE_HEADER_SIZE..usize::from(spec.header_size) {
        w.u8(spec.header_fill)?;
    }
    w.put(payload)?;
    if header.protect_tlv_size != 0 {
        w.put(
            &TlvInfo {
                magic: tlv::TLV_PROT_INFO_MAGIC,
                total_len: header.protect_tlv_size,
            }
            .to_bytes(),
        )?;
        if let Some(counter) = spec.security_counter {
            put_tlv(w, types::SEC_CNT, &counter.to_le_bytes())?;
        }
        for dep in spec.dependencies {
            put_tlv(w, types::DEPENDENCY, &tlv::encode_dependency(dep))?;
        }
        // imgtool's order: counter, dependencies, then the vendor and class UUIDs.
        if let Some(vid) = spec.vendor_id {
            put_tlv(w, types::UUID_VID, &vid)?;
        }
        if let Some(cid) = spec.class_id {
            put_tlv(w, types::UUID_CID, &cid)?;
        }
    }
    Some(w.position())
}

fn write_unprotected(
    w: &mut Writer<'_>,
    digest: &[u8; 32],
    key_hash: &[u8; 32],
    signature: &[u8; 64],
) -> Option<()> {
    w.put(
        &TlvInfo {
            magic: tlv::TLV_INFO_MAGIC,
            total_len: UNPROTECTED_TLV_SIZE as u16,
        }
        .to_bytes(),
    )?;
    put_tlv(w, types::SHA256, digest)?;
    put_tlv(w, types::KEYHASH, key_hash)?;
    put_tlv(w, types::ED25519, signature)
}

fn put_tlv(w: &mut Writer<'_>, ty: u16, value: &[u8]) -> Option<()> {
    let len = u16::try_from(value.len()).ok()?;
    w.put(&TlvEntry { ty, len }.to_bytes())?;
    w.put(value)
}

/// Replace the Ed25519 signature of an image this builder wrote (its last 64 bytes) with the
/// signature's `S + L` twin ([`super::ed25519::malleated`]): the digest is unchanged and a
/// verifier without the `S < L` check accepts it. For tests that prove every path refuses it;
/// returns `false` (and leaves `image` alone) when the image is too short or `S + L` overflows.
pub fn malleate_signature(image: &mut [u8]) -> bool {
    let Some(at) = image.len().checked_sub(64) else {
        return false;
    };
    let Some(sig) = image.get_mut(at..) else {
        return false;
    };
    let Ok(current) = <[u8; 64]>::try_from(&*sig) else {
        return false;
    };
    match super::ed25519::malleated(&current) {
        Some(twin) => {
            sig.copy_from_slice(&twin);
            true
        }
        None => false,
    }
}
