//! The 8-byte SMP header (mcumgr's `mgmt_hdr`), versions 1 and 2.
//!
//! ```text
//! byte 0: res:3 | version:2 | op:3     byte 1: flags
//! bytes 2-3: body length (big-endian)   bytes 4-5: group id (big-endian)
//! byte 6: sequence number               byte 7: command id
//! ```
//!
//! A response carries the request's op + 1, its version, group, sequence number and command.

/// Bytes of the header.
pub const HEADER_LEN: usize = 8;

/// The operation of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A read request.
    Read = 0,
    /// The response to a read.
    ReadRsp = 1,
    /// A write request.
    Write = 2,
    /// The response to a write.
    WriteRsp = 3,
}

impl Op {
    /// The op of the 3-bit field `v`, if defined.
    pub const fn from_bits(v: u8) -> Option<Op> {
        match v {
            0 => Some(Op::Read),
            1 => Some(Op::ReadRsp),
            2 => Some(Op::Write),
            3 => Some(Op::WriteRsp),
            _ => None,
        }
    }

    /// The response op of a request op (`None` for a response).
    pub const fn response(self) -> Option<Op> {
        match self {
            Op::Read => Some(Op::ReadRsp),
            Op::Write => Some(Op::WriteRsp),
            Op::ReadRsp | Op::WriteRsp => None,
        }
    }
}

/// SMP protocol version 1 (errors as `rc`).
pub const VERSION_1: u8 = 0;
/// SMP protocol version 2 (errors as `err: {group, rc}`).
pub const VERSION_2: u8 = 1;

/// An SMP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Operation.
    pub op: Op,
    /// Protocol version ([`VERSION_1`] or [`VERSION_2`]; 2 and 3 are reserved).
    pub version: u8,
    /// Flags (none are defined).
    pub flags: u8,
    /// Length of the CBOR body that follows.
    pub len: u16,
    /// Management group.
    pub group: u16,
    /// Sequence number, echoed in the response.
    pub seq: u8,
    /// Command within the group.
    pub id: u8,
}

/// Why a packet's header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 8 bytes.
    Short,
    /// An op that is not defined (4 to 7).
    BadOp,
    /// The length field disagrees with the bytes that follow the header.
    BadLength,
}

impl Header {
    /// Split `packet` into its header and body.
    pub fn parse(packet: &[u8]) -> Result<(Header, &[u8]), HeaderError> {
        let (head, body) = packet
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(HeaderError::Short)?;
        let [b0, flags, l0, l1, g0, g1, seq, id] = *head;
        let op = Op::from_bits(b0 & 0x07).ok_or(HeaderError::BadOp)?;
        let len = u16::from_be_bytes([l0, l1]);
        if usize::from(len) != body.len() {
            return Err(HeaderError::BadLength);
        }
        Ok((
            Header {
                op,
                version: (b0 >> 3) & 0x03,
                flags,
                len,
                group: u16::from_be_bytes([g0, g1]),
                seq,
                id,
            },
            body,
        ))
    }

    /// The header's 8 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let [l0, l1] = self.len.to_be_bytes();
        let [g0, g1] = self.group.to_be_bytes();
        [
            (self.version & 0x03) << 3 | self.op as u8,
            self.flags,
            l0,
            l1,
            g0,
            g1,
            self.seq,
            self.id,
        ]
    }

    /// The header of the response to this request, with a body of `len` bytes (`None` if this
    /// is a response).
    pub fn response(&self, len: u16) -> Option<Header> {
        Some(Header {
            op: self.op.response()?,
            flags: 0,
            len,
            ..*self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smpclient_upload_request_header_parses() {
        // smpclient's documented image upload request: op WRITE, version 2, length 116,
        // group 1, sequence 154, command 1.
        let mut packet = vec![0x0a, 0x00, 0x00, 0x74, 0x00, 0x01, 0x9a, 0x01];
        packet.extend(std::iter::repeat_n(0u8, 116));
        let (h, body) = Header::parse(&packet).unwrap();
        assert_eq!(
            h,
            Header {
                op: Op::Write,
                version: VERSION_2,
                flags: 0,
                len: 116,
                group: 1,
                seq: 154,
                id: 1,
            }
        );
        assert_eq!(body.len(), 116);
        assert_eq!(h.to_bytes(), packet[..8]);
        let r = h.response(3).unwrap();
        assert_eq!(r.to_bytes(), [0x0b, 0, 0, 3, 0, 1, 0x9a, 1]);
        assert_eq!(r.response(0), None);
    }

    #[test]
    fn malformed_headers_are_refused() {
        assert_eq!(Header::parse(&[0; 7]), Err(HeaderError::Short));
        assert_eq!(
            Header::parse(&[4, 0, 0, 0, 0, 0, 0, 0]),
            Err(HeaderError::BadOp)
        );
        assert_eq!(
            Header::parse(&[0, 0, 0, 2, 0, 0, 0, 0, 0xa0]),
            Err(HeaderError::BadLength)
        );
    }
}
