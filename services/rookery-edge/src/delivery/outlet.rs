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
use rookery_proto::codec::Encoding;
use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::sync::Notify;

/// The socket under an outlet: non-blocking writes and a readiness wait.
pub trait Wire: Send + Sync + 'static {
    /// Writes what the socket takes now, or fails with `WouldBlock`.
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize>;
    /// Ready once a write may make progress.
    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl Wire for tokio::net::tcp::OwnedWriteHalf {
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        tokio::net::tcp::OwnedWriteHalf::try_write(self, bytes)
    }

    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.as_ref().poll_write_ready(cx)
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

/// One connection's outbound frames.
pub struct Outlet {
    wire: std::sync::Arc<dyn Wire>,
    encoding: Encoding,
    /// Frames may be written by the caller (false for zlib-stream, whose
    /// stream state only the writer holds).
    write_through: bool,
    capacity: usize,
    state: Mutex<Queue>,
    /// Wakes the writer when frames are queued for it.
    pub(super) wake: Notify,
}

#[derive(Default)]
pub(super) struct Queue {
    pub(super) frames: VecDeque<Outbound>,
    /// The writer owns the socket: it was woken for queued frames and has
    /// not yet found the queue empty. No frame is written through meanwhile.
    pub(super) writer_busy: bool,
    /// A close frame was accepted or the connection failed: nothing more.
    pub(super) closed: bool,
}

impl Outlet {
    /// An outlet writing `encoding` frames on `wire`, queueing at most
    /// `capacity` of them.
    pub fn new(
        wire: std::sync::Arc<dyn Wire>,
        encoding: Encoding,
        write_through: bool,
        capacity: usize,
    ) -> Self {
        Self {
            wire,
            encoding,
            write_through,
            capacity: capacity.max(1),
            state: Mutex::default(),
            wake: Notify::new(),
        }
    }

    pub(super) fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub(super) fn wire(&self) -> &dyn Wire {
        &*self.wire
    }

    pub(super) fn queue(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `item`: written now if the socket is free and takes it, else
    /// queued for the writer.
    pub fn send(&self, item: Outbound) -> Result<(), Refused> {
        let mut queue = self.queue();
        if queue.closed {
            return Err(Refused::Closed);
        }
        let closing = item.is_close();
        let free = self.write_through && !queue.writer_busy && queue.frames.is_empty();
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
        } else if queue.frames.len() >= self.capacity {
            return Err(Refused::Full);
        } else {
            item
        };
        queue.frames.push_back(item);
        queue.closed |= closing;
        if !queue.writer_busy {
            queue.writer_busy = true;
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Marks the connection gone: later sends are refused.
    pub fn shut(&self) {
        self.queue().closed = true;
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
mod tests {
    use super::test_wire::TestWire;
    use super::*;

    #[test]
    fn under_a_budget_only_the_first_frames_write_through_and_the_rest_wake_writers() {
        let wire = TestWire::with_room(1 << 20);
        let outlets: Vec<Outlet> = (0..3)
            .map(|_| Outlet::new(wire.clone(), Encoding::Json, true, 8))
            .collect();
        {
            let _budget = budget(2);
            for outlet in &outlets {
                outlet.send(Outbound::Frame(b"{}".to_vec())).unwrap();
            }
        }
        assert_eq!(wire.taken().1, 2, "two written through");
        let last = outlets[2].queue();
        assert_eq!(last.frames.len(), 1, "the third queued");
        assert!(last.writer_busy, "and its writer woken");
        drop(last);
        // Outside the budget, everything free writes through again.
        outlets[0].send(Outbound::Frame(b"{}".to_vec())).unwrap();
        assert_eq!(wire.taken().1, 3);
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
