//! `fwu-shared`: the contract between the fwu bootloader and the fwu update service.
//!
//! * [`status`] and [`component`]: the PSA Certified Firmware Update API 1.0 types and
//!   constants, with their exact C values and layouts;
//! * [`image`]: the MCUboot image format (header, TLVs), a sans-IO scanner that takes untrusted
//!   bytes, and Ed25519 authentication against built-in keys;
//! * [`version`]: version ordering and dependency records;
//! * [`record`]: CRC-protected, versioned framing for everything persisted in flash.
//!
//! `no_std`, no heap, no panics on any input.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::expect_used))]

pub mod bytes;
pub mod component;
pub mod image;
pub mod layout;
pub mod record;
pub mod state;
pub mod status;
pub mod version;

pub use component::{ComponentId, ComponentInfo, ImageVersion, ImplInfo, State};
pub use status::{Error, FwuResult, PsaStatus, Success};
