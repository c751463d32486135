//! The persisted state shared by the bootloader and the update service
//! (`docs/on-flash-contract.md`): record types, the carving of the state partition, and the
//! three stores in it.
//!
//! * [`boot::BootLog`]: the transaction table ([`BootRecord`]) with its flags and swap
//!   progress, in two copies. The bootloader's only state; [`blocking`] reads and writes it
//!   over a blocking flash (the bootloader), `BootLog`'s async methods over an async one.
//! * [`catalog::Catalog`]: the component records, in two copies. The update service's.
//! * [`checkpoint::CheckpointMap`]: download resume points in a `sequential-storage` map: hints
//!   whose loss costs a re-sent download, never state.
//!
//! Both logs survive any single fault at rest (a flipped bit, a corrupt word, an erased or a
//! garbage sector) and any power cut; [`boot::Health`] says how each was found.

pub mod blocking;
pub mod boot;
pub mod catalog;
pub mod checkpoint;
pub mod counters;
pub mod geometry;
pub mod guard;
pub mod opener;
pub mod plan;
pub mod records;
pub mod slots;

pub use boot::{BootLog, Flag, Health};
pub use catalog::Catalog;
pub use checkpoint::CheckpointMap;
pub use counters::{CounterError, SecurityCounters, StoredCounters};
pub use geometry::StateGeometry;
pub use records::{
    staged_set_digest, BootRecord, Checkpoint, ComponentRecord, Direction, Members, Phase,
    StagedImage, MAX_COMPONENTS,
};
pub use slots::StateError;
