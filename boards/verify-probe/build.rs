//! Builds the probe's test vectors at compile time with the shared image builder: a valid signed
//! image and the same image with one payload byte flipped, plus the matching memory map; for the
//! `bench` feature also the core clock and signature cases with their verdicts computed on the
//! host (fwu-shared's strict verifier and salty's own), which the probe checks on the target.

use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::ed25519::{malleated, verify_strict};
use fwu_shared::image::ImageError;
use fwu_shared::ImageVersion;
use std::fmt::Write as _;
use std::{env, fs, path::PathBuf};

/// The strict verdict as a number the probe compares with its own: 0 accepted, 1 bad
/// signature, 2 non-canonical signature, 3 invalid key, 4 anything else.
fn code(verdict: Result<(), ImageError>) -> u8 {
    match verdict {
        Ok(()) => 0,
        Err(ImageError::BadSignature) => 1,
        Err(ImageError::NonCanonicalSignature) => 2,
        Err(ImageError::InvalidBuiltInKey) => 3,
        Err(_) => 4,
    }
}

/// Signature cases for the on-target differential check: for each of 8 keys a valid signature
/// over a 32-byte message, then the same with one bit flipped in `R`, in `S`, in the message and
/// in the key, and the `S + L` twin. Rust source of `CASES`.
fn signature_cases() -> String {
    let mut cases = Vec::new();
    for i in 0..8u8 {
        let kp = salty::Keypair::from(&[i.wrapping_mul(37) ^ 0xa5; 32]);
        let key = kp.public.to_bytes();
        let msg: [u8; 32] = core::array::from_fn(|j| (j as u8).wrapping_mul(29) ^ i);
        let sig = kp.sign(&msg).to_bytes();
        let bit = 1u8 << (i % 8);
        let at = usize::from(i);
        cases.push((key, msg, sig));
        let mut r = sig;
        r[at] ^= bit;
        cases.push((key, msg, r));
        let mut s = sig;
        s[32 + at] ^= bit;
        cases.push((key, msg, s));
        let mut m = msg;
        m[31 - at] ^= bit;
        cases.push((key, m, sig));
        let mut k = key;
        k[at * 3] ^= bit;
        cases.push((k, msg, sig));
        if let Some(twin) = malleated(&sig) {
            cases.push((key, msg, twin));
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// A signature case: key, message, signature, strict verdict as `build.rs` codes it, \
         whether salty accepts; verdicts from the host.\n#[cfg(feature = \"bench\")]\n\
         type Case = ([u8; 32], [u8; 32], [u8; 64], u8, bool);\n\
         /// The cases the probe checks on the target.\n#[cfg(feature = \"bench\")]\n\
         static CASES: [Case; {}] = [",
        cases.len()
    );
    for (key, msg, sig) in &cases {
        let strict = code(verify_strict(key, msg, sig));
        let lenient = salty::PublicKey::try_from(key)
            .and_then(|pk| pk.verify(msg, &salty::Signature::from(sig)))
            .is_ok();
        let _ = writeln!(out, "    ({key:?}, {msg:?}, {sig:?}, {strict}, {lenient}),");
    }
    out.push_str("];\n");
    out
}

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
    // The core clock SysTick counts at: mps2-an386 25 MHz, mps2-an505 20 MHz.
    let hz: u64 = if env::var("TARGET")?.starts_with("thumbv8m") {
        20_000_000
    } else {
        25_000_000
    };
    let clock = format!(
        "/// Core clock of the machine the probe runs on.\n#[cfg(feature = \"bench\")]\n\
         const SYSCLK_HZ: u64 = {hz};\n"
    );
    fs::write(
        out.join("vectors.rs"),
        vectors + &clock + &signature_cases(),
    )?;

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
