//! `fwu-sim-flash`: the simulator's NOR flash model. [`flash::SimFlash`] enforces NOR rules,
//! counts every operation, and cuts power at a chosen operation with a chosen cut model (skipped,
//! torn, interrupted erase, or just after completion). It also injects the faults of the other
//! campaigns: bits flipped and cells overwritten at rest, transient and persistent read errors,
//! worn-out sectors whose writes or erases fail, and warm resets. Unit tests of the bootloader
//! and updater run on it; the fault campaigns of `fwu-sim` drive it over every operation.

pub mod flash;
pub mod rng;

pub use flash::{CutModel, FlashError, Geometry, OpKind, SimFlash, Stats, TracedOp, Wear};
