//! SMP error codes, and how each PSA status of the update service is reported to mcumgr tools.
//!
//! An SMP v1 response carries `rc` (a `MGMT_ERR` code); a v2 response carries
//! `err: {group, rc}` with the group's own code (image management's `IMG_MGMT_ERR` for the
//! image group), which the tools print by name. [`Reply`] holds both; the server writes the
//! form the request's header version asks for.

use fwu_updater::Error;

/// mcumgr's `MGMT_ERR` codes (the v1 `rc`, and v2's `rc` for the OS group).
pub mod mgmt {
    /// Success.
    pub const EOK: u16 = 0;
    /// Unknown error.
    pub const EUNKNOWN: u16 = 1;
    /// Out of memory.
    pub const ENOMEM: u16 = 2;
    /// Invalid argument.
    pub const EINVAL: u16 = 3;
    /// No such entry (component).
    pub const ENOENT: u16 = 5;
    /// Wrong state for the request.
    pub const EBADSTATE: u16 = 6;
    /// Response too large.
    pub const EMSGSIZE: u16 = 7;
    /// Not supported (unknown group or command).
    pub const ENOTSUP: u16 = 8;
    /// Corrupt data.
    pub const ECORRUPT: u16 = 9;
    /// Busy.
    pub const EBUSY: u16 = 10;
    /// Access denied.
    pub const EACCESSDENIED: u16 = 11;
}

/// Image management's `IMG_MGMT_ERR` codes (v2 `err.rc` in group 1).
pub mod img {
    /// Unknown error.
    pub const UNKNOWN: u16 = 1;
    /// No image in the slot.
    pub const NO_IMAGE: u16 = 3;
    /// Invalid TLV (a malformed image).
    pub const INVALID_TLV: u16 = 5;
    /// No image with that hash.
    pub const HASH_NOT_FOUND: u16 = 8;
    /// The flash read failed.
    pub const FLASH_READ_FAILED: u16 = 11;
    /// The flash write failed.
    pub const FLASH_WRITE_FAILED: u16 = 12;
    /// No such slot or image number.
    pub const INVALID_SLOT: u16 = 14;
    /// The upload offset is not the expected one.
    pub const INVALID_OFFSET: u16 = 20;
    /// The length is missing or invalid.
    pub const INVALID_LENGTH: u16 = 21;
    /// The image header is invalid.
    pub const INVALID_IMAGE_HEADER: u16 = 22;
    /// The hash is invalid (the signature or hash check failed).
    pub const INVALID_HASH: u16 = 24;
    /// The running image is newer (a downgrade, or a security counter below the floor).
    pub const CURRENT_VERSION_IS_NEWER: u16 = 27;
    /// An image operation is pending (staged, on trial or rejected: reboot first).
    pub const IMAGE_ALREADY_PENDING: u16 = 28;
    /// The image is too large for the slot.
    pub const INVALID_IMAGE_TOO_LARGE: u16 = 30;
    /// More data than the announced length.
    pub const INVALID_IMAGE_DATA_OVERRUN: u16 = 31;
    /// Confirmation refused.
    pub const IMAGE_CONFIRMATION_DENIED: u16 = 32;
}

/// SMP group ids.
pub mod group {
    /// OS management.
    pub const OS: u16 = 0;
    /// Image management.
    pub const IMAGE: u16 = 1;
}

/// An error answer: the v1 `rc` and the v2 `err {group, rc}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// `MGMT_ERR` code for v1.
    pub rc: u16,
    /// Group of the v2 error.
    pub group: u16,
    /// The group's code for v2.
    pub group_rc: u16,
}

impl Reply {
    /// An error of the OS group or a generic one (same code in both forms).
    pub const fn mgmt(rc: u16) -> Reply {
        Reply {
            rc,
            group: group::OS,
            group_rc: rc,
        }
    }

    /// An image-group error: `rc` for v1, `img_rc` for v2.
    pub const fn image(rc: u16, img_rc: u16) -> Reply {
        Reply {
            rc,
            group: group::IMAGE,
            group_rc: img_rc,
        }
    }
}

/// How a PSA status from the update service is reported in the image group (the table in
/// `docs/smp.md`).
pub const fn image_reply(e: Error) -> Reply {
    match e {
        Error::InvalidSignature => Reply::image(mgmt::EACCESSDENIED, img::INVALID_HASH),
        Error::NotPermitted => Reply::image(mgmt::EACCESSDENIED, img::CURRENT_VERSION_IS_NEWER),
        Error::InvalidArgument => Reply::image(mgmt::EINVAL, img::INVALID_IMAGE_HEADER),
        Error::BadState => Reply::image(mgmt::EBADSTATE, img::IMAGE_ALREADY_PENDING),
        Error::DoesNotExist => Reply::image(mgmt::ENOENT, img::INVALID_SLOT),
        Error::DependencyNeeded => Reply::image(mgmt::EBADSTATE, img::IMAGE_CONFIRMATION_DENIED),
        Error::ConnectionBusy => Reply::image(mgmt::EBUSY, img::UNKNOWN),
        Error::StorageFailure | Error::InsufficientStorage => {
            Reply::image(mgmt::EUNKNOWN, img::FLASH_WRITE_FAILED)
        }
        Error::DataCorrupt => Reply::image(mgmt::ECORRUPT, img::FLASH_READ_FAILED),
        Error::InsufficientMemory => Reply::image(mgmt::ENOMEM, img::UNKNOWN),
        _ => Reply::image(mgmt::EUNKNOWN, img::UNKNOWN),
    }
}
