//! Per-binary memory maps for mps2-an505 and the built-in public keys. The core boots Secure
//! (SAU disabled: every address is Secure), so code and data use the Secure aliases.
//!
//! * `bootloader` and `bootloader-test`: code at `0x1000_0000` (Secure alias of SSRAM0; `-kernel` reloads it on every
//!   reset; QEMU's initial Secure VTOR is `0x1000_0000`);
//! * `selftest` (flash driver self-test) and `timecheck` (time driver check): like the
//!   bootloader;
//! * `testapp`: code in component 0's primary slot of the flash window, after the 0x200-byte
//!   image header: `0x8000_0000 + 0x1_0000 + 0x200`;
//! * both: RAM at `0x3800_0000` (Secure alias of SSRAM1), 2 MiB less the 256-byte session
//!   block at its end.
//!
//! These numbers repeat `fwu_board_qemu::map::{AN505, APP_SLOTS, APP_HEADER_SIZE}`.
//!
//! Keys: `FWU_PUBKEY_RS` may name a `fwu-tool getpub --lang rust` file; the default is the
//! committed development key `boards/keys/dev-ed25519.pub.rs`.

use std::{env, fs, path::PathBuf};

const RAM: &str = "RAM : ORIGIN = 0x38000000, LENGTH = 2M - 256";
const BOOT_ROM: &str = "FLASH : ORIGIN = 0x10000000, LENGTH = 4M";
const APP: &str = "FLASH : ORIGIN = 0x80010200, LENGTH = 512K - 0x200";

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
    if !env::var("TARGET")?.starts_with("thumbv8m.main") {
        println!(
            "cargo:warning=mps2-an505 is a Cortex-M33: build it for thumbv8m.main-none-eabihf"
        );
    }
    Ok(())
}
