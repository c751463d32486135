//! embassy-boot 0.7's bootloader for QEMU mps2-an386 (see the crate documentation): prepare
//! the boot (swap or revert if the state asks for it), then jump to ACTIVE. No console, no
//! formatting; an error or a panic stops QEMU through semihosting.
#![no_std]
#![no_main]

use core::cell::RefCell;
use cortex_m_rt::entry;
use embassy_boot::{AlignedBuffer, BootLoader, BootLoaderConfig};
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use fwu_board_qemu::map::AN386;
use fwu_board_qemu::nor::MappedNor;
use fwu_board_qemu::semihost::{exit, EXIT_BOOT_ERROR, EXIT_FAILURE};
use fwu_embassy_boot_anchor::{ACTIVE, ACTIVE_SIZE, BUFFER_SIZE, DFU, DFU_SIZE, STATE, STATE_SIZE};

#[entry]
fn main() -> ! {
    // SAFETY: QEMU maps the flash file at AN386.flash_base; only this bootloader writes it.
    let flash = Mutex::<NoopRawMutex, _>::new(RefCell::new(unsafe { MappedNor::new(&AN386) }));
    let config = BootLoaderConfig {
        active: BlockingPartition::new(&flash, ACTIVE, ACTIVE_SIZE),
        dfu: BlockingPartition::new(&flash, DFU, DFU_SIZE),
        state: BlockingPartition::new(&flash, STATE, STATE_SIZE),
    };
    // What embassy-boot-stm32's `BootLoader::prepare` does (it panics on an error).
    let mut aligned_buf = AlignedBuffer([0; BUFFER_SIZE]);
    if BootLoader::new(config)
        .prepare_boot(aligned_buf.as_mut())
        .is_err()
    {
        exit(EXIT_BOOT_ERROR);
    }
    // SAFETY: the start of ACTIVE holds the application's vector table (embassy-boot checks
    // nothing more); nothing of the bootloader is used after the jump.
    unsafe { load(AN386.flash_addr(ACTIVE) as u32) }
}

/// embassy-boot-stm32's `BootLoader::load`: invalidate the instruction cache, point VTOR at
/// the application's vector table, load MSP and the reset vector from it and branch.
///
/// # Safety
/// `start` must hold a valid vector table; the caller's stack is abandoned.
unsafe fn load(start: u32) -> ! {
    // SAFETY: the bootloader owns the core; it only hands it over.
    let mut p = unsafe { cortex_m::Peripherals::steal() };
    p.SCB.invalidate_icache();
    // SAFETY: per the caller, a vector table.
    unsafe {
        p.SCB.vtor.write(start);
        cortex_m::asm::bootload(start as *const u32)
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(EXIT_FAILURE)
}
