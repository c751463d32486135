//! The persisted state shared by the bootloader and the update service: record types, the
//! transaction model and the store over the state partition (`docs/on-flash-contract.md`).

pub mod guard;
pub mod records;
pub mod store;

pub use records::{
    ComponentRecord, Direction, Members, Phase, StagedImage, SwapProgress, TxnRecord,
    MAX_COMPONENTS,
};
pub use store::{SecurityCounters, StateStore, StoreError, StoredCounters};
