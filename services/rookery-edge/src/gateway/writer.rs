//! The writer half: drains the bounded outbound queue in bursts and writes
//! each burst — many WebSocket frames — with one `write_all`, so a busy
//! connection costs one syscall per burst rather than per frame.
//!
//! Buffers start empty and are released after an unusually large burst, so
//! an idle connection holds no write buffer.
//!
//! A close asked for while a burst is being written (a slow consumer's
//! socket is full) cuts the burst at the end of the frame in flight and
//! sends the close frame next: a client that still reads, however slowly,
//! gets its 4101 after at most one more frame instead of after the whole
//! burst (or never, if the connection's linger runs out first). Closes are
//! counted where they are asked for ([`crate::session::Conn::close`]),
//! whether or not the peer reads the frame.
//!
//! With `compress=zlib-stream` (Discord's transport compression) every data
//! frame is deflated into one zlib stream kept for the connection's life,
//! each ending on a sync flush (`00 00 ff ff`) and sent as a binary frame,
//! so a client inflates each frame as it comes. Level 1 and a 4 KiB window:
//! zlib's defaults cost three times the CPU per delivery and twice the
//! memory for a little more ratio (loadtest/README.md, "zlib-stream").
//! Only the connections that ask for it pay.

use crate::metrics as m;
use crate::session::Outbound;
use fastwebsockets::{Frame, OpCode, Payload};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::CloseCode;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

/// Most frames per write.
const BURST_FRAMES: usize = 64;
/// A burst stops growing past this many bytes.
const BURST_BYTES: usize = 64 * 1024;
/// Buffers larger than this are released after use.
const KEEP_BYTES: usize = 16 * 1024;
const MAX_HEAD: usize = 10;

pub(super) async fn run<W: AsyncWrite + Unpin>(
    mut out: W,
    mut rx: mpsc::Receiver<Outbound>,
    mut close: watch::Receiver<Option<CloseCode>>,
    encoding: Encoding,
    zlib: bool,
) {
    let mut burst = Burst::new(encoding);
    if zlib {
        burst.zlib = Some(Zlib::default());
    }
    loop {
        tokio::select! {
            biased;
            _ = close.changed() => {
                let code = *close.borrow();
                if let Some(code) = code {
                    // What was queued before the close goes first (RECONNECT
                    // on shutdown), except to a client that stopped reading.
                    if code != CloseCode::SlowConsumer
                        && !matches!(flush_queued(&mut burst, &mut rx, &mut out).await, Ok(false))
                    {
                        return;
                    }
                    let mut payload = code.code().to_be_bytes().to_vec();
                    payload.extend_from_slice(code.reason().as_bytes());
                    burst.push(Outbound::Control(OpCode::Close, payload));
                    let _ = burst.write_to(&mut out).await;
                }
                return;
            }
            item = rx.recv() => {
                let Some(first) = item else { return };
                let mut closing = burst.push(first);
                while !closing && !burst.full() {
                    match rx.try_recv() {
                        Ok(item) => closing = burst.push(item),
                        Err(_) => break,
                    }
                }
                let interrupted = tokio::select! {
                    biased;
                    _ = close.changed() => true,
                    written = burst.write_to(&mut out) => match written {
                        Ok(()) => false,
                        Err(_) => return,
                    },
                };
                if interrupted {
                    // A slow consumer's burst is cut after the frame in
                    // flight; any other close lets the burst finish.
                    let slow = *close.borrow() == Some(CloseCode::SlowConsumer);
                    let all_written = match slow {
                        true => burst.finish_frame(&mut out).await,
                        false => burst.write_to(&mut out).await.map(|()| true),
                    };
                    match all_written {
                        Err(_) => return,
                        // The burst's own close frame went out: nothing may follow.
                        Ok(true) if closing => return,
                        Ok(_) => close.mark_changed(),
                    }
                } else if closing {
                    return;
                }
            }
        }
    }
}

/// Moves the frames already queued into bursts, writing full ones; true if
/// a queued close frame was written (nothing may follow it).
async fn flush_queued<W: AsyncWrite + Unpin>(
    burst: &mut Burst,
    rx: &mut mpsc::Receiver<Outbound>,
    out: &mut W,
) -> std::io::Result<bool> {
    while let Ok(item) = rx.try_recv() {
        let closing = burst.push(item);
        if closing || burst.full() {
            burst.write_to(out).await?;
        }
        if closing {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Frames encoded back to back, ready for one write.
struct Burst {
    buf: Vec<u8>,
    /// Where each frame in `buf` ends.
    ends: Vec<usize>,
    /// How much of `buf` is written.
    written: usize,
    scratch: Vec<u8>,
    data: OpCode,
    encoding: Encoding,
    zlib: Option<Zlib>,
}

/// zlib's window: 4 KiB (a client's inflater, at 32 KiB, reads any
/// smaller window). It holds the last several messages, where most of the
/// repetition is, for half the state of a 32 KiB window.
const WINDOW_BITS: u8 = 12;

/// A connection's zlib stream and its output buffer.
struct Zlib {
    stream: flate2::Compress,
    out: Vec<u8>,
}

impl Default for Zlib {
    fn default() -> Self {
        Self {
            stream: flate2::Compress::new_with_window_bits(
                flate2::Compression::fast(),
                true,
                WINDOW_BITS,
            ),
            out: Vec::new(),
        }
    }
}

impl Zlib {
    /// Deflates `input` up to a sync flush into `self.out`.
    fn deflate(&mut self, input: &[u8]) -> &[u8] {
        self.out.clear();
        self.out.reserve(input.len() / 2 + 64);
        let start = self.stream.total_in();
        loop {
            let consumed = (self.stream.total_in() - start) as usize;
            self.stream
                .compress_vec(
                    &input[consumed..],
                    &mut self.out,
                    flate2::FlushCompress::Sync,
                )
                .expect("deflate into a vector cannot fail");
            let consumed = (self.stream.total_in() - start) as usize;
            // Room left after a sync flush means the flush is complete.
            if consumed == input.len() && self.out.len() < self.out.capacity() {
                return &self.out;
            }
            self.out.reserve(self.out.capacity().max(256));
        }
    }
}

impl Burst {
    fn new(encoding: Encoding) -> Self {
        let data = match encoding {
            Encoding::Json => OpCode::Text,
            Encoding::MsgPack => OpCode::Binary,
        };
        Self {
            buf: Vec::new(),
            ends: Vec::new(),
            written: 0,
            scratch: Vec::new(),
            data,
            encoding,
            zlib: None,
        }
    }

    fn full(&self) -> bool {
        self.ends.len() >= BURST_FRAMES || self.buf.len() >= BURST_BYTES
    }

    /// Appends one frame; true if it was a close (nothing may follow).
    fn push(&mut self, item: Outbound) -> bool {
        self.scratch.clear();
        let op = match item {
            Outbound::Dispatch(seq, d) => {
                d.write_frame(self.encoding, seq, &mut self.scratch);
                self.data
            }
            Outbound::Frame(bytes) => {
                self.scratch.extend_from_slice(&bytes);
                self.data
            }
            Outbound::Control(op, bytes) => {
                self.scratch.extend_from_slice(&bytes);
                op
            }
        };
        let (op, payload) = match &mut self.zlib {
            Some(z) if op != OpCode::Close && op != OpCode::Pong => {
                m::hot().deflate_in.increment(self.scratch.len() as u64);
                (OpCode::Binary, z.deflate(&self.scratch))
            }
            _ => (op, self.scratch.as_slice()),
        };
        let mut head = [0u8; MAX_HEAD];
        let n = Frame::new(true, op, None, Payload::Borrowed(payload)).fmt_head(&mut head);
        self.buf.extend_from_slice(&head[..n]);
        self.buf.extend_from_slice(payload);
        self.ends.push(self.buf.len());
        op == OpCode::Close
    }

    /// Writes the burst. Cancel safe: dropped mid-way, it leaves `written`
    /// where the socket took the bytes up to, and [`Burst::finish_frame`]
    /// or another call carries on from there.
    async fn write_to<W: AsyncWrite + Unpin>(&mut self, out: &mut W) -> std::io::Result<()> {
        let result = self.write_until(out, self.buf.len()).await;
        self.reset(result.is_ok());
        result
    }

    /// Writes up to the end of the frame in flight (none if nothing of the
    /// burst was written), drops the frames after it and empties the burst;
    /// true if that was the whole burst.
    async fn finish_frame<W: AsyncWrite + Unpin>(&mut self, out: &mut W) -> std::io::Result<bool> {
        let in_flight = self.ends.iter().copied().find(|&e| e >= self.written);
        let end = in_flight.filter(|_| self.written > 0).unwrap_or(0);
        let whole = end == self.buf.len();
        let result = self.write_until(out, end).await;
        self.reset(result.is_ok());
        result.map(|()| whole)
    }

    async fn write_until<W: AsyncWrite + Unpin>(
        &mut self,
        out: &mut W,
        end: usize,
    ) -> std::io::Result<()> {
        while self.written < end {
            match out.write(&self.buf[self.written..end]).await? {
                0 => return Err(std::io::ErrorKind::WriteZero.into()),
                n => self.written += n,
            }
        }
        out.flush().await
    }

    fn reset(&mut self, wrote: bool) {
        if wrote {
            let hot = m::hot();
            let sent = self.ends.iter().filter(|&&end| end <= self.written).count();
            hot.frames_out.increment(sent as u64);
            hot.bytes_out.increment(self.written as u64);
            hot.socket_writes.increment(1);
        }
        self.written = 0;
        self.ends.clear();
        self.buf.clear();
        if self.buf.capacity() > KEEP_BYTES {
            self.buf = Vec::new();
        }
        if self.scratch.capacity() > KEEP_BYTES {
            self.scratch = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::codec::{Dispatch, DispatchData, Empty};
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    /// Records every write call.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<Vec<u8>>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.writes.push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Splits a byte stream into unmasked frames: (fin+opcode byte, payload).
    fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (first, len_byte) = (bytes[0], bytes[1]);
            assert_eq!(len_byte & 0x80, 0, "server frames are unmasked");
            let (len, head) = match len_byte {
                126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
                127 => (
                    u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                n => (n as usize, 2),
            };
            out.push((first, bytes[head..head + len].to_vec()));
            bytes = &bytes[head + len..];
        }
        out
    }

    #[tokio::test]
    async fn zlib_stream_frames_inflate_one_by_one_into_the_json_frames_and_shrink_them() {
        let (tx, rx) = mpsc::channel(128);
        let (close, close_rx) = watch::channel(None);
        let d = Arc::new(Dispatch::new("RESUMED", DispatchData::Resumed(Empty {})));
        for seq in 1..=20 {
            tx.try_send(Outbound::Dispatch(seq, d.clone())).unwrap();
        }
        let mut out = Recorder::default();
        let writer = run(&mut out, rx, close_rx, Encoding::Json, true);
        let stop = async {
            tokio::task::yield_now().await;
            close.send_replace(Some(CloseCode::ServerShutdown));
        };
        tokio::join!(writer, stop);
        let all: Vec<u8> = out.writes.concat();
        let sent = frames(&all);
        let (close_frame, data) = sent.split_last().unwrap();
        assert_eq!(close_frame.0, 0x88, "the close frame is not compressed");
        let mut inflate = flate2::Decompress::new(true);
        let mut wire = 0;
        for (i, (first, payload)) in data.iter().enumerate() {
            assert_eq!(*first, 0x82, "a final binary frame");
            assert!(
                payload.ends_with(&[0, 0, 0xff, 0xff]),
                "ends on a sync flush"
            );
            let mut json = Vec::with_capacity(4096);
            let flush = flate2::FlushDecompress::Sync;
            inflate.decompress_vec(payload, &mut json, flush).unwrap();
            let expected = format!(r#"{{"op":0,"t":"RESUMED","d":{{}},"s":{}}}"#, i + 1);
            assert_eq!(String::from_utf8(json).unwrap(), expected);
            wire += payload.len();
        }
        assert_eq!(data.len(), 20);
        let plain = 20 * r#"{"op":0,"t":"RESUMED","d":{},"s":10}"#.len();
        assert!(wire * 2 < plain, "{wire} bytes deflated against {plain}");
    }

    #[tokio::test]
    async fn a_queued_burst_is_one_write_of_valid_frames_and_close_ends_it() {
        let (tx, rx) = mpsc::channel(128);
        let (close, close_rx) = watch::channel(None);
        let d = Arc::new(Dispatch::new("RESUMED", DispatchData::Resumed(Empty {})));
        for seq in 1..=10 {
            tx.try_send(Outbound::Dispatch(seq, d.clone())).unwrap();
        }
        tx.try_send(Outbound::Frame(br#"{"op":11}"#.repeat(20)))
            .unwrap();
        let mut out = Recorder::default();
        let writer = run(&mut out, rx, close_rx, Encoding::Json, false);
        let stop = async {
            tokio::task::yield_now().await;
            close.send_replace(Some(CloseCode::SlowConsumer));
        };
        tokio::join!(writer, stop);
        assert_eq!(
            out.writes.len(),
            2,
            "one write for the burst, one for the close"
        );
        let burst = frames(&out.writes[0]);
        assert_eq!(burst.len(), 11);
        for (i, (first, payload)) in burst.iter().take(10).enumerate() {
            assert_eq!(*first, 0x81, "fin + text");
            let h = rookery_proto::codec::decode_header(Encoding::Json, payload).unwrap();
            assert_eq!(h.s, Some(i as u64 + 1));
        }
        assert_eq!(
            burst[10].1.len(),
            180,
            "a 126-length header for a 180-byte payload"
        );
        let close = frames(&out.writes[1]);
        assert_eq!(close[0].0, 0x88, "fin + close");
        assert_eq!(u16::from_be_bytes([close[0].1[0], close[0].1[1]]), 4101);
    }

    #[tokio::test]
    async fn a_slow_consumer_gets_its_close_right_after_the_frame_in_flight() {
        use tokio::io::AsyncReadExt;
        let (tx, rx) = mpsc::channel(128);
        let (close, close_rx) = watch::channel(None);
        for _ in 0..40 {
            tx.try_send(Outbound::Frame(vec![b'x'; 100])).unwrap();
        }
        // The client's socket takes 256 bytes, then it stops reading.
        let (socket, mut client) = tokio::io::duplex(256);
        let writer = tokio::spawn(run(socket, rx, close_rx, Encoding::Json, false));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        close.send_replace(Some(CloseCode::SlowConsumer));
        // It reads again, slowly enough to see what comes.
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        writer.await.unwrap();
        let frames = frames(&received);
        let (last, data) = frames.split_last().expect("frames");
        assert_eq!(last.0, 0x88, "the close frame comes last");
        assert_eq!(u16::from_be_bytes([last.1[0], last.1[1]]), 4101);
        assert!(
            data.len() <= 3,
            "the close follows the frame in flight, not the rest of the burst: {} frames first",
            data.len()
        );
        assert!(
            data.iter()
                .all(|(first, payload)| *first == 0x81 && payload.len() == 100)
        );
    }
}
