//! Verification of a signed image with one public key, through the same scanner and key ring
//! the bootloader and the update service use.

use crate::hex::hex;
use crate::parse::format_version;
use fwu_shared::image::{verify_slice, ImageError, KeyRing, PublicKey, ScannedImage};
use std::fmt::Write as _;

/// Scan and authenticate `image` (a whole file; the slot is the file) against `key`.
pub fn verify_image(image: &[u8], key: &PublicKey) -> Result<ScannedImage, ImageError> {
    let slot = u32::try_from(image.len()).unwrap_or(u32::MAX);
    let keys = [*key];
    verify_slice(image, slot, &KeyRing::new(&keys))
}

/// The report `fwu-tool verify` prints for a verified image.
pub fn report(s: &ScannedImage) -> String {
    let mut out = String::new();
    let deps = s.dependencies.as_slice();
    let deps = if deps.is_empty() {
        "none".to_string()
    } else {
        deps.iter()
            .map(|d| {
                format!(
                    "image {} >= {}",
                    d.component,
                    format_version(&d.min_version)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let counter = s
        .security_counter
        .map_or_else(|| "none".to_string(), |c| format!("{c} (0x{c:08x})"));
    let _ = writeln!(out, "image verified");
    let _ = writeln!(
        out,
        "version:          {}",
        format_version(&s.header.version)
    );
    let _ = writeln!(
        out,
        "size:             {} bytes (header 0x{:x}, payload 0x{:x})",
        s.total_size, s.header.hdr_size, s.header.img_size
    );
    let _ = writeln!(out, "hash:             {}", hex(&s.digest));
    let _ = writeln!(out, "key hash:         {}", hex(&s.key_hash));
    let _ = writeln!(out, "security counter: {counter}");
    let _ = writeln!(out, "dependencies:     {deps}");
    out
}
