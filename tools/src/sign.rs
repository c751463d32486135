//! Signing: the semantics of `imgtool sign` for Ed25519 keys, producing byte-identical output.
//!
//! * Without `pad_header` the input must already reserve the header: its first `header_size`
//!   bytes must be zero (imgtool's rule); the header overwrites the first 32 of them and the rest
//!   stay zero. With `pad_header`, `header_size` bytes of the erased value are prepended.
//! * The image (header, payload, TLVs) plus imgtool's reserved trailer size must fit the slot,
//!   whether or not the output is padded.
//! * `pad` (implied by `confirm`) pads the output to the slot size with the erased value and
//!   writes the trailer magic (and image_ok for `confirm`).
//! * A non-zero load address sets the `RAM_LOAD` header flag, as imgtool does.
//! * A vendor and a class UUID (`--vid`/`--cid`, resolved by [`crate::uuid`]) become the
//!   protected `UUID_VID`/`UUID_CID` TLVs, after the security counter and the dependencies.

use crate::keys::SigningKey;
use crate::parse::SecurityCounter;
use crate::trailer::TrailerLayout;
use fwu_shared::image::build::{build_image, BuildError, ImageSpec};
use fwu_shared::image::header::flags;
use fwu_shared::version::Dependency;
use fwu_shared::ImageVersion;
use std::fmt;

/// Everything `imgtool sign` takes besides the key and the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOptions {
    /// Image version (`-v`).
    pub version: ImageVersion,
    /// Header size including padding (`-H`), at least 32.
    pub header_size: u16,
    /// Prepend the header instead of overwriting the input's zeroed start (`--pad-header`).
    pub pad_header: bool,
    /// Slot size (`-S`).
    pub slot_size: u32,
    /// Security counter TLV (`-s`).
    pub security_counter: Option<SecurityCounter>,
    /// Dependency TLVs (`-d`).
    pub dependencies: Vec<Dependency>,
    /// Trailer geometry (`--align`, `--max-align`, `-M`, `--overwrite-only`).
    pub trailer: TrailerLayout,
    /// Erased value of the flash (`-R`), used for header and slot padding.
    pub erased_val: u8,
    /// Pad to the slot size and write the trailer magic (`--pad`).
    pub pad: bool,
    /// Like `pad`, and mark the image confirmed (`--confirm`).
    pub confirm: bool,
    /// RAM load address (`-L`); non-zero sets the `RAM_LOAD` flag.
    pub load_addr: u32,
    /// Vendor UUID, the protected `UUID_VID` TLV (`--vid`).
    pub vendor_id: Option<[u8; 16]>,
    /// Image class UUID, the protected `UUID_CID` TLV (`--cid`).
    pub class_id: Option<[u8; 16]>,
}

impl SignOptions {
    /// imgtool's defaults for the given required options.
    pub fn new(version: ImageVersion, header_size: u16, slot_size: u32) -> Self {
        SignOptions {
            version,
            header_size,
            pad_header: false,
            slot_size,
            security_counter: None,
            dependencies: Vec::new(),
            trailer: TrailerLayout::default(),
            erased_val: 0xff,
            pad: false,
            confirm: false,
            load_addr: 0,
            vendor_id: None,
            class_id: None,
        }
    }
}

/// Why an image could not be signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignError {
    /// The header size is below 32 bytes.
    HeaderTooSmall(u16),
    /// The slot size is zero.
    ZeroSlotSize,
    /// Without `pad_header`, the input is shorter than the header it must reserve.
    InputShorterThanHeader {
        /// Input length.
        input: usize,
        /// Header size.
        header: u16,
    },
    /// Without `pad_header`, the input does not start with `header_size` zero bytes.
    HeaderNotZero(u16),
    /// Image plus trailer exceed the slot (imgtool's check).
    TooLargeForSlot {
        /// Signed image length.
        image: u64,
        /// Reserved trailer size.
        trailer: u64,
        /// Slot size.
        slot: u32,
    },
    /// A size does not fit the header's fields (payload > 4 GiB, protected TLVs > 64 KiB).
    FieldOverflow,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::HeaderTooSmall(h) => {
                write!(f, "header size {h} is below the minimum of 32")
            }
            SignError::ZeroSlotSize => write!(f, "slot size must not be zero"),
            SignError::InputShorterThanHeader { input, header } => write!(
                f,
                "input is {input} bytes, shorter than the {header}-byte header it must reserve (use --pad-header to prepend the header)"
            ),
            SignError::HeaderNotZero(h) => write!(
                f,
                "the first {h} bytes of the input are not zero; use --pad-header to prepend the header instead"
            ),
            SignError::TooLargeForSlot {
                image,
                trailer,
                slot,
            } => write!(
                f,
                "image size (0x{image:x}) + trailer (0x{trailer:x}) exceeds slot size 0x{slot:x} by 0x{:x} bytes",
                (image + trailer).saturating_sub(u64::from(*slot))
            ),
            SignError::FieldOverflow => write!(
                f,
                "image too large for the MCUboot header fields (payload over 4 GiB or protected TLVs over 64 KiB)"
            ),
        }
    }
}

impl std::error::Error for SignError {}

/// A signed image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedImage {
    /// The output file content (padded to the slot size with `pad`/`confirm`).
    pub bytes: Vec<u8>,
    /// Length of the image proper (header to the end of the unprotected TLVs).
    pub image_len: usize,
    /// The SHA-256 image digest (the SHA256 TLV).
    pub digest: [u8; 32],
    /// The security counter written, if any.
    pub security_counter: Option<u32>,
}

/// Sign `input` (a raw binary) with `key` as `imgtool sign` would.
pub fn sign_image(
    opts: &SignOptions,
    input: &[u8],
    key: &SigningKey,
) -> Result<SignedImage, SignError> {
    if opts.header_size < 32 {
        return Err(SignError::HeaderTooSmall(opts.header_size));
    }
    if opts.slot_size == 0 {
        return Err(SignError::ZeroSlotSize);
    }
    let hdr = usize::from(opts.header_size);
    let (payload, header_fill) = if opts.pad_header {
        (input, opts.erased_val)
    } else {
        let (reserved, payload) =
            input
                .split_at_checked(hdr)
                .ok_or(SignError::InputShorterThanHeader {
                    input: input.len(),
                    header: opts.header_size,
                })?;
        if reserved.iter().any(|&b| b != 0) {
            return Err(SignError::HeaderNotZero(opts.header_size));
        }
        (payload, 0)
    };
    let security_counter = opts.security_counter.map(|s| s.resolve(&opts.version));
    let spec = ImageSpec {
        version: opts.version,
        header_size: opts.header_size,
        header_fill,
        load_addr: opts.load_addr,
        flags: if opts.load_addr != 0 {
            flags::RAM_LOAD
        } else {
            0
        },
        security_counter,
        dependencies: &opts.dependencies,
        vendor_id: opts.vendor_id,
        class_id: opts.class_id,
    };
    let image_len = spec.image_len(payload.len());
    let trailer = opts.trailer.size();
    let needed = (image_len as u64).saturating_add(trailer);
    if needed > u64::from(opts.slot_size) {
        return Err(SignError::TooLargeForSlot {
            image: image_len as u64,
            trailer,
            slot: opts.slot_size,
        });
    }
    let mut bytes = vec![0u8; image_len];
    let built = build_image(&spec, payload, &key.signer(), &mut bytes).map_err(|e| match e {
        BuildError::HeaderTooSmall => SignError::HeaderTooSmall(opts.header_size),
        BuildError::TooLarge | BuildError::BufferTooSmall => SignError::FieldOverflow,
    })?;
    bytes.truncate(built.len);
    if opts.pad || opts.confirm {
        // The slot check above guarantees slot_size >= image + trailer.
        let trailer_bytes = opts.trailer.bytes(opts.erased_val, opts.confirm);
        let fill_to = (opts.slot_size as usize).saturating_sub(trailer_bytes.len());
        bytes.resize(fill_to.max(bytes.len()), opts.erased_val);
        bytes.extend_from_slice(&trailer_bytes);
    }
    Ok(SignedImage {
        bytes,
        image_len: built.len,
        digest: built.digest,
        security_counter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fwu_shared::image::build::UNPROTECTED_TLV_SIZE;
    use fwu_shared::image::{verify_slice, KeyRing};

    fn key() -> SigningKey {
        SigningKey::from_seed([7; 32])
    }

    fn zero_prefixed(hdr: usize, body: usize) -> Vec<u8> {
        let mut v = vec![0u8; hdr];
        v.extend((0..body).map(|i| (i * 13 + 5) as u8));
        v
    }

    #[test]
    fn pad_header_and_reserved_header_give_same_payload() {
        let mut opts = SignOptions::new(ImageVersion::new(1, 2, 3, 4), 0x20, 0x10000);
        let reserved = sign_image(&opts, &zero_prefixed(0x20, 100), &key()).unwrap();
        opts.pad_header = true;
        let padded = sign_image(&opts, &zero_prefixed(0, 100), &key()).unwrap();
        // With a 32-byte header there is no padding, so both ways give the same image.
        assert_eq!(reserved, padded);
        let keys = [key().public_key()];
        let s = verify_slice(&padded.bytes, 0x10000, &KeyRing::new(&keys)).unwrap();
        assert_eq!(s.header.img_size, 100);
    }

    #[test]
    fn header_padding_uses_zero_or_erased_value() {
        let mut opts = SignOptions::new(ImageVersion::new(1, 0, 0, 0), 0x200, 0x10000);
        let reserved = sign_image(&opts, &zero_prefixed(0x200, 10), &key()).unwrap();
        assert!(reserved.bytes[32..0x200].iter().all(|&b| b == 0));
        opts.pad_header = true;
        let padded = sign_image(&opts, &zero_prefixed(0, 10), &key()).unwrap();
        assert!(padded.bytes[32..0x200].iter().all(|&b| b == 0xff));
        opts.erased_val = 0;
        let padded0 = sign_image(&opts, &zero_prefixed(0, 10), &key()).unwrap();
        assert_eq!(padded0.bytes, reserved.bytes);
    }

    #[test]
    fn reserved_header_must_be_zero_and_present() {
        let opts = SignOptions::new(ImageVersion::new(1, 0, 0, 0), 0x200, 0x10000);
        let mut input = zero_prefixed(0x200, 10);
        input[0x1ff] = 1;
        assert_eq!(
            sign_image(&opts, &input, &key()),
            Err(SignError::HeaderNotZero(0x200))
        );
        assert_eq!(
            sign_image(&opts, &[0u8; 0x100], &key()),
            Err(SignError::InputShorterThanHeader {
                input: 0x100,
                header: 0x200
            })
        );
        // Exactly the header and nothing else is an empty payload.
        let empty = sign_image(&opts, &[0u8; 0x200], &key()).unwrap();
        assert_eq!(empty.image_len, 0x200 + UNPROTECTED_TLV_SIZE);
    }

    #[test]
    fn slot_check_includes_the_trailer_even_without_pad() {
        let mut opts = SignOptions::new(ImageVersion::new(1, 0, 0, 0), 0x20, 0);
        let input = zero_prefixed(0x20, 100);
        let image_len = (0x20 + 100 + UNPROTECTED_TLV_SIZE) as u32;
        let trailer = opts.trailer.size() as u32;
        opts.slot_size = image_len + trailer;
        assert!(sign_image(&opts, &input, &key()).is_ok());
        opts.slot_size -= 1;
        assert_eq!(
            sign_image(&opts, &input, &key()),
            Err(SignError::TooLargeForSlot {
                image: image_len.into(),
                trailer: trailer.into(),
                slot: image_len + trailer - 1
            })
        );
        opts.slot_size = 0;
        assert_eq!(
            sign_image(&opts, &input, &key()),
            Err(SignError::ZeroSlotSize)
        );
    }

    #[test]
    fn confirm_pads_to_slot_with_trailer() {
        let mut opts = SignOptions::new(ImageVersion::new(1, 0, 0, 0), 0x20, 0x4000);
        opts.confirm = true;
        opts.trailer = TrailerLayout::new(4, None, 128, false);
        let out = sign_image(&opts, &zero_prefixed(0x20, 100), &key()).unwrap();
        assert_eq!(out.bytes.len(), 0x4000);
        assert_eq!(&out.bytes[0x4000 - 16..], &crate::trailer::BOOT_MAGIC);
        assert_eq!(out.bytes[0x4000 - 24], 1);
        assert!(out.bytes[out.image_len..0x4000 - 24]
            .iter()
            .all(|&b| b == 0xff));
    }

    #[test]
    fn security_counter_dependencies_and_load_addr() {
        let mut opts = SignOptions::new(ImageVersion::new(1, 2, 3, 0), 0x20, 0x10000);
        opts.security_counter = Some(SecurityCounter::Auto);
        opts.dependencies = vec![Dependency {
            component: 1,
            min_version: ImageVersion::new(0, 9, 0, 0),
        }];
        let out = sign_image(&opts, &zero_prefixed(0x20, 8), &key()).unwrap();
        assert_eq!(out.security_counter, Some(0x0102_0003));
        let keys = [key().public_key()];
        let s = verify_slice(&out.bytes, 0x10000, &KeyRing::new(&keys)).unwrap();
        assert_eq!(s.security_counter, Some(0x0102_0003));
        assert_eq!(s.dependencies.as_slice(), opts.dependencies.as_slice());
        opts.load_addr = 0x2000_0000;
        let ram = sign_image(&opts, &zero_prefixed(0x20, 8), &key()).unwrap();
        assert_eq!(&ram.bytes[4..8], &0x2000_0000u32.to_le_bytes());
        assert_eq!(&ram.bytes[16..20], &flags::RAM_LOAD.to_le_bytes());
    }

    #[test]
    fn vendor_and_class_ids_are_protected_tlvs_after_the_others() {
        let mut opts = SignOptions::new(ImageVersion::new(1, 0, 0, 0), 0x20, 0x10000);
        opts.security_counter = Some(SecurityCounter::Value(1));
        opts.vendor_id = Some([0xaa; 16]);
        opts.class_id = Some([0xbb; 16]);
        let out = sign_image(&opts, &zero_prefixed(0x20, 8), &key()).unwrap();
        // Protected area after the payload: info word, SEC_CNT (4 + 4), UUID_VID, UUID_CID.
        let vid_at = 0x20 + 8 + 4 + 8;
        assert_eq!(&out.bytes[vid_at..vid_at + 4], &[0x74, 0, 16, 0]);
        assert_eq!(&out.bytes[vid_at + 4..vid_at + 20], &[0xaa; 16]);
        assert_eq!(&out.bytes[vid_at + 20..vid_at + 24], &[0x75, 0, 16, 0]);
        assert_eq!(&out.bytes[vid_at + 24..vid_at + 40], &[0xbb; 16]);
        let keys = [key().public_key()];
        let s = verify_slice(&out.bytes, 0x10000, &KeyRing::new(&keys)).unwrap();
        assert_eq!((s.vendor_id, s.class_id), (opts.vendor_id, opts.class_id));
    }
}
