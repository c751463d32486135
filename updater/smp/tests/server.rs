//! The SMP server over the real update service on a simulated device: the requests mcumgr
//! tools send (built here as `smpclient` builds them), the MCUboot-style answers, the update
//! story (upload, test, reboot, confirm), and every error form.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use embassy_futures::block_on;
use fwu_shared::ImageVersion;
use fwu_sim::Device;
use fwu_smp::header::{Header, Op, VERSION_1, VERSION_2};
use fwu_smp::server::{After, Server};
use fwu_smp::status::{img, mgmt};
use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

type Dev = Device<4096, 4>;

fn device() -> Dev {
    let slots = fwu_sim::device::TWO_COMPONENTS;
    let dev = Dev::new(0x22000 / 4096, 8, &slots);
    dev.factory(0, &image(1, 1, 10));
    dev.factory(1, &image(1, 1, 90));
    dev.boot().unwrap();
    dev
}

fn image(major: u8, counter: u32, seed: u8) -> Vec<u8> {
    Dev::image(
        ImageVersion::new(major, 2, 3, 0),
        9_000 + usize::from(seed),
        counter,
        &[],
        seed,
    )
}

fn digest(image: &[u8]) -> [u8; 32] {
    fwu_shared::image::scan_slice(image, u32::MAX)
        .unwrap()
        .digest
}

/// A CBOR value of a response, enough to check the answers.
#[derive(Clone, Debug, PartialEq)]
enum V {
    U(u64),
    I(i64),
    B(Vec<u8>),
    S(String),
    Bool(bool),
    A(Vec<V>),
    M(Vec<(String, V)>),
}

impl V {
    fn get(&self, k: &str) -> Option<&V> {
        match self {
            V::M(m) => m.iter().find(|(key, _)| key == k).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn value(d: &mut Decoder<'_>) -> V {
    match d.datatype().unwrap() {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => V::U(d.u64().unwrap()),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => V::I(d.i64().unwrap()),
        Type::Bytes => V::B(d.bytes().unwrap().to_vec()),
        Type::String => V::S(d.str().unwrap().to_string()),
        Type::Bool => V::Bool(d.bool().unwrap()),
        Type::Array => {
            let n = d.array().unwrap().unwrap();
            V::A((0..n).map(|_| value(d)).collect())
        }
        Type::Map => {
            let n = d.map().unwrap().unwrap();
            V::M(
                (0..n)
                    .map(|_| (d.str().unwrap().to_string(), value(d)))
                    .collect(),
            )
        }
        t => panic!("unexpected CBOR type {t:?}"),
    }
}

struct Client<'s, 'a> {
    server: Server<'a, fwu_sim::device::Service<4096, 4>>,
    seq: u8,
    version: u8,
    _s: core::marker::PhantomData<&'s ()>,
}

/// A client of a fresh server over `svc` speaking SMP `version`.
fn client<'a>(
    svc: &'a fwu_sim::device::Service<4096, 4>,
    ids: &'a [u8],
    buf_size: u16,
    version: u8,
) -> Client<'a, 'a> {
    Client {
        server: Server::new(svc, ids, buf_size, "fwu sim"),
        seq: 0,
        version,
        _s: Default::default(),
    }
}

impl Client<'_, '_> {
    /// Send one request; the decoded response body (and the header checked).
    fn call(&mut self, op: Op, group: u16, id: u8, body: &[u8]) -> (V, After) {
        self.seq = self.seq.wrapping_add(1);
        let h = Header {
            op,
            version: self.version,
            flags: 0,
            len: body.len() as u16,
            group,
            seq: self.seq,
            id,
        };
        let mut packet = h.to_bytes().to_vec();
        packet.extend_from_slice(body);
        let mut out = [0u8; 1024];
        let (n, after) = block_on(self.server.handle(&packet, &mut out));
        assert!(n >= 8, "no response");
        let (rh, rbody) = Header::parse(&out[..n]).unwrap();
        assert_eq!(
            (rh.group, rh.seq, rh.id, rh.version),
            (group, self.seq, id, self.version)
        );
        assert_eq!(rh.op, op.response().unwrap());
        (value(&mut Decoder::new(rbody)), after)
    }
}

/// A CBOR map body from `f`'s entries.
fn body(f: impl FnOnce(&mut Encoder<Vec<u8>>)) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    f(&mut e);
    e.into_writer()
}

fn upload_chunk(off: u32, data: &[u8], first: Option<(u32, [u8; 32])>) -> Vec<u8> {
    body(|e| {
        e.map(if first.is_some() { 5 } else { 2 }).unwrap();
        if let Some((len, sha)) = first {
            e.str("image").unwrap().u8(0).unwrap();
            e.str("len").unwrap().u32(len).unwrap();
            e.str("sha").unwrap().bytes(&sha).unwrap();
        }
        e.str("off").unwrap().u32(off).unwrap();
        e.str("data").unwrap().bytes(data).unwrap();
    })
}

/// Upload `img` in chunks of `chunk` bytes (smpclient's way: resend from the offset answered);
/// the last answer.
fn upload(c: &mut Client<'_, '_>, img: &[u8], chunk: usize) -> V {
    let sha = digest(img);
    let mut off = 0usize;
    loop {
        let end = (off + chunk).min(img.len());
        let first = (off == 0).then_some((img.len() as u32, sha));
        let (r, _) = c.call(
            Op::Write,
            1,
            1,
            &upload_chunk(off as u32, &img[off..end], first),
        );
        match r.get("off") {
            Some(V::U(next)) if *next as usize == img.len() => return r,
            Some(V::U(next)) => {
                assert!(*next as usize > off, "no progress at {off}");
                off = *next as usize;
            }
            _ => return r,
        }
    }
}

fn state(c: &mut Client<'_, '_>) -> Vec<V> {
    let (r, _) = c.call(Op::Read, 1, 0, &[]);
    match r.get("images") {
        Some(V::A(a)) => a.clone(),
        other => panic!("no images: {other:?}"),
    }
}

fn entry(images: &[V], image: u64, slot: u64) -> Option<V> {
    images
        .iter()
        .find(|e| e.get("image") == Some(&V::U(image)) && e.get("slot") == Some(&V::U(slot)))
        .cloned()
}

#[test]
fn an_update_with_stock_smp_requests() {
    let dev = device();
    let ids = [0u8, 1];
    let svc = dev.service().unwrap();
    let mut c = client(&svc, &ids, 1024, VERSION_2);
    // State: the factory images, active and confirmed, with their hashes.
    let images = state(&mut c);
    assert_eq!(images.len(), 2);
    let s0 = entry(&images, 0, 0).unwrap();
    assert_eq!(s0.get("version"), Some(&V::S("1.2.3".into())));
    assert_eq!(
        s0.get("hash"),
        Some(&V::B(digest(&image(1, 1, 10)).to_vec()))
    );
    assert_eq!(s0.get("confirmed"), Some(&V::Bool(true)));
    assert_eq!(s0.get("active"), Some(&V::Bool(true)));

    // Upload v2 in odd-sized chunks: the device answers whole write units and the client
    // continues from there; the last chunk verifies the image.
    let v2 = image(2, 2, 20);
    let last = upload(&mut c, &v2, 301);
    assert_eq!(last.get("off"), Some(&V::U(v2.len() as u64)));
    assert_eq!(last.get("match"), Some(&V::Bool(true)));
    let images = state(&mut c);
    let s1 = entry(&images, 0, 1).unwrap();
    assert_eq!(s1.get("version"), Some(&V::S("2.2.3".into())));
    assert_eq!(s1.get("hash"), Some(&V::B(digest(&v2).to_vec())));
    assert_eq!(s1.get("pending"), Some(&V::Bool(false)));

    // Test: install for the next boot; slot 1 is pending.
    let test = body(|e| {
        e.map(2).unwrap();
        e.str("hash").unwrap().bytes(&digest(&v2)).unwrap();
        e.str("confirm").unwrap().bool(false).unwrap();
    });
    let (r, _) = c.call(Op::Write, 1, 0, &test);
    let pending = match r.get("images") {
        Some(V::A(a)) => entry(a, 0, 1).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(pending.get("pending"), Some(&V::Bool(true)));

    // Reset: answered, then the caller reboots.
    let (r, after) = c.call(
        Op::Write,
        0,
        5,
        &body(|e| {
            e.map(0).unwrap();
        }),
    );
    assert_eq!((r, after), (V::M(vec![]), After::Reset));
    drop(svc);
    dev.boot().unwrap();
    let svc = dev.service().unwrap();
    let mut c = client(&svc, &ids, 1024, VERSION_1);
    // v2 runs on trial: not confirmed; confirm with no hash accepts it.
    let s0 = entry(&state(&mut c), 0, 0).unwrap();
    assert_eq!(s0.get("version"), Some(&V::S("2.2.3".into())));
    assert_eq!(s0.get("confirmed"), Some(&V::Bool(false)));
    let confirm = body(|e| {
        e.map(1).unwrap();
        e.str("confirm").unwrap().bool(true).unwrap();
    });
    let (r, _) = c.call(Op::Write, 1, 0, &confirm);
    let s0 = match r.get("images") {
        Some(V::A(a)) => entry(a, 0, 0).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(s0.get("confirmed"), Some(&V::Bool(true)));
    assert_eq!(
        block_on(svc.query(0)).unwrap().state,
        fwu_shared::component::PSA_FWU_UPDATED
    );
    // Erase the second slot (the backup): clean.
    let (r, _) = c.call(Op::Write, 1, 5, &[]);
    assert_eq!(r, V::M(vec![]));
    assert_eq!(
        block_on(svc.query(0)).unwrap().state,
        fwu_shared::component::PSA_FWU_READY
    );
}

fn err_v2(r: &V) -> (u64, u64) {
    match r.get("err") {
        Some(e) => match (e.get("group"), e.get("rc")) {
            (Some(V::U(g)), Some(V::U(rc))) => (*g, *rc),
            other => panic!("{other:?}"),
        },
        None => panic!("no err in {r:?}"),
    }
}

#[test]
fn refusals_are_reported_as_the_tools_expect() {
    let dev = device();
    let ids = [0u8, 1];
    let svc = dev.service().unwrap();
    let mut c = client(&svc, &ids, 1024, VERSION_2);
    // A bad signature: the last chunk is refused with INVALID_HASH (v2) ...
    let mut bad = image(3, 3, 30);
    let n = bad.len();
    bad[n - 1] ^= 1;
    let r = upload(&mut c, &bad, 512);
    assert_eq!(err_v2(&r), (1, u64::from(img::INVALID_HASH)));
    // ... and as EACCESSDENIED in v1.
    c.version = VERSION_1;
    let r = upload(&mut c, &bad, 512);
    assert_eq!(r.get("rc"), Some(&V::U(u64::from(mgmt::EACCESSDENIED))));
    c.version = VERSION_2;
    // A downgrade (below the running v1.2.3): CURRENT_VERSION_IS_NEWER.
    let old = Dev::image(ImageVersion::new(0, 9, 0, 0), 9_000, 1, &[], 40);
    assert_eq!(
        err_v2(&upload(&mut c, &old, 1024)),
        (1, u64::from(img::CURRENT_VERSION_IS_NEWER))
    );
    // Too large for the slot, unknown image, missing length.
    let big = upload_chunk(0, &[0; 16], Some((1 << 20, [0; 32])));
    assert_eq!(
        err_v2(&c.call(Op::Write, 1, 1, &big).0),
        (1, u64::from(img::INVALID_IMAGE_TOO_LARGE))
    );
    let unknown = body(|e| {
        e.map(4).unwrap();
        e.str("image").unwrap().u8(7).unwrap();
        e.str("len").unwrap().u32(100).unwrap();
        e.str("off").unwrap().u32(0).unwrap();
        e.str("data").unwrap().bytes(&[1]).unwrap();
    });
    assert_eq!(
        err_v2(&c.call(Op::Write, 1, 1, &unknown).0),
        (1, u64::from(img::INVALID_SLOT))
    );
    // A chunk before any first chunk: INVALID_OFFSET.
    let mut fresh = client(&svc, &ids, 1024, VERSION_2);
    assert_eq!(
        err_v2(
            &fresh
                .call(Op::Write, 1, 1, &upload_chunk(512, &[0; 8], None))
                .0
        ),
        (1, u64::from(img::INVALID_OFFSET))
    );
    // Unknown group and command, malformed CBOR.
    assert_eq!(
        err_v2(&c.call(Op::Read, 9, 0, &[]).0),
        (0, u64::from(mgmt::ENOTSUP))
    );
    assert_eq!(
        err_v2(&c.call(Op::Read, 0, 99, &[]).0),
        (0, u64::from(mgmt::ENOTSUP))
    );
    assert_eq!(
        err_v2(&c.call(Op::Write, 1, 1, &[0xa1, 0x61]).0),
        (0, u64::from(mgmt::EINVAL))
    );
    // Test with a hash nothing has: HASH_NOT_FOUND.
    let test = body(|e| {
        e.map(1).unwrap();
        e.str("hash").unwrap().bytes(&[9; 32]).unwrap();
    });
    assert_eq!(
        err_v2(&c.call(Op::Write, 1, 0, &test).0),
        (1, u64::from(img::HASH_NOT_FOUND))
    );
}

#[test]
fn an_interrupted_upload_resumes_from_the_device_offset() {
    let dev = device();
    let ids = [0u8, 1];
    let svc = dev.service().unwrap();
    let mut c = client(&svc, &ids, 1024, VERSION_2);
    let v2 = image(2, 2, 21);
    let sha = digest(&v2);
    let first = upload_chunk(0, &v2[..1000], Some((v2.len() as u32, sha)));
    assert_eq!(
        c.call(Op::Write, 1, 1, &first).0.get("off"),
        Some(&V::U(1000))
    );
    let (r, _) = c.call(Op::Write, 1, 1, &upload_chunk(1000, &v2[1000..3000], None));
    assert_eq!(r.get("off"), Some(&V::U(3000)));
    // The host tool is killed and started again: its first chunk (same image, length and
    // hash) is answered with the offset reached, and the upload goes on from there.
    let (r, _) = c.call(Op::Write, 1, 1, &first);
    assert_eq!(r.get("off"), Some(&V::U(3000)));
    // An out-of-order chunk is answered with the expected offset, nothing written.
    let (r, _) = c.call(Op::Write, 1, 1, &upload_chunk(5000, &v2[5000..5100], None));
    assert_eq!(r.get("off"), Some(&V::U(3000)));
    let (r, _) = c.call(Op::Write, 1, 1, &upload_chunk(3000, &v2[3000..], None));
    assert_eq!(r.get("off"), Some(&V::U(v2.len() as u64)));
    assert_eq!(
        block_on(svc.query(0)).unwrap().state,
        fwu_shared::component::PSA_FWU_CANDIDATE
    );
    // A different image restarts the download.
    let v3 = image(3, 3, 31);
    let last = upload(&mut c, &v3, 700);
    assert_eq!(last.get("off"), Some(&V::U(v3.len() as u64)));
    assert_eq!(
        block_on(svc.staged_image(0)).unwrap().unwrap().digest,
        digest(&v3)
    );
}

#[test]
fn os_group_answers() {
    let dev = device();
    let ids = [0u8, 1];
    let svc = dev.service().unwrap();
    let mut c = client(&svc, &ids, 512, VERSION_2);
    let echo = body(|e| {
        e.map(1).unwrap();
        e.str("d").unwrap().str("hello").unwrap();
    });
    assert_eq!(
        c.call(Op::Write, 0, 0, &echo).0.get("r"),
        Some(&V::S("hello".into()))
    );
    let (p, _) = c.call(Op::Read, 0, 6, &[]);
    assert_eq!(
        (p.get("buf_size"), p.get("buf_count")),
        (Some(&V::U(512)), Some(&V::U(1)))
    );
    let (b, _) = c.call(Op::Read, 0, 8, &[]);
    assert_eq!(b.get("bootloader"), Some(&V::S("fwu".into())));
    let mode = body(|e| {
        e.map(1).unwrap();
        e.str("query").unwrap().str("mode").unwrap();
    });
    let (m, _) = c.call(Op::Read, 0, 8, &mode);
    assert_eq!(m.get("no-downgrade"), Some(&V::Bool(true)));
    let (i, _) = c.call(Op::Read, 0, 7, &[]);
    assert_eq!(i.get("output"), Some(&V::S("fwu sim".into())));
    let (s, _) = c.call(Op::Read, 1, 6, &[]);
    let images = match s.get("images") {
        Some(V::A(a)) => a.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(images[0].get("max_image_size"), Some(&V::U(8 * 4096)));
}
