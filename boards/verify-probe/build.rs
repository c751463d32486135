//! Builds the probe's test vectors at compile time with the shared image builder: a valid signed
//! image and the same image with one payload byte flipped, plus the matching memory map.

use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::ImageVersion;
use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let signer = Ed25519Signer::from_seed(&[0x5a; 32]);
    let mut spec = ImageSpec::new(ImageVersion::new(1, 2, 3, 0));
    spec.header_size = 0x200;
    spec.security_counter = Some(3);
    let payload: Vec<u8> = (0..16 * 1024u32)
        .map(|i| (i.wrapping_mul(31) >> 3) as u8)
        .collect();
    let mut image = vec![0u8; spec.image_len(payload.len())];
    build_image(&spec, &payload, &signer, &mut image).map_err(|e| format!("{e:?}"))?;
    fs::write(out.join("image.bin"), &image)?;
    let mut tampered = image.clone();
    if let Some(b) = tampered.get_mut(0x200 + 1234) {
        *b ^= 0x01;
    }
    fs::write(out.join("tampered.bin"), &tampered)?;
    fs::write(out.join("key.bin"), signer.public_key().0)?;
    // Named, sized statics so that the size script can find and subtract the test vectors.
    let vectors = format!(
        "/// The valid signed image.\n\
         static IMAGE: [u8; {n}] = *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/image.bin\"));\n\
         /// The same image with one payload byte flipped.\n\
         static TAMPERED: [u8; {n}] = *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/tampered.bin\"));\n\
         /// The signer's public key.\n\
         static KEY: [u8; 32] = *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/key.bin\"));\n",
        n = image.len()
    );
    fs::write(out.join("vectors.rs"), vectors)?;

    // mps2-an386 runs code from 0x0 and data at 0x2000_0000; on mps2-an505 the core boots
    // secure, so code goes to the secure code alias 0x1000_0000 and data to 0x3800_0000.
    let memory = match env::var("TARGET")?.as_str() {
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
