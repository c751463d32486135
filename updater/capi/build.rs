//! Build-time flash geometry of the C ABI.
//!
//! `embedded_storage_async::nor_flash::NorFlash` wants the write and erase sizes as constants,
//! so the C flash adapter gets them at build time:
//!
//! * `FWU_CAPI_WRITE_SIZE`: flash write size in bytes, 4, 8, 16 or 32 (default 4);
//! * `FWU_CAPI_SECTOR_SIZE`: erase sector size in bytes, a power of two from 1 KiB to 128 KiB
//!   (default 4096).
//!
//! C clients compile against `include/psa/update.h` and `include/fwu/fwu.h` with the same values
//! (`-DFWU_CAPI_WRITE_SIZE=8 -DFWU_CAPI_SECTOR_SIZE=8192`; the headers default to 4 and 4096), and
//! `fwu_init` refuses a configuration built for other values.

use std::env;
use std::fs;
use std::path::PathBuf;

const DEFAULT_WRITE_SIZE: u32 = 4;
const DEFAULT_SECTOR_SIZE: u32 = 4096;

fn read(name: &str, default: u32) -> u32 {
    println!("cargo:rerun-if-env-changed={name}");
    match env::var(name) {
        Err(_) => default,
        Ok(s) => match s.trim().parse::<u32>() {
            Ok(v) => v,
            Err(_) => fail(&format!("{name}={s:?} is not a number")),
        },
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("fwu-capi build: {msg}");
    std::process::exit(1)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let write = read("FWU_CAPI_WRITE_SIZE", DEFAULT_WRITE_SIZE);
    let sector = read("FWU_CAPI_SECTOR_SIZE", DEFAULT_SECTOR_SIZE);
    if ![4, 8, 16, 32].contains(&write) {
        fail(&format!(
            "FWU_CAPI_WRITE_SIZE={write}: must be 4, 8, 16 or 32"
        ));
    }
    if !sector.is_power_of_two() || !(1024..=128 * 1024).contains(&sector) {
        fail(&format!(
            "FWU_CAPI_SECTOR_SIZE={sector}: must be a power of two from 1024 to 131072"
        ));
    }
    let code = format!(
        "/// Flash write size in bytes the library was built for (`FWU_CAPI_WRITE_SIZE`).\n\
         pub const WRITE_SIZE: usize = {write};\n\
         /// Erase sector size in bytes the library was built for (`FWU_CAPI_SECTOR_SIZE`).\n\
         pub const SECTOR_SIZE: usize = {sector};\n\
         /// `FWU_CAPI_WRITE_SIZE` when the build environment does not set it.\n\
         pub const DEFAULT_WRITE_SIZE: usize = {DEFAULT_WRITE_SIZE};\n\
         /// `FWU_CAPI_SECTOR_SIZE` when the build environment does not set it.\n\
         pub const DEFAULT_SECTOR_SIZE: usize = {DEFAULT_SECTOR_SIZE};\n"
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set")));
    if let Err(e) = fs::write(out.join("config.rs"), code) {
        fail(&format!("cannot write config.rs: {e}"));
    }
}
