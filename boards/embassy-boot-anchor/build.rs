//! Per-binary memory maps (the numbers of `fwu_board_qemu::map::{AN386, APP_SLOTS}`):
//!
//! * `embassy-boot-anchor`: code in the boot ROM at 0, as fwu's `bootloader`
//!   (`boards/mps2-an386/build.rs`);
//! * `anchor-app`: code at the start of embassy-boot's ACTIVE partition, fwu's component 0
//!   primary slot: `0x2100_0000 + 0x1_0000` (embassy-boot images carry no header);
//! * both: RAM at `0x2000_0000`, 4 MiB less the 256-byte session block at its end.

use std::{env, fs, path::PathBuf};

const RAM: &str = "RAM : ORIGIN = 0x20000000, LENGTH = 4M - 256";
const BOOT_ROM: &str = "FLASH : ORIGIN = 0x00000000, LENGTH = 4M";
const ACTIVE: &str = "FLASH : ORIGIN = 0x21010000, LENGTH = 512K";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    for (bin, flash) in [("embassy-boot-anchor", BOOT_ROM), ("anchor-app", ACTIVE)] {
        let dir = out.join(bin);
        fs::create_dir_all(&dir)?;
        fs::write(
            dir.join("memory.x"),
            format!("MEMORY\n{{\n  {flash}\n  {RAM}\n}}\n"),
        )?;
        println!("cargo:rustc-link-arg-bin={bin}=-L{}", dir.display());
    }
    // cortex-m-rt's `device` feature: the interrupt vectors come from this crate's
    // `__INTERRUPTS`, so `device.x` has nothing to provide.
    fs::write(
        out.join("device.x"),
        "/* interrupt handlers: see __INTERRUPTS */\n",
    )?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
    if !env::var("TARGET")?.starts_with("thumbv7em") {
        println!("cargo:warning=the anchor targets mps2-an386 (Cortex-M4F): build it for thumbv7em-none-eabihf");
    }
    Ok(())
}
