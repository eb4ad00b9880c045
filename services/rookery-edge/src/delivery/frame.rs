//! What a connection sends, and how each item becomes one unmasked
//! RFC 6455 server frame.

use fastwebsockets::OpCode;
use rookery_proto::codec::{Dispatch, Encoding};
use std::sync::Arc;

/// What a connection sends.
#[derive(Debug)]
pub enum Outbound {
    /// A dispatch with its sequence number.
    Dispatch(u64, Arc<Dispatch>),
    /// An already encoded non-dispatch frame payload.
    Frame(Vec<u8>),
    /// A control frame the WebSocket protocol obliges (pong, close echo).
    Control(OpCode, Vec<u8>),
    /// The unwritten rest of a frame the socket took part of: raw bytes,
    /// header included.
    Encoded(Vec<u8>),
}

impl Outbound {
    /// Whether this is a close frame (nothing may follow it).
    pub fn is_close(&self) -> bool {
        matches!(self, Outbound::Control(OpCode::Close, _))
    }
}

/// The longest server frame header: 2 bytes and a 64-bit length.
pub const MAX_HEAD: usize = 10;

/// The data opcode of an encoding.
pub fn data_opcode(encoding: Encoding) -> OpCode {
    match encoding {
        Encoding::Json => OpCode::Text,
        Encoding::MsgPack => OpCode::Binary,
    }
}

/// Appends `item`'s payload to `out`; returns its opcode, or `None` for
/// bytes already framed ([`Outbound::Encoded`]).
pub fn payload_into(item: &Outbound, encoding: Encoding, out: &mut Vec<u8>) -> Option<OpCode> {
    match item {
        Outbound::Dispatch(seq, d) => {
            d.write_frame(encoding, *seq, out);
            Some(data_opcode(encoding))
        }
        Outbound::Frame(bytes) => {
            out.extend_from_slice(bytes);
            Some(data_opcode(encoding))
        }
        Outbound::Control(op, bytes) => {
            out.extend_from_slice(bytes);
            Some(*op)
        }
        Outbound::Encoded(bytes) => {
            out.extend_from_slice(bytes);
            None
        }
    }
}

/// Writes a final, unmasked frame header for `len` payload bytes into
/// `head`; returns its length.
pub fn head(op: OpCode, len: usize, head: &mut [u8; MAX_HEAD]) -> usize {
    head[0] = 0x80 | op as u8;
    match len {
        0..=125 => {
            head[1] = len as u8;
            2
        }
        126..=0xffff => {
            head[1] = 126;
            head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            head[1] = 127;
            head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    }
}

/// Encodes `item` as one whole frame in `buf` (its previous content
/// dropped) without copying the payload: the header goes in front of it,
/// in room left for the longest header.
pub fn encode<'a>(item: &Outbound, encoding: Encoding, buf: &'a mut Vec<u8>) -> &'a [u8] {
    buf.clear();
    buf.resize(MAX_HEAD, 0);
    let Some(op) = payload_into(item, encoding, buf) else {
        return &buf[MAX_HEAD..];
    };
    let mut h = [0u8; MAX_HEAD];
    let n = head(op, buf.len() - MAX_HEAD, &mut h);
    let start = MAX_HEAD - n;
    buf[start..MAX_HEAD].copy_from_slice(&h[..n]);
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastwebsockets::{Frame, Payload};

    #[test]
    fn headers_match_fastwebsockets_at_every_length_class() {
        for len in [0, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let payload = vec![7u8; len];
            let mut ours = [0u8; MAX_HEAD];
            let n = head(OpCode::Binary, len, &mut ours);
            let mut theirs = [0u8; MAX_HEAD];
            let mut frame = Frame::new(true, OpCode::Binary, None, Payload::Borrowed(&payload));
            let m = frame.fmt_head(&mut theirs);
            assert_eq!(ours[..n], theirs[..m], "length {len}");
        }
    }

    #[test]
    fn an_encoded_frame_is_header_then_payload() {
        let mut buf = vec![1, 2, 3];
        let bytes = encode(&Outbound::Frame(vec![b'x'; 200]), Encoding::Json, &mut buf);
        assert_eq!(&bytes[..4], &[0x81, 126, 0, 200]);
        assert_eq!(bytes.len(), 204);
        let rest = encode(&Outbound::Encoded(vec![9, 9]), Encoding::Json, &mut buf);
        assert_eq!(rest, &[9, 9]);
    }
}
