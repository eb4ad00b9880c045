//! The outbound side of one gateway connection: where sessions and the
//! connection's reader hand it frames.
//!
//! **Write-through.** When nothing is queued and the connection's writer is
//! idle, a frame is encoded and written on the socket at once, by the
//! thread that delivers it (a non-blocking `send`, under the outlet's lock
//! so frames keep their order). Only what the socket does not take — a
//! partial write or `EWOULDBLOCK` — is queued, and only then is the writer
//! task ([`super::writer`]) woken to wait for room. A delivery to a reading
//! client therefore costs one syscall and no task wake-up, queue hop or
//! extra copy; the queue and the writer serve slow clients, bursts and
//! zlib-stream connections (whose deflate state lives in the writer).
//!
//! The queue is bounded by the connection's outbound capacity: a client
//! that lets it fill is a slow consumer ([`Refused::Full`]).
//!
//! **The writer starts late.** Most connections never push back, so their
//! writer task is spawned only when it is first needed: the first frame
//! queued, or a close asked for (the close frame is the writer's to send).
//! An idle connection holds no writer task, and the close signal lives
//! here too (no channel of its own): the reader learns of it from
//! [`Outlet::closing`].
//!
//! Lock order: a session's state lock, then its connection's outlet lock
//! (a session numbers a dispatch and hands it over under its own lock);
//! nothing takes a session's lock while holding an outlet's.
//!
//! **Write-through budget.** The hub delivers an applied batch on one
//! thread; writing every frame of a large batch through would put every
//! syscall of the fan-out on that thread while the other cores idle. Under
//! a [`budget`] only the first frames of the batch are written through;
//! the rest are queued and their writer tasks, woken on this thread's run
//! queue, are stolen by idle workers and written in parallel.

use super::frame::{self, Outbound};
use crate::metrics as m;
use futures_util::task::AtomicWaker;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::CloseCode;
use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The socket under an outlet: non-blocking writes and a readiness wait.
pub trait Wire: Send + Sync + 'static {
    /// Writes what the socket takes now, or fails with `WouldBlock`.
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize>;
    /// Ready once a write may make progress.
    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// The connection's socket, shared with its reader: one allocation for
/// both directions.
impl Wire for tokio::net::TcpStream {
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        tokio::net::TcpStream::try_write(self, bytes)
    }

    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_ready(cx)
    }
}

/// Why a frame was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is at capacity: the client is not reading.
    Full,
    /// The connection is closing or gone.
    Closed,
}

/// How an outlet's writer task starts.
pub enum Start {
    /// Spawned on `runtime` when first needed. With `zlib` (zlib-stream
    /// transport compression) every frame goes through the writer, whose
    /// deflate stream it is, so it starts with the first frame.
    Lazy {
        /// Where the writer runs (delivering threads need not be in it).
        runtime: tokio::runtime::Handle,
        /// zlib-stream: nothing is written through.
        zlib: bool,
    },
    /// Never: queued frames stay queued, for tests that read them.
    #[cfg(test)]
    Never,
}

/// One connection's outbound frames, and what else every thread that
/// deals with the connection shares: its close signal and its deadlines.
pub struct Outlet {
    wire: Arc<dyn Wire>,
    /// Where the writer is spawned; `None`: never (tests).
    runtime: Option<tokio::runtime::Handle>,
    capacity: u32,
    encoding: Encoding,
    zlib: bool,
    state: Mutex<Queue>,
    /// Wakes the writer: frames were queued for it, a close was asked for,
    /// or the connection hung up.
    pub(super) wake: Notify,
    /// Tells the connection's reader that a close was asked for (a waker,
    /// not a `Notify`: the reader polls it beside its socket without
    /// keeping a waiter in its task).
    closing: AtomicWaker,
    /// When the client must have heartbeated by, and identified by (`MAX`
    /// once it has), in the clock of the edge's connection registry, which
    /// closes connections past either (`transport::gateway::open`).
    pub heartbeat_by: AtomicU64,
    /// See `heartbeat_by`.
    pub identify_by: AtomicU64,
}

#[derive(Default)]
pub(super) struct Queue {
    pub(super) frames: VecDeque<Outbound>,
    /// The writer owns the socket: it was woken for queued frames and has
    /// not yet found the queue empty. No frame is written through meanwhile.
    pub(super) writer_busy: bool,
    /// A close frame was accepted, the connection failed or its reader hung
    /// up: nothing more is taken.
    pub(super) closed: bool,
    /// The close the server asked for (the first asked wins); the writer
    /// sends it as the last frame.
    pub(super) close: Option<CloseCode>,
    /// The writer task, once spawned (until the reader takes it to wait for
    /// its last frames).
    writer: Option<JoinHandle<()>>,
    /// The writer was spawned (it is never spawned twice).
    writer_started: bool,
}

impl Outlet {
    /// An outlet writing `encoding` frames on `wire`, queueing at most
    /// `capacity` of them for a writer started as `start` says.
    pub fn new(wire: Arc<dyn Wire>, encoding: Encoding, capacity: usize, start: Start) -> Self {
        let (runtime, zlib) = match start {
            Start::Lazy { runtime, zlib } => (Some(runtime), zlib),
            #[cfg(test)]
            Start::Never => (None, false),
        };
        Self {
            wire,
            runtime,
            capacity: u32::try_from(capacity.max(1)).unwrap_or(u32::MAX),
            encoding,
            zlib,
            state: Mutex::default(),
            wake: Notify::new(),
            closing: AtomicWaker::new(),
            heartbeat_by: AtomicU64::new(u64::MAX),
            identify_by: AtomicU64::new(u64::MAX),
        }
    }

    pub(crate) fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub(super) fn wire(&self) -> &dyn Wire {
        &*self.wire
    }

    pub(super) fn queue(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Frames may be written by the caller: not for zlib-stream (whose
    /// stream state only the writer holds) nor an outlet without a writer.
    fn writes_through(&self) -> bool {
        self.runtime.is_some() && !self.zlib
    }

    /// Sends `item`: written now if the socket is free and takes it, else
    /// queued for the writer.
    pub fn send(self: &Arc<Self>, item: Outbound) -> Result<(), Refused> {
        let mut queue = self.queue();
        if queue.closed {
            return Err(Refused::Closed);
        }
        let closing = item.is_close();
        let free = self.writes_through() && !queue.writer_busy && queue.frames.is_empty();
        let item = if free && spend_budget() {
            match self.write_now(&item) {
                Through::Whole => {
                    queue.closed |= closing;
                    return Ok(());
                }
                Through::Rest(rest) => Outbound::Encoded(rest),
                Through::Blocked => item,
                Through::Failed => {
                    queue.closed = true;
                    return Err(Refused::Closed);
                }
            }
        } else if queue.frames.len() >= self.capacity as usize {
            return Err(Refused::Full);
        } else {
            item
        };
        queue.frames.push_back(item);
        queue.closed |= closing;
        if !queue.writer_busy {
            queue.writer_busy = true;
            self.wake_writer(&mut queue);
        }
        Ok(())
    }

    /// Asks the connection to close with `code`; false if a close was
    /// already asked for (the first code wins).
    pub fn close(self: &Arc<Self>, code: CloseCode) -> bool {
        let mut queue = self.queue();
        if queue.close.is_some() {
            return false;
        }
        queue.close = Some(code);
        self.wake_writer(&mut queue);
        self.closing.wake();
        true
    }

    /// The close asked for, if any.
    pub(crate) fn close_asked(&self) -> Option<CloseCode> {
        self.queue().close
    }

    /// Ready once a close was asked for (one waiter: the reader).
    pub fn poll_closing(&self, cx: &mut Context<'_>) -> Poll<()> {
        // Registered before the check: a close asked for in between wakes.
        self.closing.register(cx.waker());
        match self.queue().close {
            Some(_) => Poll::Ready(()),
            None => Poll::Pending,
        }
    }

    /// The reader is done: nothing more is taken, the writer (if any)
    /// finishes what is queued (and the close frame, if one was asked
    /// for), then ends. Returns the writer, to wait for or abort.
    pub fn hang_up(&self) -> Option<JoinHandle<()>> {
        let mut queue = self.queue();
        queue.closed = true;
        self.wake.notify_one();
        queue.writer.take()
    }

    /// Marks the connection gone: later sends are refused.
    pub fn shut(&self) {
        self.queue().closed = true;
    }

    /// Spawns the writer the first time, and wakes it.
    fn wake_writer(self: &Arc<Self>, queue: &mut Queue) {
        if let (Some(runtime), false) = (&self.runtime, queue.writer_started) {
            queue.writer_started = true;
            let writer = super::writer::run(self.clone(), self.zlib);
            queue.writer = Some(runtime.spawn(writer));
        }
        self.wake.notify_one();
    }

    fn write_now(&self, item: &Outbound) -> Through {
        SCRATCH.with_borrow_mut(|buf| {
            let bytes = frame::encode(item, self.encoding, buf);
            match self.wire.try_write(bytes) {
                Ok(n) if n == bytes.len() => {
                    count_write(1, n);
                    Through::Whole
                }
                Ok(0) => Through::Failed,
                Ok(n) => {
                    count_write(0, n);
                    Through::Rest(bytes[n..].to_vec())
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Through::Blocked,
                Err(_) => Through::Failed,
            }
        })
    }

    /// Takes the next queued frame (for tests that read what was sent).
    #[cfg(test)]
    pub fn try_recv(&self) -> Result<Outbound, Refused> {
        self.queue().frames.pop_front().ok_or(Refused::Closed)
    }
}

thread_local! {
    /// Frames this thread may still write through (`None`: no budget).
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Limits write-through on this thread to `frames` frames until the guard
/// drops. Never hold it across an `.await` (the task may move threads).
pub fn budget(frames: usize) -> BudgetGuard {
    BUDGET.set(Some(frames));
    BudgetGuard(std::marker::PhantomData)
}

/// Ends a [`budget`] when dropped; not `Send`, so it stays on its thread.
pub struct BudgetGuard(std::marker::PhantomData<*const ()>);

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        BUDGET.set(None);
    }
}

fn spend_budget() -> bool {
    match BUDGET.get() {
        None => true,
        Some(0) => false,
        Some(left) => {
            BUDGET.set(Some(left - 1));
            true
        }
    }
}

/// The outcome of a write-through attempt.
enum Through {
    Whole,
    /// The socket took part of the frame; the rest must follow first.
    Rest(Vec<u8>),
    Blocked,
    Failed,
}

thread_local! {
    /// Frames written through are encoded here: one buffer per thread
    /// rather than per connection.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Counts one socket write of `bytes` carrying `frames` whole frames.
pub(super) fn count_write(frames: usize, bytes: usize) {
    let hot = m::hot();
    hot.frames_out.increment(frames as u64);
    hot.bytes_out.increment(bytes as u64);
    hot.socket_writes.increment(1);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::test_wire::TestWire;
    use super::*;

    #[tokio::test]
    async fn under_a_budget_only_the_first_frames_write_through_and_the_rest_wake_writers() {
        let wire = TestWire::with_room(1 << 20);
        let outlets: Vec<Arc<Outlet>> = (0..3).map(|_| lazy(&wire, false)).collect();
        {
            let _budget = budget(2);
            for outlet in &outlets {
                outlet.send(Outbound::Frame(b"{}".to_vec())).unwrap();
            }
        }
        assert_eq!(wire.taken().1, 2, "two written through");
        assert!(outlets[0].queue().writer.is_none(), "no writer spawned");
        let last = outlets[2].queue();
        assert_eq!(last.frames.len(), 1, "the third queued");
        assert!(last.writer_busy, "and its writer woken");
        assert!(last.writer.is_some(), "spawned for it");
        drop(last);
        // Outside the budget, everything free writes through again.
        outlets[0].send(Outbound::Frame(b"{}".to_vec())).unwrap();
        assert_eq!(wire.taken().1, 3);
    }

    #[tokio::test]
    async fn a_close_starts_the_writer_once_and_signals_the_reader_once() {
        let wire = TestWire::with_room(1 << 20);
        let outlet = lazy(&wire, false);
        outlet.send(Outbound::Frame(b"{}".to_vec())).unwrap();
        assert!(
            outlet.queue().writer.is_none(),
            "written through, no writer"
        );
        assert!(outlet.close(CloseCode::SlowConsumer));
        assert!(!outlet.close(CloseCode::ServerShutdown), "the first wins");
        std::future::poll_fn(|cx| outlet.poll_closing(cx)).await;
        let writer = outlet.hang_up().expect("the close started the writer");
        writer.await.unwrap();
        let taken = wire.taken().0;
        // The written-through frame, then the close frame with 4101.
        assert_eq!(&taken[..4], b"\x81\x02{}");
        assert_eq!(&taken[4..8], [0x88, 2 + 13, 0x10, 0x05]);
        assert_eq!(outlet.send(Outbound::Frame(vec![1])), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn a_hang_up_ends_an_idle_writer() {
        let wire = TestWire::with_room(0);
        let outlet = lazy(&wire, false);
        outlet.send(Outbound::Frame(b"{}".to_vec())).unwrap();
        wire.give(1 << 20);
        let writer = outlet.hang_up().expect("the blocked frame started it");
        tokio::time::timeout(std::time::Duration::from_secs(5), writer)
            .await
            .expect("the writer ends once what was queued is written")
            .unwrap();
        assert_eq!(wire.taken().0, b"\x81\x02{}");
    }

    /// An outlet whose writer starts when needed, on the test's runtime.
    pub(crate) fn lazy(wire: &Arc<TestWire>, zlib: bool) -> Arc<Outlet> {
        let runtime = tokio::runtime::Handle::current();
        let start = Start::Lazy { runtime, zlib };
        Arc::new(Outlet::new(wire.clone(), Encoding::Json, 128, start))
    }
}

/// A wire for unit tests: takes up to `room` bytes, then blocks until
/// [`TestWire::give`] makes room.
#[cfg(test)]
pub mod test_wire {
    use super::*;
    use std::task::Waker;

    /// See the module.
    #[derive(Default)]
    pub struct TestWire {
        state: Mutex<State>,
    }

    #[derive(Default)]
    struct State {
        taken: Vec<u8>,
        writes: usize,
        room: usize,
        waker: Option<Waker>,
    }

    impl TestWire {
        /// A wire that takes `room` bytes before blocking.
        pub fn with_room(room: usize) -> std::sync::Arc<Self> {
            let wire = Self::default();
            wire.state.lock().unwrap().room = room;
            std::sync::Arc::new(wire)
        }

        /// Lets `n` more bytes through.
        pub fn give(&self, n: usize) {
            let mut st = self.state.lock().unwrap();
            st.room += n;
            if let Some(w) = st.waker.take() {
                w.wake();
            }
        }

        /// Everything written so far, and in how many writes.
        pub fn taken(&self) -> (Vec<u8>, usize) {
            let st = self.state.lock().unwrap();
            (st.taken.clone(), st.writes)
        }
    }

    impl Wire for TestWire {
        fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
            let mut st = self.state.lock().unwrap();
            if st.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = st.room.min(bytes.len());
            st.taken.extend_from_slice(&bytes[..n]);
            st.room -= n;
            st.writes += 1;
            Ok(n)
        }

        fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let mut st = self.state.lock().unwrap();
            if st.room > 0 {
                return Poll::Ready(Ok(()));
            }
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}
