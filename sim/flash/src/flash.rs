//! The simulated NOR flash.
//!
//! Rules enforced (each violation is an error, never silently accepted):
//! * reads, writes and erases stay inside the device;
//! * writes start and end on `write_size` boundaries; erases on sector boundaries;
//! * a byte may be programmed once after an erase (stricter than NOR's AND semantics, as
//!   MCUboot's simulator does: a second write to a word is a bug in the caller even if it would
//!   only clear bits).
//!
//! Power cuts: [`SimFlash::arm_cut`] picks the index of a write or erase and a [`CutModel`].
//! When that operation comes, the model decides what reaches the cells, the call fails with
//! [`FlashError::PowerCut`], and every later call fails too until [`SimFlash::power_on`], the
//! cold restart. Reads are not counted as cut points (they change nothing).
//!
//! Faults beyond power cuts (the fault campaigns of `fwu-sim`):
//! * **at rest**: [`SimFlash::flip_bit`] and [`SimFlash::set_raw`] change cells between
//!   operations, as retention loss, disturb or a stray write would;
//! * **read errors**: [`SimFlash::fail_read`] makes one read fail ([`FlashError::ReadFailed`]),
//!   the next succeeds; [`SimFlash::add_unreadable`] makes every read that touches a region fail;
//! * **wear-out**: [`SimFlash::wear_out`] makes a sector stop accepting writes (an error, or `Ok`
//!   with nothing programmed) or erases, from its `after`-th operation of that kind on (counted
//!   over the device's life, see [`SimFlash::lifetime_ops`]);
//! * **warm reset**: [`SimFlash::arm_reset`], a reset that lets the operation in progress
//!   complete (nothing is torn) and stops everything after it.

use crate::rng::Rng;
use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Shape of the simulated device besides its sector and write sizes (which are type
/// parameters, because the flash traits expose them as constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Number of sectors.
    pub sectors: usize,
    /// Value of an erased byte (0xFF for most NOR, 0x00 for some).
    pub erased: u8,
}

/// What a power cut at the armed operation leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CutModel {
    /// The operation does not happen at all.
    Skip,
    /// A write programs only a random prefix of its bytes (an erase: only a random prefix of the
    /// sector is erased, the rest keeps its old content).
    TornPrefix,
    /// A write programs a random subset of the bits it should change; an erase leaves every
    /// byte of the sector either erased, old, or random.
    TornBits,
    /// An erase leaves the sector with random content (a write behaves like `TornBits`).
    Garbage,
    /// The operation completes, then power is cut before anything else happens.
    After,
}

impl CutModel {
    /// Every model, for campaigns.
    pub const ALL: [CutModel; 5] = [
        CutModel::Skip,
        CutModel::TornPrefix,
        CutModel::TornBits,
        CutModel::Garbage,
        CutModel::After,
    ];
}

/// Kind of a counted flash operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// A program operation.
    Write,
    /// A sector erase (one per sector, even when one call erases several).
    Erase,
}

/// Errors of the simulated flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashError {
    /// Access outside the device.
    OutOfBounds,
    /// Misaligned write or erase.
    NotAligned,
    /// Programming a byte that was already programmed since its last erase.
    NotErased,
    /// Power was cut; nothing works until `power_on`.
    PowerCut,
    /// A read failed (a transient or persistent read fault).
    ReadFailed,
    /// A program operation failed (a worn-out sector); nothing was programmed.
    WriteFailed,
    /// An erase failed (a worn-out sector); the sector keeps its content.
    EraseFailed,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FlashError::NotErased
            | FlashError::PowerCut
            | FlashError::ReadFailed
            | FlashError::WriteFailed
            | FlashError::EraseFailed => NorFlashErrorKind::Other,
        }
    }
}

/// Operation counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Read calls.
    pub reads: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Write calls.
    pub writes: u64,
    /// Bytes programmed.
    pub bytes_written: u64,
    /// Sector erases.
    pub erases: u64,
    /// Erases per sector.
    pub sector_erases: Vec<u64>,
}

impl Stats {
    /// Write and erase operations (the cut points).
    pub fn ops(&self) -> u64 {
        self.writes + self.erases
    }
}

/// One traced write or erase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedOp {
    /// Operation index.
    pub index: u64,
    /// Write or erase.
    pub kind: OpKind,
    /// Start address.
    pub offset: u32,
    /// Bytes written or erased.
    pub len: usize,
}

/// How a worn-out sector fails (see [`SimFlash::wear_out`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wear {
    /// Writes to the sector fail with [`FlashError::WriteFailed`]; nothing is programmed.
    WriteError,
    /// Writes to the sector return `Ok` but no bit sticks: the cells keep their content.
    WriteNoStick,
    /// Erases of the sector fail with [`FlashError::EraseFailed`]; the sector keeps its content.
    EraseError,
}

impl Wear {
    /// Every wear model, for campaigns.
    pub const ALL: [Wear; 3] = [Wear::WriteError, Wear::WriteNoStick, Wear::EraseError];

    /// The operation kind the model affects.
    pub const fn kind(self) -> OpKind {
        match self {
            Wear::WriteError | Wear::WriteNoStick => OpKind::Write,
            Wear::EraseError => OpKind::Erase,
        }
    }
}

/// A worn-out sector: operations of the model's kind fail once the sector has seen `after` of
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WornSector {
    sector: usize,
    model: Wear,
    after: u64,
}

#[derive(Clone, Copy, Debug)]
struct ArmedCut {
    at: u64,
    model: CutModel,
}

/// The simulated NOR flash device with `SECTOR`-byte erase sectors and `WRITE`-byte program
/// units.
#[derive(Clone, Debug)]
pub struct SimFlash<const SECTOR: usize, const WRITE: usize> {
    geometry: Geometry,
    data: Vec<u8>,
    /// Whether each byte has been programmed since its last erase.
    programmed: Vec<bool>,
    stats: Stats,
    /// Write and erase operations since creation (cut points are indexed by this).
    op_index: u64,
    cut: Option<ArmedCut>,
    powered: bool,
    rng: Rng,
    trace: Option<Vec<TracedOp>>,
    /// Write and erase calls per sector over the device's life (never reset), for wear-out.
    lifetime: Vec<[u64; 2]>,
    /// Read calls since creation (transient read faults are indexed by this).
    read_index: u64,
    /// The read that fails once, if any.
    failing_read: Option<u64>,
    /// Regions every read of which fails.
    unreadable: Vec<core::ops::Range<u32>>,
    /// Worn-out sectors.
    worn: Vec<WornSector>,
}

impl<const SECTOR: usize, const WRITE: usize> SimFlash<SECTOR, WRITE> {
    /// A fully erased device.
    pub fn new(geometry: Geometry) -> Self {
        let size = SECTOR * geometry.sectors;
        SimFlash {
            geometry,
            data: vec![geometry.erased; size],
            programmed: vec![false; size],
            stats: Stats {
                sector_erases: vec![0; geometry.sectors],
                ..Stats::default()
            },
            op_index: 0,
            cut: None,
            powered: true,
            rng: Rng::new(0),
            trace: None,
            lifetime: vec![[0; 2]; geometry.sectors],
            read_index: 0,
            failing_read: None,
            unreadable: Vec::new(),
            worn: Vec::new(),
        }
    }

    /// The device geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Raw contents (for assertions and for loading images without counting operations).
    pub fn contents(&self) -> &[u8] {
        &self.data
    }

    /// Place bytes directly (factory programming): not counted, not cut, no NOR checks beyond
    /// marking the bytes programmed. Panics on out-of-range input: test setup only.
    pub fn load(&mut self, offset: usize, bytes: &[u8]) {
        #[allow(clippy::indexing_slicing)]
        {
            self.data[offset..offset + bytes.len()].copy_from_slice(bytes);
            self.programmed[offset..offset + bytes.len()].fill(true);
        }
    }

    /// Counters since creation or the last [`SimFlash::reset_stats`].
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Zero the counters.
    pub fn reset_stats(&mut self) {
        self.stats = Stats {
            sector_erases: vec![0; self.geometry.sectors],
            ..Stats::default()
        };
    }

    /// Start (or stop) recording every write and erase, for diagnosing a failing experiment.
    pub fn set_tracing(&mut self, on: bool) {
        self.trace = on.then(Vec::new);
    }

    /// The operations recorded since tracing was switched on.
    pub fn traced(&self) -> &[TracedOp] {
        self.trace.as_deref().unwrap_or(&[])
    }

    fn record(&mut self, kind: OpKind, offset: u32, len: usize) {
        let index = self.op_index;
        if let Some(t) = self.trace.as_mut() {
            t.push(TracedOp {
                index,
                kind,
                offset,
                len,
            });
        }
    }

    /// Index the next write or erase will have.
    pub fn op_index(&self) -> u64 {
        self.op_index
    }

    /// Cut power when operation number `at` (as counted by [`SimFlash::op_index`]) happens,
    /// with random effects drawn from `seed`.
    pub fn arm_cut(&mut self, at: u64, model: CutModel, seed: u64) {
        self.cut = Some(ArmedCut { at, model });
        self.rng = Rng::new(seed);
    }

    /// Remove an armed cut that has not fired.
    pub fn disarm(&mut self) {
        self.cut = None;
    }

    /// Whether the armed cut has fired (the device is dead until `power_on`).
    pub fn is_cut(&self) -> bool {
        !self.powered
    }

    /// Cold restart after a cut: the cells keep what the cut left; the device works again.
    pub fn power_on(&mut self) {
        self.powered = true;
        self.cut = None;
    }

    /// A warm reset when operation number `at` happens (a watchdog or a system reset, RAM
    /// kept): the operation completes (nothing is torn), then every call fails until
    /// [`SimFlash::power_on`], the restart.
    pub fn arm_reset(&mut self, at: u64) {
        self.arm_cut(at, CutModel::After, 0);
    }

    /// Flip bit `bit` (0..8) of the byte at `addr`, at rest (not counted, never cut). The byte
    /// then counts as programmed unless it reads erased: a bit flipped into an erased byte makes
    /// it unwritable, as a programmed cell is; a byte flipped back to the erased value can be
    /// programmed again, as software that reads it erased will try (plain NOR allows it).
    /// Panics on an address outside the device: test setup only.
    pub fn flip_bit(&mut self, addr: usize, bit: u8) {
        #[allow(clippy::indexing_slicing)]
        let value = self.data[addr] ^ (1 << (bit % 8));
        self.set_raw(addr, &[value]);
    }

    /// Overwrite cells at rest with `bytes` (garbage, a corrupt word, an erased region), with the
    /// programmed/erased rule of [`SimFlash::flip_bit`]. Panics on out-of-range input.
    pub fn set_raw(&mut self, offset: usize, bytes: &[u8]) {
        let erased = self.geometry.erased;
        #[allow(clippy::indexing_slicing)]
        for (k, &b) in bytes.iter().enumerate() {
            self.data[offset + k] = b;
            self.programmed[offset + k] = b != erased;
        }
    }

    /// Read calls since creation: [`SimFlash::fail_read`] indexes reads by this.
    pub fn read_index(&self) -> u64 {
        self.read_index
    }

    /// Make read number `index` (as counted by [`SimFlash::read_index`]) fail with
    /// [`FlashError::ReadFailed`]; the reads before and after it succeed (a transient fault).
    pub fn fail_read(&mut self, index: u64) {
        self.failing_read = Some(index);
    }

    /// Make every read that touches `range` fail with [`FlashError::ReadFailed`] (a persistent
    /// fault: a region that cannot be read any more).
    pub fn add_unreadable(&mut self, range: core::ops::Range<u32>) {
        self.unreadable.push(range);
    }

    /// Wear out `sector`: operations of `model`'s kind on it fail once it has seen `after` of
    /// them over the device's life (`after = 0`: from now on if none happened yet; compare with
    /// [`SimFlash::lifetime_ops`]).
    pub fn wear_out(&mut self, sector: usize, model: Wear, after: u64) {
        self.worn.push(WornSector {
            sector,
            model,
            after,
        });
    }

    /// Remove every read fault and worn sector (an armed cut stays).
    pub fn clear_faults(&mut self) {
        self.failing_read = None;
        self.unreadable.clear();
        self.worn.clear();
    }

    /// Write and erase calls that touched `sector` over the device's life (attempts, including
    /// ones that failed), indexed by [`OpKind`]: `[writes, erases]`.
    pub fn lifetime_ops(&self, sector: usize) -> [u64; 2] {
        self.lifetime.get(sector).copied().unwrap_or([0; 2])
    }

    /// Count an operation of `kind` on the sectors `first..=last` and return the wear model that
    /// makes it fail, if any.
    fn wear_check(&mut self, kind: OpKind, first: usize, last: usize) -> Option<Wear> {
        let k = match kind {
            OpKind::Write => 0,
            OpKind::Erase => 1,
        };
        let mut failing = None;
        for sector in first..=last {
            let seen = self.lifetime.get(sector).map_or(0, |c| c[k]);
            for w in &self.worn {
                if w.sector == sector && w.model.kind() == kind && seen >= w.after {
                    failing = failing.or(Some(w.model));
                }
            }
            if let Some(c) = self.lifetime.get_mut(sector) {
                c[k] += 1;
            }
        }
        failing
    }

    fn check_powered(&self) -> Result<(), FlashError> {
        if self.powered {
            Ok(())
        } else {
            Err(FlashError::PowerCut)
        }
    }

    fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, FlashError> {
        let start = offset as usize;
        let end = start.checked_add(len).ok_or(FlashError::OutOfBounds)?;
        if end > self.data.len() {
            return Err(FlashError::OutOfBounds);
        }
        Ok(start..end)
    }

    /// The cut model to apply to the operation about to run, if it is the armed one.
    fn take_cut(&mut self) -> Option<CutModel> {
        let index = self.op_index;
        self.op_index += 1;
        match self.cut {
            Some(c) if c.at == index => {
                self.cut = None;
                Some(c.model)
            }
            _ => None,
        }
    }

    fn program_byte(&mut self, i: usize, value: u8) {
        if let (Some(d), Some(p)) = (self.data.get_mut(i), self.programmed.get_mut(i)) {
            *d = value;
            *p = true;
        }
    }

    /// A random subset of the bit changes from `old` toward `new`.
    fn partial_bits(&mut self, old: u8, new: u8) -> u8 {
        let changing = old ^ new;
        let keep = self.rng.byte() & changing;
        old ^ keep
    }

    fn do_write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.check_powered()?;
        let range = self.range(offset, bytes.len())?;
        let ws = WRITE;
        if range.start % ws != 0 || !bytes.len().is_multiple_of(ws) {
            return Err(FlashError::NotAligned);
        }
        if self
            .programmed
            .get(range.clone())
            .is_some_and(|p| p.iter().any(|&b| b))
        {
            return Err(FlashError::NotErased);
        }
        self.record(OpKind::Write, offset, bytes.len());
        let cut = self.take_cut();
        self.stats.writes += 1;
        let start = range.start;
        let ss = SECTOR;
        let worn = self.wear_check(
            OpKind::Write,
            range.start / ss,
            (range.end.max(range.start + 1) - 1) / ss,
        );
        match worn {
            // A worn sector takes nothing; a cut at this operation still cuts.
            Some(Wear::WriteError) => {
                if cut.is_some() {
                    self.powered = false;
                    return Err(FlashError::PowerCut);
                }
                return Err(FlashError::WriteFailed);
            }
            Some(_) => {
                if cut.is_some() {
                    self.powered = false;
                    return Err(FlashError::PowerCut);
                }
                return Ok(());
            }
            None => {}
        }
        match cut {
            None | Some(CutModel::After) => {
                for (k, &b) in bytes.iter().enumerate() {
                    self.program_byte(start + k, b);
                }
                self.stats.bytes_written += bytes.len() as u64;
                if cut.is_some() {
                    self.powered = false;
                    return Err(FlashError::PowerCut);
                }
                Ok(())
            }
            Some(CutModel::Skip) => {
                self.powered = false;
                Err(FlashError::PowerCut)
            }
            Some(CutModel::TornPrefix) => {
                let n = self.rng.below(bytes.len() as u64) as usize;
                for (k, &b) in bytes.iter().enumerate().take(n) {
                    self.program_byte(start + k, b);
                }
                self.powered = false;
                Err(FlashError::PowerCut)
            }
            Some(CutModel::TornBits | CutModel::Garbage) => {
                for (k, &b) in bytes.iter().enumerate() {
                    let old = self
                        .data
                        .get(start + k)
                        .copied()
                        .unwrap_or(self.geometry.erased);
                    let v = self.partial_bits(old, b);
                    self.program_byte(start + k, v);
                }
                self.powered = false;
                Err(FlashError::PowerCut)
            }
        }
    }

    fn erase_sector(&mut self, sector: usize) -> Result<(), FlashError> {
        let ss = SECTOR;
        let start = sector * ss;
        let erased = self.geometry.erased;
        self.record(OpKind::Erase, u32::try_from(start).unwrap_or(u32::MAX), ss);
        let cut = self.take_cut();
        self.stats.erases += 1;
        if let Some(c) = self.stats.sector_erases.get_mut(sector) {
            *c += 1;
        }
        if self.wear_check(OpKind::Erase, sector, sector).is_some() {
            if cut.is_some() {
                self.powered = false;
                return Err(FlashError::PowerCut);
            }
            return Err(FlashError::EraseFailed);
        }
        let full = |f: &mut Self| {
            for i in start..start + ss {
                if let (Some(d), Some(p)) = (f.data.get_mut(i), f.programmed.get_mut(i)) {
                    *d = erased;
                    *p = false;
                }
            }
        };
        match cut {
            None => {
                full(self);
                Ok(())
            }
            Some(CutModel::After) => {
                full(self);
                self.powered = false;
                Err(FlashError::PowerCut)
            }
            Some(CutModel::Skip) => {
                self.powered = false;
                Err(FlashError::PowerCut)
            }
            Some(CutModel::TornPrefix) => {
                let n = self.rng.below(ss as u64) as usize;
                for i in start..start + n {
                    if let (Some(d), Some(p)) = (self.data.get_mut(i), self.programmed.get_mut(i)) {
                        *d = erased;
                        *p = false;
                    }
                }
                self.powered = false;
                Err(FlashError::PowerCut)
            }
            Some(model @ (CutModel::TornBits | CutModel::Garbage)) => {
                for i in start..start + ss {
                    let r = self.rng.next_u64();
                    let value = match (model, r % 3) {
                        (CutModel::Garbage, _) | (_, 2) => (r >> 8) as u8,
                        (_, 0) => erased,
                        _ => self.data.get(i).copied().unwrap_or(erased),
                    };
                    // A half-erased cell holds whatever it holds: treat it as programmed, so the
                    // caller must erase it again before writing.
                    self.program_byte(i, value);
                    if value == erased && r.is_multiple_of(3) {
                        if let Some(p) = self.programmed.get_mut(i) {
                            *p = false;
                        }
                    }
                }
                self.powered = false;
                Err(FlashError::PowerCut)
            }
        }
    }

    fn do_erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.check_powered()?;
        let ss = SECTOR;
        let (from, to) = (from as usize, to as usize);
        if from > to || to > self.data.len() {
            return Err(FlashError::OutOfBounds);
        }
        if from % ss != 0 || to % ss != 0 {
            return Err(FlashError::NotAligned);
        }
        for sector in from / ss..to / ss {
            self.erase_sector(sector)?;
        }
        Ok(())
    }

    fn do_read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.check_powered()?;
        let range = self.range(offset, bytes.len())?;
        let index = self.read_index;
        self.read_index += 1;
        if self.failing_read == Some(index) {
            self.failing_read = None;
            return Err(FlashError::ReadFailed);
        }
        let (start, end) = (offset, offset.saturating_add(bytes.len() as u32));
        if self
            .unreadable
            .iter()
            .any(|r| start < r.end && r.start < end)
        {
            return Err(FlashError::ReadFailed);
        }
        self.stats.reads += 1;
        self.stats.bytes_read += bytes.len() as u64;
        bytes.copy_from_slice(self.data.get(range).ok_or(FlashError::OutOfBounds)?);
        Ok(())
    }
}

impl<const SECTOR: usize, const WRITE: usize> ErrorType for SimFlash<SECTOR, WRITE> {
    type Error = FlashError;
}

impl<const SECTOR: usize, const WRITE: usize> ReadNorFlash for SimFlash<SECTOR, WRITE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.do_read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.data.len()
    }
}

impl<const SECTOR: usize, const WRITE: usize> NorFlash for SimFlash<SECTOR, WRITE> {
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = SECTOR;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.do_erase(from, to)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.do_write(offset, bytes)
    }
}

impl<const SECTOR: usize, const WRITE: usize> embedded_storage_async::nor_flash::ReadNorFlash
    for SimFlash<SECTOR, WRITE>
{
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.do_read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.data.len()
    }
}

impl<const SECTOR: usize, const WRITE: usize> embedded_storage_async::nor_flash::NorFlash
    for SimFlash<SECTOR, WRITE>
{
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = SECTOR;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.do_erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.do_write(offset, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Geometry = Geometry {
        sectors: 4,
        erased: 0xff,
    };
    type F = SimFlash<64, 4>;

    #[test]
    fn enforces_nor_rules() {
        let mut f = F::new(G);
        assert_eq!(
            NorFlash::write(&mut f, 2, &[0; 4]),
            Err(FlashError::NotAligned)
        );
        assert_eq!(
            NorFlash::write(&mut f, 0, &[0; 3]),
            Err(FlashError::NotAligned)
        );
        assert_eq!(NorFlash::write(&mut f, 0, &[0x12; 4]), Ok(()));
        assert_eq!(
            NorFlash::write(&mut f, 0, &[0x02; 4]),
            Err(FlashError::NotErased)
        );
        assert_eq!(NorFlash::erase(&mut f, 0, 32), Err(FlashError::NotAligned));
        assert_eq!(
            NorFlash::erase(&mut f, 0, 64 * 5),
            Err(FlashError::OutOfBounds)
        );
        assert_eq!(NorFlash::erase(&mut f, 0, 64), Ok(()));
        assert_eq!(NorFlash::write(&mut f, 0, &[0x02; 4]), Ok(()));
        assert_eq!(
            NorFlash::write(&mut f, 252, &[0; 8]),
            Err(FlashError::OutOfBounds)
        );
        let mut b = [0u8; 4];
        ReadNorFlash::read(&mut f, 0, &mut b).unwrap();
        assert_eq!(b, [2; 4]);
        assert_eq!(f.stats().writes, 2);
        assert_eq!(f.stats().erases, 1);
        assert_eq!(f.stats().sector_erases, vec![1, 0, 0, 0]);
        assert_eq!(f.stats().bytes_written, 8);
    }

    #[test]
    fn cut_models_leave_what_they_promise() {
        for model in CutModel::ALL {
            let mut f = F::new(G);
            NorFlash::write(&mut f, 64, &[0x00; 64]).unwrap();
            f.arm_cut(1, model, 7);
            assert_eq!(
                NorFlash::write(&mut f, 0, &[0x00; 16]),
                Err(FlashError::PowerCut)
            );
            assert!(f.is_cut());
            assert_eq!(
                NorFlash::write(&mut f, 16, &[0x00; 4]),
                Err(FlashError::PowerCut)
            );
            f.power_on();
            let first = &f.contents()[..16];
            match model {
                CutModel::Skip => assert!(first.iter().all(|&b| b == 0xff)),
                CutModel::After => assert!(first.iter().all(|&b| b == 0x00)),
                _ => {}
            }
            f.arm_cut(2, model, 9);
            assert_eq!(NorFlash::erase(&mut f, 64, 128), Err(FlashError::PowerCut));
            f.power_on();
            let second = &f.contents()[64..128];
            match model {
                CutModel::Skip => assert!(second.iter().all(|&b| b == 0x00)),
                CutModel::After => assert!(second.iter().all(|&b| b == 0xff)),
                CutModel::Garbage => assert!(second.iter().any(|&b| b != 0x00 && b != 0xff)),
                _ => {}
            }
            // A torn region must be erased again before it can be written.
            if model != CutModel::After {
                NorFlash::erase(&mut f, 64, 128).unwrap();
            }
            NorFlash::write(&mut f, 64, &[0x5a; 64]).unwrap();
        }
    }

    #[test]
    fn torn_prefix_programs_only_a_prefix() {
        let mut f = F::new(G);
        f.arm_cut(0, CutModel::TornPrefix, 3);
        let _ = NorFlash::write(&mut f, 0, &[0x00; 64]);
        let c = f.contents();
        let n = c[..64].iter().take_while(|&&b| b == 0).count();
        assert!(c[n..64].iter().all(|&b| b == 0xff));
    }

    #[test]
    fn flips_and_raw_writes_follow_the_erased_rule() {
        let mut f = F::new(G);
        f.flip_bit(3, 0);
        assert_eq!(f.contents()[3], 0xfe);
        // A flipped erased byte is no longer writable; its neighbours' word neither.
        assert_eq!(
            NorFlash::write(&mut f, 0, &[0; 4]),
            Err(FlashError::NotErased)
        );
        f.flip_bit(3, 0);
        assert_eq!(NorFlash::write(&mut f, 0, &[0x12; 4]), Ok(()));
        f.set_raw(8, &[0xff, 0x00]);
        assert_eq!(
            NorFlash::write(&mut f, 8, &[0; 4]),
            Err(FlashError::NotErased)
        );
        // Flips, raw writes and refused writes are not operations.
        assert_eq!(f.op_index(), 1);
    }

    #[test]
    fn read_faults_are_transient_or_persistent() {
        let mut f = F::new(G);
        let mut b = [0u8; 4];
        ReadNorFlash::read(&mut f, 0, &mut b).unwrap();
        f.fail_read(f.read_index() + 1);
        ReadNorFlash::read(&mut f, 0, &mut b).unwrap();
        assert_eq!(
            ReadNorFlash::read(&mut f, 0, &mut b),
            Err(FlashError::ReadFailed)
        );
        ReadNorFlash::read(&mut f, 0, &mut b).unwrap();
        f.add_unreadable(64..128);
        assert_eq!(
            ReadNorFlash::read(&mut f, 62, &mut b),
            Err(FlashError::ReadFailed)
        );
        assert_eq!(
            ReadNorFlash::read(&mut f, 100, &mut b),
            Err(FlashError::ReadFailed)
        );
        ReadNorFlash::read(&mut f, 128, &mut b).unwrap();
        ReadNorFlash::read(&mut f, 60, &mut b).unwrap();
        f.clear_faults();
        ReadNorFlash::read(&mut f, 100, &mut b).unwrap();
    }

    #[test]
    fn worn_sectors_fail_after_their_budget() {
        let mut f = F::new(G);
        f.wear_out(1, Wear::WriteError, 1);
        NorFlash::write(&mut f, 64, &[0; 4]).unwrap();
        assert_eq!(
            NorFlash::write(&mut f, 68, &[0; 4]),
            Err(FlashError::WriteFailed)
        );
        assert_eq!(f.contents()[68], 0xff);
        NorFlash::write(&mut f, 0, &[0; 4]).unwrap();
        f.wear_out(2, Wear::WriteNoStick, 0);
        assert_eq!(NorFlash::write(&mut f, 128, &[0; 4]), Ok(()));
        assert!(f.contents()[128..132].iter().all(|&b| b == 0xff));
        f.wear_out(3, Wear::EraseError, 2);
        NorFlash::write(&mut f, 192, &[0; 4]).unwrap();
        NorFlash::erase(&mut f, 192, 256).unwrap();
        NorFlash::erase(&mut f, 192, 256).unwrap();
        NorFlash::write(&mut f, 192, &[0; 4]).unwrap();
        assert_eq!(
            NorFlash::erase(&mut f, 192, 256),
            Err(FlashError::EraseFailed)
        );
        assert_eq!(f.contents()[192], 0);
        assert_eq!(f.lifetime_ops(3), [2, 3]);
        assert_eq!(f.lifetime_ops(1), [2, 0]);
    }

    #[test]
    fn a_warm_reset_completes_the_operation() {
        let mut f = F::new(G);
        f.arm_reset(1);
        NorFlash::write(&mut f, 0, &[0; 4]).unwrap();
        assert_eq!(NorFlash::erase(&mut f, 0, 64), Err(FlashError::PowerCut));
        assert!(f.is_cut());
        f.power_on();
        assert!(f.contents()[..64].iter().all(|&b| b == 0xff));
        NorFlash::write(&mut f, 0, &[0; 4]).unwrap();
    }

    #[test]
    fn erased_zero_devices_work() {
        let mut f = F::new(Geometry { erased: 0x00, ..G });
        assert!(f.contents().iter().all(|&b| b == 0));
        NorFlash::write(&mut f, 0, &[0xff; 4]).unwrap();
        NorFlash::erase(&mut f, 0, 64).unwrap();
        assert!(f.contents().iter().all(|&b| b == 0));
    }
}
