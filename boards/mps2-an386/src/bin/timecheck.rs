//! Check of the SysTick embassy-time driver on QEMU mps2-an386 (feature `embassy`): two tasks
//! sleep with `embassy_time::Timer` under the embassy executor; the check passes when every
//! sleep lasted at least its duration in driver ticks and the tasks interleaved.
//! `cargo run --release -p fwu-board-mps2-an386 --features embassy --bin timecheck`
#![no_std]
#![no_main]

use fwu_board_mps2_an386 as board;

include!("../../../qemu-mps2/bins/timecheck.rs");
