//! SMP over a serial console: the framing of mcumgr's serial transport (Zephyr's SMP shell and
//! UART transports, `smpclient`'s `smp.packet`).
//!
//! A packet travels as `length | packet | crc`: `length` is a big-endian `u16` counting the
//! packet and the CRC, `crc` the big-endian CRC-16/XMODEM of the packet. Those bytes are base64
//! encoded (standard alphabet, padded) and cut into lines: the first starts with `0x06 0x09`,
//! each next one with `0x04 0x14`, every one ends with `\n`. Anything else on the console (log
//! lines, a shell) is ignored, so SMP can share a UART with text output.
//!
//! [`Decoder`] takes bytes one at a time (no allocation, one packet buffer of `N` bytes) and
//! hands out each complete packet whose length and CRC check out; a malformed line, bad base64,
//! an oversized packet or a CRC mismatch drops the packet with a [`FrameError`] (the client's
//! request times out, as with every SMP server). [`Encoder`] cuts a response into lines.

use crc::{Crc, CRC_16_XMODEM};

/// The two bytes that open the first line of a packet.
pub const START: [u8; 2] = [0x06, 0x09];
/// The two bytes that open each further line of a packet.
pub const CONTINUE: [u8; 2] = [0x04, 0x14];
/// The longest line the [`Encoder`] writes, markers and newline included (mcumgr's serial
/// default: 127).
pub const MAX_LINE: usize = 127;

const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_XMODEM);

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A character outside the base64 alphabet, or padding in the middle of a line.
    BadBase64,
    /// A line whose base64 is not a whole number of 4-character groups.
    PartialGroup,
    /// The length field is smaller than the CRC, or the packet is larger than the buffer.
    BadLength,
    /// The data went past the length the packet announced.
    Overrun,
    /// The CRC does not match the packet.
    BadCrc,
}

/// Where the decoder is in the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    LineStart,
    /// Read the first byte of a marker (`0x06` or `0x04`).
    Marker(u8),
    /// In the base64 body of an SMP line.
    Body,
    /// In a line that is not SMP (or after an error): skip to its end.
    Skip,
}

/// A streaming decoder of serial SMP lines into packets of at most `N - 4` bytes (`N` holds the
/// length, the packet and the CRC).
#[derive(Clone, Debug)]
pub struct Decoder<const N: usize> {
    buf: [u8; N],
    /// Decoded bytes of the open packet.
    filled: usize,
    /// Base64 characters of the group being read.
    group: [u8; 4],
    group_len: usize,
    /// Padding seen in this line: the line must end with its group.
    padded: bool,
    /// A packet is open (its first line was read) and awaits continuation lines.
    open: bool,
    /// The packet just returned: reset before the next byte.
    delivered: bool,
    state: State,
}

impl<const N: usize> Default for Decoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The 6-bit value of a base64 character, `None` for any other byte.
fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// The base64 character of a 6-bit value.
fn b64_char(v: u8) -> u8 {
    match v & 0x3f {
        v @ 0..=25 => b'A' + v,
        v @ 26..=51 => b'a' + v - 26,
        v @ 52..=61 => b'0' + v - 52,
        62 => b'+',
        _ => b'/',
    }
}

impl<const N: usize> Decoder<N> {
    /// A decoder with nothing read.
    pub const fn new() -> Self {
        Decoder {
            buf: [0; N],
            filled: 0,
            group: [0; 4],
            group_len: 0,
            padded: false,
            open: false,
            delivered: false,
            state: State::LineStart,
        }
    }

    /// The largest packet this decoder accepts.
    pub const fn max_packet(&self) -> usize {
        N.saturating_sub(4)
    }

    /// Forget the open packet (after an error, or a start line).
    fn close(&mut self) {
        self.open = false;
        self.filled = 0;
    }

    fn fail(&mut self, e: FrameError) -> Option<Result<&[u8], FrameError>> {
        self.close();
        self.state = State::Skip;
        Some(Err(e))
    }

    /// Take one byte from the serial line. Returns a complete packet (without length and CRC)
    /// once its last line ends and its CRC checks out, an error when a packet is dropped, and
    /// `None` otherwise. The returned packet stays valid until the next call.
    pub fn push(&mut self, byte: u8) -> Option<Result<&[u8], FrameError>> {
        if self.delivered {
            self.delivered = false;
            self.close();
        }
        match (self.state, byte) {
            (_, b'\n') => {
                let was_body = self.state == State::Body;
                self.state = State::LineStart;
                if was_body {
                    return self.end_of_line();
                }
                None
            }
            (State::Skip, _) => None,
            (State::LineStart, 0x06 | 0x04) => {
                self.state = State::Marker(byte);
                None
            }
            (State::LineStart, b'\r') => None,
            (State::LineStart, _) => {
                self.state = State::Skip;
                None
            }
            (State::Marker(0x06), 0x09) => {
                // A start line opens a new packet, whatever was open.
                self.close();
                self.open = true;
                self.begin_line();
                None
            }
            (State::Marker(0x04), 0x14) if self.open => {
                self.begin_line();
                None
            }
            (State::Marker(_), _) => {
                self.state = State::Skip;
                None
            }
            (State::Body, b'\r') => None,
            (State::Body, c) => self.body_char(c),
        }
    }

    fn begin_line(&mut self) {
        self.state = State::Body;
        self.group_len = 0;
        self.padded = false;
    }

    fn body_char(&mut self, c: u8) -> Option<Result<&[u8], FrameError>> {
        if self.padded && self.group_len == 0 {
            // Data after a padded group in the same line.
            return self.fail(FrameError::BadBase64);
        }
        if c == b'=' {
            // Padding only in the last two places of a group.
            if self.group_len < 2 {
                return self.fail(FrameError::BadBase64);
            }
            self.padded = true;
        } else if self.padded || b64_value(c).is_none() {
            return self.fail(FrameError::BadBase64);
        }
        if let Some(slot) = self.group.get_mut(self.group_len) {
            *slot = c;
        }
        self.group_len += 1;
        if self.group_len == 4 {
            self.group_len = 0;
            return self.flush_group();
        }
        None
    }

    /// Decode the four characters of a full group into the packet buffer.
    fn flush_group(&mut self) -> Option<Result<&[u8], FrameError>> {
        let [a, b, c, d] = self.group;
        let v = |x: u8| b64_value(x).unwrap_or(0);
        let bytes = [
            v(a) << 2 | v(b) >> 4,
            v(b) << 4 | v(c) >> 2,
            v(c) << 6 | v(d),
        ];
        let n = match (c, d) {
            (b'=', _) => 1,
            (_, b'=') => 2,
            _ => 3,
        };
        for &byte in bytes.iter().take(n) {
            match self.buf.get_mut(self.filled) {
                Some(slot) => *slot = byte,
                None => return self.fail(FrameError::BadLength),
            }
            self.filled += 1;
            if self.filled == 2 {
                let announced = self.announced();
                if announced < 2 || announced + 2 > N {
                    return self.fail(FrameError::BadLength);
                }
            }
            if self.filled > 2 && self.filled > self.announced() + 2 {
                return self.fail(FrameError::Overrun);
            }
        }
        None
    }

    /// The length field: packet + CRC bytes (0 until two bytes are read).
    fn announced(&self) -> usize {
        match self.buf.as_slice() {
            [hi, lo, ..] if self.filled >= 2 => usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => 0,
        }
    }

    /// A dropped packet at the end of a line: the next line is read normally.
    fn fail_at_end(&mut self, e: FrameError) -> Option<Result<&[u8], FrameError>> {
        self.close();
        Some(Err(e))
    }

    fn end_of_line(&mut self) -> Option<Result<&[u8], FrameError>> {
        if self.group_len != 0 {
            return self.fail_at_end(FrameError::PartialGroup);
        }
        if !self.open || self.filled < 2 || self.filled < self.announced() + 2 {
            // More lines to come.
            return None;
        }
        let end = self.announced() + 2;
        let Some(body) = self.buf.get(2..end) else {
            return self.fail_at_end(FrameError::BadLength);
        };
        let (packet, crc) = body.split_at(body.len().saturating_sub(2));
        let want = match crc {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            _ => return self.fail_at_end(FrameError::BadLength),
        };
        if CRC16.checksum(packet) != want {
            return self.fail_at_end(FrameError::BadCrc);
        }
        self.delivered = true;
        self.open = false;
        self.buf.get(2..end - 2).map(Ok)
    }
}

/// Cuts one packet into serial SMP lines of at most [`MAX_LINE`] bytes.
#[derive(Clone, Debug)]
pub struct Encoder<'p> {
    packet: &'p [u8],
    crc: [u8; 2],
    len: [u8; 2],
    /// Position in the byte stream `len | packet | crc`.
    pos: usize,
    first: bool,
}

impl<'p> Encoder<'p> {
    /// An encoder for `packet` (at most `u16::MAX - 2` bytes; longer ones are cut at that).
    pub fn new(packet: &'p [u8]) -> Self {
        let packet = packet
            .get(..packet.len().min(usize::from(u16::MAX) - 2))
            .unwrap_or(&[]);
        let len = u16::try_from(packet.len() + 2).unwrap_or(u16::MAX);
        Encoder {
            packet,
            crc: CRC16.checksum(packet).to_be_bytes(),
            len: len.to_be_bytes(),
            pos: 0,
            first: true,
        }
    }

    /// Bytes of the stream `len | packet | crc`.
    fn total(&self) -> usize {
        self.packet.len() + 4
    }

    fn byte(&self, i: usize) -> Option<u8> {
        let n = self.packet.len();
        match i {
            0 | 1 => self.len.get(i).copied(),
            _ if i < n + 2 => self.packet.get(i - 2).copied(),
            _ => self.crc.get(i - n - 2).copied(),
        }
    }

    /// Write the next line (marker, base64, newline) into `out` and return its length, or
    /// `None` when the packet is all written.
    pub fn next_line(&mut self, out: &mut [u8; MAX_LINE]) -> Option<usize> {
        if self.pos >= self.total() && !self.first {
            return None;
        }
        let marker = if self.first { START } else { CONTINUE };
        self.first = false;
        let mut n = 0;
        for b in marker {
            if let Some(slot) = out.get_mut(n) {
                *slot = b;
            }
            n += 1;
        }
        // Whole groups only: 4 characters for 3 bytes, leaving room for the newline.
        let groups = (MAX_LINE - 3) / 4;
        for _ in 0..groups {
            if self.pos >= self.total() {
                break;
            }
            let bytes = [
                self.byte(self.pos),
                self.byte(self.pos + 1)
                    .filter(|_| self.pos + 1 < self.total()),
                self.byte(self.pos + 2)
                    .filter(|_| self.pos + 2 < self.total()),
            ];
            let [a, b, c] = bytes.map(|x| x.unwrap_or(0));
            let chars = [
                b64_char(a >> 2),
                b64_char(a << 4 | b >> 4),
                if bytes[1].is_some() {
                    b64_char(b << 2 | c >> 6)
                } else {
                    b'='
                },
                if bytes[2].is_some() {
                    b64_char(c)
                } else {
                    b'='
                },
            ];
            for ch in chars {
                if let Some(slot) = out.get_mut(n) {
                    *slot = ch;
                }
                n += 1;
            }
            self.pos += 3;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = b'\n';
        }
        Some(n + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_all(packet: &[u8]) -> Vec<u8> {
        let mut enc = Encoder::new(packet);
        let mut line = [0u8; MAX_LINE];
        let mut out = Vec::new();
        while let Some(n) = enc.next_line(&mut line) {
            assert!(n <= MAX_LINE);
            out.extend_from_slice(&line[..n]);
        }
        out
    }

    fn decode_all<const N: usize>(
        dec: &mut Decoder<N>,
        bytes: &[u8],
    ) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut got = Vec::new();
        for &b in bytes {
            if let Some(r) = dec.push(b) {
                got.push(r.map(|p| p.to_vec()));
            }
        }
        got
    }

    #[test]
    fn smpclient_examples_decode() {
        // `smp.packet.encode(b"Hello, world!")` from smpclient's documentation.
        let mut dec = Decoder::<64>::new();
        assert_eq!(
            decode_all(&mut dec, b"\x06\tAA9IZWxsbywgd29ybGQhet4=\n"),
            vec![Ok(b"Hello, world!".to_vec())]
        );
        // The same, fragmented with line_length=8.
        let lines =
            b"\x06\tAA9I\n\x04\x14ZWxs\n\x04\x14bywg\n\x04\x14d29y\n\x04\x14bGQh\n\x04\x14et4=\n";
        assert_eq!(
            decode_all(&mut dec, lines),
            vec![Ok(b"Hello, world!".to_vec())]
        );
        // The encoder writes what smpclient writes for a short packet.
        assert_eq!(
            encode_all(b"Hello, world!"),
            b"\x06\tAA9IZWxsbywgd29ybGQhet4=\n"
        );
    }

    #[test]
    fn round_trip_every_length_and_line_split() {
        let mut dec = Decoder::<1100>::new();
        for len in (0..300).chain([1000, 1096]) {
            let packet: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let wire = encode_all(&packet);
            // Lines: markers first, 127 bytes at most, newline-terminated.
            for line in wire.split_inclusive(|&b| b == b'\n') {
                assert!(line.len() <= MAX_LINE);
                assert!(line.starts_with(&START) || line.starts_with(&CONTINUE));
            }
            assert_eq!(decode_all(&mut dec, &wire), vec![Ok(packet)], "len {len}");
        }
    }

    #[test]
    fn console_text_between_packets_is_ignored() {
        let mut dec = Decoder::<64>::new();
        let mut wire = b"fwu-app: ready\r\n\x06 not smp\n".to_vec();
        wire.extend(encode_all(b"abc"));
        wire.extend(b"log line\n");
        wire.extend(encode_all(b"defg"));
        assert_eq!(
            decode_all(&mut dec, &wire),
            vec![Ok(b"abc".to_vec()), Ok(b"defg".to_vec())]
        );
    }

    #[test]
    fn malformed_input_is_dropped_and_the_next_packet_decodes() {
        let good = encode_all(b"next one");
        let cases: Vec<(Vec<u8>, FrameError)> = vec![
            (b"\x06\tAA9I*Wxs\n".to_vec(), FrameError::BadBase64),
            (b"\x06\tAA9IZWx\n".to_vec(), FrameError::PartialGroup),
            (b"\x06\tAA=A\n".to_vec(), FrameError::BadBase64),
            // Length 1: shorter than the CRC.
            (b"\x06\tAAE=\n".to_vec(), FrameError::BadLength),
            // Bad CRC: the last group of "Hello, world!" changed.
            (
                b"\x06\tAA9IZWxsbywgd29ybGQheu4=\n".to_vec(),
                FrameError::BadCrc,
            ),
        ];
        for (bad, want) in cases {
            let mut dec = Decoder::<64>::new();
            let mut wire = bad.clone();
            wire.extend(&good);
            assert_eq!(
                decode_all(&mut dec, &wire),
                vec![Err(want), Ok(b"next one".to_vec())],
                "{bad:?}"
            );
        }
        // Too large for the buffer: the length alone refuses it.
        let mut small = Decoder::<16>::new();
        let big = encode_all(&[7u8; 40]);
        assert_eq!(
            decode_all(&mut small, &big),
            vec![Err(FrameError::BadLength)]
        );
        // A continuation line without a start line is ignored.
        let mut dec = Decoder::<64>::new();
        assert!(decode_all(&mut dec, b"\x04\x14AA9I\n").is_empty());
        // A start line abandons a packet left open by a lost line.
        let mut wire = b"\x06\tAA9I\n".to_vec();
        wire.extend(&good);
        assert_eq!(decode_all(&mut dec, &wire), vec![Ok(b"next one".to_vec())]);
    }

    #[test]
    fn every_input_is_safe() {
        // Arbitrary bytes never panic and never yield a packet whose CRC was not checked.
        let mut dec = Decoder::<32>::new();
        let mut x = 0x1234_5678u32;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let b = match x % 7 {
                0 => b'\n',
                1 => 0x06,
                2 => 0x09,
                3 => b"ABab09+/="[(x >> 8) as usize % 9],
                _ => (x >> 16) as u8,
            };
            if let Some(Ok(p)) = dec.push(b) {
                assert!(p.len() <= dec.max_packet());
            }
        }
    }
}
