//! The reader half and the connection's lifecycle: HELLO, then frames in,
//! one at a time, until the client leaves, breaks the protocol, stops
//! heartbeating, or the server closes it.

use super::frames::{FrameReader, Opcode, ReadError, WsFrame};
use super::read_side::ReadSide;
use crate::delivery::outlet::Start;
use crate::delivery::session::{Conn, Outbound, ResumeError, Session};
use crate::delivery::{Outlet, Refused};
use crate::metrics as m;
use crate::{Edge, EdgeError};
use fastwebsockets::OpCode;
use rookery_proto::codec::{self, CodecError, Dispatch, DispatchData, Empty, Encoding};
use rookery_proto::gateway::{self as gw, ClientFrame, CloseCode, event_name as ev, op};
use rookery_proto::intents::Intents;
use rookery_proto::presence::PresenceSet;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{self, Relaxed};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

static CONN_IDS: AtomicU64 = AtomicU64::new(1);

/// How a connection's read loop ended.
enum End {
    /// The server closes with this code.
    Close(CloseCode),
    /// The server already asked to close (e.g. slow consumer).
    ClosedByServer,
    /// The client sent a close frame; `true` if it ends the session.
    ClientClose(bool),
    /// The transport failed.
    Gone,
}

struct Reader {
    edge: Arc<Edge>,
    conn: Conn,
    session: Option<Arc<Session>>,
    /// Whether the session's token is a bot's (its messages say so).
    bot: bool,
    budget: crate::access::ratelimit::TokenBucket,
    /// Discord's gateway shape, if the URL asked for it (boxed: most
    /// connections do not, and every one carries the field).
    discord: Option<Box<super::discord::Dialect>>,
    /// The gateway connection limit's permit and the listener's slot, held
    /// for the connection's life.
    _permit: OwnedSemaphorePermit,
    _slot: Option<Arc<crate::transport::slots::Slot>>,
}

/// One upgraded gateway connection: its protocol state and its frames.
///
/// Built synchronously and served by one `async` block over it, so the
/// connection's task stores each piece once (an `async fn` keeps its
/// arguments beside the locals moved out of them: the old `run(edge, tcp,
/// early, options, permit)` was 1,112 bytes, this block is 248).
pub(super) struct Connection {
    reader: Reader,
    frames: FrameReader<ReadSide>,
}

/// What a connection holds for its life besides its socket.
pub(super) struct Holds {
    pub(super) permit: OwnedSemaphorePermit,
    pub(super) slot: Option<Arc<crate::transport::slots::Slot>>,
}

impl Connection {
    /// A connection on `tcp`, whose stream starts with `early` (sent with
    /// the upgrade request); HELLO is on its way when this returns.
    pub(super) fn open(
        edge: Arc<Edge>,
        tcp: TcpStream,
        early: &[u8],
        options: super::Options,
        holds: Holds,
    ) -> Self {
        metrics::gauge!(m::CONNECTIONS, "state" => "pending").increment(1.0);
        // One socket for both directions: the reader reads it, and every
        // thread that delivers to this connection writes through on it
        // (or its writer task, once started, writes what could not).
        let tcp = Arc::new(tcp);
        let frames =
            FrameReader::with_early(ReadSide(tcp.clone()), edge.config.max_frame_bytes, early);
        let start = Start::Lazy {
            runtime: tokio::runtime::Handle::current(),
            zlib: options.zlib,
        };
        let capacity = edge.config.outbound_queue;
        let outlet = Arc::new(Outlet::new(tcp, options.encoding, capacity, start));
        let reader = Reader::new(edge, outlet, options, holds);
        // After HELLO: a drain's RECONNECT follows it.
        let edge = &reader.edge;
        edge.gateways.add(reader.conn.id, &reader.conn.outlet);
        edge.gateways.start_reaper(edge);
        Connection { reader, frames }
    }

    /// Reads frames until the connection ends, then says goodbye.
    pub(super) fn serve(self) -> impl Future<Output = ()> + Send {
        // An `async` block over `self` rather than `async fn serve(mut
        // self)`, which would store the connection twice (argument and
        // binding: 192 bytes of every connection's task).
        let mut connection = self;
        async move {
            let end = connection.reader.read_loop(&mut connection.frames).await;
            let state = if connection.reader.session.is_some() {
                "identified"
            } else {
                "pending"
            };
            // Boxed like frame handling: the goodbye awaits deep futures
            // (presence, the writer's linger) that every connection's task
            // would otherwise be sized for during its whole life.
            Box::pin(connection.reader.finish(end)).await;
            metrics::gauge!(m::CONNECTIONS, "state" => state).decrement(1.0);
        }
    }
}

/// Moves this connection from `pending` to `identified` in the gauge, and
/// off the IDENTIFY deadline.
fn identified(outlet: &Outlet) {
    outlet.identify_by.store(u64::MAX, Relaxed);
    metrics::gauge!(m::CONNECTIONS, "state" => "pending").decrement(1.0);
    metrics::gauge!(m::CONNECTIONS, "state" => "identified").increment(1.0);
}

impl Reader {
    /// A reader with HELLO on its way.
    fn new(edge: Arc<Edge>, outlet: Arc<Outlet>, options: super::Options, holds: Holds) -> Self {
        let id = CONN_IDS.fetch_add(1, Ordering::Relaxed);
        let interval = edge.config.heartbeat_interval;
        let budget = crate::access::ratelimit::TokenBucket::new(
            edge.config.frame_rate_burst,
            edge.config.frame_rate_window,
        );
        // The next heartbeat is due by the first deadline; IDENTIFY or
        // RESUME must have succeeded by the second: heartbeats alone do
        // not keep an anonymous socket (and its connection slot) alive.
        let open = &edge.gateways;
        let identify_by = open.deadline(edge.config.identify_timeout);
        outlet
            .heartbeat_by
            .store(open.deadline(interval * 3 / 2), Relaxed);
        outlet.identify_by.store(identify_by, Relaxed);
        let reader = Reader {
            conn: Conn {
                id,
                encoding: options.encoding,
                outlet,
            },
            session: None,
            bot: false,
            budget,
            discord: options.discord.map(Box::new),
            edge,
            _permit: holds.permit,
            _slot: holds.slot,
        };
        reader.frame(
            op::HELLO,
            &gw::Hello {
                heartbeat_interval: interval.as_millis() as u64,
            },
        );
        reader
    }

    /// Detaches (or ends) the session, lets the writer send what is left
    /// and the close frame, and never waits on a dead peer.
    async fn finish(self, end: End) {
        let linger = match end {
            End::Close(code) => {
                self.conn.close(code);
                true
            }
            End::ClosedByServer | End::ClientClose(_) => true,
            End::Gone => false,
        };
        if let Some(s) = &self.session {
            s.detach(self.conn.id);
            self.edge.presence_touched(s).await;
            if matches!(end, End::ClientClose(true)) {
                self.edge.end_session(s, "closed");
            }
        }
        self.edge.gateways.remove(self.conn.id);
        let outlet = self.conn.outlet.clone();
        drop(self);
        let Some(mut writer) = outlet.hang_up() else {
            return;
        };
        if !linger
            || tokio::time::timeout(Duration::from_secs(5), &mut writer)
                .await
                .is_err()
        {
            writer.abort();
        }
    }

    async fn read_loop(&mut self, rd: &mut FrameReader<ReadSide>) -> End {
        loop {
            // A close asked for (a slow consumer, a drain, a revocation, a
            // deadline the edge's reaper saw pass) ends the reading. Polled
            // by hand: a `select!` over two futures would keep both (and a
            // waiter) in every connection's task.
            let outlet = &self.conn.outlet;
            let next = std::future::poll_fn(|cx| match outlet.poll_closing(cx) {
                std::task::Poll::Ready(()) => std::task::Poll::Ready(None),
                std::task::Poll::Pending => rd.poll_next(cx).map(Some),
            });
            let Some(frame) = next.await else {
                return End::ClosedByServer;
            };
            let decoded = match frame {
                Err(ReadError::TooLarge) => return End::Close(CloseCode::FrameTooLarge),
                Err(ReadError::Protocol(why)) => {
                    tracing::debug!(why, "websocket protocol violation");
                    return End::Close(CloseCode::DecodeError);
                }
                Err(ReadError::Io(e)) => {
                    tracing::debug!(error = %e, "gateway read ended");
                    return End::Gone;
                }
                Ok(frame) => match self.classify(frame) {
                    Ok(Some(decoded)) => decoded,
                    Ok(None) => continue,
                    Err(end) => return end,
                },
            };
            // Boxed: handling (identify, send) awaits deep futures; inline,
            // every idle connection's task would be sized for them (4000
            // bytes instead of 984).
            if let Err(code) = Box::pin(self.handle(decoded)).await {
                return End::Close(code);
            }
        }
    }

    /// Answers control frames, checks a data frame against the connection's
    /// rules and decodes it; `Ok(None)` when there is nothing to handle.
    fn classify(&mut self, frame: WsFrame) -> Result<Option<ClientFrame>, End> {
        let expected = match self.conn.encoding {
            Encoding::Json => Opcode::Text,
            Encoding::MsgPack => Opcode::Binary,
        };
        m::hot().frames_in.increment(1);
        m::hot().bytes_in.increment(frame.payload.len() as u64);
        // Control frames spend the budget too: a ping flood costs the
        // server as much as a heartbeat flood.
        if !self.budget.take().allowed {
            metrics::counter!(m::RATE_LIMITED, "scope" => "gateway").increment(1);
            return Err(End::Close(CloseCode::RateLimited));
        }
        match frame.opcode {
            Opcode::Pong => return Ok(None),
            Opcode::Ping => {
                let _ = self
                    .conn
                    .outlet
                    .send(Outbound::Control(OpCode::Pong, frame.payload));
                return Ok(None);
            }
            Opcode::Close => {
                let code = frame
                    .payload
                    .get(..2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]));
                let echo = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                let _ = self
                    .conn
                    .outlet
                    .send(Outbound::Control(OpCode::Close, echo));
                return Err(End::ClientClose(matches!(code, Some(1000 | 1001))));
            }
            // Every gateway frame fits in one WebSocket frame; fragments
            // would let a client grow a message past the size limit.
            op if op != expected || !frame.fin => return Err(End::Close(CloseCode::DecodeError)),
            _ => {}
        }
        match codec::decode_client(self.conn.encoding, &frame.payload) {
            Ok(f) => Ok(Some(f)),
            Err(CodecError::UnknownOp(_)) => Err(End::Close(CloseCode::UnknownOpcode)),
            Err(_) => Err(End::Close(CloseCode::DecodeError)),
        }
    }

    async fn handle(&mut self, frame: ClientFrame) -> Result<(), CloseCode> {
        match (frame, self.session.is_some()) {
            (ClientFrame::Heartbeat(_), _) => {
                let due = self.edge.config.heartbeat_interval * 3 / 2;
                let by = self.edge.gateways.deadline(due);
                self.conn.outlet.heartbeat_by.store(by, Relaxed);
                self.frame(op::HEARTBEAT_ACK, &Option::<()>::None);
                Ok(())
            }
            (ClientFrame::Identify(_) | ClientFrame::Resume(_), true) => {
                Err(CloseCode::AlreadyAuthenticated)
            }
            (ClientFrame::Identify(i), false) => self.identify(i).await,
            (ClientFrame::Resume(r), false) => self.resume(r).await,
            (ClientFrame::RequestGuildMembers(r), true) => {
                self.request_members(r).await;
                Ok(())
            }
            (
                ClientFrame::Send(_)
                | ClientFrame::Ack(_)
                | ClientFrame::Presence(_)
                | ClientFrame::RequestGuildMembers(_),
                false,
            ) => Err(CloseCode::NotAuthenticated),
            (ClientFrame::Presence(p), true) => self.presence(p).await,
            (ClientFrame::Ack(a), true) => {
                self.ack(a).await;
                Ok(())
            }
            (ClientFrame::Send(s), true) => {
                self.send(s).await;
                Ok(())
            }
        }
    }

    async fn identify(&mut self, ident: gw::Identify) -> Result<(), CloseCode> {
        let presence = ident.presence.clone().unwrap_or_default();
        if ident.last_message_ids.len() > gw::CATCH_UP_CHANNELS || presence.invalid().is_some() {
            return Err(CloseCode::DecodeError);
        }
        let intents = ident.intents.unwrap_or(Intents::ALL);
        if !intents.valid() {
            return Err(CloseCode::InvalidIntents);
        }
        let token = self
            .edge
            .authenticate(&ident.token)
            .await
            .map_err(|_| CloseCode::AuthenticationFailed)?;
        let replay = self.edge.config.replay_buffer;
        let session = Session::with_intents(token.user.clone(), replay, intents);
        self.edge
            .register_session(&session)
            .map_err(|_| CloseCode::RateLimited)?;
        // A revocation heard between the check above and the registration
        // found no session to end: check again now that it is registered.
        if !self
            .edge
            .authenticate(&ident.token)
            .await
            .is_ok_and(|t| t == token)
        {
            self.edge.end_session(&session, "revoked");
            return Err(CloseCode::AuthenticationFailed);
        }
        let ready = match super::ready::build(
            &self.edge,
            self.discord.as_deref(),
            &session,
            &ident,
            token.bot,
        )
        .await
        {
            Ok(ready) => ready,
            Err(code) => {
                // Subscribed but never ready: nothing could resume it.
                self.edge.end_session(&session, "failed");
                return Err(code);
            }
        };
        session.attach_ready(self.conn.clone(), ready.0, ready.1);
        self.edge.set_presence(&session, presence).await;
        self.session = Some(session);
        self.bot = token.bot;
        identified(&self.conn.outlet);
        metrics::counter!(m::IDENTIFIED).increment(1);
        Ok(())
    }

    async fn resume(&mut self, r: gw::Resume) -> Result<(), CloseCode> {
        let token = self
            .edge
            .authenticate(&r.token)
            .await
            .map_err(|_| CloseCode::AuthenticationFailed)?;
        let user = token.user;
        let Some(session) = self
            .edge
            .session(&r.session_id)
            .filter(|s| s.user.id == user.id)
        else {
            self.frame(op::INVALID_SESSION, &false);
            return Ok(());
        };
        let resumed = Arc::new(Dispatch::new(ev::RESUMED, DispatchData::Resumed(Empty {})));
        match session.resume(self.conn.clone(), r.seq, resumed) {
            Ok(()) => {
                self.edge.presence_touched(&session).await;
                self.session = Some(session);
                self.bot = token.bot;
                identified(&self.conn.outlet);
                metrics::counter!(m::RESUMED).increment(1);
                Ok(())
            }
            Err(ResumeError::SeqAhead) => Err(CloseCode::InvalidSeq),
            // Its edge ends it within a second, with the reason it ended.
            Err(ResumeError::Ended) => {
                self.frame(op::INVALID_SESSION, &false);
                Ok(())
            }
            Err(ResumeError::GapTooOld) => {
                self.edge.end_session(&session, "gap");
                self.frame(op::INVALID_SESSION, &false);
                Ok(())
            }
        }
    }

    async fn send(&mut self, s: gw::Send) {
        let Some(session) = &self.session else { return };
        let started = std::time::Instant::now();
        let user = session.user.clone();
        let nonce = s.nonce.clone();
        match self
            .edge
            .send_message((&user, self.bot), s.channel_id, s.into_create(), false)
            .await
        {
            Ok((message, _)) => {
                self.frame(
                    op::SEND_ACK,
                    &gw::SendAck {
                        nonce,
                        id: message.id,
                    },
                );
                metrics::histogram!(m::SEND_ACK_DURATION).record(started.elapsed());
            }
            Err(e) => {
                metrics::counter!(m::SEND_ERRORS, "code" => e.code().to_string()).increment(1);
                self.frame(op::SEND_ERROR, &refusal(nonce, &e));
            }
        }
    }

    /// Marks a channel read; only a refusal is answered (SEND_ERROR).
    /// op 3: an invalid presence closes with 4002, as a malformed frame.
    async fn presence(&mut self, p: PresenceSet) -> Result<(), CloseCode> {
        if p.invalid().is_some() {
            return Err(CloseCode::DecodeError);
        }
        if let Some(s) = &self.session {
            self.edge.set_presence(s, p).await;
        }
        Ok(())
    }

    /// op 8: the chunks as dispatches, or a SEND_ERROR carrying the nonce.
    async fn request_members(&mut self, r: gw::RequestGuildMembers) {
        let Some(session) = self.session.clone() else {
            return;
        };
        let nonce = r.nonce.clone();
        match self.edge.member_chunks(&session.user, r).await {
            Ok(chunks) => {
                for chunk in chunks {
                    let d = DispatchData::MembersChunk(chunk);
                    session.dispatch(&Arc::new(Dispatch::new(ev::GUILD_MEMBERS_CHUNK, d)));
                }
            }
            Err(e) => {
                self.frame(op::SEND_ERROR, &refusal(nonce.unwrap_or_default(), &e));
            }
        }
    }

    async fn ack(&mut self, a: gw::Ack) {
        let Some(session) = &self.session else { return };
        let user = session.user.clone();
        if let Err(e) = self.edge.ack(&user, a.channel_id, a.message_id).await {
            self.frame(op::SEND_ERROR, &refusal(a.nonce.unwrap_or_default(), &e));
        }
    }

    /// Queues a non-dispatch frame; a client too slow to take it is closed.
    fn frame<T: serde::Serialize>(&self, op: u8, d: &T) {
        let bytes = codec::encode(self.conn.encoding, op, d);
        if let Err(Refused::Full) = self.conn.outlet.send(Outbound::Frame(bytes)) {
            metrics::counter!(m::SLOW_CONSUMERS).increment(1);
            self.conn.close(CloseCode::SlowConsumer);
        }
    }
}

/// SEND_ERROR for a refused op: REST's error body (with `retry_after` on a
/// rate limit) and the op's nonce.
fn refusal(nonce: String, e: &EdgeError) -> gw::SendError {
    let body = e.body();
    gw::SendError {
        nonce,
        code: body.code,
        message: body.message,
        retry_after: body.retry_after,
    }
}
