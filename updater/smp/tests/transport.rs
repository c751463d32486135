//! The serial transport end to end: request lines in (with console text and a corrupt packet
//! among them), answer lines out, as a host tool sees them on the UART.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use embassy_futures::block_on;
use fwu_shared::layout::ComponentSlots;
use fwu_shared::ImageVersion;
use fwu_sim::Device;
use fwu_smp::header::{Header, Op, VERSION_2};
use fwu_smp::serial::{Decoder, Encoder, MAX_LINE};
use fwu_smp::server::Server;
use fwu_smp::transport::serve;

type Dev = Device<4096, 4>;

/// A UART: reads the scripted input, then fails (which ends `serve`); collects the output.
struct Uart {
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
}

#[derive(Debug)]
struct Done;

impl core::fmt::Display for Done {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("end of the scripted input")
    }
}

impl std::error::Error for Done {}

impl embedded_io_async::Error for Done {
    fn kind(&self) -> embedded_io_async::ErrorKind {
        embedded_io_async::ErrorKind::Other
    }
}

impl embedded_io_async::ErrorType for Uart {
    type Error = Done;
}

impl embedded_io_async::Read for Uart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Done> {
        if self.pos >= self.input.len() {
            return Err(Done);
        }
        // A few bytes at a time, as a UART delivers them.
        let n = buf.len().min(7).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl embedded_io_async::Write for Uart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Done> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Done> {
        Ok(())
    }
}

fn lines(packet: &[u8]) -> Vec<u8> {
    let mut enc = Encoder::new(packet);
    let mut line = [0u8; MAX_LINE];
    let mut out = Vec::new();
    while let Some(n) = enc.next_line(&mut line) {
        out.extend_from_slice(&line[..n]);
    }
    out
}

fn request(seq: u8, group: u16, id: u8, op: Op, body: &[u8]) -> Vec<u8> {
    let h = Header {
        op,
        version: VERSION_2,
        flags: 0,
        len: body.len() as u16,
        group,
        seq,
        id,
    };
    let mut p = h.to_bytes().to_vec();
    p.extend_from_slice(body);
    p
}

#[test]
fn requests_on_a_shared_console_are_answered_in_order() {
    let slots = [ComponentSlots {
        id: 0,
        primary: 0x8000,
        secondary: 0x10000,
        sectors: 8,
    }];
    let dev = Dev::new(0x22000 / 4096, 8, &slots);
    dev.factory(
        0,
        &Dev::image(ImageVersion::new(1, 0, 0, 0), 9_000, 1, &[], 3),
    );
    dev.boot().unwrap();
    let svc = dev.service().unwrap();
    let ids = [0u8];
    let mut server = Server::new(&svc, &ids, 1024, "fwu transport test");

    // echo "hi" (CBOR {"d": "hi"}), then a corrupt copy (one base64 character changed), then
    // MCUmgr parameters, with log text around them.
    let echo = request(1, 0, 0, Op::Write, &[0xa1, 0x61, b'd', 0x62, b'h', b'i']);
    let mut input = b"fwu-app: version=1.0.0\r\n".to_vec();
    input.extend(lines(&echo));
    let mut corrupt = lines(&echo);
    corrupt[5] = if corrupt[5] == b'A' { b'B' } else { b'A' };
    input.extend(corrupt);
    input.extend(b"fwu-app: ready\n");
    input.extend(lines(&request(2, 0, 6, Op::Read, &[])));
    let mut uart = Uart {
        input,
        pos: 0,
        output: Vec::new(),
    };
    assert!(block_on(serve::<1100, 512, _, _>(&mut uart, &mut server)).is_err());

    let mut dec = Decoder::<1100>::new();
    let mut answers = Vec::new();
    for &b in &uart.output {
        if let Some(r) = dec.push(b) {
            answers.push(r.unwrap().to_vec());
        }
    }
    assert_eq!(answers.len(), 2, "the corrupt packet gets no answer");
    let (h, body) = Header::parse(&answers[0]).unwrap();
    assert_eq!((h.op, h.seq, h.group, h.id), (Op::WriteRsp, 1, 0, 0));
    assert_eq!(body, [0xa1, 0x61, b'r', 0x62, b'h', b'i']);
    let (h, _) = Header::parse(&answers[1]).unwrap();
    assert_eq!((h.op, h.seq, h.group, h.id), (Op::ReadRsp, 2, 0, 6));
}
