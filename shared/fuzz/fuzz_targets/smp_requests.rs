//! Fuzz target `smp_requests`: untrusted bytes through the SMP server of `fwu-smp`, over the
//! real update service on a simulated device (two components, factory images booted once).
//!
//! Input layout: the first byte chooses the path. Even: the rest is a serial byte stream (the
//! console framing: base64 lines, markers, length, CRC), decoded packet by packet and each
//! packet answered. Odd: the rest is cut into packets at each `0x00 0x00 0xff` and each is
//! answered directly (so that the header and CBOR decoders are reached without framing).
//!
//! Properties checked (besides "no panic"):
//! * every answer is a response to its request: op + 1, the same version, group, sequence
//!   number and command, a length that matches its body, within the response buffer;
//! * the serial decoder hands out nothing larger than its buffer allows;
//! * no request moves an active image: both primary slots are byte for byte as before (an SMP
//!   request reaches the flash only through the update service, whose writes go to the second
//!   slot and the state partition).
#![no_main]

use embassy_futures::block_on;
use fwu_shared::layout::ComponentSlots;
use fwu_shared::ImageVersion;
use fwu_sim::Device;
use fwu_smp::header::Header;
use fwu_smp::serial::Decoder;
use fwu_smp::server::Server;
use libfuzzer_sys::fuzz_target;

type Dev = Device<4096, 4>;

const SLOTS: [ComponentSlots; 2] = fwu_sim::device::TWO_COMPONENTS;

/// The device every input starts from (cloned: a copy of the cells). One per thread: the
/// simulated device is not `Sync`.
fn template() -> Dev {
    thread_local! {
        static DEV: Dev = build_template();
    }
    DEV.with(Dev::clone)
}

fn build_template() -> Dev {
    {
        let dev = Dev::new(0x22000 / 4096, 8, &SLOTS);
        dev.factory(
            0,
            &Dev::image(ImageVersion::new(1, 0, 0, 0), 9_000, 1, &[], 1),
        );
        dev.factory(
            1,
            &Dev::image(ImageVersion::new(1, 0, 0, 0), 3_000, 1, &[], 2),
        );
        dev.boot()
            .unwrap_or_else(|e| panic!("template boot: {e:?}"));
        dev
    }
}

fn primaries(dev: &Dev) -> Vec<u8> {
    let f = dev.flash();
    let c = f.contents();
    SLOTS
        .iter()
        .flat_map(|s| {
            let start = s.primary as usize;
            c[start..start + s.sectors as usize * 4096].to_vec()
        })
        .collect()
}

fn answer(server: &mut Server<'_, fwu_sim::Service<4096, 4>>, packet: &[u8]) {
    let mut out = [0u8; 512];
    let (n, _) = block_on(server.handle(packet, &mut out));
    if n == 0 {
        return;
    }
    assert!(n <= out.len());
    let (req, _) = Header::parse(packet).unwrap_or_else(|e| panic!("answered a bad header: {e:?}"));
    let (rsp, body) = Header::parse(&out[..n])
        .unwrap_or_else(|e| panic!("malformed answer {e:?}: {:?}", &out[..n]));
    assert_eq!(Some(rsp.op), req.op.response(), "op");
    assert_eq!(
        (rsp.version, rsp.group, rsp.seq, rsp.id),
        (req.version, req.group, req.seq, req.id)
    );
    assert_eq!(usize::from(rsp.len), body.len());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let dev = template();
    let before = primaries(&dev);
    {
        let svc = dev.service().unwrap_or_else(|e| panic!("service: {e:?}"));
        let ids = [0u8, 1];
        let mut server = Server::new(&svc, &ids, 512, "fuzz");
        if mode % 2 == 0 {
            let mut decoder = Decoder::<516>::new();
            let max = decoder.max_packet();
            for &b in rest {
                if let Some(Ok(packet)) = decoder.push(b) {
                    assert!(packet.len() <= max);
                    let packet = packet.to_vec();
                    answer(&mut server, &packet);
                }
            }
        } else {
            let mut start = 0;
            let mut i = 0;
            while i <= rest.len() {
                let end = rest.len().min(i);
                if i == rest.len() || rest[i..].starts_with(&[0, 0, 0xff]) {
                    answer(&mut server, &rest[start..end]);
                    start = end + 3;
                    i = start;
                } else {
                    i += 1;
                }
            }
        }
    }
    assert!(
        primaries(&dev) == before,
        "an SMP request changed an active image"
    );
});
