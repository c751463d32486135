//! Per-binary memory maps for mps2-an386 and the built-in public keys.
//!
//! * `bootloader` (production) and `bootloader-test` (instrumented): code in the boot ROM at 0 (ZBT SSRAM1, reloaded by `-kernel` on every reset);
//! * `selftest` (flash driver self-test) and `timecheck` (time driver check): like the
//!   bootloader;
//! * `testapp`: code in component 0's primary slot of the flash window, after the 0x200-byte
//!   image header: `0x2100_0000 + 0x1_0000 + 0x200`;
//! * both: RAM at `0x2000_0000`, 4 MiB less the 256-byte session block at its end.
//!
//! These numbers repeat `fwu_board_qemu::map::{AN386, APP_SLOTS, APP_HEADER_SIZE}`.
//!
//! Keys: `FWU_PUBKEY_RS` may name a `fwu-tool getpub --lang rust` file; the default is the
//! committed development key `boards/keys/dev-ed25519.pub.rs`.

use std::{env, fs, path::PathBuf};

const RAM: &str = "RAM : ORIGIN = 0x20000000, LENGTH = 4M - 256";
const BOOT_ROM: &str = "FLASH : ORIGIN = 0x00000000, LENGTH = 4M";
const APP: &str = "FLASH : ORIGIN = 0x21010200, LENGTH = 512K - 0x200";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    for (bin, flash) in [
        ("bootloader-test", BOOT_ROM),
        ("bootloader", BOOT_ROM),
        ("selftest", BOOT_ROM),
        ("timecheck", BOOT_ROM),
        ("testapp", APP),
        ("app", APP),
    ] {
        let dir = out.join(bin);
        fs::create_dir_all(&dir)?;
        fs::write(
            dir.join("memory.x"),
            format!("MEMORY\n{{\n  {flash}\n  {RAM}\n}}\n"),
        )?;
        println!("cargo:rustc-link-arg-bin={bin}=-L{}", dir.display());
    }
    // cortex-m-rt's `device` feature: the interrupt vectors come from this crate's
    // `__INTERRUPTS` (bound to `DefaultHandler`), so `device.x` has nothing to provide.
    fs::write(
        out.join("device.x"),
        "/* interrupt handlers: see __INTERRUPTS */\n",
    )?;
    println!("cargo:rustc-link-search={}", out.display());
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let keys = match env::var_os("FWU_PUBKEY_RS") {
        Some(p) => PathBuf::from(p),
        None => manifest.join("../keys/dev-ed25519.pub.rs"),
    };
    fs::copy(&keys, out.join("pubkey.rs"))
        .map_err(|e| format!("reading public keys from {}: {e}", keys.display()))?;
    println!("cargo:rerun-if-env-changed=FWU_PUBKEY_RS");
    println!("cargo:rerun-if-changed={}", keys.display());
    println!("cargo:rerun-if-changed=build.rs");
    if !env::var("TARGET")?.starts_with("thumbv7em") {
        println!("cargo:warning=mps2-an386 is a Cortex-M4F: build it for thumbv7em-none-eabihf");
    }
    Ok(())
}
