//! Image identity: the vendor and image class an image is for (PSA FWU 1.0 §4.3.1: an update
//! must be checked to be intended for the device). MCUboot images carry them as the protected
//! `UUID_VID` and `UUID_CID` TLVs (imgtool's `--vid` and `--cid`).
//!
//! A device configured with a vendor id, a class id or both refuses an image whose protected
//! UUIDs are missing or different; a device configured with neither accepts any (the default).

use super::scan::ScannedImage;
use super::ImageError;

/// The vendor and class UUIDs this device accepts (`None`: not checked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageIdentity {
    /// The vendor UUID an image must carry, if any.
    pub vendor_id: Option<[u8; 16]>,
    /// The image class UUID an image must carry, if any.
    pub class_id: Option<[u8; 16]>,
}

impl ImageIdentity {
    /// No identity configured: every authentic image is accepted.
    pub const ANY: ImageIdentity = ImageIdentity {
        vendor_id: None,
        class_id: None,
    };

    /// Whether `image` is for this device: each configured UUID is present in the image's
    /// protected TLVs and equal ([`ImageError::WrongDevice`] otherwise).
    pub fn check(&self, image: &ScannedImage) -> Result<(), ImageError> {
        let matches = |want: Option<[u8; 16]>, got: Option<[u8; 16]>| match want {
            Some(w) => got == Some(w),
            None => true,
        };
        if matches(self.vendor_id, image.vendor_id) && matches(self.class_id, image.class_id) {
            Ok(())
        } else {
            Err(ImageError::WrongDevice)
        }
    }
}
