//! The signed images the targets place and download, the trusted key, and the verification
//! oracle.
//!
//! Every image is tiny (one to three 1 KiB sectors) so that swaps stay short. Each one tests a
//! rule: an upgrade, a downgrade, a counter below the floor, dependencies met or not, a key the
//! device does not trust, an image too large for the smaller slot.

use fwu_shared::image::build::{build_image, Ed25519Signer, ImageSpec, Signer};
use fwu_shared::image::{scan_slice, ImageError, KeyRing, PublicKey, ScannedImage};
use fwu_shared::version::Dependency;
use fwu_shared::ImageVersion;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One image of the set.
pub struct Known {
    /// What it is, for failure messages.
    pub name: &'static str,
    /// The image bytes (header to end of TLVs).
    pub bytes: Vec<u8>,
    /// Its scan.
    pub scanned: ScannedImage,
    /// Whether it verifies against [`keys`].
    pub trusted: bool,
}

impl Known {
    /// The image's security counter (0 when it carries none).
    pub fn counter(&self) -> u32 {
        self.scanned.security_counter.unwrap_or(0)
    }
}

/// Index of the factory image of component 0.
pub const FACTORY_0: usize = 0;
/// Index of the factory image of component 2.
pub const FACTORY_2: usize = 1;

const fn v(major: u8, minor: u8) -> ImageVersion {
    ImageVersion::new(major, minor, 0, 0)
}

fn dep(component: u8, min: ImageVersion) -> Dependency {
    Dependency {
        component,
        min_version: min,
    }
}

/// The signer whose key the targets trust.
pub fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(&[0x5e; 32])
}

/// An image of the set: name, version, size, security counter, dependencies, payload seed.
type Spec<'a> = (&'static str, ImageVersion, usize, u32, &'a [Dependency], u8);

/// The trusted keys.
pub fn keys() -> &'static [PublicKey] {
    static KEYS: OnceLock<[PublicKey; 1]> = OnceLock::new();
    KEYS.get_or_init(|| [signer().public_key()])
}

/// A signed image of `total` bytes (a little more when the TLVs do not leave room) with the
/// given version, security counter and dependencies; the payload is derived from `seed`.
pub fn build(
    version: ImageVersion,
    total: usize,
    counter: u32,
    deps: &[Dependency],
    seed: u8,
    signer: &Ed25519Signer,
) -> Vec<u8> {
    let mut spec = ImageSpec::new(version);
    spec.security_counter = Some(counter);
    spec.dependencies = deps;
    let overhead = spec.image_len(0);
    let payload: Vec<u8> = (0..total.saturating_sub(overhead))
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect();
    let mut out = vec![0u8; spec.image_len(payload.len())];
    build_image(&spec, &payload, signer, &mut out).unwrap_or_else(|e| panic!("build: {e:?}"));
    out
}

/// The image set (built and signed once per process).
pub fn images() -> &'static [Known] {
    static IMAGES: OnceLock<Vec<Known>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let d2 = [dep(2, v(2, 0))];
        let d0 = [dep(0, v(2, 0))];
        let missing = [dep(5, v(1, 0))];
        let trusted: [Spec<'_>; 10] = [
            ("factory-0 v1.0 c1", v(1, 0), 600, 1, &[], 1),
            ("factory-2 v1.0 c1", v(1, 0), 500, 1, &[], 2),
            ("v2.0 c2 (2 sectors)", v(2, 0), 1500, 2, &[], 3),
            ("v2.1 c2 needs 2>=2.0", v(2, 1), 900, 2, &d2, 4),
            ("v3.0 c3", v(3, 0), 700, 3, &[], 5),
            ("v0.9 c1 (downgrade)", v(0, 9), 400, 1, &[], 6),
            ("v2.0 c0 (counter below floor)", v(2, 0), 800, 0, &[], 7),
            ("v2.0 c2 needs 0>=2.0", v(2, 0), 1200, 2, &d0, 8),
            ("v4.0 c4 (3 sectors)", v(4, 0), 2600, 4, &[], 9),
            ("v1.0 c1 needs missing 5", v(1, 0), 500, 1, &missing, 10),
        ];
        let trusted_signer = signer();
        let mut out: Vec<Known> = trusted
            .iter()
            .map(|&(name, version, total, counter, deps, seed)| {
                let bytes = build(version, total, counter, deps, seed, &trusted_signer);
                known(name, bytes)
            })
            .collect();
        let foreign = Ed25519Signer::from_seed(&[0x77; 32]);
        let bytes = build(v(5, 0), 500, 5, &[], 11, &foreign);
        out.push(known("v5.0 c5 foreign key", bytes));
        out
    })
}

fn known(name: &'static str, bytes: Vec<u8>) -> Known {
    let scanned = scan_slice(&bytes, 4096).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let trusted = KeyRing::new(keys()).authenticate(&scanned).is_ok();
    Known {
        name,
        bytes,
        scanned,
        trusted,
    }
}

/// The verification oracle: whether `bytes` (a slot of `slot` bytes, image at offset 0) holds
/// an image that scans and authenticates against [`keys`], and the scan.
///
/// The scan runs every time; the authentication's verdict is remembered per (digest, hash TLV,
/// key hash, signature), the only fields it reads. Each authentication decodes the public key
/// (a square root in the field, hundreds of microseconds under the fuzzer's instrumentation),
/// and the targets authenticate the same dozen images again and again.
pub fn verify(bytes: &[u8], slot: u32) -> Result<ScannedImage, ImageError> {
    let end = bytes.len().min(slot as usize);
    let scanned = scan_slice(&bytes[..end], slot)?;
    authenticate(&scanned)?;
    Ok(scanned)
}

/// `KeyRing::new(keys()).authenticate(scanned)`, memoized (see [`verify`]).
fn authenticate(scanned: &ScannedImage) -> Result<usize, ImageError> {
    type Key = ([u8; 32], [u8; 32], [u8; 32], [u8; 64]);
    thread_local! {
        static VERDICTS: RefCell<HashMap<Key, Result<usize, ImageError>>> =
            RefCell::new(HashMap::new());
    }
    let key: Key = (
        scanned.digest,
        scanned.hash_tlv,
        scanned.key_hash,
        scanned.signature,
    );
    if let Some(v) = VERDICTS.with(|m| m.borrow().get(&key).copied()) {
        return v;
    }
    let v = KeyRing::new(keys()).authenticate(scanned);
    VERDICTS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 4096 {
            m.clear();
        }
        m.insert(key, v);
    });
    v
}

/// Index of the image of the set whose bytes start `bytes`, if any.
pub fn identify(bytes: &[u8]) -> Option<usize> {
    images()
        .iter()
        .position(|k| bytes.get(..k.bytes.len()) == Some(&k.bytes[..]))
}
