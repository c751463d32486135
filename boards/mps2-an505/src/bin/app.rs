//! The embassy demo application for QEMU mps2-an505 (feature `app`), linked at component 0's
//! primary slot (+0x200 header) like `testapp`: the PSA FWU update service, a watchdog
//! feeder, the trial self-test (`FWU_APP_SELFTEST=pass|fail|hang` at build time) and the host's
//! update protocol on UART0 (see `fwu_board_qemu::app`). `FWU_APP_VERSION` names the version.
#![no_std]
#![no_main]

use fwu_board_mps2_an505 as board;

include!("../../../qemu-mps2/bins/app.rs");
