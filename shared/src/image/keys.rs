//! Built-in Ed25519 public keys and the signature check.
//!
//! An image names its signer by the SHA-256 of the signer's DER SubjectPublicKeyInfo (the key
//! hash TLV, as `imgtool` writes it). A [`KeyRing`] holds several keys so that a product can
//! rotate its signing key: images signed by any listed key are accepted.

use super::ed25519::{verify_decoded, VerifyingKey};
use super::identity::ImageIdentity;
use super::scan::ScannedImage;
use super::sha256::sha256;
use super::ImageError;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A raw 32-byte Ed25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The 44-byte DER SubjectPublicKeyInfo encoding of the key.
    pub fn spki_der(&self) -> [u8; 44] {
        let mut out = [0u8; 44];
        let (prefix, key) = out.split_at_mut(ED25519_SPKI_PREFIX.len());
        prefix.copy_from_slice(&ED25519_SPKI_PREFIX);
        key.copy_from_slice(&self.0);
        out
    }

    /// The key hash as found in the `KEYHASH` TLV: SHA-256 of the SPKI DER.
    #[inline(never)]
    pub fn key_hash(&self) -> [u8; 32] {
        sha256(&self.spki_der())
    }
}

/// What an image must satisfy to be accepted: signed by one of these public keys and, when the
/// device is configured with one, for this device ([`ImageIdentity`]).
#[derive(Clone, Copy, Debug)]
pub struct KeyRing<'a> {
    keys: &'a [PublicKey],
    identity: ImageIdentity,
}

impl<'a> KeyRing<'a> {
    /// A key ring over built-in keys, accepting any image identity.
    pub const fn new(keys: &'a [PublicKey]) -> Self {
        KeyRing {
            keys,
            identity: ImageIdentity::ANY,
        }
    }

    /// The same keys, accepting only images for `identity` (PSA FWU 1.0 §4.3.1).
    pub const fn with_identity(self, identity: ImageIdentity) -> Self {
        KeyRing { identity, ..self }
    }

    /// The image identity required.
    pub const fn identity(&self) -> ImageIdentity {
        self.identity
    }

    /// The keys.
    pub const fn keys(&self) -> &'a [PublicKey] {
        self.keys
    }

    /// Index of the key whose hash is `key_hash`.
    pub fn find(&self, key_hash: &[u8; 32]) -> Option<usize> {
        self.keys.iter().position(|k| &k.key_hash() == key_hash)
    }

    /// Authenticate a scanned image: computed digest equals the hash TLV, the key hash names a
    /// built-in key, and the Ed25519 signature over the 32-byte digest verifies under the strict
    /// rules of [`super::ed25519`] (canonical `S < L`, no small-order or non-canonical `R` or
    /// key), then the image is for this device ([`ImageIdentity::check`]). Returns the index of
    /// the signing key.
    pub fn authenticate(&self, image: &ScannedImage) -> Result<usize, ImageError> {
        if image.digest != image.hash_tlv {
            return Err(ImageError::HashMismatch);
        }
        let index = self.find(&image.key_hash).ok_or(ImageError::UnknownKey)?;
        let key = self.keys.get(index).ok_or(ImageError::UnknownKey)?;
        super::ed25519::verify_strict(&key.0, &image.digest, &image.signature)?;
        self.identity.check(image)?;
        Ok(index)
    }
}

/// A [`KeyRing`] that keeps the last key it decoded: the bootloader verifies several images
/// per boot (the active ones, a staged one, a backup), mostly under one key, and decoding a
/// key (a square root, about 53,000 instructions on a Cortex-M4) then happens once per boot
/// instead of once per image. Same verdicts as [`KeyRing::authenticate`].
pub struct DecodedKeyRing<'a> {
    ring: KeyRing<'a>,
    decoded: Option<(usize, VerifyingKey)>,
}

impl<'a> DecodedKeyRing<'a> {
    /// Over `ring`, nothing decoded yet.
    pub const fn new(ring: KeyRing<'a>) -> Self {
        DecodedKeyRing {
            ring,
            decoded: None,
        }
    }

    /// [`KeyRing::authenticate`], decoding the signing key only if it is not the one kept.
    pub fn authenticate(&mut self, image: &ScannedImage) -> Result<usize, ImageError> {
        if image.digest != image.hash_tlv {
            return Err(ImageError::HashMismatch);
        }
        let index = self
            .ring
            .find(&image.key_hash)
            .ok_or(ImageError::UnknownKey)?;
        let key = match &self.decoded {
            Some((i, key)) if *i == index => key,
            _ => {
                let bytes = self.ring.keys().get(index).ok_or(ImageError::UnknownKey)?;
                &self.decoded.insert((index, VerifyingKey::new(&bytes.0)?)).1
            }
        };
        verify_decoded(key, &image.digest, &image.signature)?;
        self.ring.identity.check(image)?;
        Ok(index)
    }
}
