//! The painter: turns fuzz input into flash contents, before a target runs the code under test
//! on them.
//!
//! Raw bytes alone would almost never form a record with a valid CRC, so besides garbage
//! (bytes, filled sectors, flipped bits) the painter writes well-formed pieces the fuzzer can
//! then corrupt: boot records and catalog entries in any slot of either copy (built from fuzzed
//! fields, consistent or not), flag and swap-step words for any generation, histories written
//! through the product's own stores (commits, flags, steps, catalog and checkpoint puts), and,
//! where slots are in play, the signed images of [`crate::images`] at any sector of any slot.
//!
//! Content is placed as a factory programmer would: bytes that read `0xFF` are left erased, so
//! the simulator's "program once" rule holds exactly for what reads as programmed.

use crate::images::images;
use crate::input::{Input, Rng};
use crate::layout::{Geo, IDS};
use core::ops::Range;
use embassy_futures::block_on;
use fwu_shared::state::catalog::Entry;
use fwu_shared::state::records::{
    ERROR_ACTIVE_INVALID, ERROR_BACKUP_INVALID, ERROR_INSTALL_FLASH_FAILURE, ERROR_STAGED_MISMATCH,
    ERROR_TRIAL_NOT_ACCEPTED,
};
use fwu_shared::state::slots::{encode, pattern};
use fwu_shared::state::{
    staged_set_digest, BootLog, BootRecord, Catalog, Checkpoint, CheckpointMap, ComponentRecord,
    Flag, Members, Phase, StagedImage, StateGeometry, MAX_COMPONENTS,
};
use fwu_shared::version::{Dependencies, Dependency};
use fwu_shared::{ComponentId, ImageVersion, State};
use fwu_sim_flash::SimFlash;

/// Word kind of a flag (mirrors `shared/src/state/boot.rs`).
pub const KIND_FLAG: u8 = 0xf0;
/// Word kind of an install step (mirrors `shared/src/state/boot.rs`).
pub const KIND_INSTALL: u8 = 0x11;
/// Word kind of a revert step (mirrors `shared/src/state/boot.rs`).
pub const KIND_REVERT: u8 = 0x12;
/// Word kind of a restore step (mirrors `shared/src/state/boot.rs`; in the revert area).
pub const KIND_RESTORE: u8 = 0x13;

/// Error values worth trying in records.
pub const ERRORS: [i32; 9] = [
    0,
    -135,
    -149,
    ERROR_TRIAL_NOT_ACCEPTED,
    ERROR_INSTALL_FLASH_FAILURE,
    ERROR_ACTIVE_INVALID,
    ERROR_BACKUP_INVALID,
    ERROR_STAGED_MISMATCH,
    i32::MIN,
];

/// Write `bytes` at `addr` (clipped to the device) as a factory programmer would: each touched
/// sector is erased and reprogrammed, bytes that read `0xFF` stay erased.
pub fn put<const S: usize, const W: usize>(sim: &mut SimFlash<S, W>, addr: u32, bytes: &[u8]) {
    let size = sim.contents().len();
    let start = addr as usize;
    let end = start.saturating_add(bytes.len()).min(size);
    if start >= end {
        return;
    }
    for sector in start / S..=(end - 1) / S {
        let base = sector * S;
        let mut content = sim.contents()[base..base + S].to_vec();
        let (from, to) = (start.max(base), end.min(base + S));
        content[from - base..to - base].copy_from_slice(&bytes[from - start..to - start]);
        restore(sim, base, &content);
    }
}

/// Set the sector at `base` to `content` as an erase and a program of it would (bytes that read
/// `0xFF` erased, the others programmed), without counting flash operations.
fn restore<const S: usize, const W: usize>(sim: &mut SimFlash<S, W>, base: usize, content: &[u8]) {
    debug_assert_eq!(content.len(), S);
    sim.set_raw(base, content);
}

/// What a painting left besides histories written through the stores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Painted {
    /// Faults at rest: garbage, filled sectors, flipped bits (images and sectors copied in the
    /// slots are not counted: they are slot contents, judged by the verification oracle).
    pub at_rest: bool,
    /// Well-formed pieces placed by hand (boot records, catalog entries, flag and step words
    /// with any fields): states no writer leaves and no fault at rest forges (their CRCs and
    /// patterns hold), such as two records of one generation.
    pub forged: bool,
    /// The checkpoints put through the map by the histories (a fault at rest may bring an
    /// older one back when it damages a newer one).
    pub checkpoints: Vec<(ComponentId, Checkpoint)>,
}

/// What the painter may touch.
pub struct Painter<'g> {
    /// The layout.
    pub geo: &'g Geo,
    /// The carving of its state partition.
    pub state: StateGeometry,
    /// Where raw garbage may go (the state partition, or the whole device).
    pub region: Range<u32>,
    /// Whether images may be placed in the slots.
    pub images: bool,
}

impl<'g> Painter<'g> {
    /// A painter for `geo` whose garbage goes to `region`.
    pub fn new(geo: &'g Geo, region: Range<u32>, images: bool) -> Self {
        Painter {
            geo,
            state: geo.state_geometry(),
            region,
            images,
        }
    }

    /// Run up to `max_ops` painting operations from `input` (an operation byte of 0xFF ends
    /// the painting early). Returns what was painted besides histories written through the
    /// stores.
    pub fn paint<const S: usize, const W: usize>(
        &self,
        sim: &mut SimFlash<S, W>,
        input: &mut Input<'_>,
        max_ops: usize,
    ) -> Painted {
        let mut painted = Painted::default();
        for _ in 0..max_ops {
            if input.is_empty() {
                break;
            }
            let op = input.u8();
            if op == 0xff {
                break;
            }
            match op % 14 {
                0 => self.raw(sim, input),
                1 => self.fill(sim, input),
                2 => self.flip(sim, input),
                3 => self.boot_record(sim, input),
                4 => self.word(sim, input, true),
                5 => self.word(sim, input, false),
                6 => self.catalog_entry(sim, input),
                7 => self.log_history(sim, input),
                8 => self.catalog_history(sim, input),
                9 => self.checkpoint_history(sim, input, &mut painted.checkpoints),
                10 | 11 if self.images => self.image(sim, input),
                12 if self.images => self.copy_sector(sim, input),
                _ => self.boot_record(sim, input),
            }
            match op % 14 {
                0..=2 => painted.at_rest = true,
                7..=9 => {}
                10..=12 if self.images => {}
                _ => painted.forged = true,
            }
        }
        painted
    }

    fn region_addr(&self, input: &mut Input<'_>) -> u32 {
        let len = self.region.end - self.region.start;
        self.region.start + (input.u16() as u32 % len.max(1))
    }

    fn raw<const S: usize, const W: usize>(&self, sim: &mut SimFlash<S, W>, input: &mut Input) {
        let at = self.region_addr(input);
        let len = 1 + input.below(48);
        let bytes = input.bytes(len).to_vec();
        put(sim, at, &bytes);
    }

    fn fill<const S: usize, const W: usize>(&self, sim: &mut SimFlash<S, W>, input: &mut Input) {
        let sector = self.region_addr(input) / S as u32 * S as u32;
        let mode = input.u8();
        let mut content = vec![0xffu8; S];
        match mode % 4 {
            0 => {}
            1 => content.fill(0),
            2 => Rng::new(u64::from(input.u32())).fill(&mut content),
            _ => {
                // Keep the sector, garble a random part of it (an interrupted erase).
                content.copy_from_slice(&sim.contents()[sector as usize..sector as usize + S]);
                let from = input.below(S);
                let mut rng = Rng::new(u64::from(input.u16()));
                for b in &mut content[from..] {
                    let r = rng.next_u64();
                    *b = match r % 3 {
                        0 => 0xff,
                        1 => *b,
                        _ => (r >> 8) as u8,
                    };
                }
            }
        }
        put(sim, sector, &content);
    }

    fn flip<const S: usize, const W: usize>(&self, sim: &mut SimFlash<S, W>, input: &mut Input) {
        let at = self.region_addr(input);
        let bit = input.u8() % 8;
        let old = sim.contents()[at as usize];
        put(sim, at, &[old ^ (1 << bit)]);
    }

    /// Slot address of copy `copy`'s slot `slot` of the boot log (or the catalog).
    fn slot_addr(&self, boot: bool, input: &mut Input) -> u32 {
        let copies = if boot {
            self.state.boot
        } else {
            self.state.catalog
        };
        let copy = copies[input.below(2)];
        copy.slot(input.below(copy.slots as usize) as u32)
    }

    fn boot_record<const S: usize, const W: usize>(
        &self,
        sim: &mut SimFlash<S, W>,
        input: &mut Input,
    ) {
        let at = self.slot_addr(true, input);
        let rec = self.fuzz_boot_record(input);
        if let Ok((frame, len)) = encode(&rec, W) {
            put(sim, at, &frame[..len]);
        }
    }

    /// A flag word (`flag`) or a swap-step word, for a fuzzed generation, in a fuzzed slot.
    fn word<const S: usize, const W: usize>(
        &self,
        sim: &mut SimFlash<S, W>,
        input: &mut Input,
        flag: bool,
    ) {
        let slot = self.slot_addr(true, input);
        let gen = fuzz_gen(input);
        let s = self.state.boot_slot;
        let (addr, p) = if flag {
            let f = input.u8() % 7;
            (
                slot + s.flags + u32::from(f) * W as u32,
                pattern(gen, KIND_FLAG, u32::from(f)),
            )
        } else {
            let step = input.below(2 * s.progress_words as usize + 2) as u32;
            let (area, kind) = match input.u8() % 3 {
                0 => (s.install, KIND_INSTALL),
                1 => (s.revert, KIND_REVERT),
                _ => (s.revert, KIND_RESTORE),
            };
            let index = (step / 2).min(s.progress_words.saturating_sub(1));
            (slot + area + index * W as u32, pattern(gen, kind, step))
        };
        let word: Vec<u8> = (0..W).map(|i| p.to_le_bytes()[i % 4]).collect();
        put(sim, addr, &word);
    }

    fn catalog_entry<const S: usize, const W: usize>(
        &self,
        sim: &mut SimFlash<S, W>,
        input: &mut Input,
    ) {
        let at = self.slot_addr(false, input);
        let entry = Entry {
            gen: fuzz_gen(input),
            id: fuzz_id(input),
            record: fuzz_component_record(input),
        };
        if let Ok((frame, len)) = encode(&entry, W) {
            put(sim, at, &frame[..len]);
        }
    }

    /// A few writes through the product's boot log: realistic slot histories.
    fn log_history<const S: usize, const W: usize>(
        &self,
        sim: &mut SimFlash<S, W>,
        input: &mut Input,
    ) {
        let layout = self.geo.layout();
        let Ok(mut log) = block_on(BootLog::open(sim, &layout)) else {
            return;
        };
        for _ in 0..1 + input.below(4) {
            let _ = match input.u8() % 4 {
                0 | 1 => {
                    let rec = self.fuzz_boot_record(input);
                    block_on(log.commit(sim, &rec))
                }
                2 => block_on(log.set_flag(sim, fuzz_flag(input))),
                _ => {
                    let st = log.state();
                    match fwu_shared::state::boot::direction(st.phase) {
                        // The next step, as the swap engine records them.
                        Some(dir) if st.done < st.total_steps() => {
                            block_on(log.step_done(sim, dir, st.done))
                        }
                        _ => Ok(()),
                    }
                }
            };
        }
    }

    fn catalog_history<const S: usize, const W: usize>(
        &self,
        sim: &mut SimFlash<S, W>,
        input: &mut Input,
    ) {
        let layout = self.geo.layout();
        let Ok(mut cat) = block_on(Catalog::open(sim, &layout)) else {
            return;
        };
        for _ in 0..1 + input.below(6) {
            let c = input.choose(&IDS);
            let rec = fuzz_component_record(input);
            let _ = block_on(cat.put(sim, c, &rec));
        }
    }

    fn checkpoint_history<const S: usize, const W: usize>(
        &self,
        sim: &mut SimFlash<S, W>,
        input: &mut Input,
        put: &mut Vec<(ComponentId, Checkpoint)>,
    ) {
        let layout = self.geo.layout();
        let Ok(mut map) = CheckpointMap::new(sim, &layout) else {
            return;
        };
        for _ in 0..1 + input.below(8) {
            let c = input.choose(&IDS);
            let cp = fuzz_checkpoint(input);
            put.push((c, cp));
            let _ = block_on(map.put(c, &cp));
        }
    }

    /// One image of the set (possibly damaged) at a sector of a slot.
    fn image<const S: usize, const W: usize>(&self, sim: &mut SimFlash<S, W>, input: &mut Input) {
        let set = images();
        let k = &set[input.below(set.len())];
        let slots = self.geo.slots[input.below(2)];
        let at = match input.u8() % 4 {
            0 | 1 => slots.primary,
            2 => slots.secondary,
            _ => slots.staging_offset(self.geo.sector),
        };
        let mut bytes = k.bytes.clone();
        if input.u8().is_multiple_of(4) {
            // Damage anywhere but in the signature (the last 64 bytes): a damaged signature
            // needs a full Ed25519 verification to be refused, which the image target covers.
            let i = input.below(bytes.len() - 64);
            bytes[i] ^= 1 << (input.u8() % 8);
        }
        put(sim, at, &bytes);
    }

    /// Copy one sector of the slots over another (the state of a swap cut half-way).
    fn copy_sector<const S: usize, const W: usize>(
        &self,
        sim: &mut SimFlash<S, W>,
        input: &mut Input,
    ) {
        let pick = |input: &mut Input| {
            let slots = self.geo.slots[input.below(2)];
            let (base, n) = if input.bool() {
                (slots.primary, u32::from(slots.sectors))
            } else {
                (slots.secondary, u32::from(slots.sectors) + 1)
            };
            (base + input.below(n as usize) as u32 * S as u32) as usize
        };
        let from = pick(input);
        let to = pick(input);
        let content = sim.contents()[from..from + S].to_vec();
        restore(sim, to, &content);
    }

    /// A boot record from fuzzed fields: mostly shaped like a record the writers produce for
    /// this layout, sometimes raw.
    pub fn fuzz_boot_record(&self, input: &mut Input) -> BootRecord {
        let raw = input.u8().is_multiple_of(8);
        let phase = Phase::from_u8(input.u8() % 9).unwrap_or(Phase::Idle);
        let mask = IDS.iter().fold(0u8, |m, &c| m | 1 << c);
        let mut members = Members(if raw { input.u8() } else { input.u8() & mask });
        if !raw && phase == Phase::Idle {
            members = Members::NONE;
        } else if !raw && members.is_empty() {
            members = Members(1);
        }
        let mut sectors = [0u16; MAX_COMPONENTS];
        for c in members.iter() {
            let max = self.geo.slots(c).map_or(0, |s| s.sectors);
            sectors[usize::from(c)] = if raw {
                input.u16()
            } else {
                1 + input.below(usize::from(max.max(1))) as u16
            };
        }
        let mut rec = BootRecord {
            gen: fuzz_gen(input),
            seq: u32::from(input.u8()),
            phase,
            members,
            trial_booted: phase == Phase::Trial && input.bool(),
            backups: Members(input.u8() & if raw { 0xff } else { mask }),
            error: input.choose(&ERRORS),
            done: 0,
            sectors,
            counters: [0; MAX_COMPONENTS],
            digest: [0; 32],
        };
        if phase.swapping() || raw {
            rec.done = input.below(rec.total_steps() as usize + 2) as u32;
        }
        for c in &mut rec.counters {
            *c = match input.u8() % 8 {
                0 => input.u32(),
                n => u32::from(n - 1),
            };
        }
        rec.digest = match input.u8() % 4 {
            // The digest of the staged set the fuzzer picks from the image set.
            0 | 1 => {
                let set = images();
                let picks: Vec<(ComponentId, [u8; 32])> = members
                    .iter()
                    .map(|c| (c, set[input.below(set.len())].scanned.digest))
                    .collect();
                staged_set_digest(picks.into_iter())
            }
            2 => [0; 32],
            _ => {
                let mut d = [0u8; 32];
                d.copy_from_slice(&[input.u8(); 32]);
                d
            }
        };
        rec
    }
}

/// A generation: mostly small (so flags and records of the same generation meet), sometimes
/// large, never within 2^24 of the wrap-around (which takes 2^32 writes, and a frame whose CRC
/// holds: no fault at rest produces one).
pub fn fuzz_gen(input: &mut Input) -> u32 {
    match input.u8() % 8 {
        0 => input.u32() >> 8,
        n => u32::from(n) + u32::from(input.u8() % 8),
    }
}

/// A component id: mostly configured ones, sometimes the gap (1), an unknown one, or any byte.
pub fn fuzz_id(input: &mut Input) -> ComponentId {
    match input.u8() % 8 {
        0 => input.u8(),
        1 => 1,
        2 => 7,
        n => IDS[usize::from(n) % 2],
    }
}

/// A flag.
pub fn fuzz_flag(input: &mut Input) -> Flag {
    match input.u8() % 7 {
        0 => Flag::Installing,
        1 => Flag::Trial,
        2 => Flag::Booted,
        3 => Flag::Revert,
        4 => Flag::RevertInvalid,
        5 => Flag::Reverted,
        _ => Flag::Settled,
    }
}

/// A component record from fuzzed fields (its staged image taken from the image set or not).
pub fn fuzz_component_record(input: &mut Input) -> ComponentRecord {
    let state = match input.u8() % 5 {
        0 => State::Ready,
        1 => State::Writing,
        2 => State::Candidate,
        3 => State::Failed,
        _ => State::Updated,
    };
    let staged = if input.bool() {
        let set = images();
        let k = &set[input.below(set.len())];
        StagedImage {
            size: k.scanned.total_size,
            digest: k.scanned.digest,
            version: k.scanned.header.version,
            security_counter: k.counter(),
            dependencies: k.scanned.dependencies,
        }
    } else {
        let mut dependencies = Dependencies::default();
        for _ in 0..input.below(3) {
            dependencies.push(Dependency {
                component: fuzz_id(input),
                min_version: ImageVersion::new(input.u8(), input.u8(), 0, 0),
            });
        }
        StagedImage {
            size: input.u32() % 0x2000,
            digest: [input.u8(); 32],
            version: ImageVersion::new(input.u8(), input.u8(), input.u16(), input.u32()),
            security_counter: u32::from(input.u8() % 8),
            dependencies,
        }
    };
    ComponentRecord {
        state,
        error: input.choose(&ERRORS),
        download: fuzz_gen(input),
        secondary_erased: input.bool(),
        staged,
    }
}

/// A checkpoint from fuzzed fields.
pub fn fuzz_checkpoint(input: &mut Input) -> Checkpoint {
    Checkpoint {
        download: fuzz_gen(input),
        written: match input.u8() % 4 {
            0 => input.u32(),
            n => u32::from(n) * 1024,
        },
    }
}
