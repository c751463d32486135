//! The production fwu bootloader for QEMU mps2-an386: boots, installs or reverts per the
//! persisted FWU state, arms the watchdog for a trial and jumps to component 0; no console.
#![no_std]
#![no_main]

use fwu_board_mps2_an386 as board;

include!("../../../qemu-mps2/bins/bootloader.rs");
