//! Memory maps of the two QEMU 7.2 MPS2 machines and the flash layout both boards share.
//!
//! The emulated flash is a 16 MiB host file mapped by QEMU as the machine's main RAM backend
//! (`-machine <m>,memory-backend=fl -object memory-backend-file,id=fl,mem-path=FILE,size=16M,share=on`):
//! at `0x2100_0000` on mps2-an386 and `0x8000_0000` on mps2-an505. Code in it executes in place.
//!
//! On mps2-an505 the core boots Secure with the SAU disabled, so every address is Secure and the
//! Secure aliases of the CMSDK peripherals (`0x5xxx_xxxx`) are used. There is no Secure alias of
//! the `0x8000_0000` window in QEMU 7.2 (a read of `0x9000_0000` is a precise BusFault), but
//! executing from `0x8000_0000` in Secure state works because the SAU (disabled, `ALLNS = 0`)
//! marks it Secure.

use core::ops::Range;
use fwu_shared::layout::{CheckedLayout, ComponentSlots, Layout};

/// Erase sector of the emulated flash.
pub const SECTOR_SIZE: u32 = 4096;
/// Size of the flash file (QEMU requires the machine's default RAM size: 16 MiB on both).
pub const FLASH_FILE_SIZE: u32 = 16 * 1024 * 1024;
/// Offset of the control block: the last sector of the file, outside every layout region and
/// outside [`EmulatedFlash`](crate::flash::EmulatedFlash)'s capacity.
pub const CONTROL_BLOCK_OFFSET: u32 = FLASH_FILE_SIZE - SECTOR_SIZE;
/// Bytes of the flash the firmware may use (everything but the control block).
pub const FLASH_USABLE: u32 = CONTROL_BLOCK_OFFSET;

/// State partition: 8 sectors at the start of the flash.
pub const STATE_PARTITION: Range<u32> = 0..8 * SECTOR_SIZE;
/// Component 0 (the application, executed in place): primary and secondary slots.
pub const APP_SLOTS: ComponentSlots = ComponentSlots {
    id: 0,
    primary: 0x1_0000,
    secondary: 0x1_0000 + 128 * SECTOR_SIZE,
    sectors: 128,
};
/// Component 1 (a small data component): primary and secondary slots, after component 0's.
pub const DATA_SLOTS: ComponentSlots = ComponentSlots {
    id: 1,
    primary: APP_SLOTS.secondary + 129 * SECTOR_SIZE,
    secondary: APP_SLOTS.secondary + (129 + 16) * SECTOR_SIZE,
    sectors: 16,
};
/// Every component.
pub const COMPONENTS: [ComponentSlots; 2] = [APP_SLOTS, DATA_SLOTS];
/// Image header size of executable images: the vector table follows the header.
pub const APP_HEADER_SIZE: u32 = 0x200;

/// The flash layout shared by both boards (offsets from the start of the flash window).
pub const fn layout() -> Layout<'static> {
    Layout {
        sector_size: SECTOR_SIZE,
        components: &COMPONENTS,
        state: STATE_PARTITION,
    }
}

/// [`layout`] checked at build time against the emulated flash (its usable capacity, 4 KiB
/// erase sectors, [`WRITE_SIZE`](crate::flash::WRITE_SIZE)-byte writes): a layout that does not
/// fit fails the build, and the bootloaders carry no validation code.
// A panic in a `const` initialiser is a compile error, never a run-time panic.
#[allow(clippy::panic)]
pub const CHECKED_LAYOUT: CheckedLayout<'static> = match layout().check(
    FLASH_USABLE as u64,
    SECTOR_SIZE,
    crate::flash::WRITE_SIZE as u32,
) {
    Ok(checked) => checked,
    Err(_) => panic!("the QEMU layout does not fit the emulated flash"),
};

/// Where things are on one machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryMap {
    /// QEMU machine name.
    pub name: &'static str,
    /// Where the bootloader is linked (the boot "ROM" that `-kernel` reloads on every reset).
    pub boot_rom: usize,
    /// Base of the file-backed flash window.
    pub flash_base: usize,
    /// Start of the RAM both the bootloader and the applications use.
    pub ram_base: usize,
    /// RAM bytes available to programs (the session block follows them).
    pub ram_size: u32,
    /// Address of the [`session`](crate::session) block (reserved, 256 bytes).
    pub session_block: usize,
    /// CMSDK APB UART0 (QEMU's first `-serial`).
    pub uart0: usize,
    /// CMSDK APB watchdog.
    pub watchdog: usize,
    /// Clock of the watchdog counter, in Hz.
    pub watchdog_hz: u32,
    /// Core clock (SysTick with the processor clock source), in Hz.
    pub sysclk_hz: u32,
}

impl MemoryMap {
    /// Absolute address of flash offset `offset`.
    pub const fn flash_addr(&self, offset: u32) -> usize {
        self.flash_base + offset as usize
    }

    /// Absolute address of the vector table of component 0's active image.
    pub const fn app_vector_table(&self) -> usize {
        self.flash_addr(APP_SLOTS.primary + APP_HEADER_SIZE)
    }

    /// RAM range programs may use (initial stack pointers must lie in or at the end of it).
    pub const fn ram(&self) -> Range<usize> {
        self.ram_base..self.ram_base + self.ram_size as usize
    }
}

/// Bytes reserved for the session block at the end of each board's RAM.
pub const SESSION_BLOCK_SIZE: u32 = 256;

/// mps2-an386: Cortex-M4F at 25 MHz; boot ROM (ZBT SSRAM1) at 0, RAM at `0x2000_0000` (4 MiB),
/// flash file at `0x2100_0000`, peripherals as in QEMU's `hw/arm/mps2.c`.
pub const AN386: MemoryMap = MemoryMap {
    name: "mps2-an386",
    boot_rom: 0x0000_0000,
    flash_base: 0x2100_0000,
    ram_base: 0x2000_0000,
    ram_size: 4 * 1024 * 1024 - SESSION_BLOCK_SIZE,
    session_block: 0x2000_0000 + 4 * 1024 * 1024 - SESSION_BLOCK_SIZE as usize,
    uart0: 0x4000_4000,
    watchdog: 0x4000_8000,
    watchdog_hz: 25_000_000,
    sysclk_hz: 25_000_000,
};

/// mps2-an505: Cortex-M33 (SSE-200) at 20 MHz, booting Secure; code at the Secure alias
/// `0x1000_0000`, RAM at the Secure alias `0x3800_0000` (2 MiB used), flash file at
/// `0x8000_0000`; UART0 and the Secure watchdog at their Secure aliases (`hw/arm/mps2-tz.c`,
/// `hw/arm/armsse.c`).
pub const AN505: MemoryMap = MemoryMap {
    name: "mps2-an505",
    boot_rom: 0x1000_0000,
    flash_base: 0x8000_0000,
    ram_base: 0x3800_0000,
    ram_size: 2 * 1024 * 1024 - SESSION_BLOCK_SIZE,
    session_block: 0x3800_0000 + 2 * 1024 * 1024 - SESSION_BLOCK_SIZE as usize,
    uart0: 0x5020_0000,
    watchdog: 0x5008_1000,
    watchdog_hz: 20_000_000,
    sysclk_hz: 20_000_000,
};
