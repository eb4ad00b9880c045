//! Client frames, read the RFC 6455 server way with almost no memory held
//! between frames: a 256-byte `BufReader`, and each payload allocated for its
//! frame and freed after decoding. (fastwebsockets' reader keeps a fixed
//! 8 KiB buffer per connection, most of an idle connection's footprint.)

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};

/// WebSocket opcodes a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// Continuation of a fragmented message.
    Continuation,
    /// UTF-8 text.
    Text,
    /// Binary.
    Binary,
    /// Close, with an optional code and reason.
    Close,
    /// Ping; must be answered with a pong carrying the same payload.
    Ping,
    /// Pong.
    Pong,
}

/// One client frame, unmasked.
#[derive(Debug)]
pub struct WsFrame {
    /// Final fragment of its message.
    pub fin: bool,
    /// Opcode.
    pub opcode: Opcode,
    /// Payload.
    pub payload: Vec<u8>,
}

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadError {
    /// A frame declared a payload above the limit (nothing of it was read).
    TooLarge,
    /// The bytes break RFC 6455 (unmasked, reserved bits, bad control frame).
    Protocol(&'static str),
    /// The transport failed or closed.
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads client frames from `R`.
pub struct FrameReader<R> {
    inner: BufReader<R>,
    max_payload: u64,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader refusing payloads over `max_payload` bytes.
    pub fn new(inner: R, max_payload: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(256, inner),
            max_payload: max_payload as u64,
        }
    }

    /// The next frame. Not cancel-safe: a dropped call leaves the stream
    /// mid-frame, so the connection must end (it always does here).
    pub async fn next(&mut self) -> Result<WsFrame, ReadError> {
        let mut head = [0u8; 2];
        self.inner.read_exact(&mut head).await?;
        if head[0] & 0x70 != 0 {
            return Err(ReadError::Protocol(
                "reserved bits set without an extension",
            ));
        }
        let fin = head[0] & 0x80 != 0;
        let opcode = match head[0] & 0x0f {
            0 => Opcode::Continuation,
            1 => Opcode::Text,
            2 => Opcode::Binary,
            8 => Opcode::Close,
            9 => Opcode::Ping,
            10 => Opcode::Pong,
            _ => return Err(ReadError::Protocol("unknown opcode")),
        };
        if head[1] & 0x80 == 0 {
            return Err(ReadError::Protocol("client frames must be masked"));
        }
        let len = match head[1] & 0x7f {
            126 => u64::from(self.inner.read_u16().await?),
            127 => self.inner.read_u64().await?,
            n => u64::from(n),
        };
        let control = matches!(opcode, Opcode::Close | Opcode::Ping | Opcode::Pong);
        if control && (len > 125 || !fin) {
            return Err(ReadError::Protocol(
                "control frames are short and unfragmented",
            ));
        }
        if len > self.max_payload {
            return Err(ReadError::TooLarge);
        }
        let mut mask = [0u8; 4];
        self.inner.read_exact(&mut mask).await?;
        let mut payload = vec![0; len as usize];
        self.inner.read_exact(&mut payload).await?;
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i & 3];
        }
        Ok(WsFrame {
            fin,
            opcode,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        out
    }

    async fn read(bytes: Vec<u8>, max: usize) -> Vec<Result<WsFrame, ReadError>> {
        let mut r = FrameReader::new(&bytes[..], max);
        let mut out = Vec::new();
        loop {
            let f = r.next().await;
            let stop = f.is_err();
            out.push(f);
            if stop {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn reads_and_unmasks_frames_of_every_length_form() {
        let long = vec![b'x'; 300];
        let mut bytes = frame(0x81, b"{\"op\":1}");
        bytes.extend(frame(0x82, &long));
        bytes.extend(frame(0x89, b"ping"));
        bytes.extend(frame(0x88, &1000u16.to_be_bytes()));
        let frames = read(bytes, 4096).await;
        let ok: Vec<_> = frames.iter().filter_map(|f| f.as_ref().ok()).collect();
        assert_eq!(ok.len(), 4);
        assert_eq!(
            (ok[0].opcode, ok[0].fin, ok[0].payload.as_slice()),
            (Opcode::Text, true, &b"{\"op\":1}"[..])
        );
        assert_eq!((ok[1].opcode, ok[1].payload.len()), (Opcode::Binary, 300));
        assert_eq!(
            (ok[2].opcode, ok[2].payload.as_slice()),
            (Opcode::Ping, &b"ping"[..])
        );
        assert_eq!(ok[3].opcode, Opcode::Close);
        assert!(
            matches!(frames.last(), Some(Err(ReadError::Io(_)))),
            "eof after the last frame"
        );
        let huge = frame(0x82, &vec![0; 70_000]);
        assert_eq!(
            read(huge, 100_000).await[0].as_ref().unwrap().payload.len(),
            70_000
        );
    }

    #[tokio::test]
    async fn the_limit_is_inclusive_and_checked_before_reading() {
        assert!(read(frame(0x81, &[b'a'; 4096]), 4096).await[0].is_ok());
        assert!(matches!(
            read(frame(0x81, &[b'a'; 4097]), 4096).await[0],
            Err(ReadError::TooLarge)
        ));
        // Only the header of a 2^40-byte frame: refused without reading on.
        let mut head = vec![0x82, 0x80 | 127];
        head.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert!(matches!(
            read(head, 4096).await[0],
            Err(ReadError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn protocol_violations_are_refused() {
        let unmasked = vec![0x81, 0x01, b'a'];
        assert!(matches!(
            read(unmasked, 10).await[0],
            Err(ReadError::Protocol(_))
        ));
        assert!(
            matches!(
                read(frame(0xC1, b"a"), 10).await[0],
                Err(ReadError::Protocol(_))
            ),
            "rsv1"
        );
        assert!(
            matches!(
                read(frame(0x83, b"a"), 10).await[0],
                Err(ReadError::Protocol(_))
            ),
            "opcode 3"
        );
        assert!(
            matches!(
                read(frame(0x09, b"a"), 10).await[0],
                Err(ReadError::Protocol(_))
            ),
            "fragmented ping"
        );
        assert!(
            matches!(
                read(frame(0x89, &[0; 126]), 1000).await[0],
                Err(ReadError::Protocol(_))
            ),
            "long ping"
        );
        let fragment = read(frame(0x01, b"part"), 10).await;
        assert!(
            !fragment[0].as_ref().unwrap().fin,
            "fragments are reported, the gateway refuses them"
        );
    }
}
