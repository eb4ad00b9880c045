//! The connection's writer task: the slow path of [`super::outlet`]. It is
//! woken only when frames were queued (the socket did not take a frame
//! written through, the connection asked for zlib-stream, or frames came
//! faster than the socket drained), and writes each burst of queued frames
//! with as few syscalls as the socket allows, then goes back to sleep and
//! lets deliveries write through again.
//!
//! Buffers start empty and are released after an unusually large burst, so
//! an idle connection holds no write buffer.
//!
//! A close asked for while a burst is being written (a slow consumer's
//! socket is full) cuts the burst at the end of the frame in flight and
//! sends the close frame next: a client that still reads, however slowly,
//! gets its 4101 after at most one more frame instead of after the whole
//! burst (or never, if the connection's linger runs out first). Closes are
//! counted where they are asked for ([`crate::delivery::session::Conn::close`]),
//! whether or not the peer reads the frame.
//!
//! With `compress=zlib-stream` (Discord's transport compression) every data
//! frame is deflated into one zlib stream kept for the connection's life,
//! each ending on a sync flush (`00 00 ff ff`) and sent as a binary frame,
//! so a client inflates each frame as it comes. Level 1 and a 4 KiB window:
//! zlib's defaults cost three times the CPU per delivery and twice the
//! memory for a little more ratio (loadtest/README.md, "zlib-stream").
//! Only the connections that ask for it pay; they never write through.

use super::frame::{self, MAX_HEAD, Outbound};
use super::outlet::{Outlet, Wire, count_write};
use crate::metrics as m;
use fastwebsockets::OpCode;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::CloseCode;
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

/// Most frames per write.
const BURST_FRAMES: usize = 64;
/// A burst stops growing past this many bytes.
const BURST_BYTES: usize = 64 * 1024;
/// Buffers larger than this are released after use.
const KEEP_BYTES: usize = 16 * 1024;

/// Writes what `outlet` queues until a close is asked for (sent as the
/// last frame), a write fails, or the connection hangs up with nothing
/// left to write.
pub async fn run(outlet: Arc<Outlet>, zlib: bool) {
    let mut burst = Burst::new(outlet.encoding());
    if zlib {
        burst.zlib = Some(Zlib::default());
    }
    // Every wake-up is re-checked against the queue: a notification left
    // over from before the writer looked is harmless.
    let code = loop {
        let (close, idle, hung_up) = {
            let queue = outlet.queue();
            (queue.close, queue.frames.is_empty(), queue.closed)
        };
        match (close, idle) {
            (Some(code), _) => break code,
            (None, true) if hung_up => return,
            (None, true) => outlet.wake.notified().await,
            (None, false) => {
                if !drain(&mut burst, &outlet).await {
                    outlet.shut();
                    return;
                }
            }
        }
    };
    send_close(&mut burst, &outlet, code).await;
    outlet.shut();
}

/// Writes bursts until the queue is empty, then hands the socket back to
/// write-through; false once the connection must end (a write failed or
/// a close frame went out).
async fn drain(burst: &mut Burst, outlet: &Outlet) -> bool {
    let mut closing = false;
    loop {
        if burst.is_empty() {
            let mut queue = outlet.queue();
            if queue.frames.is_empty() {
                queue.writer_busy = false;
                return true;
            }
            closing = burst.fill(&mut queue.frames);
        }
        // Only a close wakes a busy writer (senders queue silently).
        let woken = tokio::select! {
            biased;
            () = outlet.wake.notified() => true,
            written = burst.write_to(outlet.wire()) => match written {
                Ok(()) => false,
                Err(_) => return false,
            },
        };
        if !woken {
            if closing {
                return false;
            }
            continue;
        }
        let Some(code) = outlet.close_asked() else {
            continue;
        };
        // A slow consumer's burst is cut after the frame in flight; any
        // other close lets the burst finish.
        let all_written = match code {
            CloseCode::SlowConsumer => burst.finish_frame(outlet.wire()).await,
            _ => burst.write_to(outlet.wire()).await.map(|()| true),
        };
        // The burst's own close frame went out: nothing may follow.
        // Otherwise the close is the caller's to send, the socket still ours.
        return match all_written {
            Err(_) => false,
            Ok(true) if closing => false,
            Ok(_) => true,
        };
    }
}

/// Sends what was queued before the close (RECONNECT on shutdown), except
/// to a client that stopped reading, then the close frame.
async fn send_close(burst: &mut Burst, outlet: &Outlet, code: CloseCode) {
    let mut queued = {
        let mut queue = outlet.queue();
        queue.writer_busy = true;
        queue.closed = true;
        std::mem::take(&mut queue.frames)
    };
    if code == CloseCode::SlowConsumer {
        // Only the rest of a frame already started: the peer must be able
        // to parse the close frame.
        let started = matches!(queued.front(), Some(Outbound::Encoded(_)));
        queued.truncate(usize::from(started));
    }
    while !queued.is_empty() {
        let closing = burst.fill(&mut queued);
        if burst.write_to(outlet.wire()).await.is_err() || closing {
            return;
        }
    }
    let mut payload = code.code().to_be_bytes().to_vec();
    payload.extend_from_slice(code.reason().as_bytes());
    burst.push(Outbound::Control(OpCode::Close, payload));
    let _ = burst.write_to(outlet.wire()).await;
}

/// Frames encoded back to back, ready for one write.
struct Burst {
    buf: Vec<u8>,
    /// Where each frame in `buf` ends.
    ends: Vec<usize>,
    /// How much of `buf` is written.
    written: usize,
    scratch: Vec<u8>,
    /// The burst opens with the rest of a frame the socket has started
    /// (written through in part): it must be finished whatever happens.
    started: bool,
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
        Self {
            buf: Vec::new(),
            ends: Vec::new(),
            written: 0,
            scratch: Vec::new(),
            started: false,
            encoding,
            zlib: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn full(&self) -> bool {
        self.ends.len() >= BURST_FRAMES || self.buf.len() >= BURST_BYTES
    }

    /// Moves queued frames into the burst until it is full; true if the
    /// last one was a close (nothing may follow).
    fn fill(&mut self, queue: &mut VecDeque<Outbound>) -> bool {
        while !self.full() {
            let Some(item) = queue.pop_front() else { break };
            if self.push(item) {
                return true;
            }
        }
        false
    }

    /// Appends one frame; true if it was a close (nothing may follow).
    fn push(&mut self, item: Outbound) -> bool {
        if let Outbound::Encoded(bytes) = &item {
            self.started |= self.ends.is_empty();
            self.buf.extend_from_slice(bytes);
            self.ends.push(self.buf.len());
            return false;
        }
        self.scratch.clear();
        let op = frame::payload_into(&item, self.encoding, &mut self.scratch)
            .expect("only encoded bytes have no opcode");
        let (op, payload) = match &mut self.zlib {
            Some(z) if op != OpCode::Close && op != OpCode::Pong => {
                m::hot().deflate_in.increment(self.scratch.len() as u64);
                (OpCode::Binary, z.deflate(&self.scratch))
            }
            _ => (op, self.scratch.as_slice()),
        };
        let mut head = [0u8; MAX_HEAD];
        let n = frame::head(op, payload.len(), &mut head);
        self.buf.extend_from_slice(&head[..n]);
        self.buf.extend_from_slice(payload);
        self.ends.push(self.buf.len());
        op == OpCode::Close
    }

    /// Writes the burst. Cancel safe: dropped mid-way, it leaves `written`
    /// where the socket took the bytes up to, and [`Burst::finish_frame`]
    /// or another call carries on from there.
    async fn write_to(&mut self, wire: &dyn Wire) -> std::io::Result<()> {
        let result = self.write_until(wire, self.buf.len()).await;
        self.reset(result.is_ok());
        result
    }

    /// Writes up to the end of the frame in flight (none if nothing of the
    /// burst was written), drops the frames after it and empties the burst;
    /// true if that was the whole burst.
    async fn finish_frame(&mut self, wire: &dyn Wire) -> std::io::Result<bool> {
        let in_flight = self.ends.iter().copied().find(|&e| e >= self.written);
        let end = in_flight
            .filter(|_| self.written > 0 || self.started)
            .unwrap_or(0);
        let whole = end == self.buf.len();
        let result = self.write_until(wire, end).await;
        self.reset(result.is_ok());
        result.map(|()| whole)
    }

    async fn write_until(&mut self, wire: &dyn Wire, end: usize) -> std::io::Result<()> {
        while self.written < end {
            let rest = &self.buf[self.written..end];
            match std::future::poll_fn(|cx| poll_write(wire, cx, rest)).await? {
                0 => return Err(std::io::ErrorKind::WriteZero.into()),
                n => self.written += n,
            }
        }
        Ok(())
    }

    fn reset(&mut self, wrote: bool) {
        if wrote {
            let sent = self.ends.iter().filter(|&&end| end <= self.written).count();
            count_write(sent, self.written);
        }
        self.written = 0;
        self.started = false;
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

/// One write once the socket has room.
fn poll_write(wire: &dyn Wire, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
    loop {
        ready!(wire.poll_writable(cx))?;
        match wire.try_write(bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            done => return Poll::Ready(done),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::outlet::Refused;
    use crate::delivery::outlet::test_wire::TestWire;
    use crate::delivery::outlet::tests::lazy;
    use rookery_proto::codec::{Dispatch, DispatchData, Empty};

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

    fn resumed() -> Arc<Dispatch> {
        Arc::new(Dispatch::new("RESUMED", DispatchData::Resumed(Empty {})))
    }

    fn seqs(data: &[(u8, Vec<u8>)]) -> Vec<u64> {
        let header = |p: &[u8]| rookery_proto::codec::decode_header(Encoding::Json, p).unwrap();
        let text = data.iter().filter(|(first, _)| *first == 0x81);
        text.filter_map(|(_, p)| header(p).s).collect()
    }

    #[tokio::test]
    async fn zlib_stream_frames_inflate_one_by_one_into_the_json_frames_and_shrink_them() {
        let wire = TestWire::with_room(1 << 20);
        let out = lazy(&wire, true);
        for seq in 1..=20 {
            out.send(Outbound::Dispatch(seq, resumed())).unwrap();
        }
        assert_eq!(wire.taken().1, 0, "nothing written through");
        tokio::task::yield_now().await;
        out.close(CloseCode::ServerShutdown);
        out.hang_up()
            .expect("the first frame started it")
            .await
            .unwrap();
        let sent = frames(&wire.taken().0);
        let (close_frame, data) = sent.split_last().unwrap();
        assert_eq!(close_frame.0, 0x88, "the close frame is not compressed");
        let mut inflate = flate2::Decompress::new(true);
        let mut wire_bytes = 0;
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
            wire_bytes += payload.len();
        }
        assert_eq!(data.len(), 20);
        let plain = 20 * r#"{"op":0,"t":"RESUMED","d":{},"s":10}"#.len();
        assert!(
            wire_bytes * 2 < plain,
            "{wire_bytes} bytes deflated against {plain}"
        );
        assert_eq!(out.send(Outbound::Frame(vec![1])), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn frames_write_through_with_one_syscall_each_and_no_writer() {
        let wire = TestWire::with_room(1 << 20);
        let out = lazy(&wire, false);
        for seq in 1..=3 {
            out.send(Outbound::Dispatch(seq, resumed())).unwrap();
        }
        let (bytes, writes) = wire.taken();
        assert_eq!(writes, 3, "one write per frame, made by the sender");
        assert_eq!(seqs(&frames(&bytes)), [1, 2, 3]);
        assert!(out.queue().frames.is_empty() && !out.queue().writer_busy);
        assert!(out.hang_up().is_none(), "no writer task was spawned");
    }

    #[tokio::test]
    async fn a_blocked_socket_queues_frames_in_order_until_the_writer_drains_them_in_one_write() {
        let wire = TestWire::with_room(0);
        let out = lazy(&wire, false);
        for seq in 1..=10 {
            out.send(Outbound::Dispatch(seq, resumed())).unwrap();
        }
        out.send(Outbound::Frame(br#"{"op":11}"#.repeat(20)))
            .unwrap();
        assert_eq!(out.queue().frames.len(), 11, "all queued behind the first");
        tokio::task::yield_now().await;
        wire.give(1 << 20);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let (bytes, writes) = wire.taken();
        assert_eq!(writes, 1, "the queued burst goes out in one write");
        let burst = frames(&bytes);
        assert_eq!(burst.len(), 11);
        assert!(burst.iter().take(10).all(|(first, _)| *first == 0x81));
        assert_eq!(seqs(&burst[..10]), (1..=10).collect::<Vec<_>>());
        assert_eq!(burst[10].1.len(), 180, "a 126-length header");
        // Drained: the socket is handed back to write-through.
        out.send(Outbound::Dispatch(11, resumed())).unwrap();
        assert_eq!(wire.taken().1, 2);
        out.close(CloseCode::SlowConsumer);
        out.hang_up().unwrap().await.unwrap();
        let all = frames(&wire.taken().0);
        let (last, _) = all.split_last().unwrap();
        assert_eq!(last.0, 0x88, "fin + close");
        assert_eq!(u16::from_be_bytes([last.1[0], last.1[1]]), 4101);
    }

    #[tokio::test]
    async fn a_frame_the_socket_took_in_part_is_finished_before_anything_else() {
        let wire = TestWire::with_room(5);
        let out = lazy(&wire, false);
        out.send(Outbound::Dispatch(1, resumed())).unwrap();
        out.send(Outbound::Dispatch(2, resumed())).unwrap();
        // The client stopped reading: even a slow consumer's close waits
        // for the frame in flight, so the stream stays parseable.
        out.close(CloseCode::SlowConsumer);
        tokio::task::yield_now().await;
        wire.give(1 << 20);
        out.hang_up().unwrap().await.unwrap();
        let sent = frames(&wire.taken().0);
        assert_eq!(seqs(&sent), [1], "the started frame, not the queued one");
        assert_eq!(sent.last().unwrap().0, 0x88);
    }

    #[tokio::test]
    async fn a_slow_consumer_gets_its_close_right_after_the_frame_in_flight() {
        // The client's socket takes 256 bytes, then it stops reading.
        let wire = TestWire::with_room(256);
        let out = lazy(&wire, false);
        for _ in 0..40 {
            out.send(Outbound::Frame(vec![b'x'; 100])).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        out.close(CloseCode::SlowConsumer);
        tokio::task::yield_now().await;
        // It reads again, slowly enough to see what comes.
        for _ in 0..100 {
            wire.give(64);
            tokio::task::yield_now().await;
        }
        out.hang_up().unwrap().await.unwrap();
        let frames = frames(&wire.taken().0);
        let (last, data) = frames.split_last().expect("frames");
        assert_eq!(last.0, 0x88, "the close frame comes last");
        assert_eq!(u16::from_be_bytes([last.1[0], last.1[1]]), 4101);
        assert!(
            data.len() <= 4,
            "the close follows the frame in flight, not the rest of the queue: {} frames first",
            data.len()
        );
        assert!(
            data.iter()
                .all(|(first, payload)| *first == 0x81 && payload.len() == 100)
        );
    }
}
