//! PSA FWU component types: ids, states, flags, versions and the `psa_fwu_component_info_t`
//! structure with its exact C layout (digest §1.4–§1.8).

use crate::status::PsaStatus;

/// `PSA_FWU_API_VERSION_MAJOR`.
pub const PSA_FWU_API_VERSION_MAJOR: u32 = 1;
/// `PSA_FWU_API_VERSION_MINOR`.
pub const PSA_FWU_API_VERSION_MINOR: u32 = 0;

/// `psa_fwu_component_t`: a small integer naming one component (0 is the application).
pub type ComponentId = u8;

/// `PSA_FWU_FLAG_VOLATILE_STAGING`: staged data is discarded at reset.
pub const PSA_FWU_FLAG_VOLATILE_STAGING: u32 = 0x0000_0001;
/// `PSA_FWU_FLAG_ENCRYPTION`: images for this component must be encrypted.
pub const PSA_FWU_FLAG_ENCRYPTION: u32 = 0x0000_0002;

/// A component state (`PSA_FWU_READY` .. `PSA_FWU_UPDATED`), with the spec's numeric values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum State {
    /// `PSA_FWU_READY` (0): only the active image; an update can start.
    Ready = 0,
    /// `PSA_FWU_WRITING` (1): a new image is being written to staging.
    Writing = 1,
    /// `PSA_FWU_CANDIDATE` (2): the image is complete and can be installed.
    Candidate = 2,
    /// `PSA_FWU_STAGED` (3): installation is queued for the next reboot.
    Staged = 3,
    /// `PSA_FWU_FAILED` (4): the update failed or was cancelled; `clean` is needed.
    Failed = 4,
    /// `PSA_FWU_TRIAL` (5): the new image runs on trial; accept or reject it.
    Trial = 5,
    /// `PSA_FWU_REJECTED` (6): the trial image was rejected; a reboot restores the old one.
    Rejected = 6,
    /// `PSA_FWU_UPDATED` (7): the new image is permanent; `clean` erases the old one.
    Updated = 7,
}

/// `PSA_FWU_READY`.
pub const PSA_FWU_READY: u8 = State::Ready as u8;
/// `PSA_FWU_WRITING`.
pub const PSA_FWU_WRITING: u8 = State::Writing as u8;
/// `PSA_FWU_CANDIDATE`.
pub const PSA_FWU_CANDIDATE: u8 = State::Candidate as u8;
/// `PSA_FWU_STAGED`.
pub const PSA_FWU_STAGED: u8 = State::Staged as u8;
/// `PSA_FWU_FAILED`.
pub const PSA_FWU_FAILED: u8 = State::Failed as u8;
/// `PSA_FWU_TRIAL`.
pub const PSA_FWU_TRIAL: u8 = State::Trial as u8;
/// `PSA_FWU_REJECTED`.
pub const PSA_FWU_REJECTED: u8 = State::Rejected as u8;
/// `PSA_FWU_UPDATED`.
pub const PSA_FWU_UPDATED: u8 = State::Updated as u8;

impl State {
    /// All eight states in value order.
    pub const ALL: [State; 8] = [
        State::Ready,
        State::Writing,
        State::Candidate,
        State::Staged,
        State::Failed,
        State::Trial,
        State::Rejected,
        State::Updated,
    ];

    /// The state with this numeric value, or `None` (a value read from flash is untrusted).
    pub const fn from_u8(v: u8) -> Option<State> {
        match v {
            0 => Some(State::Ready),
            1 => Some(State::Writing),
            2 => Some(State::Candidate),
            3 => Some(State::Staged),
            4 => Some(State::Failed),
            5 => Some(State::Trial),
            6 => Some(State::Rejected),
            7 => Some(State::Updated),
            _ => None,
        }
    }

    /// The C macro name of the state (`PSA_FWU_...`).
    pub const fn name(self) -> &'static str {
        match self {
            State::Ready => "PSA_FWU_READY",
            State::Writing => "PSA_FWU_WRITING",
            State::Candidate => "PSA_FWU_CANDIDATE",
            State::Staged => "PSA_FWU_STAGED",
            State::Failed => "PSA_FWU_FAILED",
            State::Trial => "PSA_FWU_TRIAL",
            State::Rejected => "PSA_FWU_REJECTED",
            State::Updated => "PSA_FWU_UPDATED",
        }
    }
}

/// `psa_fwu_image_version_t`, bit-identical to MCUboot's `struct image_version`
/// (`iv_major`, `iv_minor`, `iv_revision` = patch, `iv_build_num` = build).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct ImageVersion {
    /// Major version.
    pub major: u8,
    /// Minor version; 0 if the image has none.
    pub minor: u8,
    /// Revision/patch; 0 if none.
    pub patch: u16,
    /// Build number; 0 if none.
    pub build: u32,
}

impl ImageVersion {
    /// A version from its four parts.
    pub const fn new(major: u8, minor: u8, patch: u16, build: u32) -> Self {
        ImageVersion {
            major,
            minor,
            patch,
            build,
        }
    }

    /// Decode the 8-byte little-endian MCUboot encoding.
    pub const fn from_le_bytes(b: [u8; 8]) -> Self {
        ImageVersion {
            major: b[0],
            minor: b[1],
            patch: u16::from_le_bytes([b[2], b[3]]),
            build: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Encode as the 8-byte little-endian MCUboot encoding.
    pub const fn to_le_bytes(self) -> [u8; 8] {
        let p = self.patch.to_le_bytes();
        let b = self.build.to_le_bytes();
        [self.major, self.minor, p[0], p[1], b[0], b[1], b[2], b[3]]
    }
}

/// Implementation-defined part of the component information (`psa_fwu_impl_info_t`).
///
/// It tells a client what the spec leaves it to guess: where a resumable download stopped and
/// which image is staged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ImplInfo {
    /// In WRITING: the image offset up to which data is durably written (resume point).
    pub resume_offset: u32,
    /// Size in bytes of the image in the second slot when it is known (CANDIDATE onwards), else 0.
    pub staged_size: u32,
    /// SHA-256 of the image in the second slot as verified at `finish`; all zero when unknown.
    pub staged_digest: [u8; 32],
}

/// `psa_fwu_component_info_t`, with the C layout of digest §1.8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ComponentInfo {
    /// One of the `PSA_FWU_*` state values.
    pub state: u8,
    /// Error for the second image; meaningful in FAILED and REJECTED.
    pub error: PsaStatus,
    /// Version of the active image.
    pub version: ImageVersion,
    /// Largest image the component accepts, in bytes.
    pub max_size: u32,
    /// `PSA_FWU_FLAG_*` bits.
    pub flags: u32,
    /// Implementation-defined location: here the flash offset of the active (primary) slot.
    pub location: u32,
    /// Implementation-specific information.
    pub impl_: ImplInfo,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn state_values_match_spec() {
        let names = [
            (PSA_FWU_READY, 0),
            (PSA_FWU_WRITING, 1),
            (PSA_FWU_CANDIDATE, 2),
            (PSA_FWU_STAGED, 3),
            (PSA_FWU_FAILED, 4),
            (PSA_FWU_TRIAL, 5),
            (PSA_FWU_REJECTED, 6),
            (PSA_FWU_UPDATED, 7),
        ];
        for (v, want) in names {
            assert_eq!(v, want);
            assert_eq!(State::from_u8(v).map(|s| s as u8), Some(want));
        }
        for (i, s) in State::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
        assert_eq!(State::from_u8(8), None);
        assert_eq!(State::from_u8(0xff), None);
        assert_eq!(PSA_FWU_FLAG_VOLATILE_STAGING, 1);
        assert_eq!(PSA_FWU_FLAG_ENCRYPTION, 2);
        assert_eq!(
            (PSA_FWU_API_VERSION_MAJOR, PSA_FWU_API_VERSION_MINOR),
            (1, 0)
        );
    }

    #[test]
    fn image_version_has_c_layout() {
        assert_eq!(size_of::<ImageVersion>(), 8);
        assert_eq!(align_of::<ImageVersion>(), 4);
        assert_eq!(offset_of!(ImageVersion, major), 0);
        assert_eq!(offset_of!(ImageVersion, minor), 1);
        assert_eq!(offset_of!(ImageVersion, patch), 2);
        assert_eq!(offset_of!(ImageVersion, build), 4);
        let v = ImageVersion::new(1, 2, 0x0304, 0x0506_0708);
        assert_eq!(v.to_le_bytes(), [1, 2, 4, 3, 8, 7, 6, 5]);
        assert_eq!(ImageVersion::from_le_bytes(v.to_le_bytes()), v);
    }

    #[test]
    fn component_info_has_c_layout() {
        assert_eq!(offset_of!(ComponentInfo, state), 0);
        assert_eq!(offset_of!(ComponentInfo, error), 4);
        assert_eq!(offset_of!(ComponentInfo, version), 8);
        assert_eq!(offset_of!(ComponentInfo, max_size), 16);
        assert_eq!(offset_of!(ComponentInfo, flags), 20);
        assert_eq!(offset_of!(ComponentInfo, location), 24);
        assert_eq!(offset_of!(ComponentInfo, impl_), 28);
        assert_eq!(size_of::<ImplInfo>(), 40);
        assert_eq!(offset_of!(ImplInfo, resume_offset), 0);
        assert_eq!(offset_of!(ImplInfo, staged_size), 4);
        assert_eq!(offset_of!(ImplInfo, staged_digest), 8);
        assert_eq!(size_of::<ComponentInfo>(), 68);
        assert_eq!(align_of::<ComponentInfo>(), 4);
    }
}
