//! Client frames, read the RFC 6455 server way with no memory held between
//! frames: bytes are read into the stack, and only a frame still in
//! progress is kept (in a buffer sized for that frame and freed with it).
//! An idle connection therefore holds no read buffer at all (fastwebsockets'
//! reader keeps 8 KiB per connection, a 256-byte `BufReader` 256 bytes).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, ReadBuf};

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

/// Bytes read per call between frames (on the stack, not kept).
const STACK_READ: usize = 1024;

/// Reads client frames from `R`.
pub struct FrameReader<R> {
    io: R,
    /// Bytes read and not yet returned as frames; empty, with no
    /// allocation, whenever no frame is in progress.
    pending: Vec<u8>,
    max_payload: u64,
}

/// What the front of the pending bytes holds.
enum Parsed {
    /// A whole frame, and how many bytes it took.
    Frame(WsFrame, usize),
    /// Not enough yet: the frame (or its header) needs this many in all.
    Need(usize),
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader refusing payloads over `max_payload` bytes.
    #[cfg(any(test, fuzzing))]
    pub fn new(io: R, max_payload: usize) -> Self {
        Self::with_early(io, max_payload, &[])
    }

    /// A reader whose stream starts with `early` (bytes the client sent
    /// with its upgrade request).
    pub fn with_early(io: R, max_payload: usize, early: &[u8]) -> Self {
        Self {
            io,
            pending: early.to_vec(),
            max_payload: max_payload as u64,
        }
    }

    /// The next frame. Cancel-safe: what was read stays pending.
    #[cfg(any(test, fuzzing))]
    pub async fn next(&mut self) -> Result<WsFrame, ReadError> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// [`FrameReader::next`], polled.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<WsFrame, ReadError>> {
        loop {
            match parse(&self.pending, self.max_payload)? {
                Parsed::Frame(frame, used) => {
                    self.pending.drain(..used);
                    if self.pending.is_empty() {
                        self.pending = Vec::new();
                    }
                    return Poll::Ready(Ok(frame));
                }
                Parsed::Need(total) => ready!(self.poll_fill(cx, total))?,
            }
        }
    }

    /// Reads more: into the stack between frames (so nothing is held
    /// while the client is quiet), else straight into the pending frame,
    /// up to the `total` bytes it needs.
    fn poll_fill(&mut self, cx: &mut Context<'_>, total: usize) -> Poll<io::Result<()>> {
        let have = self.pending.len();
        let read = if have == 0 {
            let mut stack = [0u8; STACK_READ];
            let mut buf = ReadBuf::new(&mut stack);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
            self.pending.extend_from_slice(buf.filled());
            buf.filled().len()
        } else {
            self.pending.resize(total.max(have + 1), 0);
            let mut buf = ReadBuf::new(&mut self.pending[have..]);
            let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
            let read = buf.filled().len();
            self.pending.truncate(have + read);
            ready!(polled)?;
            read
        };
        match read {
            0 => Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// The frame at the front of `bytes`, checked in the order a server must:
/// header rules, then the declared length against `max` before any of the
/// payload is waited for.
fn parse(bytes: &[u8], max: u64) -> Result<Parsed, ReadError> {
    let [first, second, ..] = *bytes else {
        return Ok(Parsed::Need(2));
    };
    if first & 0x70 != 0 {
        return Err(ReadError::Protocol(
            "reserved bits set without an extension",
        ));
    }
    let fin = first & 0x80 != 0;
    let opcode = match first & 0x0f {
        0 => Opcode::Continuation,
        1 => Opcode::Text,
        2 => Opcode::Binary,
        8 => Opcode::Close,
        9 => Opcode::Ping,
        10 => Opcode::Pong,
        _ => return Err(ReadError::Protocol("unknown opcode")),
    };
    if second & 0x80 == 0 {
        return Err(ReadError::Protocol("client frames must be masked"));
    }
    let (len, head) = match second & 0x7f {
        126 => match bytes.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(Parsed::Need(4)),
        },
        127 => match bytes.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10),
            None => return Ok(Parsed::Need(10)),
        },
        n => (u64::from(n), 2),
    };
    let control = matches!(opcode, Opcode::Close | Opcode::Ping | Opcode::Pong);
    if control && (len > 125 || !fin) {
        return Err(ReadError::Protocol(
            "control frames are short and unfragmented",
        ));
    }
    if len > max {
        return Err(ReadError::TooLarge);
    }
    // Within `max`, which is a usize.
    let total = head + 4 + len as usize;
    let Some(frame) = bytes.get(..total) else {
        return Ok(Parsed::Need(total));
    };
    let (mask, payload) = frame[head..].split_at(4);
    let payload = payload
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i & 3])
        .collect();
    let frame = WsFrame {
        fin,
        opcode,
        payload,
    };
    Ok(Parsed::Frame(frame, total))
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

    /// Hands out its bytes one per read, each read first answered
    /// `Pending`: every way a frame can be split across reads.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        ready: bool,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            self.ready = !self.ready;
            if !self.ready {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some(&b) = self.bytes.get(self.at) {
                buf.put_slice(&[b]);
                self.at += 1;
            }
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn frames_split_at_every_byte_read_whole_and_nothing_is_held_between_them() {
        let long = vec![b'y'; 200];
        let mut bytes = frame(0x81, b"{\"op\":1}");
        bytes.extend(frame(0x82, &long));
        bytes.extend(frame(0x82, &vec![b'z'; 70_000]));
        // The first frame's first three bytes came with the upgrade request.
        let io = Trickle {
            bytes: bytes[3..].to_vec(),
            at: 0,
            ready: false,
        };
        let mut r = FrameReader::with_early(io, 100_000, &bytes[..3]);
        let first = r.next().await.unwrap();
        assert_eq!(first.payload, b"{\"op\":1}");
        assert_eq!(r.pending.capacity(), 0, "no buffer between frames");
        assert_eq!(r.next().await.unwrap().payload, long);
        assert_eq!(r.next().await.unwrap().payload.len(), 70_000);
        assert_eq!(r.pending.capacity(), 0);
        assert!(matches!(r.next().await, Err(ReadError::Io(_))), "eof");
    }

    #[tokio::test]
    async fn a_read_cut_short_by_the_peer_is_an_error_not_a_frame() {
        let mut cut = frame(0x81, b"hello");
        cut.truncate(cut.len() - 1);
        assert!(matches!(read(cut, 100).await[0], Err(ReadError::Io(_))));
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
