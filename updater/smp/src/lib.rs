//! `fwu-smp`: an SMP server (the mcumgr Simple Management Protocol, as MCUboot devices speak
//! it) over the fwu update service, so that stock mcumgr tools (`smpmgr`, the `smpclient`
//! library, Zephyr's `mcumgr`, nRF Connect Device Manager) update a fwu device.
//!
//! `no_std`, no heap. Modules, from the wire up:
//!
//! * [`serial`]: SMP over a serial console — packets split into base64 lines that start with
//!   `0x06 0x09` (first) or `0x04 0x14` (continuation), with a length and a CRC-16/XMODEM.
//! * [`header`]: the 8-byte SMP header, versions 1 and 2.
//! * [`status`]: SMP error codes and how each PSA status is reported.
//! * [`service`]: what the server needs from the update service ([`fwu_updater::Updater`]).
//! * [`server`]: requests to responses — image management (state, upload, erase, slot info)
//!   and OS management (echo, reset, parameters, info, bootloader info).
//! * [`transport`]: the serial transport over `embedded-io-async`: [`transport::serve`].
//!
//! The protocol choices and the error table are in `docs/smp.md`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::expect_used))]

pub mod header;
pub mod serial;
pub mod server;
pub mod service;
pub mod status;
pub mod transport;
