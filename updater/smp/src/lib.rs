//! `fwu-smp`: an SMP server (the mcumgr Simple Management Protocol, as MCUboot devices speak
//! it) over the fwu update service, so that stock mcumgr tools (`smpmgr`, the `smpclient`
//! library, Zephyr's `mcumgr`, nRF Connect Device Manager) update a fwu device.
//!
//! `no_std`, no heap. Modules, from the wire up:
//!
//! * [`serial`]: SMP over a serial console — packets split into base64 lines that start with
//!   `0x06 0x09` (first) or `0x04 0x14` (continuation), with a length and a CRC-16/XMODEM.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::expect_used))]

pub mod serial;
