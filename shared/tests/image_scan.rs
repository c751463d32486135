//! Scanner and verifier behaviour on real signed images: one test per defect the parser must
//! name precisely, plus the flash drivers (blocking and async, aligned and unaligned reads).
#![allow(clippy::unwrap_used, clippy::panic)]

use embedded_storage::nor_flash::{ErrorType, NorFlashError, NorFlashErrorKind, ReadNorFlash};
use fwu_shared::image::build::{
    build_image, Ed25519Signer, ImageSpec, Signer, UNPROTECTED_TLV_SIZE,
};
use fwu_shared::image::tlv::types;
use fwu_shared::image::{
    scan_flash, scan_flash_async, scan_slice, verify_slice, Area, DecodedKeyRing, ImageError,
    ImageIdentity, KeyRing, PublicKey,
};
use fwu_shared::version::{Dependency, MAX_DEPENDENCIES};
use fwu_shared::ImageVersion;

const SLOT: u32 = 0x8000;

fn signer(n: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed(&[n; 32])
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn build(spec: &ImageSpec<'_>, body: &[u8], key: &Ed25519Signer) -> Vec<u8> {
    let mut out = vec![0u8; spec.image_len(body.len())];
    let built = build_image(spec, body, key, &mut out).unwrap();
    assert_eq!(built.len, out.len());
    out
}

fn spec_v(major: u8) -> ImageSpec<'static> {
    let mut s = ImageSpec::new(ImageVersion::new(major, 2, 3, 4));
    s.header_size = 0x200;
    s.security_counter = Some(9);
    s
}

fn ring(keys: &[PublicKey]) -> KeyRing<'_> {
    KeyRing::new(keys)
}

#[test]
fn valid_image_scans_and_verifies() {
    let key = signer(1);
    let img = build(&spec_v(1), &payload(1000), &key);
    let keys = [key.public_key()];
    let s = verify_slice(&img, SLOT, &ring(&keys)).unwrap();
    assert_eq!(s.header.version, ImageVersion::new(1, 2, 3, 4));
    assert_eq!(s.header.img_size, 1000);
    assert_eq!(s.header.hdr_size, 0x200);
    assert_eq!(s.security_counter, Some(9));
    assert_eq!(s.total_size as usize, img.len());
    assert_eq!(s.digest, s.hash_tlv);
    assert_eq!(s.hashed_len() as usize, img.len() - UNPROTECTED_TLV_SIZE);
}

#[test]
fn key_rotation_accepts_any_listed_key_and_rejects_others() {
    let old = signer(1);
    let new = signer(2);
    let img = build(&spec_v(1), &payload(64), &new);
    let keys = [old.public_key(), new.public_key()];
    let s = scan_slice(&img, SLOT).unwrap();
    assert_eq!(ring(&keys).authenticate(&s), Ok(1));
    let only_old = [old.public_key()];
    assert_eq!(
        ring(&only_old).authenticate(&s),
        Err(ImageError::UnknownKey)
    );
    assert_eq!(ring(&[]).authenticate(&s), Err(ImageError::UnknownKey));
}

#[test]
fn every_payload_and_hashed_byte_is_covered_by_the_hash() {
    let key = signer(1);
    let img = build(&spec_v(1), &payload(100), &key);
    let keys = [key.public_key()];
    let hashed = scan_slice(&img, SLOT).unwrap().hashed_len() as usize;
    // Header fields, padding, payload and protected TLV values: a flip is either a structural
    // error or a hash mismatch, never accepted.
    for i in (0..hashed).step_by(3) {
        let mut bad = img.clone();
        bad[i] ^= 0x10;
        assert!(
            verify_slice(&bad, SLOT, &ring(&keys)).is_err(),
            "byte {i} not covered"
        );
    }
    let mut bad = img.clone();
    bad[0x200 + 50] ^= 1;
    assert_eq!(
        verify_slice(&bad, SLOT, &ring(&keys)),
        Err(ImageError::HashMismatch)
    );
}

#[test]
fn a_flipped_signature_or_key_hash_is_refused() {
    let key = signer(1);
    let img = build(&spec_v(1), &payload(100), &key);
    let keys = [key.public_key()];
    let mut bad = img.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        verify_slice(&bad, SLOT, &ring(&keys)),
        Err(ImageError::BadSignature)
    );
    let mut bad = img.clone();
    let keyhash_value = img.len() - 64 - 4 - 32;
    bad[keyhash_value] ^= 1;
    assert_eq!(
        verify_slice(&bad, SLOT, &ring(&keys)),
        Err(ImageError::UnknownKey)
    );
}

#[test]
fn header_defects_have_their_own_errors() {
    let key = signer(1);
    let img = build(&spec_v(1), &payload(100), &key);
    let mut bad = img.clone();
    bad[3] = 0;
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::BadMagic(0x00f3_b83d))
    );
    let mut bad = img.clone();
    bad[8..10].copy_from_slice(&16u16.to_le_bytes());
    assert_eq!(scan_slice(&bad, SLOT), Err(ImageError::HeaderTooSmall(16)));
    let mut bad = img.clone();
    bad[16..20].copy_from_slice(&0x20u32.to_le_bytes());
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::UnsupportedFlags(0x20))
    );
    // Image larger than the slot, checked both by the header and by the TLV area.
    assert!(matches!(
        scan_slice(&img, 0x200 + 100),
        Err(ImageError::ImageTooLarge { .. })
    ));
    assert!(matches!(
        scan_slice(&img, img.len() as u32 - 1),
        Err(ImageError::ImageTooLarge { .. })
    ));
    assert!(scan_slice(&img, img.len() as u32).is_ok());
    let mut bad = img.clone();
    bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::ImageTooLarge {
            needed: u32::MAX,
            slot: SLOT
        })
    );
}

/// Offset of the protected area in an image built from `spec_v` with `len` payload bytes.
fn prot_at(len: usize) -> usize {
    0x200 + len
}

#[test]
fn tlv_area_defects_have_their_own_errors() {
    let key = signer(1);
    let img = build(&spec_v(1), &payload(100), &key);
    let p = prot_at(100);
    let u = p + 12; // protected area: info + SEC_CNT
    let mut bad = img.clone();
    bad[p] = 0x07;
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::BadTlvMagic {
            area: Area::Protected,
            found: 0x6907
        })
    );
    let mut bad = img.clone();
    bad[p + 2] = 16;
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::ProtectedSizeMismatch {
            header: 12,
            info: 16
        })
    );
    let mut bad = img.clone();
    bad[u + 1] = 0x70;
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::BadTlvMagic {
            area: Area::Unprotected,
            found: 0x7007
        })
    );
    // Unprotected area longer than the slot.
    let mut bad = img.clone();
    bad[u + 2..u + 4].copy_from_slice(&0xfff0u16.to_le_bytes());
    assert!(matches!(
        scan_slice(&bad, img.len() as u32 + 16),
        Err(ImageError::ImageTooLarge { .. })
    ));
    // Area shorter than its info word.
    let mut bad = img.clone();
    bad[u + 2..u + 4].copy_from_slice(&2u16.to_le_bytes());
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::TlvAreaTooSmall(Area::Unprotected))
    );
    // An entry whose value runs past the area end.
    let mut bad = img.clone();
    bad[u + 4 + 2..u + 4 + 4].copy_from_slice(&0x200u16.to_le_bytes());
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::TlvAreaOverrun(Area::Unprotected))
    );
    // Area length that leaves a partial entry header at the end.
    let mut bad = img.clone();
    bad.extend_from_slice(&[0, 0]);
    let total = (UNPROTECTED_TLV_SIZE + 2) as u16;
    bad[u + 2..u + 4].copy_from_slice(&total.to_le_bytes());
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::TlvAreaOverrun(Area::Unprotected))
    );
    // The security counter with a wrong length.
    let mut bad = img.clone();
    bad[p + 6] = 3;
    assert_eq!(
        scan_slice(&bad, SLOT),
        Err(ImageError::BadTlvLength {
            ty: types::SEC_CNT,
            len: 3
        })
    );
}

/// Rewrite the unprotected area of `img` (which starts at `u`) with the given entries.
fn with_unprotected(img: &[u8], u: usize, entries: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = img[..u].to_vec();
    let body: usize = entries.iter().map(|(_, v)| 4 + v.len()).sum();
    out.extend_from_slice(&0x6907u16.to_le_bytes());
    out.extend_from_slice(&((4 + body) as u16).to_le_bytes());
    for (ty, v) in entries {
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        out.extend_from_slice(v);
    }
    out
}

#[test]
fn mandatory_duplicate_critical_and_unprotected_tlvs() {
    let key = signer(1);
    let img = build(&spec_v(1), &payload(100), &key);
    let keys = [key.public_key()];
    let u = prot_at(100) + 12;
    let s = scan_slice(&img, SLOT).unwrap();
    let hash = (types::SHA256, s.hash_tlv.to_vec());
    let kh = (types::KEYHASH, s.key_hash.to_vec());
    let sig = (types::ED25519, s.signature.to_vec());
    let scan = |entries: &[(u16, Vec<u8>)]| scan_slice(&with_unprotected(&img, u, entries), SLOT);

    assert!(scan(&[hash.clone(), kh.clone(), sig.clone()]).is_ok());
    assert_eq!(
        scan(&[hash.clone(), kh.clone()]),
        Err(ImageError::MissingTlv(types::ED25519))
    );
    assert_eq!(
        scan(&[kh.clone(), sig.clone()]),
        Err(ImageError::MissingTlv(types::SHA256))
    );
    assert_eq!(
        scan(&[hash.clone(), sig.clone()]),
        Err(ImageError::MissingTlv(types::KEYHASH))
    );
    assert_eq!(
        scan(&[hash.clone(), hash.clone(), kh.clone(), sig.clone()]),
        Err(ImageError::DuplicateTlv(types::SHA256))
    );
    assert_eq!(
        scan(&[
            hash.clone(),
            kh.clone(),
            (types::ENC_X25519, vec![0; 80]),
            sig.clone()
        ]),
        Err(ImageError::UnknownCriticalTlv(types::ENC_X25519))
    );
    assert_eq!(
        scan(&[
            hash.clone(),
            kh.clone(),
            sig.clone(),
            (types::SEC_CNT, vec![0; 4])
        ]),
        Err(ImageError::TlvNotProtected(types::SEC_CNT))
    );
    // An identity the signature does not cover is refused, not ignored.
    for ty in [types::UUID_VID, types::UUID_CID] {
        assert_eq!(
            scan(&[hash.clone(), kh.clone(), sig.clone(), (ty, vec![7; 16])]),
            Err(ImageError::TlvNotProtected(ty))
        );
    }
    assert_eq!(
        scan(&[(types::SHA256, vec![0; 31]), kh.clone(), sig.clone()]),
        Err(ImageError::BadTlvLength {
            ty: types::SHA256,
            len: 31
        })
    );
    // Vendor and informational TLVs are skipped; the image still authenticates.
    let with_vendor = with_unprotected(&img, u, &[hash, (0x00a5, vec![1, 2, 3]), kh, sig]);
    assert!(verify_slice(&with_vendor, SLOT, &ring(&keys)).is_ok());
}

#[test]
fn dependencies_are_extracted_and_bounded() {
    let key = signer(3);
    let deps: Vec<Dependency> = (0..MAX_DEPENDENCIES as u8)
        .map(|i| Dependency {
            component: i + 1,
            min_version: ImageVersion::new(i, 1, 0, 0),
        })
        .collect();
    let mut spec = spec_v(2);
    spec.dependencies = &deps;
    let img = build(&spec, &payload(33), &key);
    let keys = [key.public_key()];
    let s = verify_slice(&img, SLOT, &ring(&keys)).unwrap();
    assert_eq!(s.dependencies.as_slice(), &deps[..]);
    let too_many: Vec<Dependency> = deps.iter().chain(deps.first()).copied().collect();
    spec.dependencies = &too_many;
    let img = build(&spec, &payload(33), &key);
    assert_eq!(scan_slice(&img, SLOT), Err(ImageError::TooManyDependencies));
}

#[test]
fn vendor_and_class_ids_are_protected_and_checked_against_the_device() {
    let key = signer(4);
    let keys = [key.public_key()];
    let vid = [0x11u8; 16];
    let cid = [0x22u8; 16];
    let mut spec = spec_v(3);
    spec.vendor_id = Some(vid);
    spec.class_id = Some(cid);
    let img = build(&spec, &payload(200), &key);
    let s = scan_slice(&img, SLOT).unwrap();
    assert_eq!((s.vendor_id, s.class_id), (Some(vid), Some(cid)));
    // imgtool's order and sizes: counter, then VID, then CID, each a 16-byte value.
    let prot = prot_at(200);
    assert_eq!(&img[prot + 12..prot + 16], &[0x74, 0, 16, 0]);
    assert_eq!(&img[prot + 16..prot + 32], &vid);
    assert_eq!(&img[prot + 32..prot + 36], &[0x75, 0, 16, 0]);

    let device = |vendor_id, class_id| {
        KeyRing::new(&keys).with_identity(ImageIdentity {
            vendor_id,
            class_id,
        })
    };
    // No identity configured: anything authentic. Matching ids: accepted.
    assert!(verify_slice(&img, SLOT, &device(None, None)).is_ok());
    assert!(verify_slice(&img, SLOT, &device(Some(vid), Some(cid))).is_ok());
    assert!(verify_slice(&img, SLOT, &device(Some(vid), None)).is_ok());
    // A different vendor or class: refused as not for this device (NOT_PERMITTED).
    let wrong = [0x33u8; 16];
    for ring in [device(Some(wrong), None), device(Some(vid), Some(wrong))] {
        assert_eq!(
            verify_slice(&img, SLOT, &ring),
            Err(ImageError::WrongDevice)
        );
    }
    assert_eq!(
        ImageError::WrongDevice.psa_error(),
        fwu_shared::Error::NotPermitted
    );
    // Missing ids: refused by a device that has them.
    let plain = build(&spec_v(3), &payload(200), &key);
    assert_eq!(
        verify_slice(&plain, SLOT, &device(Some(vid), None)),
        Err(ImageError::WrongDevice)
    );
    spec.class_id = None;
    let vid_only = build(&spec, &payload(200), &key);
    assert_eq!(
        verify_slice(&vid_only, SLOT, &device(Some(vid), Some(cid))),
        Err(ImageError::WrongDevice)
    );
    // The decoded key ring (the bootloader's) gives the same verdicts.
    for (image, ring) in [
        (&img, device(Some(vid), Some(cid))),
        (&plain, device(Some(vid), None)),
        (&vid_only, device(None, Some(cid))),
    ] {
        let s = scan_slice(image, SLOT).unwrap();
        assert_eq!(
            DecodedKeyRing::new(ring).authenticate(&s),
            ring.authenticate(&s)
        );
    }
    // Two VIDs: a duplicate.
    let mut dup = img.clone();
    dup[prot + 32] = 0x74;
    assert_eq!(
        scan_slice(&dup, SLOT),
        Err(ImageError::DuplicateTlv(types::UUID_VID))
    );
}

#[test]
fn an_image_without_protected_tlvs_is_valid() {
    let key = signer(4);
    let spec = ImageSpec::new(ImageVersion::new(0, 0, 1, 0));
    let img = build(&spec, &payload(5), &key);
    let keys = [key.public_key()];
    let s = verify_slice(&img, SLOT, &ring(&keys)).unwrap();
    assert_eq!(s.security_counter, None);
    assert_eq!(s.header.protect_tlv_size, 0);
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    let key = signer(1);
    let img = build(&spec_v(1), &payload(40), &key);
    for cut in 0..img.len() {
        assert!(scan_slice(&img[..cut], SLOT).is_err(), "cut {cut}");
    }
}

/// A RAM flash whose reads must be `R`-aligned, for the flash drivers.
struct RamFlash<const R: usize> {
    data: Vec<u8>,
}

#[derive(Debug)]
struct OutOfBounds;
impl NorFlashError for OutOfBounds {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::OutOfBounds
    }
}
impl<const R: usize> ErrorType for RamFlash<R> {
    type Error = OutOfBounds;
}
impl<const R: usize> ReadNorFlash for RamFlash<R> {
    const READ_SIZE: usize = R;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
        let o = offset as usize;
        assert_eq!(o % R, 0, "unaligned read");
        assert_eq!(bytes.len() % R, 0, "unaligned length");
        bytes.copy_from_slice(self.data.get(o..o + bytes.len()).ok_or(OutOfBounds)?);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.data.len()
    }
}
impl<const R: usize> embedded_storage_async::nor_flash::ReadNorFlash for RamFlash<R> {
    const READ_SIZE: usize = R;
    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
        ReadNorFlash::read(self, offset, bytes)
    }
    fn capacity(&self) -> usize {
        self.data.len()
    }
}

fn block_on<F: core::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        core::task::Poll::Ready(v) => v,
        core::task::Poll::Pending => panic!("flash futures never pend"),
    }
}

#[test]
fn flash_drivers_match_the_slice_driver() {
    let key = signer(5);
    let img = build(&spec_v(3), &payload(3001), &key);
    let expected = scan_slice(&img, SLOT).unwrap();
    let base = 0x1003u32; // deliberately unaligned slot base
    let mut data = vec![0xffu8; 0x10000];
    data[base as usize..base as usize + img.len()].copy_from_slice(&img);
    for buf_len in [64usize, 100, 512] {
        let mut buf = vec![0u8; buf_len];
        let mut f1 = RamFlash::<1> { data: data.clone() };
        assert_eq!(scan_flash(&mut f1, base, SLOT, &mut buf), Ok(expected));
        let mut f4 = RamFlash::<4> { data: data.clone() };
        assert_eq!(scan_flash(&mut f4, base, SLOT, &mut buf), Ok(expected));
        let mut f16 = RamFlash::<16> { data: data.clone() };
        assert_eq!(
            block_on(scan_flash_async(&mut f16, base, SLOT, &mut buf)),
            Ok(expected)
        );
    }
    // A buffer too small for the largest structural read is refused, not overrun.
    let mut tiny = [0u8; 16];
    let mut f1 = RamFlash::<1> { data: data.clone() };
    assert_eq!(
        scan_flash(&mut f1, base, SLOT, &mut tiny),
        Err(ImageError::Truncated)
    );
    // A slot that runs off the end of the device is a storage error.
    let mut f1 = RamFlash::<1> {
        data: data[..base as usize + 100].to_vec(),
    };
    let mut buf = [0u8; 64];
    assert_eq!(
        scan_flash(&mut f1, base, SLOT, &mut buf),
        Err(ImageError::Storage)
    );
}

#[test]
fn the_extent_is_known_without_hashing() {
    let key = signer(6);
    let img = build(&spec_v(1), &payload(5000), &key);
    let mut data = vec![0xffu8; 0x4000];
    data[0x100..0x100 + img.len()].copy_from_slice(&img);
    let mut f = RamFlash::<1> { data };
    let mut buf = [0u8; 64];
    let total = block_on(fwu_shared::image::image_extent_async(
        &mut f, 0x100, SLOT, &mut buf,
    ))
    .unwrap();
    assert_eq!(total as usize, img.len());
    // A broken structure is still an error.
    f.data[0x100] = 0;
    assert!(block_on(fwu_shared::image::image_extent_async(
        &mut f, 0x100, SLOT, &mut buf
    ))
    .is_err());
}

/// The bootloader's key ring keeps the key it decoded last (one decoding per boot, not per
/// image): its verdicts are the plain key ring's, image after image, whichever key signed the
/// previous one (the kept key is replaced), for valid, tampered, unknown-key and malleated
/// images.
#[test]
fn the_decoded_key_ring_gives_the_key_rings_verdicts() {
    use fwu_shared::image::ed25519::malleated;
    use fwu_shared::image::DecodedKeyRing;
    let (a, b, c) = (signer(1), signer(2), signer(3));
    let keys = [a.public_key(), b.public_key()];
    let ring = KeyRing::new(&keys);
    let mut decoded = DecodedKeyRing::new(ring);
    let valid_a = build(&spec_v(1), &payload(3000), &a);
    let valid_b = build(&spec_v(2), &payload(2000), &b);
    let unknown = build(&spec_v(3), &payload(1000), &c);
    let mut tampered = valid_a.clone();
    tampered[0x200 + 10] ^= 1;
    let mut twin = valid_b.clone();
    let sig_at = twin.len() - 64;
    let sig: [u8; 64] = twin[sig_at..].try_into().unwrap();
    twin[sig_at..].copy_from_slice(&malleated(&sig).unwrap());
    let images = [
        &valid_a, &valid_a, &valid_b, &tampered, &valid_a, &unknown, &twin, &valid_b,
    ];
    let mut verdicts = Vec::new();
    for image in images {
        let scanned = scan_slice(image, SLOT).unwrap();
        let want = ring.authenticate(&scanned);
        assert_eq!(decoded.authenticate(&scanned), want);
        verdicts.push(want);
    }
    assert_eq!(
        verdicts,
        [
            Ok(0),
            Ok(0),
            Ok(1),
            Err(ImageError::HashMismatch),
            Ok(0),
            Err(ImageError::UnknownKey),
            Err(ImageError::NonCanonicalSignature),
            Ok(1)
        ]
    );
}
