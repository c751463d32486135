//! On-target self-test of the emulated flash driver (NOR rules, bounds, counters) on QEMU
//! mps2-an386: `cargo run --release -p fwu-board-mps2-an386 --bin selftest` with the workspace runner.
#![no_std]
#![no_main]

use fwu_board_mps2_an386 as board;

include!("../../../qemu-mps2/bins/selftest.rs");
