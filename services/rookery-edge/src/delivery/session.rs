//! A gateway session: its sequence numbers, its replay buffer for RESUME,
//! and the connection it is attached to (if any).
//!
//! A session outlives its connection for the resume window. Dispatches that
//! arrive while it is detached go to the replay buffer only; dispatches that
//! arrive before READY wait and follow READY in order. Once the buffer has
//! dropped a dispatch the detached client never got (or more arrive before
//! READY than it holds), no RESUME can succeed: the session is marked
//! overflowed, takes no more dispatches, and the edge ends it.

use crate::delivery::holds::Holds;
use crate::delivery::{Outlet, Refused};
use crate::metrics as m;
use rookery_proto::codec::{Dispatch, Encoding};
use rookery_proto::gateway::CloseCode;
use rookery_proto::intents::{Admit, Intents};
use rookery_proto::model::User;
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

pub use crate::delivery::Outbound;

/// The sending side of a live connection.
#[derive(Clone)]
pub struct Conn {
    /// Distinguishes connections, so a stale one cannot detach a newer one.
    pub id: u64,
    /// Encoding of the connection.
    pub encoding: Encoding,
    /// Where its frames go (written through, or queued, bounded), and
    /// where a close is asked for.
    pub outlet: Arc<Outlet>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// A connection whose frames only queue, with its outlet (to read what
    /// it was sent) — for tests.
    #[cfg(test)]
    pub fn queue_only(id: u64, capacity: usize) -> (Self, Arc<Outlet>) {
        let outlet = crate::delivery::queue_only(capacity);
        let conn = Conn {
            id,
            encoding: Encoding::Json,
            outlet: outlet.clone(),
        };
        (conn, outlet)
    }

    /// Asks the connection to close with `code` (the first code asked for
    /// wins, and is counted in `rookery_edge_closes_total`).
    pub fn close(&self, code: CloseCode) {
        close(&self.outlet, code);
    }
}

/// Asks `outlet`'s connection to close with `code` (the first code asked
/// for wins, and is counted in `rookery_edge_closes_total`).
pub(crate) fn close(outlet: &Arc<Outlet>, code: CloseCode) {
    if outlet.close(code) {
        metrics::counter!(m::CLOSES, "code" => code.code().to_string()).increment(1);
    }
}

/// Why a RESUME cannot continue.
#[derive(Debug, PartialEq, Eq)]
pub enum ResumeError {
    /// The client claims a seq the session never reached.
    SeqAhead,
    /// The replay buffer no longer covers the gap.
    GapTooOld,
    /// The session overflowed or its tokens were revoked: it is being ended.
    Ended,
}

/// A session's id for RESUME: 128 random bits, shown to clients as 32
/// lowercase hex digits. Kept as a number: a string would be two
/// allocations per session (the session's and the registry's key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(u128);

impl SessionId {
    fn random() -> Self {
        Self(rand::random())
    }

    /// The id a client sent back, if it is one this edge could have made.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        hex.then(|| u128::from_str_radix(text, 16).ok().map(Self))
            .flatten()
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// One identified session.
#[derive(Debug)]
pub struct Session {
    /// Opaque id for RESUME.
    pub id: SessionId,
    /// Numeric key for the hub's indexes.
    pub key: u64,
    /// The session's user.
    pub user: User,
    /// What the client asked to be sent ([`Intents::admit`]).
    intents: Intents,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    seq: u64,
    /// What a RESUME replays: the last `replay_cap` dispatches with their
    /// seqs. Before READY it holds, unnumbered, what arrived early (one
    /// buffer for both, as a session needs only one at a time).
    replay: VecDeque<(u64, Arc<Dispatch>)>,
    replay_cap: u32,
    ready: bool,
    conn: Option<Conn>,
    detached_at: Option<Instant>,
    /// The last seq queued to the connection before it went away.
    detached_seq: u64,
    overflowed: bool,
    /// The user's tokens were revoked: ended like an overflow, and the
    /// connection closed with 4004.
    revoked: bool,
    /// What the client asked to be sent ([`Intents::admit`]).
    intents: Intents,
    /// The session's user, whose own messages keep their content.
    viewer: rookery_proto::UserId,
    guilds: BTreeSet<rookery_proto::GuildId>,
    /// DMs and group DMs: scopes too, but no guild (presence is shared
    /// through guilds only).
    private: BTreeSet<rookery_proto::ChannelId>,
    holds: Holds,
}

static KEYS: AtomicU64 = AtomicU64::new(1);

impl Session {
    /// A detached, not yet ready session that is sent everything.
    pub fn new(user: User, replay_cap: usize) -> Arc<Self> {
        Self::with_intents(user, replay_cap, Intents::ALL)
    }

    /// A detached, not yet ready session sent what `intents` ask for.
    pub fn with_intents(user: User, replay_cap: usize, intents: Intents) -> Arc<Self> {
        let id = SessionId::random();
        let state = State {
            seq: 0,
            replay: VecDeque::new(),
            replay_cap: u32::try_from(replay_cap.max(1)).unwrap_or(u32::MAX),
            ready: false,
            conn: None,
            detached_at: Some(Instant::now()),
            detached_seq: 0,
            overflowed: false,
            revoked: false,
            intents,
            viewer: user.id,
            guilds: BTreeSet::new(),
            private: BTreeSet::new(),
            holds: Holds::default(),
        };
        Arc::new(Self {
            id,
            key: KEYS.fetch_add(1, Ordering::Relaxed),
            user,
            intents,
            state: Mutex::new(state),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends (or buffers) a dispatch.
    pub fn dispatch(&self, d: &Arc<Dispatch>) {
        // What the client did not ask for costs no lock (a presence in a
        // big guild reaches every session of it).
        if matches!(self.intents.admit(d, self.user.id), Admit::Skip) {
            return;
        }
        let mut st = self.state();
        if st.overflowed {
            return;
        }
        if st.holds.admit(d) {
            st.deliver(d.clone());
        } else if st.holds.held_live() > st.replay_cap as usize {
            // Held longer than a replay buffer's worth: as lost as a
            // buffer overflow.
            st.overflow();
        }
    }

    /// Sends (or buffers) a dispatch about a channel's visibility at once,
    /// ahead of anything held for the channel: CHANNEL_CREATE must precede
    /// the messages it shows, and CHANNEL_DELETE must not wait for a
    /// channel that is being dropped.
    pub fn announce(&self, d: &Arc<Dispatch>) {
        let mut st = self.state();
        if !st.overflowed {
            st.deliver(d.clone());
        }
    }

    /// Holds the live messages of `channels` (being joined) until
    /// [`Session::release`].
    pub fn hold(&self, channels: &[rookery_proto::ChannelId]) {
        self.state().holds.hold(channels);
    }

    /// Sends `caught_up` (what the store has of `channels` since the join),
    /// then the live messages held meanwhile, each message once (once every
    /// holder of a channel has released it).
    pub fn release(&self, channels: &[rookery_proto::ChannelId], caught_up: &[Arc<Dispatch>]) {
        let mut st = self.state();
        for d in st.holds.release(channels, caught_up) {
            if !st.overflowed {
                st.deliver(d);
            }
        }
    }

    /// Drops what was held of `channel`: the session may not see it.
    pub fn deny(&self, channel: rookery_proto::ChannelId) {
        self.state().holds.deny(channel);
    }

    /// Attaches the first connection: READY (seq 1), then `missed` (the
    /// catch-up the client asked for, read from the store), then whatever
    /// arrived live while READY was being built, minus the messages already
    /// in `missed`.
    pub fn attach_ready(&self, conn: Conn, ready: Arc<Dispatch>, missed: Vec<Arc<Dispatch>>) {
        let mut st = self.state();
        // What arrived early, before anything numbered joins the buffer.
        let early = std::mem::take(&mut st.replay);
        st.attach(conn);
        st.ready = true;
        // READY is seq 1 but is not kept for replay: a resuming client has
        // it already, and it is the largest dispatch a session holds.
        st.seq += 1;
        let seq = st.seq;
        st.send(seq, ready);
        st.holds.remember(&missed);
        for d in missed {
            st.push(d);
        }
        for (_, d) in early {
            if st.holds.admit(&d) {
                st.push(d);
            }
        }
    }

    /// Attaches a resuming connection: replays everything after `seq`, then
    /// RESUMED. A connection still attached is closed as replaced.
    pub fn resume(&self, conn: Conn, seq: u64, resumed: Arc<Dispatch>) -> Result<(), ResumeError> {
        let mut st = self.state();
        if st.overflowed {
            return Err(ResumeError::Ended);
        }
        if seq > st.seq || !st.ready {
            return Err(ResumeError::SeqAhead);
        }
        let oldest = st.replay.front().map_or(st.seq + 1, |(s, _)| *s);
        if seq + 1 < oldest {
            return Err(ResumeError::GapTooOld);
        }
        if let Some(old) = st.conn.take() {
            old.close(CloseCode::SessionReplaced);
        }
        st.attach(conn);
        let missed: Vec<_> = st
            .replay
            .iter()
            .filter(|(s, _)| *s > seq)
            .cloned()
            .collect();
        for (s, d) in missed {
            st.send(s, d);
        }
        st.push(resumed);
        Ok(())
    }

    /// Detaches connection `conn_id` if it is still the attached one.
    pub fn detach(&self, conn_id: u64) {
        let mut st = self.state();
        if st.conn.as_ref().is_some_and(|c| c.id == conn_id) {
            let seq = st.seq;
            st.lose_conn(seq);
        }
    }

    /// Whether the session can no longer be resumed (see the module docs).
    pub fn overflowed(&self) -> bool {
        self.state().overflowed
    }

    /// Ends the session because its user's tokens were revoked: nothing
    /// more is delivered, it cannot be resumed, and an attached connection
    /// is closed with 4004 (authentication failed).
    pub fn revoke(&self) {
        let mut st = self.state();
        st.revoked = true;
        st.stop(CloseCode::AuthenticationFailed);
    }

    /// Whether [`Session::revoke`] ended it.
    pub fn revoked(&self) -> bool {
        self.state().revoked
    }

    /// When the session lost its connection, if it has none.
    pub fn detached_at(&self) -> Option<Instant> {
        self.state().detached_at
    }

    /// Records guild membership; false if it was known.
    pub fn add_guild(&self, guild: rookery_proto::GuildId) -> bool {
        self.state().guilds.insert(guild)
    }

    /// Forgets a guild; false if it was not known.
    pub fn remove_guild(&self, guild: rookery_proto::GuildId) -> bool {
        self.state().guilds.remove(&guild)
    }

    /// Guilds the session is subscribed to.
    pub fn guilds(&self) -> Vec<rookery_proto::GuildId> {
        self.state().guilds.iter().copied().collect()
    }

    /// Records a DM or group DM; false if it was known.
    pub fn add_private(&self, channel: rookery_proto::ChannelId) -> bool {
        self.state().private.insert(channel)
    }

    /// Forgets a DM or group DM; false if it was not known.
    pub fn remove_private(&self, channel: rookery_proto::ChannelId) -> bool {
        self.state().private.remove(&channel)
    }

    /// Every scope the session is subscribed to: its guilds and private
    /// channels.
    pub fn scopes(&self) -> Vec<rookery_proto::Id> {
        let st = self.state();
        let guilds = st.guilds.iter().map(|g| g.raw());
        guilds.chain(st.private.iter().map(|c| c.raw())).collect()
    }
}

impl State {
    fn deliver(&mut self, d: Arc<Dispatch>) {
        if self.ready {
            self.push(d);
        } else if self.replay.len() < self.replay_cap as usize {
            self.replay.push_back((0, d));
        } else {
            self.overflow();
        }
    }

    /// Drops everything buffered: nothing will ever be sent from it.
    fn overflow(&mut self) {
        // A connection still attached would wait for dispatches that never
        // come: it reconnects and finds the session gone.
        self.stop(CloseCode::UnknownError);
    }

    /// Closes the connection with `code` and drops everything buffered;
    /// the session gets nothing more and is ended by its edge.
    fn stop(&mut self, code: CloseCode) {
        if let Some(conn) = self.conn.take() {
            conn.close(code);
        }
        self.overflowed = true;
        self.replay = VecDeque::new();
        self.holds = Holds::default();
    }

    /// The connection is gone; `delivered` is the last seq queued to it.
    fn lose_conn(&mut self, delivered: u64) {
        self.conn = None;
        self.detached_at = Some(Instant::now());
        self.detached_seq = delivered;
    }

    fn attach(&mut self, conn: Conn) {
        self.conn = Some(conn);
        self.detached_at = None;
    }

    fn push(&mut self, d: Arc<Dispatch>) {
        let d = match self.intents.admit(&d, self.viewer) {
            Admit::Whole => d,
            Admit::WithoutContent => d.without_content(),
            Admit::Skip => return,
        };
        self.seq += 1;
        let seq = self.seq;
        if self.replay.len() == self.replay_cap as usize
            && let Some((dropped, _)) = self.replay.pop_front()
            && self.conn.is_none()
            && dropped > self.detached_seq
        {
            self.overflow();
            return;
        }
        self.replay.push_back((seq, d.clone()));
        self.send(seq, d);
    }

    /// A full queue means the client is not reading: disconnect it rather
    /// than buffer without bound. The replay buffer still lets it resume.
    fn send(&mut self, seq: u64, d: Arc<Dispatch>) {
        let Some(conn) = &self.conn else { return };
        match conn.outlet.send(Outbound::Dispatch(seq, d)) {
            Ok(()) => {}
            Err(Refused::Full) => {
                conn.close(CloseCode::SlowConsumer);
                metrics::counter!(m::SLOW_CONSUMERS).increment(1);
                self.lose_conn(seq - 1);
            }
            Err(Refused::Closed) => self.lose_conn(seq - 1),
        }
    }
}

#[cfg(test)]
mod tests;
