//! The persisted records of the on-flash contract (`docs/on-flash-contract.md`):
//!
//! * [`BootRecord`]: the transaction table the bootloader acts on (phase, members, per-member
//!   sector counts, the digest of the staged set, security counters, which secondaries hold a
//!   backup). Lives in the boot log.
//! * [`ComponentRecord`]: one component's state outside any transaction (READY, WRITING,
//!   CANDIDATE, FAILED, UPDATED) and its staged image. Lives in the catalog.
//! * [`Checkpoint`]: the resume point of a download. Lives in the checkpoint map.
//!
//! Each encodes to a CRC-32C frame ([`crate::record`]); decoding validates every field, so a
//! value that is not one the writer could have produced is an error, not a state.

use crate::bytes::{Reader, Writer};
use crate::component::{ComponentId, ImageVersion, State};
use crate::image::ImageError;
use crate::record::Record;
use crate::status::PsaStatus;
use crate::version::{Dependencies, Dependency, MAX_DEPENDENCIES};

/// Largest number of components (transaction members are a `u8` bitmask).
pub const MAX_COMPONENTS: usize = 8;

/// Error recorded for an automatic rollback: the trial image was booted and the device restarted
/// without `accept` (watchdog, crash or power loss). The spec leaves this value to the
/// implementation (digest A5); it is negative and outside every range PSA assigns (-128..-255).
pub const ERROR_TRIAL_NOT_ACCEPTED: PsaStatus = -0x1001;
/// Error recorded when the bootloader abandons an install because the flash failed.
pub const ERROR_INSTALL_FLASH_FAILURE: PsaStatus = -0x1002;
/// Error recorded when the bootloader rolls back because an active (trial) image failed
/// authentication at boot.
pub const ERROR_ACTIVE_INVALID: PsaStatus = -0x1003;
/// Error recorded when a rollback was due but the image to restore (the backup) does not verify:
/// nothing was moved, the trial images stay active and keep running.
pub const ERROR_BACKUP_INVALID: PsaStatus = -0x1004;
/// Error recorded when the staged set no longer matches what `install` committed (the sector
/// counts or the active images changed behind the service's back): nothing was moved.
pub const ERROR_STAGED_MISMATCH: PsaStatus = -0x1005;
/// Error recorded when the client abandoned the image with `psa_fwu_cancel`: the spec leaves
/// the `error` of a cancelled component to the implementation (PSA FWU 1.0 chapter 5,
/// `psa_fwu_cancel`; digest A5), and 0 would say nothing about why it is FAILED.
pub const ERROR_CANCELLED: PsaStatus = -0x1006;
/// Error recorded when `psa_fwu_finish` refuses an image that depends on a component this
/// device does not have (returned as `PSA_ERROR_INVALID_ARGUMENT`): such a dependency can never
/// be met, so the image is refused where that is first known rather than at every `install`.
pub const ERROR_UNKNOWN_DEPENDENCY: PsaStatus = -0x1007;
/// Error recorded when an image is refused because it is not for this device (its vendor or
/// class UUID is missing or differs: [`ImageError::WrongDevice`], returned as
/// `PSA_ERROR_NOT_PERMITTED`), at `psa_fwu_finish` or by the bootloader.
pub const ERROR_WRONG_DEVICE: PsaStatus = -0x1008;

/// The `error` recorded for a component whose image was refused with `e`: fwu's own reason
/// where the PSA status alone would be ambiguous, else that status.
pub const fn failure_code(e: ImageError) -> PsaStatus {
    match e {
        ImageError::WrongDevice => ERROR_WRONG_DEVICE,
        e => e.psa_error().code(),
    }
}

/// A set of components, as a bitmask over ids `0..8`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Members(pub u8);

impl Members {
    /// No component.
    pub const NONE: Members = Members(0);

    /// Whether `c` is in the set (ids `>= 8` never are).
    pub const fn contains(self, c: ComponentId) -> bool {
        c < 8 && self.0 & (1 << c) != 0
    }

    /// The set with `c` added (ids `>= 8` are ignored).
    pub const fn with(self, c: ComponentId) -> Members {
        if c < 8 {
            Members(self.0 | (1 << c))
        } else {
            self
        }
    }

    /// The set without `c`.
    pub const fn without(self, c: ComponentId) -> Members {
        if c < 8 {
            Members(self.0 & !(1 << c))
        } else {
            self
        }
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every member of `self` is in `other`.
    pub const fn is_subset(self, other: Members) -> bool {
        self.0 & !other.0 == 0
    }

    /// The member ids in increasing order.
    pub fn iter(self) -> impl Iterator<Item = ComponentId> {
        (0..8u8).filter(move |&c| self.contains(c))
    }
}

/// What the staged image in the secondary slot is, cached at `finish` after verification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StagedImage {
    /// Image size in bytes (header to end of TLVs).
    pub size: u32,
    /// SHA-256 of the image (the hash TLV, checked against the data).
    pub digest: [u8; 32],
    /// Image version.
    pub version: ImageVersion,
    /// Security counter (0 when the image carries none).
    pub security_counter: u32,
    /// Dependencies declared by the image.
    pub dependencies: Dependencies,
}

/// The persisted state of one component outside any transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComponentRecord {
    /// READY, WRITING, CANDIDATE, FAILED or UPDATED (the states that persist by themselves).
    pub state: State,
    /// Error of the second image (FAILED).
    pub error: PsaStatus,
    /// WRITING: the download's identity; its checkpoints carry the same value, so a checkpoint
    /// left by an earlier download is never taken for this one's.
    pub download: u32,
    /// Whether the whole secondary slot is known to be erased (after `clean`).
    pub secondary_erased: bool,
    /// CANDIDATE (and the transaction built from it): the staged image.
    pub staged: StagedImage,
}

impl Default for ComponentRecord {
    fn default() -> Self {
        ComponentRecord {
            state: State::Ready,
            error: 0,
            download: 0,
            secondary_erased: false,
            staged: StagedImage::default(),
        }
    }
}

/// Phase of the one transaction that `install` opens (see the contract's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// No transaction: component records are authoritative.
    Idle = 0,
    /// `install` committed: members are STAGED, the bootloader installs at the next boot.
    Staged = 1,
    /// The bootloader is swapping members in.
    Installing = 2,
    /// Members run on trial.
    Trial = 3,
    /// The app rejected the trial; the next boot reverts.
    Rejected = 4,
    /// The bootloader is swapping members back.
    Reverting = 5,
    /// The transaction failed (verification, reject, rollback): members FAILED with `error`.
    Failed = 6,
    /// The transaction was accepted: members UPDATED.
    Updated = 7,
    /// The flash failed during the install: the bootloader is putting the previous images back
    /// (`P[k] <- S[k]` for every sector the install had reached; the abandoned new images are
    /// not kept).
    Restoring = 8,
}

impl Phase {
    /// The phase with byte value `v`.
    pub const fn from_u8(v: u8) -> Option<Phase> {
        Some(match v {
            0 => Phase::Idle,
            1 => Phase::Staged,
            2 => Phase::Installing,
            3 => Phase::Trial,
            4 => Phase::Rejected,
            5 => Phase::Reverting,
            6 => Phase::Failed,
            7 => Phase::Updated,
            8 => Phase::Restoring,
            _ => return None,
        })
    }

    /// The PSA state a member of a transaction in this phase reports (`None` for `Idle`).
    pub const fn member_state(self) -> Option<State> {
        match self {
            Phase::Idle => None,
            Phase::Staged | Phase::Installing => Some(State::Staged),
            Phase::Trial => Some(State::Trial),
            Phase::Rejected | Phase::Reverting | Phase::Restoring => Some(State::Rejected),
            Phase::Failed => Some(State::Failed),
            Phase::Updated => Some(State::Updated),
        }
    }

    /// Whether a swap is under way (the slots of the members are mid-move).
    #[inline(never)]
    pub const fn swapping(self) -> bool {
        matches!(
            self,
            Phase::Installing | Phase::Reverting | Phase::Restoring
        )
    }
}

/// Direction of a swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Direction {
    /// New image into the primary slot.
    Install = 1,
    /// Old image back into the primary slot.
    Revert = 2,
    /// Old sectors back into the primary slot after a failed install, one step per sector
    /// (`P[k] <- S[k]`).
    Restore = 3,
}

/// The boot record: the transaction table of the device. Every commit of `install`, `accept`,
/// `reject` and of the bootloader's decisions is one boot record (or one flag word after it,
/// see [`super::boot`]), so it covers every member at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootRecord {
    /// Generation: incremented by every record written, the newest valid one wins.
    pub gen: u32,
    /// Transaction number, incremented by every `install` (and by a bootloader recovery).
    pub seq: u32,
    /// Current phase.
    pub phase: Phase,
    /// Components in the transaction.
    pub members: Members,
    /// `Trial`: the bootloader has handed over to the trial images once.
    pub trial_booted: bool,
    /// Components whose secondary slot holds their previous image after an accepted update (a
    /// backup the bootloader may restore if the active image stops verifying).
    pub backups: Members,
    /// Error recorded for the members (reject argument or failure reason).
    pub error: PsaStatus,
    /// `Installing` / `Reverting`: swap steps already done when this record was written.
    pub done: u32,
    /// Per member: sectors the swap covers (per component, `0` for non-members).
    pub sectors: [u16; MAX_COMPONENTS],
    /// Security counter floor of each component.
    pub counters: [u32; MAX_COMPONENTS],
    /// SHA-256 over the members' staged image digests (see [`staged_set_digest`]), so that the
    /// bootloader installs exactly the images the service verified.
    pub digest: [u8; 32],
}

impl Default for BootRecord {
    fn default() -> Self {
        BootRecord {
            gen: 0,
            seq: 0,
            phase: Phase::Idle,
            members: Members::NONE,
            trial_booted: false,
            backups: Members::NONE,
            error: 0,
            done: 0,
            sectors: [0; MAX_COMPONENTS],
            counters: [0; MAX_COMPONENTS],
            digest: [0; 32],
        }
    }
}

impl BootRecord {
    /// The state and error component `c` reports if it is a member, else `None`.
    pub fn member_state(&self, c: ComponentId) -> Option<(State, PsaStatus)> {
        if !self.members.contains(c) {
            return None;
        }
        let state = self.phase.member_state()?;
        let error = match state {
            State::Failed | State::Rejected => self.error,
            _ => 0,
        };
        Some((state, error))
    }

    /// Sectors recorded for member `c`.
    pub fn sectors_of(&self, c: ComponentId) -> u16 {
        self.sectors.get(usize::from(c)).copied().unwrap_or(0)
    }

    /// The stored security counter floor of `c`.
    pub fn counter(&self, c: ComponentId) -> u32 {
        self.counters.get(usize::from(c)).copied().unwrap_or(0)
    }

    /// Steps of a complete swap of the members: two per sector per member (one when
    /// `Restoring`).
    #[inline(never)]
    pub fn total_steps(&self) -> u32 {
        let per = if self.phase == Phase::Restoring { 1 } else { 2 };
        self.members
            .iter()
            .map(|c| per * u32::from(self.sectors_of(c)))
            .sum()
    }

    /// The record as released by settling: `Idle`, same sequence number, counters and backups
    /// kept.
    #[inline(never)]
    pub fn settled(&self) -> BootRecord {
        BootRecord {
            gen: self.gen,
            seq: self.seq,
            counters: self.counters,
            backups: self.backups,
            ..BootRecord::default()
        }
    }
}

/// The digest of a staged set: SHA-256 over `id || digest` of each member in increasing id
/// order. `install` stores it; the bootloader recomputes it from the images it verified.
pub fn staged_set_digest(members: impl Iterator<Item = (ComponentId, [u8; 32])>) -> [u8; 32] {
    let mut h = crate::image::sha256::Sha256::new();
    for (c, d) in members {
        h.update(&[c]);
        h.update(&d);
    }
    h.finalize()
}

/// A download's resume point in the checkpoint map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The download it belongs to ([`ComponentRecord::download`]).
    pub download: u32,
    /// Bytes of the image durably written from offset 0 (sector aligned).
    pub written: u32,
}

/// Record kind bytes (first byte of every frame).
pub mod kinds {
    /// [`super::ComponentRecord`] in a catalog entry.
    pub const COMPONENT: u8 = 0xc1;
    /// [`super::BootRecord`].
    pub const BOOT: u8 = 0xc5;
    /// [`super::Checkpoint`].
    pub const CHECKPOINT: u8 = 0xc6;
}

fn bool_from(v: u8) -> Option<bool> {
    match v {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

impl Record for ComponentRecord {
    const KIND: u8 = kinds::COMPONENT;
    const PAYLOAD_LEN: usize = 1 + 4 + 4 + 1 + 4 + 32 + 8 + 4 + 1 + MAX_DEPENDENCIES * 9;

    fn write_payload(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u8(self.state as u8)?;
        w.i32(self.error)?;
        w.u32(self.download)?;
        w.u8(u8::from(self.secondary_erased))?;
        let s = &self.staged;
        w.u32(s.size)?;
        w.put(&s.digest)?;
        w.put(&s.version.to_le_bytes())?;
        w.u32(s.security_counter)?;
        let deps = s.dependencies.as_slice();
        w.u8(u8::try_from(deps.len()).ok()?)?;
        for i in 0..MAX_DEPENDENCIES {
            let d = deps.get(i).copied().unwrap_or_default();
            w.u8(d.component)?;
            w.put(&d.min_version.to_le_bytes())?;
        }
        Some(())
    }

    fn read_payload(r: &mut Reader<'_>) -> Option<Self> {
        let state = State::from_u8(r.u8()?).filter(|s| {
            matches!(
                s,
                State::Ready | State::Writing | State::Candidate | State::Failed | State::Updated
            )
        })?;
        let error = r.i32()?;
        let download = r.u32()?;
        let secondary_erased = bool_from(r.u8()?)?;
        let size = r.u32()?;
        let digest = r.array()?;
        let version = ImageVersion::from_le_bytes(r.array()?);
        let security_counter = r.u32()?;
        let count = usize::from(r.u8()?);
        if count > MAX_DEPENDENCIES {
            return None;
        }
        let mut dependencies = Dependencies::default();
        for i in 0..MAX_DEPENDENCIES {
            let component = r.u8()?;
            let min_version = ImageVersion::from_le_bytes(r.array()?);
            if i < count
                && !dependencies.push(Dependency {
                    component,
                    min_version,
                })
            {
                return None;
            }
        }
        Some(ComponentRecord {
            state,
            error,
            download,
            secondary_erased,
            staged: StagedImage {
                size,
                digest,
                version,
                security_counter,
                dependencies,
            },
        })
    }
}

impl Record for BootRecord {
    const KIND: u8 = kinds::BOOT;
    const PAYLOAD_LEN: usize =
        4 + 4 + 1 + 1 + 1 + 1 + 4 + 4 + 2 * MAX_COMPONENTS + 4 * MAX_COMPONENTS + 32;

    fn write_payload(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u32(self.gen)?;
        w.u32(self.seq)?;
        w.u8(self.phase as u8)?;
        w.u8(self.members.0)?;
        w.u8(u8::from(self.trial_booted))?;
        w.u8(self.backups.0)?;
        w.i32(self.error)?;
        w.u32(self.done)?;
        for s in self.sectors {
            w.u16(s)?;
        }
        for c in self.counters {
            w.u32(c)?;
        }
        w.put(&self.digest)
    }

    fn read_payload(r: &mut Reader<'_>) -> Option<Self> {
        // The whole payload at once, then fields at fixed offsets: the bootloader decodes this
        // record at every boot.
        let p: [u8; Self::PAYLOAD_LEN] = r.array()?;
        let u32_at = |at: usize| {
            p.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
        };
        let u8_at = |at: usize| p.get(at).copied();
        let mut sectors = [0u16; MAX_COMPONENTS];
        for (i, s) in sectors.iter_mut().enumerate() {
            let at = 20 + 2 * i;
            *s = u16::from_le_bytes(p.get(at..at + 2)?.try_into().ok()?);
        }
        let mut counters = [0u32; MAX_COMPONENTS];
        for (i, c) in counters.iter_mut().enumerate() {
            *c = u32_at(36 + 4 * i)?;
        }
        let rec = BootRecord {
            gen: u32_at(0)?,
            seq: u32_at(4)?,
            phase: Phase::from_u8(u8_at(8)?)?,
            members: Members(u8_at(9)?),
            trial_booted: bool_from(u8_at(10)?)?,
            backups: Members(u8_at(11)?),
            error: u32_at(12)? as i32,
            done: u32_at(16)?,
            sectors,
            counters,
            digest: p.get(68..100)?.try_into().ok()?,
        };
        rec.is_consistent().then_some(rec)
    }
}

impl BootRecord {
    /// The layout-independent rules every record the writers produce follows: a non-idle
    /// phase has members, sector counts only for members, a trial flag only in `Trial`, swap
    /// progress only while swapping and within the swap.
    pub fn is_consistent(&self) -> bool {
        let non_members = !self.members.0;
        (self.phase == Phase::Idle) == self.members.is_empty()
            && (0..8u8).all(|c| !Members(non_members).contains(c) || self.sectors_of(c) == 0)
            && (!self.trial_booted || self.phase == Phase::Trial)
            && (self.phase.swapping() || self.done == 0)
            && self.done <= self.total_steps()
    }
}

impl Record for Checkpoint {
    const KIND: u8 = kinds::CHECKPOINT;
    const PAYLOAD_LEN: usize = 8;

    fn write_payload(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u32(self.download)?;
        w.u32(self.written)
    }

    fn read_payload(r: &mut Reader<'_>) -> Option<Self> {
        Some(Checkpoint {
            download: r.u32()?,
            written: r.u32()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordError;

    fn round_trip<R: Record + PartialEq + core::fmt::Debug>(r: &R) {
        let mut buf = [0u8; 256];
        let n = r.encode_into(&mut buf).unwrap();
        assert_eq!(n, R::ENCODED_LEN);
        assert_eq!(&R::decode_from(&buf[..n]).unwrap(), r);
    }

    fn sample_component() -> ComponentRecord {
        let mut deps = Dependencies::default();
        deps.push(Dependency {
            component: 1,
            min_version: ImageVersion::new(1, 2, 3, 4),
        });
        ComponentRecord {
            state: State::Candidate,
            error: -135,
            download: 0x1234,
            secondary_erased: true,
            staged: StagedImage {
                size: 1234,
                digest: [7; 32],
                version: ImageVersion::new(2, 0, 1, 0),
                security_counter: 5,
                dependencies: deps,
            },
        }
    }

    fn sample_boot() -> BootRecord {
        BootRecord {
            gen: 17,
            seq: 9,
            phase: Phase::Installing,
            members: Members(0b101),
            trial_booted: false,
            backups: Members(0b10),
            error: 0,
            done: 5,
            sectors: [3, 0, 7, 0, 0, 0, 0, 0],
            counters: [1, 2, 3, 4, 5, 6, 7, 8],
            digest: [0xab; 32],
        }
    }

    #[test]
    fn records_round_trip() {
        round_trip(&sample_component());
        round_trip(&ComponentRecord::default());
        round_trip(&sample_boot());
        round_trip(&BootRecord::default());
        round_trip(&Checkpoint {
            download: 3,
            written: 0x4000,
        });
    }

    #[test]
    fn impossible_values_are_rejected() {
        let mut buf = [0u8; 256];
        // A component record claiming a transaction-only state.
        let mut c = sample_component();
        c.state = State::Trial;
        let n = c.encode_into(&mut buf).unwrap();
        assert_eq!(
            ComponentRecord::decode_from(&buf[..n]),
            Err(RecordError::Invalid)
        );
        let bad = [
            // A non-idle transaction without members, and an idle one with members.
            BootRecord {
                phase: Phase::Staged,
                members: Members::NONE,
                sectors: [0; 8],
                done: 0,
                ..sample_boot()
            },
            BootRecord {
                phase: Phase::Idle,
                done: 0,
                ..sample_boot()
            },
            // Sectors for a non-member.
            BootRecord {
                sectors: [3, 1, 7, 0, 0, 0, 0, 0],
                ..sample_boot()
            },
            // Progress past the end of the swap, or outside a swap.
            BootRecord {
                done: 21,
                ..sample_boot()
            },
            BootRecord {
                phase: Phase::Trial,
                ..sample_boot()
            },
            // A trial flag outside Trial.
            BootRecord {
                trial_booted: true,
                ..sample_boot()
            },
        ];
        for b in bad {
            let n = b.encode_into(&mut buf).unwrap();
            assert_eq!(
                BootRecord::decode_from(&buf[..n]),
                Err(RecordError::Invalid),
                "{b:?}"
            );
        }
        let n = Checkpoint::default().encode_into(&mut buf).unwrap();
        assert!(matches!(
            BootRecord::decode_from(&buf[..n]),
            Err(RecordError::WrongKind { .. })
        ));
    }

    #[test]
    fn member_states_follow_the_phase_table() {
        let mut t = BootRecord {
            phase: Phase::Staged,
            members: Members(0b10),
            error: -7,
            ..BootRecord::default()
        };
        assert_eq!(t.member_state(0), None);
        assert_eq!(t.member_state(1), Some((State::Staged, 0)));
        for (phase, state) in [
            (Phase::Installing, State::Staged),
            (Phase::Trial, State::Trial),
            (Phase::Rejected, State::Rejected),
            (Phase::Reverting, State::Rejected),
            (Phase::Failed, State::Failed),
            (Phase::Updated, State::Updated),
        ] {
            t.phase = phase;
            let error = if matches!(state, State::Failed | State::Rejected) {
                -7
            } else {
                0
            };
            assert_eq!(t.member_state(1), Some((state, error)));
        }
        assert!(Members(0b1010).iter().eq([1u8, 3]));
        assert!(!Members(0xff).contains(8));
        assert_eq!(Members::NONE.with(9), Members::NONE);
        assert_eq!(Members(0b11).without(0), Members(0b10));
        assert!(Members(0b10).is_subset(Members(0b11)));
        assert!(!Members(0b100).is_subset(Members(0b11)));
    }

    #[test]
    fn the_staged_set_digest_depends_on_ids_and_digests() {
        let a = staged_set_digest([(0u8, [1u8; 32]), (1, [2; 32])].into_iter());
        let b = staged_set_digest([(0u8, [1u8; 32]), (2, [2; 32])].into_iter());
        let c = staged_set_digest([(0u8, [1u8; 32]), (1, [3; 32])].into_iter());
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
