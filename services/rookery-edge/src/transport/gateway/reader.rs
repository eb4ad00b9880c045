//! The reader half and the connection's lifecycle: HELLO, then frames in,
//! one at a time, until the client leaves, breaks the protocol, stops
//! heartbeating, or the server closes it.

use super::frames::{FrameReader, Opcode, ReadError, WsFrame};
use crate::delivery::session::{Conn, Outbound, ResumeError, Session};
use crate::delivery::{Outlet, Refused, writer};
use crate::metrics as m;
use crate::{Edge, EdgeError};
use fastwebsockets::OpCode;
use rookery_proto::codec::{self, CodecError, Dispatch, DispatchData, Empty, Encoding};
use rookery_proto::gateway::{self as gw, ClientFrame, CloseCode, event_name as ev, op};
use rookery_proto::intents::Intents;
use rookery_proto::presence::PresenceSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;

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
    /// The next heartbeat is due by then.
    deadline: Instant,
    /// IDENTIFY or RESUME must have succeeded by then: heartbeats alone do
    /// not keep an anonymous socket (and its connection slot) alive.
    identify_by: Instant,
    budget: crate::access::ratelimit::TokenBucket,
    /// Discord's gateway shape, if the URL asked for it.
    discord: Option<super::discord::Dialect>,
}

/// Serves one upgraded connection: `early` is what the client sent after
/// its upgrade request, read with it.
pub(super) async fn run(
    edge: Arc<Edge>,
    tcp: TcpStream,
    early: bytes::Bytes,
    options: super::Options,
    _permit: OwnedSemaphorePermit,
) {
    metrics::gauge!(m::CONNECTIONS, "state" => "pending").increment(1.0);
    // The reader owns the read half; the write half is shared by every
    // thread that delivers to this connection (write-through) and its
    // writer task (what the socket could not take at once).
    let (r, wr) = tcp.into_split();
    let mut rd = FrameReader::new(
        std::io::Cursor::new(early).chain(r),
        edge.config.max_frame_bytes,
    );
    let encoding = options.encoding;
    let outlet = Arc::new(Outlet::new(
        Arc::new(wr),
        encoding,
        !options.zlib,
        edge.config.outbound_queue,
    ));
    let (mut reader, close_rx) = Reader::new(edge, outlet.clone(), encoding, options.discord);
    let writer = tokio::spawn(writer::run(outlet, close_rx.clone(), options.zlib));
    let end = reader.read_loop(&mut rd, close_rx).await;
    let state = if reader.session.is_some() {
        "identified"
    } else {
        "pending"
    };
    // Boxed like frame handling: the goodbye awaits deep futures (presence,
    // the writer's linger) that every connection's task would otherwise be
    // sized for during its whole life (2,608 bytes instead of ~1 KB).
    Box::pin(reader.finish(end, writer)).await;
    metrics::gauge!(m::CONNECTIONS, "state" => state).decrement(1.0);
}

/// Moves this connection from `pending` to `identified` in the gauge.
fn identified() {
    metrics::gauge!(m::CONNECTIONS, "state" => "pending").decrement(1.0);
    metrics::gauge!(m::CONNECTIONS, "state" => "identified").increment(1.0);
}

impl Reader {
    /// A reader with HELLO queued, plus its writer's queue and close signal.
    fn new(
        edge: Arc<Edge>,
        outlet: Arc<Outlet>,
        encoding: Encoding,
        discord: Option<super::discord::Dialect>,
    ) -> (Self, watch::Receiver<Option<CloseCode>>) {
        let (close, close_rx) = watch::channel(None);
        let id = CONN_IDS.fetch_add(1, Ordering::Relaxed);
        let interval = edge.config.heartbeat_interval;
        let budget = crate::access::ratelimit::TokenBucket::new(
            edge.config.frame_rate_burst,
            edge.config.frame_rate_window,
        );
        let reader = Reader {
            conn: Conn {
                id,
                encoding,
                outlet,
                close,
            },
            session: None,
            bot: false,
            deadline: Instant::now() + interval * 3 / 2,
            identify_by: Instant::now() + edge.config.identify_timeout,
            budget,
            discord,
            edge,
        };
        reader.frame(
            op::HELLO,
            &gw::Hello {
                heartbeat_interval: interval.as_millis() as u64,
            },
        );
        (reader, close_rx)
    }

    /// Detaches (or ends) the session, lets the writer send its close frame,
    /// and never waits on a dead peer.
    async fn finish(self, end: End, mut writer: tokio::task::JoinHandle<()>) {
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
        drop(self);
        if !linger
            || tokio::time::timeout(Duration::from_secs(5), &mut writer)
                .await
                .is_err()
        {
            writer.abort();
        }
    }

    async fn read_loop<R: tokio::io::AsyncRead + Unpin>(
        &mut self,
        rd: &mut FrameReader<R>,
        mut close_rx: watch::Receiver<Option<CloseCode>>,
    ) -> End {
        let mut draining = self.edge.draining.subscribe();
        loop {
            // Every branch but the read ends the connection, so cancelling a
            // read midway through a frame is harmless.
            let frame = tokio::select! {
                biased;
                _ = close_rx.changed() => return End::ClosedByServer,
                _ = draining.wait_for(|d| *d) => {
                    // RECONNECT first: clients resume elsewhere at once,
                    // without treating the close as an error.
                    self.frame(op::RECONNECT, &Option::<()>::None);
                    return End::Close(CloseCode::ServerShutdown);
                }
                // One timer for both deadlines: each `Sleep` is 112 bytes of
                // every connection's task.
                () = tokio::time::sleep_until(self.next_deadline()) => return self.timed_out(),
                frame = rd.next() => frame,
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

    /// The heartbeat deadline, or IDENTIFY's if that comes first.
    fn next_deadline(&self) -> Instant {
        match &self.session {
            None => self.deadline.min(self.identify_by),
            Some(_) => self.deadline,
        }
    }

    /// Why [`Reader::next_deadline`] ended the connection: a missed
    /// heartbeat first, else no IDENTIFY in time.
    fn timed_out(&self) -> End {
        if Instant::now() >= self.deadline {
            return End::Close(CloseCode::SessionTimedOut);
        }
        metrics::counter!(m::IDENTIFY_TIMEOUTS).increment(1);
        End::Close(CloseCode::NotAuthenticated)
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
                self.deadline = Instant::now() + self.edge.config.heartbeat_interval * 3 / 2;
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
            self.discord.as_ref(),
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
        identified();
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
                identified();
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
