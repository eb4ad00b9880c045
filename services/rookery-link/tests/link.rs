//! The internal link over real TCP: every read of the store conformance
//! suite through [`RemoteStore`], fan-out reaching the edge's hub, identical
//! reads coalesced, calls failing cleanly when the writer is gone, fan-out
//! routed by interest, and batches of a former partition owner dropped.

use async_trait::async_trait;
use rookery_bus::{
    EdgeId, EdgeLink, FanoutBatch, InterestAcks, InterestTable, LinkError, Position, partition_for,
};
use rookery_link::{
    EdgeLinks, FanoutServer, LinkKey, LinkSet, RemoteStore, ServerOptions, WriterLink,
};
use rookery_proto::Id;
use rookery_proto::event::{Envelope, Event};
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use rookery_store::{
    BanRecord, Cursor, EmbeddedConfig, EmbeddedStore, Mutation, Store, StoreError,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUCKET_MS: u64 = 60_000;

fn key() -> LinkKey {
    LinkKey::new(b"the-link-secret-of-at-least-32-bytes").unwrap()
}

fn options() -> ServerOptions {
    ServerOptions::new(key())
}

/// Records what the writer pushed.
#[derive(Default)]
struct Recorder(Mutex<Vec<Id>>);

#[async_trait]
impl EdgeLink for Recorder {
    async fn push(&self, batch: FanoutBatch) -> Result<(), LinkError> {
        self.0
            .lock()
            .unwrap()
            .extend(batch.events.iter().map(|e| e.id));
        Ok(())
    }
}

/// A `Store` impl that forwards each listed method to a field; `extra`
/// holds the methods written out. (The macro emits the `#[async_trait]` impl
/// itself: the attribute must see the expanded methods.)
macro_rules! store_impl {
    ($ty:ty { $($field:ident: [$($name:ident($($arg:ident: $aty:ty),*) -> $out:ty),* $(,)?])* } $($extra:tt)*) => {
        #[async_trait]
        impl Store for $ty {
            $($(
                async fn $name(&self, $($arg: $aty),*) -> Result<$out, StoreError> {
                    self.$field.$name($($arg),*).await
                }
            )*)*
            $($extra)*
        }
    };
}

/// Writes straight to the embedded store and reads through the link: the
/// conformance suite seeds with `apply`, which edges never call remotely.
struct Split {
    local: EmbeddedStore,
    remote: RemoteStore,
}

store_impl!(Split {
    // Hashes never cross the link: the suite reads them on the writer's side.
    local: [apply(batch: Vec<Mutation>) -> (), sync() -> (), account(username: &str) -> Option<(User, String)>]
    remote: [
        create_account(user: &User, password_hash: &str) -> (),
        token_generation(user_id: UserId) -> u64,
        create_application(app: &Application) -> (),
        application(id: Id) -> Option<Application>,
        create_webhook(hook: &rookery_proto::webhooks::Webhook) -> (),
        webhook(id: Id) -> Option<rookery_proto::webhooks::Webhook>,
        webhooks(guild: GuildId, channel: Option<ChannelId>) -> Vec<rookery_proto::webhooks::Webhook>,
        delete_webhook(hook: &rookery_proto::webhooks::Webhook) -> (),
        revoke_tokens(user_id: UserId, password_hash: Option<&str>) -> u64,
        user(id: UserId) -> Option<User>,
        guild(id: GuildId) -> Option<Guild>,
        guild_channels(guild_id: GuildId) -> Vec<Channel>,
        guild_roles(guild_id: GuildId) -> Vec<Role>,
        channel(id: ChannelId) -> Option<Channel>,
        member(guild_id: GuildId, user_id: UserId) -> Option<Member>,
        user_guilds(user_id: UserId) -> Vec<Id>,
        guild_members(guild_id: GuildId, after: UserId, limit: usize) -> Vec<Member>,
        dm_channel(a: UserId, b: UserId) -> Option<ChannelId>,
        invite(code: &str) -> Option<Invite>,
        guild_invites(guild_id: GuildId) -> Vec<Invite>,
        member_count(guild_id: GuildId) -> u64,
        nonce(user_id: UserId, nonce: &str) -> Option<MessageId>,
        message(channel_id: ChannelId, message_id: MessageId) -> Option<Message>,
        pins(channel_id: ChannelId) -> Vec<Message>,
        bans(guild_id: GuildId, after: UserId, limit: usize) -> Vec<BanRecord>,
        audit_log(guild_id: GuildId, before: Id, limit: usize) -> Vec<AuditLogEntry>,
        read_states(user_id: UserId) -> Vec<(ChannelId, MessageId)>,
        mentions(channel_id: ChannelId, user_id: UserId, roles: &[RoleId], after: MessageId, limit: usize) -> Vec<MessageId>,
        ban(guild_id: GuildId, user_id: UserId) -> Option<BanRecord>,
        reactions(channel_id: ChannelId, message_id: MessageId, emoji: &str, after: UserId, limit: usize) -> Vec<UserId>,
        user_reactions(channel_id: ChannelId, user_id: UserId, ids: (MessageId, MessageId)) -> Vec<(MessageId, String)>,
        messages(channel_id: ChannelId, cursor: Cursor, limit: usize) -> Vec<Message>,
    ]
});

/// The writer's store, counting (and slowing) the history reads it serves.
struct Counting {
    inner: EmbeddedStore,
    served: Arc<AtomicUsize>,
}

store_impl!(Counting {
    inner: [
        apply(batch: Vec<Mutation>) -> (),
        sync() -> (),
        create_account(user: &User, password_hash: &str) -> (),
        token_generation(user_id: UserId) -> u64,
        create_application(app: &Application) -> (),
        application(id: Id) -> Option<Application>,
        create_webhook(hook: &rookery_proto::webhooks::Webhook) -> (),
        webhook(id: Id) -> Option<rookery_proto::webhooks::Webhook>,
        webhooks(guild: GuildId, channel: Option<ChannelId>) -> Vec<rookery_proto::webhooks::Webhook>,
        delete_webhook(hook: &rookery_proto::webhooks::Webhook) -> (),
        revoke_tokens(user_id: UserId, password_hash: Option<&str>) -> u64,
        account(username: &str) -> Option<(User, String)>,
        user(id: UserId) -> Option<User>,
        guild(id: GuildId) -> Option<Guild>,
        guild_channels(guild_id: GuildId) -> Vec<Channel>,
        guild_roles(guild_id: GuildId) -> Vec<Role>,
        channel(id: ChannelId) -> Option<Channel>,
        member(guild_id: GuildId, user_id: UserId) -> Option<Member>,
        user_guilds(user_id: UserId) -> Vec<Id>,
        guild_members(guild_id: GuildId, after: UserId, limit: usize) -> Vec<Member>,
        dm_channel(a: UserId, b: UserId) -> Option<ChannelId>,
        invite(code: &str) -> Option<Invite>,
        guild_invites(guild_id: GuildId) -> Vec<Invite>,
        member_count(guild_id: GuildId) -> u64,
        nonce(user_id: UserId, nonce: &str) -> Option<MessageId>,
        message(channel_id: ChannelId, message_id: MessageId) -> Option<Message>,
        pins(channel_id: ChannelId) -> Vec<Message>,
        bans(guild_id: GuildId, after: UserId, limit: usize) -> Vec<BanRecord>,
        audit_log(guild_id: GuildId, before: Id, limit: usize) -> Vec<AuditLogEntry>,
        read_states(user_id: UserId) -> Vec<(ChannelId, MessageId)>,
        mentions(channel_id: ChannelId, user_id: UserId, roles: &[RoleId], after: MessageId, limit: usize) -> Vec<MessageId>,
        ban(guild_id: GuildId, user_id: UserId) -> Option<BanRecord>,
        reactions(channel_id: ChannelId, message_id: MessageId, emoji: &str, after: UserId, limit: usize) -> Vec<UserId>,
        user_reactions(channel_id: ChannelId, user_id: UserId, ids: (MessageId, MessageId)) -> Vec<(MessageId, String)>,
    ]
}
    async fn messages(&self, ch: ChannelId, cursor: Cursor, limit: usize) -> Result<Vec<Message>, StoreError> {
        self.served.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.inner.messages(ch, cursor, limit).await
    }
);

struct Rig {
    server: Arc<FanoutServer>,
    store: Split,
    hub: Arc<Recorder>,
    served: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let local = EmbeddedStore::open(&EmbeddedConfig {
        bucket_ms: BUCKET_MS,
        ..EmbeddedConfig::new(dir.path())
    })
    .unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let hosted: Arc<dyn Store> = Arc::new(Counting {
        inner: local.clone(),
        served: served.clone(),
    });
    let server = FanoutServer::bind("127.0.0.1:0".parse().unwrap(), hosted, None, options())
        .await
        .unwrap();
    let hub = Arc::new(Recorder::default());
    let link = WriterLink::spawn(
        server.local_addr().to_string(),
        hub.clone(),
        edge_links(1).0,
    );
    assert!(link.wait_connected(Duration::from_secs(5)).await);
    let links = Arc::new(LinkSet::default());
    links.set(vec![link]);
    let store = Split {
        local,
        remote: RemoteStore::new(links),
    };
    Rig {
        server,
        store,
        hub,
        served,
        _dir: dir,
    }
}

rookery_store::conformance_tests!(|rig| rig().await => &rig.store, BUCKET_MS);

fn edge_links(node: u16) -> (Arc<EdgeLinks>, Arc<InterestAcks>) {
    let acks = Arc::new(InterestAcks::default());
    let me = EdgeId { node, epoch: 1 };
    (EdgeLinks::new(me, key(), acks.clone()), acks)
}

fn message(id: u64, channel: u64, origin: u16) -> Arc<Envelope> {
    let author = User {
        id: UserId(1),
        username: "ada".into(),
    };
    Arc::new(Envelope {
        v: 1,
        id: Id(id),
        ts: 0,
        origin,
        audit: None,
        event: Event::MessageCreate(Message::new(
            MessageId(id),
            (GuildId(5), ChannelId(channel)),
            author,
            "hi".into(),
        )),
    })
}

/// Waits until `recorder` holds `want`, or a second has passed.
async fn received(recorder: &Recorder, want: &[u64]) -> Vec<Id> {
    for _ in 0..100 {
        if recorder.0.lock().unwrap().len() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    recorder.0.lock().unwrap().clone()
}

fn ids(raw: &[u64]) -> Vec<Id> {
    raw.iter().map(|&i| Id(i)).collect()
}

/// An edge (`node`) linked to `server`, once the writer knows who it is:
/// the writer's interest acknowledgement has reached it.
async fn routed_edge(server: &Arc<FanoutServer>, node: u16) -> Arc<Recorder> {
    let recorder = Arc::new(Recorder::default());
    let (shared, acks) = edge_links(node);
    let _link = WriterLink::spawn(server.local_addr().to_string(), recorder.clone(), shared);
    let probe = [Position {
        partition: 0,
        offset: 0,
    }];
    for _ in 0..100 {
        server.interest_applied(EdgeId { node, epoch: 1 }, 0, 1);
        if acks.wait(&probe, Duration::from_millis(20)).await {
            return recorder;
        }
    }
    panic!("edge {node} never identified to the writer");
}

async fn routing_server() -> (Arc<FanoutServer>, Arc<InterestTable>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&EmbeddedConfig::new(dir.path())).unwrap());
    let table = Arc::new(InterestTable::new(4));
    let server = FanoutServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        store,
        Some(table.clone()),
        options(),
    )
    .await
    .unwrap();
    (server, table)
}

#[tokio::test]
async fn channel_events_go_to_interested_edges_and_their_origin_only() {
    let (server, table) = routing_server().await;
    let a = routed_edge(&server, 1).await;
    let b = routed_edge(&server, 2).await;
    let c = routed_edge(&server, 3).await;
    table.apply(
        partition_for(100, 4),
        100,
        1,
        Some(EdgeId { node: 1, epoch: 1 }),
    );
    let batch = FanoutBatch {
        partition: Some(partition_for(100, 4)),
        // 10: channel 100, published by edge 3; 11: channel 200, nobody's;
        // 12: not channel-scoped, so everyone's.
        events: vec![message(10, 100, 3), message(11, 200, 9), user_created(12)],
        applied_at_ms: 0,
    };
    server.push(batch).await.unwrap();
    assert_eq!(received(&a, &[10, 12]).await, ids(&[10, 12]));
    assert_eq!(received(&c, &[10, 12]).await, ids(&[10, 12]));
    assert_eq!(received(&b, &[12]).await, ids(&[12]));

    // Withdrawn: edge 1 no longer gets channel 100.
    table.apply(partition_for(100, 4), 100, 1, None);
    let batch = FanoutBatch {
        partition: Some(partition_for(100, 4)),
        events: vec![message(13, 100, 3), user_created(14)],
        applied_at_ms: 0,
    };
    server.push(batch).await.unwrap();
    assert_eq!(received(&a, &[10, 12, 14]).await, ids(&[10, 12, 14]));
}

#[tokio::test]
async fn an_edge_drops_batches_of_a_former_partition_owner() {
    let (old_owner, old_table) = routing_server().await;
    let (new_owner, new_table) = routing_server().await;
    // One edge linked to both writers, sharing its claim view.
    let recorder = Arc::new(Recorder::default());
    let (shared, _) = edge_links(1);
    let _l1 = WriterLink::spawn(
        old_owner.local_addr().to_string(),
        recorder.clone(),
        shared.clone(),
    );
    let _l2 = WriterLink::spawn(new_owner.local_addr().to_string(), recorder.clone(), shared);
    while old_owner.edges() == 0 || new_owner.edges() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    old_table.set_claim(2, 5);
    new_table.set_claim(2, 9);
    let batch = |id| FanoutBatch {
        partition: Some(2),
        events: vec![user_created(id)],
        applied_at_ms: 0,
    };
    old_owner.push(batch(1)).await.unwrap();
    assert_eq!(received(&recorder, &[1]).await, ids(&[1]));
    new_owner.push(batch(2)).await.unwrap();
    assert_eq!(received(&recorder, &[1, 2]).await, ids(&[1, 2]));
    // The old owner has not noticed it lost partition 2: dropped. Its
    // other partitions are unaffected (and, on the same connection, mark
    // that the dropped batch was seen first).
    old_owner.push(batch(3)).await.unwrap();
    let other = FanoutBatch {
        partition: Some(3),
        ..batch(4)
    };
    old_owner.push(other).await.unwrap();
    assert_eq!(received(&recorder, &[1, 2, 4]).await, ids(&[1, 2, 4]));
    new_owner.push(batch(5)).await.unwrap();
    assert_eq!(received(&recorder, &[1, 2, 4, 5]).await, ids(&[1, 2, 4, 5]));
}

fn user_created(id: u64) -> Arc<Envelope> {
    Arc::new(Envelope {
        v: 1,
        id: Id(id),
        ts: 0,
        origin: 0,
        audit: None,
        event: Event::UserCreate(User {
            id: UserId(id),
            username: format!("u{id}"),
        }),
    })
}

#[tokio::test]
async fn fanout_reaches_the_edge_and_identical_reads_are_coalesced() {
    let rig = rig().await;
    while rig.server.edges() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let batch = FanoutBatch {
        partition: None,
        events: vec![user_created(7), user_created(8)],
        applied_at_ms: rookery_bus::now_ms(),
    };
    rig.server.push(batch).await.unwrap();
    for _ in 0..200 {
        if rig.hub.0.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*rig.hub.0.lock().unwrap(), [Id(7), Id(8)]);

    let reads = (0..10).map(|_| rig.store.remote.messages(ChannelId(42), Cursor::Latest, 50));
    let pages = futures_util::future::join_all(reads).await;
    assert!(pages.iter().all(|p| p.as_ref().unwrap().is_empty()));
    assert_eq!(
        rig.served.load(Ordering::Relaxed),
        1,
        "ten identical reads, one served"
    );
}

#[tokio::test]
async fn calls_fail_cleanly_without_a_writer() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let link = WriterLink::spawn(
        closed.to_string(),
        Arc::new(Recorder::default()),
        edge_links(1).0,
    );
    assert!(!link.wait_connected(Duration::from_millis(300)).await);
    let links = Arc::new(LinkSet::default());
    links.set(vec![link]);
    let store = RemoteStore::new(links);
    let err = store.user(UserId(1)).await.unwrap_err();
    assert!(err.to_string().contains("is not connected"), "{err}");
    assert!(matches!(
        store.apply(vec![]).await,
        Err(StoreError::Config(_))
    ));
}

#[tokio::test]
async fn logins_are_checked_on_the_writer_and_hashes_never_cross() {
    let rig = rig().await;
    let ada = User {
        id: UserId(5),
        username: "ada".into(),
    };
    let salt = argon2::password_hash::SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap();
    let hash = argon2::PasswordHasher::hash_password(&argon2::Argon2::default(), b"pw", &salt)
        .unwrap()
        .to_string();
    rig.store.remote.create_account(&ada, &hash).await.unwrap();
    let remote = &rig.store.remote;
    let checked = remote.check_password("ADA", "pw").await.unwrap().unwrap();
    assert_eq!(checked, Some(ada));
    assert_eq!(
        remote
            .check_password("ada", "wrong")
            .await
            .unwrap()
            .unwrap(),
        None
    );
    assert_eq!(
        remote
            .check_password("nobody", "pw")
            .await
            .unwrap()
            .unwrap(),
        None
    );
    assert!(matches!(
        remote.account("ada").await,
        Err(StoreError::Config(_))
    ));
}

/// Reads one frame's worth from `tcp`, or `None` once the peer closed.
async fn read_some(tcp: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf));
    match read.await.expect("an answer or a close") {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(buf[..n].to_vec()),
    }
}

#[tokio::test]
async fn a_peer_without_the_key_gets_no_reads_no_events_and_no_connection() {
    use tokio::io::AsyncWriteExt;
    let rig = rig().await;
    // A client that skips the handshake and asks for an account straight
    // away is closed after the challenge, unanswered.
    let mut raw = tokio::net::TcpStream::connect(rig.server.local_addr())
        .await
        .unwrap();
    let call = rookery_link::wire::ToWriter::Call {
        id: 1,
        call: rookery_link::wire::Call::User { id: UserId(1) },
    };
    let frame = rookery_link::wire::encode(&call);
    raw.write_all(&(frame.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(&frame).await.unwrap();
    let challenge = read_some(&mut raw).await.expect("the challenge");
    let decoded: rookery_link::wire::ToEdge = rookery_link::wire::decode(&challenge[4..]).unwrap();
    assert!(matches!(
        decoded,
        rookery_link::wire::ToEdge::Challenge { .. }
    ));
    assert_eq!(read_some(&mut raw).await, None, "closed without a reply");

    // An edge with another key never connects and receives nothing.
    let before = rig.server.edges();
    let acks = Arc::new(InterestAcks::default());
    let wrong = LinkKey::new(b"another-secret-of-at-least-32-bytes!").unwrap();
    let me = EdgeId { node: 9, epoch: 1 };
    let hub = Arc::new(Recorder::default());
    let link = WriterLink::spawn(
        rig.server.local_addr().to_string(),
        hub.clone(),
        EdgeLinks::new(me, wrong, acks),
    );
    assert!(!link.wait_connected(Duration::from_secs(1)).await);
    assert_eq!(rig.server.edges(), before);
    let env = Arc::new(Envelope {
        v: 1,
        id: Id(77),
        ts: 1,
        origin: 0,
        audit: None,
        event: Event::UserCreate(User {
            id: UserId(77),
            username: "x".into(),
        }),
    });
    let batch = FanoutBatch {
        partition: None,
        events: vec![env],
        applied_at_ms: 0,
    };
    rig.server.push(batch).await.unwrap();
    assert_eq!(
        received(&rig.hub, &[77]).await,
        ids(&[77]),
        "the keyed edge got it"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(hub.0.lock().unwrap().is_empty(), "the unkeyed one did not");
}
