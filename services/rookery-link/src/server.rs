//! The writer's side: [`FanoutServer`] accepts edge connections on the
//! internal address, authenticates them ([`crate::auth`]), pushes applied
//! batches to them (it is the writer's [`EdgeLink`]), and answers their
//! store calls from the store it hosts, a bounded number at a time per
//! edge.
//!
//! With an [`InterestTable`], a channel's events go only to the edges
//! interested in it (and to the edge that published them, for
//! read-your-writes); everything else, and every event without a table,
//! goes to every edge. Each event is encoded once, whatever the edge count.

use crate::metrics as m;
use crate::wire::{self, Call, Reply, ToEdge, ToWriter};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rookery_bus::{EdgeId, EdgeLink, FanoutBatch, InterestTable, LinkError};
use rookery_proto::Id;
use rookery_proto::event::Envelope;
use rookery_store::{Store, StoreError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::codec::Framed;

/// Frames queued per edge; an edge further behind is disconnected (it
/// reconnects, and its clients recover from history).
const EDGE_QUEUE: usize = 4096;

/// How the writer's side of the link is secured and bounded.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The shared link key.
    pub key: crate::LinkKey,
    /// Store calls one edge may have in flight; its next call waits.
    pub calls_per_edge: usize,
    /// Connections that may be in their handshake at once; more are
    /// closed at once.
    pub handshakes: usize,
}

impl ServerOptions {
    /// Defaults with `key`: 256 calls per edge, 64 handshakes.
    pub fn new(key: crate::LinkKey) -> Self {
        Self {
            key,
            calls_per_edge: 256,
            handshakes: 64,
        }
    }
}

/// One connected edge.
struct EdgeConn {
    /// Set by the edge's hello.
    who: Option<EdgeId>,
    tx: mpsc::Sender<Bytes>,
}

/// Accepts edges and fans batches out to them.
pub struct FanoutServer {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    interest: Option<Arc<InterestTable>>,
    options: ServerOptions,
    handshakes: Arc<Semaphore>,
    edges: Mutex<HashMap<u64, EdgeConn>>,
    next_id: AtomicU64,
    accept: Mutex<Option<tokio::task::AbortHandle>>,
    closed: tokio::sync::watch::Sender<bool>,
}

impl Drop for FanoutServer {
    fn drop(&mut self) {
        // Closes the listener now rather than at the next connection.
        self.close();
    }
}

impl FanoutServer {
    /// Listens on `addr` and serves edges that prove the link key until
    /// dropped; routes by `interest` if given, else sends every batch to
    /// every edge.
    pub async fn bind(
        addr: SocketAddr,
        store: Arc<dyn Store>,
        interest: Option<Arc<InterestTable>>,
        options: ServerOptions,
    ) -> std::io::Result<Arc<Self>> {
        let listener = TcpListener::bind(addr).await?;
        let server = Arc::new(Self {
            addr: listener.local_addr()?,
            store,
            interest,
            handshakes: Arc::new(Semaphore::new(options.handshakes.max(1))),
            options,
            edges: Mutex::default(),
            next_id: AtomicU64::new(1),
            accept: Mutex::new(None),
            closed: tokio::sync::watch::channel(false).0,
        });
        let weak = Arc::downgrade(&server);
        let task = tokio::spawn(async move {
            while let Ok((socket, peer)) = listener.accept().await {
                let Some(server) = weak.upgrade() else { return };
                let Ok(handshake) = server.handshakes.clone().try_acquire_owned() else {
                    metrics::counter!(m::AUTH_FAILURES, "reason" => "busy").increment(1);
                    continue;
                };
                let _ = socket.set_nodelay(true);
                tokio::spawn(server.serve(socket, peer, handshake));
            }
        });
        *server.accept.lock().expect("accept") = Some(task.abort_handle());
        Ok(server)
    }

    /// Stops accepting and disconnects every edge (they reconnect to the
    /// writers that remain).
    pub fn close(&self) {
        if let Some(task) = self.accept.lock().expect("accept").take() {
            task.abort();
        }
        self.closed.send_replace(true);
        self.edges.lock().expect("edges").clear();
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Edges connected now.
    pub fn edges(&self) -> usize {
        self.edges.lock().expect("edges").len()
    }

    async fn serve(
        self: Arc<Self>,
        socket: TcpStream,
        peer: SocketAddr,
        handshake: OwnedSemaphorePermit,
    ) {
        let mut framed = Framed::new(socket, wire::codec());
        let who = match crate::auth::accept(&mut framed, &self.options.key).await {
            Ok(who) => who,
            Err(e) => {
                let reason = match e {
                    crate::auth::AuthError::BadProof => "proof",
                    _ => "handshake",
                };
                metrics::counter!(m::AUTH_FAILURES, "reason" => reason).increment(1);
                tracing::warn!(%peer, error = %e, "edge failed link authentication; closing");
                return;
            }
        };
        drop(handshake);
        tracing::info!(%peer, "edge connected");
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (mut sink, mut stream) = framed.split();
        let (tx, mut rx) = mpsc::channel::<Bytes>(EDGE_QUEUE);
        let conn = EdgeConn {
            who: None,
            tx: tx.clone(),
        };
        self.edges.lock().expect("edges").insert(id, conn);
        metrics::gauge!(m::EDGES).increment(1.0);
        self.hello(id, who);
        let calls = Arc::new(Semaphore::new(self.options.calls_per_edge.max(1)));
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if sink.send(frame).await.is_err() {
                    return;
                }
            }
        });
        let mut closed = self.closed.subscribe();
        loop {
            let frame = tokio::select! {
                frame = stream.next() => frame,
                _ = closed.wait_for(|c| *c) => break,
            };
            let Some(Ok(frame)) = frame else { break };
            match wire::decode::<ToWriter>(&frame) {
                Ok(ToWriter::Hello { .. }) => {
                    tracing::warn!(edge = id, "second hello from an edge; closing");
                    break;
                }
                Ok(ToWriter::Call { id, call }) => {
                    // Waits while the edge has its most calls in flight:
                    // backpressure on its connection, not unbounded tasks.
                    let Ok(permit) = calls.clone().acquire_owned().await else {
                        break;
                    };
                    let (store, tx) = (self.store.clone(), tx.clone());
                    tokio::spawn(async move {
                        let result = execute(store.as_ref(), call).await.map_err(Into::into);
                        let _ = tx.send(wire::encode(&ToEdge::Reply { id, result })).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable frame from an edge; closing");
                    break;
                }
            }
        }
        self.edges.lock().expect("edges").remove(&id);
        metrics::gauge!(m::EDGES).decrement(1.0);
        drop(tx);
        // Queued frames go out first, unless the server is closing.
        if *self.closed.borrow() {
            writer.abort();
        }
        let _ = writer.await;
        tracing::info!(edge = id, "edge disconnected");
    }
}

impl FanoutServer {
    fn hello(&self, conn: u64, edge: EdgeId) {
        tracing::info!(
            conn,
            node = edge.node,
            epoch = edge.epoch,
            "edge identified"
        );
        if let Some(table) = &self.interest {
            table.edge_seen(edge);
        }
        if let Some(c) = self.edges.lock().expect("edges").get_mut(&conn) {
            c.who = Some(edge);
        }
    }

    /// Tells `edge` its interest records of `partition` below `next` are
    /// applied (a no-op if it is not connected).
    pub fn interest_applied(&self, edge: EdgeId, partition: u32, next: u64) {
        let frame = wire::encode(&ToEdge::InterestApplied { partition, next });
        let edges = self.edges.lock().expect("edges");
        for c in edges.values().filter(|c| c.who == Some(edge)) {
            let _ = c.tx.try_send(frame.clone());
        }
    }

    /// Which events of `events` each connection gets: a channel's events
    /// go to the connections of the interested edges and of the publishing
    /// edge, everything else to every connection. Per event, the work is
    /// proportional to the edges it goes to.
    fn route(
        &self,
        events: &[Arc<Envelope>],
        edges: &HashMap<u64, EdgeConn>,
    ) -> HashMap<u64, Vec<usize>> {
        let mut out: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut add = |conn: u64, i: usize| {
            let picked = out.entry(conn).or_default();
            // An edge can be both interested and the origin.
            if picked.last() != Some(&i) {
                picked.push(i);
            }
        };
        let by_edge: HashMap<EdgeId, u64> = edges
            .iter()
            .filter_map(|(&conn, c)| Some((c.who?, conn)))
            .collect();
        let by_node: HashMap<u16, u64> = by_edge.iter().map(|(e, &c)| (e.node, c)).collect();
        for (i, env) in events.iter().enumerate() {
            match (&self.interest, env.event.channel()) {
                (Some(table), Some(channel)) => {
                    table.for_each_edge(channel.0, |e| {
                        if let Some(&conn) = by_edge.get(e) {
                            add(conn, i);
                        }
                    });
                    if let Some(&conn) = by_node.get(&env.origin) {
                        add(conn, i);
                    }
                }
                _ => edges.keys().for_each(|&conn| add(conn, i)),
            }
        }
        out
    }
}

#[async_trait]
impl EdgeLink for FanoutServer {
    async fn push(&self, batch: FanoutBatch) -> Result<(), LinkError> {
        let claim = match (&self.interest, batch.partition) {
            (Some(table), Some(p)) => table.claim(p),
            _ => None,
        };
        let encoded: Vec<Bytes> = batch.events.iter().map(|e| e.to_bytes().into()).collect();
        let mut edges = self.edges.lock().expect("edges");
        let mut slow = Vec::new();
        let routes = self.route(&batch.events, &edges);
        for (conn, picked) in &routes {
            let frame = wire::encode(&ToEdge::Fanout {
                partition: batch.partition,
                claim,
                applied_at_ms: batch.applied_at_ms,
                events: picked.iter().map(|&i| encoded[i].clone()).collect(),
            });
            match edges[conn].tx.try_send(frame) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(
                        edge = conn,
                        "edge cannot keep up with fan-out; disconnecting it"
                    );
                    metrics::counter!(m::SLOW_EDGES).increment(1);
                    slow.push(*conn);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => slow.push(*conn),
            }
        }
        for conn in slow {
            edges.remove(&conn);
        }
        metrics::counter!(m::FANOUT_FRAMES).increment(routes.len() as u64);
        Ok(())
    }
}

/// Runs one call against the hosted store.
/// Typed ids as the wire carries them.
fn untyped<T: Into<Id>>(ids: Vec<T>) -> Vec<Id> {
    ids.into_iter().map(Into::into).collect()
}

async fn execute(store: &dyn Store, call: Call) -> Result<Reply, StoreError> {
    Ok(match call {
        Call::CreateAccount { user, hash } => {
            store.create_account(&user, &hash).await?;
            Reply::Done
        }
        Call::Login { username, password } => {
            Reply::User(crate::password::check(store, &username, password).await?)
        }
        Call::CreateApplication { app } => {
            store.create_application(&app).await?;
            Reply::Done
        }
        Call::Application { id } => Reply::Application(store.application(id).await?),
        Call::CreateWebhook { hook } => {
            store.create_webhook(&hook).await?;
            Reply::Done
        }
        Call::Webhook { id } => Reply::Webhook(store.webhook(id).await?),
        Call::Webhooks { guild, channel } => Reply::Webhooks(store.webhooks(guild, channel).await?),
        Call::DeleteWebhook { hook } => {
            store.delete_webhook(&hook).await?;
            Reply::Done
        }
        Call::TokenGeneration { user_id } => {
            Reply::Generation(store.token_generation(user_id).await?)
        }
        Call::RevokeTokens { user_id, hash } => {
            Reply::Generation(store.revoke_tokens(user_id, hash.as_deref()).await?)
        }
        Call::User { id } => Reply::User(store.user(id).await?),
        Call::Guild { id } => Reply::Guild(store.guild(id).await?),
        Call::GuildChannels { guild_id } => Reply::Channels(store.guild_channels(guild_id).await?),
        Call::Channel { id } => Reply::Channel(store.channel(id).await?),
        Call::GuildRoles { guild_id } => Reply::Roles(store.guild_roles(guild_id).await?),
        Call::Member { guild_id, user_id } => Reply::Member(store.member(guild_id, user_id).await?),
        Call::UserGuilds { user_id } => Reply::Ids(store.user_guilds(user_id).await?),
        Call::GuildMembers {
            guild_id,
            after,
            limit,
        } => Reply::Members(store.guild_members(guild_id, after, limit).await?),
        Call::DmChannel { a, b } => Reply::Nonce(store.dm_channel(a, b).await?.map(Id::from)),
        Call::Invite { code } => Reply::Invite(store.invite(&code).await?),
        Call::GuildInvites { guild_id } => Reply::Invites(store.guild_invites(guild_id).await?),
        Call::MemberCount { guild_id } => Reply::Count(store.member_count(guild_id).await?),
        Call::Nonce { user_id, nonce } => {
            Reply::Nonce(store.nonce(user_id, &nonce).await?.map(Id::from))
        }
        Call::Messages {
            channel_id,
            cursor,
            limit,
        } => Reply::Messages(store.messages(channel_id, cursor.into(), limit).await?),
        Call::Message {
            channel_id,
            message_id,
        } => Reply::Message(store.message(channel_id, message_id).await?.map(Box::new)),
        Call::Pins { channel_id } => Reply::Messages(store.pins(channel_id).await?),
        Call::Bans {
            guild_id,
            after,
            limit,
        } => Reply::Bans(store.bans(guild_id, after, limit).await?),
        Call::ReadStates { user_id } => Reply::Pairs(store.read_states(user_id).await?),
        Call::Mentions {
            channel_id,
            user_id,
            roles,
            after,
            limit,
        } => {
            let found = store.mentions(channel_id, user_id, &roles, after, limit);
            Reply::Ids(untyped(found.await?))
        }
        Call::AuditLog {
            guild_id,
            before,
            limit,
        } => Reply::AuditLog(store.audit_log(guild_id, before, limit).await?),
        Call::Ban { guild_id, user_id } => {
            Reply::Bans(store.ban(guild_id, user_id).await?.into_iter().collect())
        }
        Call::Reactions {
            channel_id,
            message_id,
            emoji,
            after,
            limit,
        } => {
            let users = store.reactions(channel_id, message_id, &emoji, after, limit);
            Reply::Ids(untyped(users.await?))
        }
        Call::UserReactions {
            channel_id,
            user_id,
            first,
            last,
        } => {
            let found = store.user_reactions(channel_id, user_id, (first, last));
            Reply::Reacted(found.await?)
        }
    })
}
