//! The persisted records of the on-flash contract (`docs/on-flash-contract.md`): one transaction
//! record, one record per component, the swap progress and the security counters. Each encodes
//! to a CRC-32C frame ([`crate::record`]); decoding validates every field, so a value that is
//! not one the writer could have produced is an error, not a state.

use crate::bytes::{Reader, Writer};
use crate::component::{ComponentId, ImageVersion, State};
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

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
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
    /// WRITING: bytes of the image durably written from offset 0 (sector aligned): the resume point.
    pub written: u32,
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
            written: 0,
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
}

impl Phase {
    const fn from_u8(v: u8) -> Option<Phase> {
        Some(match v {
            0 => Phase::Idle,
            1 => Phase::Staged,
            2 => Phase::Installing,
            3 => Phase::Trial,
            4 => Phase::Rejected,
            5 => Phase::Reverting,
            6 => Phase::Failed,
            7 => Phase::Updated,
            _ => return None,
        })
    }

    /// The PSA state a member of a transaction in this phase reports (`None` for `Idle`).
    pub const fn member_state(self) -> Option<State> {
        match self {
            Phase::Idle => None,
            Phase::Staged | Phase::Installing => Some(State::Staged),
            Phase::Trial => Some(State::Trial),
            Phase::Rejected | Phase::Reverting => Some(State::Rejected),
            Phase::Failed => Some(State::Failed),
            Phase::Updated => Some(State::Updated),
        }
    }
}

/// The transaction record: the single commit point of install, accept, reject and the
/// bootloader's install and revert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnRecord {
    /// Transaction number, incremented by every `install`.
    pub seq: u32,
    /// Current phase.
    pub phase: Phase,
    /// Components in the transaction.
    pub members: Members,
    /// Error recorded for the members (reject argument or failure reason).
    pub error: PsaStatus,
    /// `Trial`: the bootloader has handed over to the trial images once.
    pub trial_booted: bool,
    /// Per component: sectors the swap covers (`Installing` onwards), or complete step pairs
    /// to undo when an install was abandoned.
    pub sectors: [u16; MAX_COMPONENTS],
}

impl Default for TxnRecord {
    fn default() -> Self {
        TxnRecord {
            seq: 0,
            phase: Phase::Idle,
            members: Members::NONE,
            error: 0,
            trial_booted: false,
            sectors: [0; MAX_COMPONENTS],
        }
    }
}

impl TxnRecord {
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
}

/// Direction of a swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Direction {
    /// New image into the primary slot.
    Install = 1,
    /// Old image back into the primary slot.
    Revert = 2,
}

/// Durable progress of the current swap: `steps` steps of member `member` are done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapProgress {
    /// Transaction this progress belongs to.
    pub seq: u32,
    /// Swap direction.
    pub direction: Direction,
    /// Component being swapped.
    pub member: ComponentId,
    /// Steps completed for that member.
    pub steps: u16,
}

/// A stored security counter value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterRecord(pub u32);

/// Record kind bytes (first byte of every frame).
pub mod kinds {
    /// [`super::ComponentRecord`].
    pub const COMPONENT: u8 = 0xc1;
    /// [`super::TxnRecord`].
    pub const TXN: u8 = 0xc2;
    /// [`super::SwapProgress`].
    pub const PROGRESS: u8 = 0xc3;
    /// [`super::CounterRecord`].
    pub const COUNTER: u8 = 0xc4;
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
        w.u32(self.written)?;
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
        let written = r.u32()?;
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
            written,
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

impl Record for TxnRecord {
    const KIND: u8 = kinds::TXN;
    const PAYLOAD_LEN: usize = 4 + 1 + 1 + 4 + 1 + 2 * MAX_COMPONENTS;

    fn write_payload(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u32(self.seq)?;
        w.u8(self.phase as u8)?;
        w.u8(self.members.0)?;
        w.i32(self.error)?;
        w.u8(u8::from(self.trial_booted))?;
        for s in self.sectors {
            w.u16(s)?;
        }
        Some(())
    }

    fn read_payload(r: &mut Reader<'_>) -> Option<Self> {
        let seq = r.u32()?;
        let phase = Phase::from_u8(r.u8()?)?;
        let members = Members(r.u8()?);
        let error = r.i32()?;
        let trial_booted = bool_from(r.u8()?)?;
        let mut sectors = [0u16; MAX_COMPONENTS];
        for s in sectors.iter_mut() {
            *s = r.u16()?;
        }
        if (phase == Phase::Idle) != members.is_empty() {
            return None;
        }
        Some(TxnRecord {
            seq,
            phase,
            members,
            error,
            trial_booted,
            sectors,
        })
    }
}

impl Record for SwapProgress {
    const KIND: u8 = kinds::PROGRESS;
    const PAYLOAD_LEN: usize = 4 + 1 + 1 + 2;

    fn write_payload(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u32(self.seq)?;
        w.u8(self.direction as u8)?;
        w.u8(self.member)?;
        w.u16(self.steps)
    }

    fn read_payload(r: &mut Reader<'_>) -> Option<Self> {
        let seq = r.u32()?;
        let direction = match r.u8()? {
            1 => Direction::Install,
            2 => Direction::Revert,
            _ => return None,
        };
        let member = r.u8().filter(|&m| usize::from(m) < MAX_COMPONENTS)?;
        let steps = r.u16()?;
        Some(SwapProgress {
            seq,
            direction,
            member,
            steps,
        })
    }
}

impl Record for CounterRecord {
    const KIND: u8 = kinds::COUNTER;
    const PAYLOAD_LEN: usize = 4;

    fn write_payload(&self, w: &mut Writer<'_>) -> Option<()> {
        w.u32(self.0)
    }

    fn read_payload(r: &mut Reader<'_>) -> Option<Self> {
        r.u32().map(CounterRecord)
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
            written: 0x4000,
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

    #[test]
    fn records_round_trip() {
        round_trip(&sample_component());
        round_trip(&ComponentRecord::default());
        round_trip(&TxnRecord {
            seq: 9,
            phase: Phase::Trial,
            members: Members(0b101),
            error: 0,
            trial_booted: true,
            sectors: [3, 0, 7, 0, 0, 0, 0, 0],
        });
        round_trip(&TxnRecord::default());
        round_trip(&SwapProgress {
            seq: 9,
            direction: Direction::Revert,
            member: 2,
            steps: 13,
        });
        round_trip(&CounterRecord(77));
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
        // A non-idle transaction without members, and an idle one with members.
        let t = TxnRecord {
            phase: Phase::Staged,
            ..TxnRecord::default()
        };
        let n = t.encode_into(&mut buf).unwrap();
        assert_eq!(TxnRecord::decode_from(&buf[..n]), Err(RecordError::Invalid));
        let t = TxnRecord {
            members: Members(1),
            ..TxnRecord::default()
        };
        let n = t.encode_into(&mut buf).unwrap();
        assert_eq!(TxnRecord::decode_from(&buf[..n]), Err(RecordError::Invalid));
        // A frame of another kind.
        let n = CounterRecord(1).encode_into(&mut buf).unwrap();
        assert!(matches!(
            TxnRecord::decode_from(&buf[..n]),
            Err(RecordError::WrongKind { .. })
        ));
    }

    #[test]
    fn member_states_follow_the_phase_table() {
        let mut t = TxnRecord {
            seq: 1,
            phase: Phase::Staged,
            members: Members(0b10),
            error: -7,
            trial_booted: false,
            sectors: [0; 8],
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
    }
}
