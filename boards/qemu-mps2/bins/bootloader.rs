// Body of the production `bootloader` binary, shared by the board crates: each includes it
// after `use <its board crate> as board;` and its own crate attributes. No console, no
// formatting: a panic or a fault stops QEMU (on a real board it would wait for the watchdog).

use board::{keys::FWU_PUBLIC_KEYS, qemu, MAP};
use cortex_m_rt::entry;
// The small mem* functions (fwu-tiny-mem) replace compiler_builtins' in this binary.
use fwu_tiny_mem as _;

#[entry]
fn main() -> ! {
    qemu::production::run(&MAP, FWU_PUBLIC_KEYS)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    qemu::semihost::exit(qemu::semihost::EXIT_FAILURE)
}
