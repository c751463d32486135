//! Verification of a signed image with one public key, through the same scanner and key ring
//! the bootloader and the update service use, optionally for a device identity (vendor and
//! class UUIDs, `--vid`/`--cid`).

use crate::hex::hex;
use crate::parse::format_version;
use crate::uuid::format_uuid;
use crate::Error;
use fwu_shared::image::{
    scan_slice, verify_slice, ImageError, ImageIdentity, KeyRing, PublicKey, ScannedImage,
};
use std::fmt::Write as _;

/// The slot size of an image file: the file.
fn slot_of(image: &[u8]) -> u32 {
    u32::try_from(image.len()).unwrap_or(u32::MAX)
}

/// Scan and authenticate `image` (a whole file; the slot is the file) against `key`.
pub fn verify_image(image: &[u8], key: &PublicKey) -> Result<ScannedImage, ImageError> {
    let keys = [*key];
    verify_slice(image, slot_of(image), &KeyRing::new(&keys))
}

/// [`verify_image`] for a device with `identity`: the image must also carry the vendor and
/// class UUIDs it names (the key ring's [`KeyRing::with_identity`] check). A mismatch is
/// [`Error::WrongDevice`], saying which UUID the image has and which was expected.
pub fn verify_image_for(
    image: &[u8],
    key: &PublicKey,
    identity: ImageIdentity,
) -> Result<ScannedImage, Error> {
    let scanned = scan_slice(image, slot_of(image)).map_err(Error::Verify)?;
    let keys = [*key];
    match KeyRing::new(&keys)
        .with_identity(identity)
        .authenticate(&scanned)
    {
        Ok(_) => Ok(scanned),
        Err(ImageError::WrongDevice) => {
            Err(Error::WrongDevice(identity_mismatch(&scanned, &identity)))
        }
        Err(e) => Err(Error::Verify(e)),
    }
}

/// Which of the UUIDs `wanted` names the image lacks or has different, on one line
/// (`vendor UUID <image's or none>, expected <wanted>; class UUID ...`).
pub fn identity_mismatch(image: &ScannedImage, wanted: &ImageIdentity) -> String {
    let show = |u: Option<[u8; 16]>| u.map_or_else(|| "none".to_string(), |u| format_uuid(&u));
    [
        ("vendor", wanted.vendor_id, image.vendor_id),
        ("class", wanted.class_id, image.class_id),
    ]
    .into_iter()
    .filter_map(|(what, want, got)| {
        let want = want?;
        (got != Some(want)).then(|| {
            format!(
                "image {what} UUID {}, expected {}",
                show(got),
                format_uuid(&want)
            )
        })
    })
    .collect::<Vec<_>>()
    .join("; ")
}

/// The report `fwu-tool verify` prints for a verified image.
pub fn report(s: &ScannedImage) -> String {
    let mut out = String::new();
    let deps = s.dependencies.as_slice();
    let deps = if deps.is_empty() {
        "none".to_string()
    } else {
        deps.iter()
            .map(|d| {
                format!(
                    "image {} >= {}",
                    d.component,
                    format_version(&d.min_version)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let counter = s
        .security_counter
        .map_or_else(|| "none".to_string(), |c| format!("{c} (0x{c:08x})"));
    let _ = writeln!(out, "image verified");
    let _ = writeln!(
        out,
        "version:          {}",
        format_version(&s.header.version)
    );
    let _ = writeln!(
        out,
        "size:             {} bytes (header 0x{:x}, payload 0x{:x})",
        s.total_size, s.header.hdr_size, s.header.img_size
    );
    let _ = writeln!(out, "hash:             {}", hex(&s.digest));
    let _ = writeln!(out, "key hash:         {}", hex(&s.key_hash));
    let _ = writeln!(out, "security counter: {counter}");
    let _ = writeln!(out, "dependencies:     {deps}");
    if let Some(v) = &s.vendor_id {
        let _ = writeln!(out, "vendor UUID:      {}", format_uuid(v));
    }
    if let Some(c) = &s.class_id {
        let _ = writeln!(out, "class UUID:       {}", format_uuid(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::sign::{sign_image, SignOptions};
    use fwu_shared::ImageVersion;

    fn image(vendor_id: Option<[u8; 16]>, class_id: Option<[u8; 16]>) -> Vec<u8> {
        let mut o = SignOptions::new(ImageVersion::new(1, 0, 0, 0), 0x20, 0x4000);
        o.pad_header = true;
        o.vendor_id = vendor_id;
        o.class_id = class_id;
        sign_image(&o, b"payload", &SigningKey::from_seed([3; 32]))
            .unwrap()
            .bytes
    }

    #[test]
    fn identity_is_checked_after_the_signature() {
        let key = SigningKey::from_seed([3; 32]).public_key();
        let other = SigningKey::from_seed([4; 32]).public_key();
        let both = ImageIdentity {
            vendor_id: Some([1; 16]),
            class_id: Some([2; 16]),
        };
        let img = image(Some([1; 16]), Some([2; 16]));
        let s = verify_image_for(&img, &key, both).unwrap();
        assert_eq!((s.vendor_id, s.class_id), (Some([1; 16]), Some([2; 16])));
        let r = report(&s);
        assert!(r.contains(&format!("vendor UUID:      {}", format_uuid(&[1; 16]))));
        assert!(r.contains(&format!("class UUID:       {}", format_uuid(&[2; 16]))));
        // Without an identity (or with only part of it) the image is accepted as before.
        verify_image_for(&img, &key, ImageIdentity::ANY).unwrap();
        verify_image(&img, &key).unwrap();
        let vendor_only = ImageIdentity {
            class_id: None,
            ..both
        };
        verify_image_for(&img, &key, vendor_only).unwrap();
        // A different class, or an image without ids.
        let other_class = ImageIdentity {
            class_id: Some([3; 16]),
            ..both
        };
        let Err(Error::WrongDevice(why)) = verify_image_for(&img, &key, other_class) else {
            panic!("accepted");
        };
        assert_eq!(
            why,
            format!(
                "image class UUID {}, expected {}",
                format_uuid(&[2; 16]),
                format_uuid(&[3; 16])
            )
        );
        let plain = image(None, None);
        assert!(report(&verify_image(&plain, &key).unwrap()).ends_with("dependencies:     none\n"));
        let Err(e) = verify_image_for(&plain, &key, both) else {
            panic!("accepted");
        };
        let msg = e.to_string();
        assert!(
            msg.contains("image vendor UUID none, expected 01010101-"),
            "{msg}"
        );
        assert!(
            msg.contains("; image class UUID none, expected 02020202-"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        // The signature comes first: a wrong key is reported as such.
        assert!(matches!(
            verify_image_for(&img, &other, other_class),
            Err(Error::Verify(ImageError::UnknownKey))
        ));
    }
}
