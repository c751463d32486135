//! Bare-metal test application for QEMU mps2-an386, linked at component 0's primary slot
//! (+0x200 header). Prints `FWU_APP_VERSION` (build-time environment, default `0.0.0`), then
//! exits QEMU with success, hangs without feeding the watchdog (feature `app-hang`) or stages
//! the image in component 0's staging area and resets (feature `app-stage`).
#![no_std]
#![no_main]

use fwu_board_mps2_an386 as board;

include!("../../../qemu-mps2/bins/testapp.rs");
