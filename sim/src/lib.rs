//! `fwu-sim`: the host simulator. A [`device::Device`] is a simulated NOR flash with a layout
//! and trusted keys; its `boot` runs the real bootloader over the cells and its `service` builds
//! the real update service over the same cells, so a scenario is what a device does: client
//! calls, reboots, and (in the campaigns) faults — power cuts at any flash operation, bits
//! flipped at rest, read errors, worn-out sectors, warm resets — followed by a restart:
//! nothing in RAM survives, every structure is rebuilt from flash. [`oracle`] says what every
//! experiment is checked against, [`campaign`] runs the cuts and the shared machinery,
//! [`faults`] the other models.
//
// The simulator is a test harness: a scenario that is wrong (unknown component, image that
// cannot be built) panics with a message rather than threading errors through every step.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod campaign;
pub mod device;
pub mod faults;
pub mod oracle;
pub mod scenario;

pub use device::{Device, RebootRecorder, Service};
