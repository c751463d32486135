//! The probe's memory map: mps2-an386 runs code from 0x0 and data at 0x2000_0000; on
//! mps2-an505 the core boots secure, so code goes to 0x1000_0000 and data to 0x3800_0000.

use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let target = env::var("TARGET")?;
    let memory = match target.as_str() {
        t if t.starts_with("thumbv8m") => {
            "MEMORY {\n  FLASH : ORIGIN = 0x10000000, LENGTH = 4M\n  RAM : ORIGIN = 0x38000000, LENGTH = 2M\n}\n"
        }
        _ => "MEMORY {\n  FLASH : ORIGIN = 0x00000000, LENGTH = 4M\n  RAM : ORIGIN = 0x20000000, LENGTH = 4M\n}\n",
    };
    fs::write(out.join("memory.x"), memory)?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}
