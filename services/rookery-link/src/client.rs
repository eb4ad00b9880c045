//! The edge's side: a [`WriterLink`] keeps a connection to one writer
//! (reconnecting with backoff), hands fan-out batches to the edge's hub
//! (dropping those of a writer that lost the partition, see [`EdgeLinks`]),
//! and carries store calls; [`RemoteStore`] is the [`Store`] an edge uses when
//! the writer hosts the embedded store, with identical calls in flight
//! coalesced into one (a hot channel's history is read once, not once per
//! client).

use crate::metrics as m;
use crate::wire::{self, Call, Reply, ToEdge, ToWriter, WireCursor, WireError};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::future::{BoxFuture, Shared};
use futures_util::{FutureExt, SinkExt, StreamExt};
use rookery_bus::{EdgeId, EdgeLink, FanoutBatch, InterestAcks};
use rookery_proto::Id;
use rookery_proto::event::Envelope;
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use rookery_store::{BanRecord, Cursor, Mutation, Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::codec::Framed;

/// How long a store call waits for its reply.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

type Pending = Mutex<HashMap<u64, oneshot::Sender<Result<Reply, WireError>>>>;

/// What an edge's links to every writer share: who the edge is, how far
/// its interest is applied, and the newest ownership claim seen per
/// partition.
pub struct EdgeLinks {
    me: EdgeId,
    key: crate::LinkKey,
    acks: Arc<InterestAcks>,
    claims: Mutex<HashMap<u32, u64>>,
}

impl EdgeLinks {
    /// Shared state for edge `me`, which proves `key` to every writer,
    /// reporting interest progress to `acks`.
    pub fn new(me: EdgeId, key: crate::LinkKey, acks: Arc<InterestAcks>) -> Arc<Self> {
        Arc::new(Self {
            me,
            key,
            acks,
            claims: Mutex::default(),
        })
    }

    /// Whether a batch of `partition` under `claim` comes from its current
    /// owner. Claims grow with each new owner, so a lower claim than one
    /// seen is a writer that lost the partition and has not noticed yet.
    pub fn admit(&self, partition: Option<u32>, claim: Option<u64>) -> bool {
        let (Some(partition), Some(claim)) = (partition, claim) else {
            return true;
        };
        let mut claims = self.claims.lock().expect("claims");
        let newest = claims.entry(partition).or_insert(claim);
        if claim < *newest {
            return false;
        }
        *newest = claim;
        true
    }
}

/// A connection to one writer, kept up in the background.
pub struct WriterLink {
    addr: String,
    shared: Arc<EdgeLinks>,
    out: Mutex<Option<mpsc::Sender<Bytes>>>,
    pending: Pending,
    next_id: AtomicU64,
    connected: watch::Sender<bool>,
}

impl WriterLink {
    /// Starts connecting to `addr`; fan-out goes to `hub`.
    pub fn spawn(addr: String, hub: Arc<dyn EdgeLink>, shared: Arc<EdgeLinks>) -> Arc<Self> {
        let link = Arc::new(Self {
            addr,
            shared,
            out: Mutex::new(None),
            pending: Mutex::default(),
            next_id: AtomicU64::new(1),
            connected: watch::channel(false).0,
        });
        tokio::spawn(link.clone().run(hub));
        link
    }

    /// The writer's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// Waits until connected, up to `limit`.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let mut rx = self.connected.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|c| *c))
            .await
            .is_ok()
    }

    async fn run(self: Arc<Self>, hub: Arc<dyn EdgeLink>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match TcpStream::connect(&self.addr).await {
                Ok(socket) => {
                    let _ = socket.set_nodelay(true);
                    backoff = Duration::from_millis(100);
                    self.session(socket, hub.as_ref()).await;
                    tracing::warn!(writer = %self.addr, "writer link lost; reconnecting");
                }
                Err(e) => tracing::debug!(writer = %self.addr, error = %e, "cannot reach writer"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// One connection's life: frames out from the queue, fan-out and
    /// replies in; on loss every pending call fails.
    async fn session(&self, socket: TcpStream, hub: &dyn EdgeLink) {
        let mut framed = Framed::new(socket, wire::codec());
        if let Err(e) = crate::auth::connect(&mut framed, &self.shared.key, self.shared.me).await {
            tracing::error!(writer = %self.addr, error = %e, "writer link authentication failed");
            return;
        }
        let (mut sink, mut stream) = framed.split();
        let (tx, mut rx) = mpsc::channel::<Bytes>(1024);
        *self.out.lock().expect("out") = Some(tx);
        self.connected.send_replace(true);
        metrics::gauge!(m::WRITERS).increment(1.0);
        tracing::info!(writer = %self.addr, "writer link up");
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if sink.send(frame).await.is_err() {
                    return;
                }
            }
        });
        while let Some(Ok(frame)) = stream.next().await {
            if let Err(e) = self.handle(&frame, hub).await {
                tracing::warn!(writer = %self.addr, error = %e, "undecodable frame from a writer");
                break;
            }
        }
        self.out.lock().expect("out").take();
        self.connected.send_replace(false);
        metrics::gauge!(m::WRITERS).decrement(1.0);
        writer.abort();
        // Dropping the senders fails every call in flight.
        self.pending.lock().expect("pending").clear();
    }

    async fn handle(&self, frame: &[u8], hub: &dyn EdgeLink) -> Result<(), String> {
        match wire::decode::<ToEdge>(frame).map_err(|e| e.to_string())? {
            ToEdge::Fanout {
                partition,
                claim,
                applied_at_ms,
                events,
            } => {
                if !self.shared.admit(partition, claim) {
                    tracing::debug!(writer = %self.addr, ?partition, "batch from a former partition owner dropped");
                    metrics::counter!(m::STALE_BATCHES).increment(1);
                    return Ok(());
                }
                let events: Vec<Arc<Envelope>> = events
                    .iter()
                    .map(|e| Envelope::from_bytes(e).map(Arc::new))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
                let routed = events
                    .iter()
                    .filter(|e| e.event.channel().is_some())
                    .count();
                metrics::counter!(m::RECEIVED, "scope" => "channel").increment(routed as u64);
                metrics::counter!(m::RECEIVED, "scope" => "other")
                    .increment((events.len() - routed) as u64);
                let batch = FanoutBatch {
                    partition,
                    events,
                    applied_at_ms,
                };
                let _ = hub.push(batch).await;
            }
            ToEdge::InterestApplied { partition, next } => {
                self.shared.acks.applied(partition, next);
            }
            ToEdge::Reply { id, result } => {
                if let Some(waiter) = self.pending.lock().expect("pending").remove(&id) {
                    let _ = waiter.send(result);
                }
            }
            ToEdge::Challenge { .. } | ToEdge::Welcome { .. } => {
                return Err("a handshake frame after the handshake".into());
            }
        }
        Ok(())
    }

    /// Sends a call and waits for its reply.
    pub async fn call(&self, call: Call) -> Result<Reply, WireError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let Some(out) = self.out.lock().expect("out").clone() else {
            return Err(WireError::Other(format!(
                "writer {} is not connected",
                self.addr
            )));
        };
        self.pending.lock().expect("pending").insert(id, tx);
        let lost = || WireError::Other(format!("writer link to {} lost", self.addr));
        // A session that ended after `out` was read has already failed the
        // pending calls; this one must not wait out the timeout instead.
        if self.out.lock().expect("out").is_none() {
            self.pending.lock().expect("pending").remove(&id);
            return Err(lost());
        }
        if out
            .send(wire::encode(&ToWriter::Call { id, call }))
            .await
            .is_err()
        {
            self.pending.lock().expect("pending").remove(&id);
            return Err(lost());
        }
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(lost()),
            Err(_) => {
                self.pending.lock().expect("pending").remove(&id);
                Err(WireError::Other(format!(
                    "writer {} did not answer in {CALL_TIMEOUT:?}",
                    self.addr
                )))
            }
        }
    }
}

type InFlight = Shared<BoxFuture<'static, Result<Reply, WireError>>>;

/// The links to the writers, set once they exist (they need the hub, which
/// needs the store built on them).
#[derive(Default)]
pub struct LinkSet(OnceLock<Vec<Arc<WriterLink>>>);

impl LinkSet {
    /// Sets the links; later calls are ignored.
    pub fn set(&self, links: Vec<Arc<WriterLink>>) {
        let _ = self.0.set(links);
    }

    /// A connected link (the first), else the first at all.
    fn pick(&self) -> Result<Arc<WriterLink>, WireError> {
        let links = self.0.get().map(Vec::as_slice).unwrap_or_default();
        links
            .iter()
            .find(|l| l.is_connected())
            .or(links.first())
            .cloned()
            .ok_or_else(|| WireError::Other("no writer configured".into()))
    }
}

/// The store of the writers that host it, reached over their links.
pub struct RemoteStore {
    links: Arc<LinkSet>,
    in_flight: Arc<Mutex<HashMap<Call, InFlight>>>,
}

impl RemoteStore {
    /// A store behind `links`.
    pub fn new(links: Arc<LinkSet>) -> Self {
        Self {
            links,
            in_flight: Arc::default(),
        }
    }

    /// Reads are coalesced: a call identical to one in flight waits for its
    /// answer instead of going out again.
    /// A write answered `Done`: never coalesced.
    async fn write(&self, call: Call) -> Result<(), StoreError> {
        let link = self.links.pick().map_err(StoreError::from)?;
        match link.call(call).await.map_err(StoreError::from)? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn read(&self, call: Call) -> Result<Reply, StoreError> {
        let (shared, joined) = {
            let mut map = self.in_flight.lock().expect("in flight");
            match map.get(&call) {
                Some(f) => (f.clone(), true),
                None => {
                    let (links, key, map_ref) =
                        (self.links.clone(), call.clone(), self.in_flight.clone());
                    let fut = async move {
                        let result = match links.pick() {
                            Ok(link) => link.call(key.clone()).await,
                            Err(e) => Err(e),
                        };
                        map_ref.lock().expect("in flight").remove(&key);
                        result
                    }
                    .boxed()
                    .shared();
                    map.insert(call, fut.clone());
                    (fut, false)
                }
            }
        };
        if joined {
            metrics::counter!(m::COALESCED).increment(1);
        }
        let result = shared.await;
        let label = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!(m::CALLS, "result" => label).increment(1);
        result.map_err(Into::into)
    }
}

/// Ids as the wire carries them (untyped) as the kind the call asked for.
fn typed<T: From<Id>>(ids: Vec<Id>) -> Vec<T> {
    ids.into_iter().map(T::from).collect()
}

fn unexpected(reply: Reply) -> StoreError {
    StoreError::Backend(format!("unexpected reply from the writer: {reply:?}"))
}

#[async_trait]
impl Store for RemoteStore {
    async fn apply(&self, _batch: Vec<Mutation>) -> Result<(), StoreError> {
        Err(StoreError::Config(
            "edges do not apply mutations; writers do".into(),
        ))
    }

    async fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn create_account(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        let call = Call::CreateAccount {
            user: user.clone(),
            hash: password_hash.to_owned(),
        };
        // A write: never coalesced.
        let link = self.links.pick().map_err(StoreError::from)?;
        match link.call(call).await.map_err(StoreError::from)? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn account(&self, _username: &str) -> Result<Option<(User, String)>, StoreError> {
        Err(StoreError::Config(
            "password hashes never leave the writer; edges use check_password".into(),
        ))
    }

    async fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> Option<Result<Option<User>, StoreError>> {
        let call = Call::Login {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        // Never coalesced: two logins with one name may differ in password.
        let checked = async {
            let link = self.links.pick().map_err(StoreError::from)?;
            match link.call(call).await.map_err(StoreError::from)? {
                Reply::User(user) => Ok(user),
                other => Err(unexpected(other)),
            }
        };
        Some(checked.await)
    }

    async fn create_application(&self, app: &Application) -> Result<(), StoreError> {
        self.write(Call::CreateApplication { app: app.clone() })
            .await
    }

    async fn application(&self, id: Id) -> Result<Option<Application>, StoreError> {
        match self.read(Call::Application { id }).await? {
            Reply::Application(app) => Ok(app),
            other => Err(unexpected(other)),
        }
    }

    async fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        self.write(Call::CreateWebhook { hook: hook.clone() }).await
    }

    async fn webhook(&self, id: Id) -> Result<Option<Webhook>, StoreError> {
        match self.read(Call::Webhook { id }).await? {
            Reply::Webhook(hook) => Ok(hook),
            other => Err(unexpected(other)),
        }
    }

    async fn webhooks(
        &self,
        guild: GuildId,
        channel: Option<ChannelId>,
    ) -> Result<Vec<Webhook>, StoreError> {
        match self.read(Call::Webhooks { guild, channel }).await? {
            Reply::Webhooks(hooks) => Ok(hooks),
            other => Err(unexpected(other)),
        }
    }

    async fn delete_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        self.write(Call::DeleteWebhook { hook: hook.clone() }).await
    }

    async fn token_generation(&self, user_id: UserId) -> Result<u64, StoreError> {
        match self.read(Call::TokenGeneration { user_id }).await? {
            Reply::Generation(g) => Ok(g),
            other => Err(unexpected(other)),
        }
    }

    async fn revoke_tokens(
        &self,
        user_id: UserId,
        password_hash: Option<&str>,
    ) -> Result<u64, StoreError> {
        let call = Call::RevokeTokens {
            user_id,
            hash: password_hash.map(str::to_owned),
        };
        // A write: never coalesced.
        let link = self.links.pick().map_err(StoreError::from)?;
        match link.call(call).await.map_err(StoreError::from)? {
            Reply::Generation(g) => Ok(g),
            other => Err(unexpected(other)),
        }
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        match self.read(Call::User { id }).await? {
            Reply::User(u) => Ok(u),
            other => Err(unexpected(other)),
        }
    }

    async fn guild(&self, id: GuildId) -> Result<Option<Guild>, StoreError> {
        match self.read(Call::Guild { id }).await? {
            Reply::Guild(g) => Ok(g),
            other => Err(unexpected(other)),
        }
    }

    async fn guild_channels(&self, guild_id: GuildId) -> Result<Vec<Channel>, StoreError> {
        match self.read(Call::GuildChannels { guild_id }).await? {
            Reply::Channels(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }

    async fn guild_roles(&self, guild_id: GuildId) -> Result<Vec<Role>, StoreError> {
        match self.read(Call::GuildRoles { guild_id }).await? {
            Reply::Roles(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        match self.read(Call::Channel { id }).await? {
            Reply::Channel(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }

    async fn member(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        match self.read(Call::Member { guild_id, user_id }).await? {
            Reply::Member(m) => Ok(m),
            other => Err(unexpected(other)),
        }
    }

    async fn guild_members(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        let call = Call::GuildMembers {
            guild_id,
            after,
            limit,
        };
        match self.read(call).await? {
            Reply::Members(members) => Ok(members),
            other => Err(unexpected(other)),
        }
    }

    async fn user_guilds(&self, user_id: UserId) -> Result<Vec<Id>, StoreError> {
        match self.read(Call::UserGuilds { user_id }).await? {
            Reply::Ids(ids) => Ok(typed(ids)),
            other => Err(unexpected(other)),
        }
    }

    async fn dm_channel(&self, a: UserId, b: UserId) -> Result<Option<ChannelId>, StoreError> {
        match self.read(Call::DmChannel { a, b }).await? {
            Reply::Nonce(id) => Ok(id.map(ChannelId::from)),
            other => Err(unexpected(other)),
        }
    }

    async fn invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        match self
            .read(Call::Invite {
                code: code.to_owned(),
            })
            .await?
        {
            Reply::Invite(i) => Ok(i),
            other => Err(unexpected(other)),
        }
    }

    async fn guild_invites(&self, guild_id: GuildId) -> Result<Vec<Invite>, StoreError> {
        match self.read(Call::GuildInvites { guild_id }).await? {
            Reply::Invites(found) => Ok(found),
            other => Err(unexpected(other)),
        }
    }

    async fn member_count(&self, guild_id: GuildId) -> Result<u64, StoreError> {
        match self.read(Call::MemberCount { guild_id }).await? {
            Reply::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    async fn nonce(&self, user_id: UserId, nonce: &str) -> Result<Option<MessageId>, StoreError> {
        match self
            .read(Call::Nonce {
                user_id,
                nonce: nonce.to_owned(),
            })
            .await?
        {
            Reply::Nonce(n) => Ok(n.map(MessageId::from)),
            other => Err(unexpected(other)),
        }
    }

    async fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let call = Call::Message {
            channel_id,
            message_id,
        };
        match self.read(call).await? {
            Reply::Message(m) => Ok(m.map(|m| *m)),
            other => Err(unexpected(other)),
        }
    }

    async fn mentions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        roles: &[RoleId],
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError> {
        let call = Call::Mentions {
            channel_id,
            user_id,
            roles: roles.to_vec(),
            after,
            limit,
        };
        match self.read(call).await? {
            Reply::Ids(ids) => Ok(typed(ids)),
            other => Err(unexpected(other)),
        }
    }

    async fn read_states(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        match self.read(Call::ReadStates { user_id }).await? {
            Reply::Pairs(p) => Ok(p),
            other => Err(unexpected(other)),
        }
    }

    async fn audit_log(
        &self,
        guild_id: GuildId,
        before: Id,
        limit: usize,
    ) -> Result<Vec<AuditLogEntry>, StoreError> {
        let call = Call::AuditLog {
            guild_id,
            before,
            limit,
        };
        match self.read(call).await? {
            Reply::AuditLog(entries) => Ok(entries),
            other => Err(unexpected(other)),
        }
    }

    async fn bans(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<BanRecord>, StoreError> {
        let call = Call::Bans {
            guild_id,
            after,
            limit,
        };
        match self.read(call).await? {
            Reply::Bans(b) => Ok(b),
            other => Err(unexpected(other)),
        }
    }

    async fn ban(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<BanRecord>, StoreError> {
        match self.read(Call::Ban { guild_id, user_id }).await? {
            Reply::Bans(b) => Ok(b.into_iter().next()),
            other => Err(unexpected(other)),
        }
    }

    async fn pins(&self, channel_id: ChannelId) -> Result<Vec<Message>, StoreError> {
        match self.read(Call::Pins { channel_id }).await? {
            Reply::Messages(m) => Ok(m),
            other => Err(unexpected(other)),
        }
    }

    async fn reactions(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        emoji: &str,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        let call = Call::Reactions {
            channel_id,
            message_id,
            emoji: emoji.to_owned(),
            after,
            limit,
        };
        match self.read(call).await? {
            Reply::Ids(users) => Ok(typed(users)),
            other => Err(unexpected(other)),
        }
    }

    async fn user_reactions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        (first, last): (MessageId, MessageId),
    ) -> Result<Vec<(MessageId, String)>, StoreError> {
        let call = Call::UserReactions {
            channel_id,
            user_id,
            first,
            last,
        };
        match self.read(call).await? {
            Reply::Reacted(found) => Ok(found),
            other => Err(unexpected(other)),
        }
    }

    async fn messages(
        &self,
        channel_id: ChannelId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let call = Call::Messages {
            channel_id,
            cursor: WireCursor::from(cursor),
            limit,
        };
        match self.read(call).await? {
            Reply::Messages(m) => Ok(m),
            other => Err(unexpected(other)),
        }
    }
}
