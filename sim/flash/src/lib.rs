//! `fwu-sim-flash`: the simulator's NOR flash model. [`flash::SimFlash`] enforces NOR rules,
//! counts every operation, and cuts power at a chosen operation with a chosen cut model (skipped,
//! torn, interrupted erase, or just after completion). Unit tests of the bootloader and updater
//! run on it; the power-cut campaigns of `fwu-sim` drive it over every operation.

pub mod flash;
pub mod rng;

pub use flash::{CutModel, FlashError, Geometry, OpKind, SimFlash, Stats, TracedOp};
