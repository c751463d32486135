//! Ending the QEMU process with an exit code, through semihosting (`SYS_EXIT_EXTENDED`, which
//! QEMU 7.2 turns into the process exit status). QEMU must run with
//! `-semihosting-config enable=on,target=native`; without it the `BKPT 0xAB` faults.
//!
//! Exit codes used by the fwu QEMU firmware and harness scripts:

/// The run ended as expected (the application finished).
pub const EXIT_SUCCESS: u32 = 0;
/// A panic or an unexpected failure.
pub const EXIT_FAILURE: u32 = 1;
/// The bootloader refused to run component 0 (`fwu-boot: halt ...` says why).
pub const EXIT_REFUSED: u32 = 3;
/// The bootloader failed repeatedly (`BootError`) and gave up.
pub const EXIT_BOOT_ERROR: u32 = 4;
/// The image at the primary slot has an unusable vector table.
pub const EXIT_BAD_VECTORS: u32 = 5;
/// The bootloader ran too many times in one QEMU process (a reset loop).
pub const EXIT_RESET_LOOP: u32 = 6;
/// A power cut was injected: the "power session" ended; restart QEMU on the same flash file.
pub const EXIT_POWER_CUT: u32 = 77;

const SYS_EXIT_EXTENDED: usize = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: u32 = 0x2_0026;

/// End the QEMU process with `code` (only the low 8 bits reach a POSIX parent).
pub fn exit(code: u32) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, code];
    // SAFETY: SYS_EXIT_EXTENDED takes a pointer to a two-word parameter block, which lives
    // until the call returns (it does not, under QEMU).
    unsafe {
        cortex_m_semihosting::syscall(SYS_EXIT_EXTENDED, &block);
    }
    loop {
        cortex_m::asm::wfi();
    }
}
