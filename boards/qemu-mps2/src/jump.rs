//! Hand-over from the bootloader to an application image executed in place.

use core::ops::Range;
use cortex_m::peripheral::{NVIC, SCB, SYST};

/// Why a vector table cannot be jumped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorError {
    /// The table is not aligned for `VTOR` (128 bytes at least).
    Misaligned,
    /// The initial stack pointer is not inside (or at the end of) RAM, or not 8-byte aligned.
    StackPointer(u32),
    /// The reset vector is not a Thumb address inside the image.
    ResetVector(u32),
}

/// Check the vector table at `vector_table`: initial SP in `ram` (inclusive end), reset vector
/// a Thumb address in `code`.
///
/// # Safety
/// `vector_table` must be readable for 8 bytes.
pub unsafe fn check_vector_table(
    vector_table: usize,
    ram: Range<usize>,
    code: Range<usize>,
) -> Result<(u32, u32), VectorError> {
    if !vector_table.is_multiple_of(128) {
        return Err(VectorError::Misaligned);
    }
    // SAFETY: readable per the caller.
    let (sp, reset) = unsafe {
        (
            core::ptr::read_volatile(vector_table as *const u32),
            core::ptr::read_volatile((vector_table + 4) as *const u32),
        )
    };
    let sp_addr = sp as usize;
    if sp_addr <= ram.start || sp_addr > ram.end || !sp.is_multiple_of(8) {
        return Err(VectorError::StackPointer(sp));
    }
    let pc = (reset & !1) as usize;
    if reset & 1 == 0 || !code.contains(&pc) {
        return Err(VectorError::ResetVector(reset));
    }
    Ok((sp, reset))
}

/// Quiesce what the bootloader may have started and jump to the image whose vector table is
/// at `vector_table`: SysTick off, every NVIC interrupt disabled and unpended, PendSV and
/// SysTick pending bits cleared, `VTOR` set, interrupts re-enabled (as after a reset), then MSP
/// and PC loaded from the table. A watchdog that the caller started keeps running (that is the
/// point of a trial boot). The UART stays enabled (it raises no interrupt).
///
/// # Safety
/// `vector_table` must hold a valid vector table (see [`check_vector_table`]) of code that
/// expects to start from reset; nothing of the caller survives (its stack is abandoned).
pub unsafe fn jump_to_image(vector_table: usize) -> ! {
    cortex_m::interrupt::disable();
    // SAFETY: the bootloader is the only software running; these writes only stop and clear
    // interrupt sources before the hand-over.
    unsafe {
        let syst = &*SYST::PTR;
        syst.csr.write(0);
        syst.cvr.write(0);
        let nvic = &*NVIC::PTR;
        for i in 0..nvic.icer.len() {
            if let (Some(icer), Some(icpr)) = (nvic.icer.get(i), nvic.icpr.get(i)) {
                icer.write(u32::MAX);
                icpr.write(u32::MAX);
            }
        }
        let scb = &*SCB::PTR;
        // PENDSTCLR | PENDSVCLR.
        scb.icsr.write((1 << 25) | (1 << 27));
        scb.vtor.write(vector_table as u32);
        cortex_m::asm::dsb();
        cortex_m::asm::isb();
        cortex_m::interrupt::enable();
        cortex_m::asm::bootload(vector_table as *const u32)
    }
}
