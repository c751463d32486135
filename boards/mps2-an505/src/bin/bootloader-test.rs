//! The fwu bootloader for QEMU mps2-an505 with the test builds' instruments: boots, installs or
//! reverts per the persisted FWU state, reports on UART0 (console lines, boot time, stack),
//! injects the power cut the control block asks for, arms the watchdog for a trial and jumps
//! to component 0.
#![no_std]
#![no_main]

use fwu_board_mps2_an505 as board;

include!("../../../qemu-mps2/bins/bootloader-test.rs");
