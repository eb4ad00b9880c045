//! Writer tests over the embedded bus and store.

use super::*;
use async_trait::async_trait;
use rookery_bus::{EmbeddedBus, EmbeddedBusConfig, LinkError, Record};
use rookery_proto::Id;
use rookery_proto::event::{Event, SCHEMA_VERSION};
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use rookery_store::{BanRecord, Cursor, EmbeddedConfig, EmbeddedStore, Mutation, WriteTime};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Fails the first `failures` applies and the first `sync_failures` syncs,
/// then delegates; records the write time of every message applied.
struct Flaky {
    inner: EmbeddedStore,
    failures: AtomicUsize,
    sync_failures: AtomicUsize,
    times: Mutex<Vec<(MessageId, WriteTime)>>,
}

impl Flaky {
    fn new(inner: &EmbeddedStore, failures: usize, sync_failures: usize) -> Self {
        Self {
            inner: inner.clone(),
            failures: AtomicUsize::new(failures),
            sync_failures: AtomicUsize::new(sync_failures),
            times: Mutex::default(),
        }
    }
}

fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| f.checked_sub(1))
        .is_ok()
}

/// `async_trait` must see the methods after expansion, so the macro emits
/// the whole impl.
macro_rules! flaky_store {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        #[async_trait]
        impl Store for Flaky {
            async fn apply(&self, batch: Vec<Mutation>) -> Result<(), StoreError> {
                if take(&self.failures) {
                    return Err(StoreError::Backend("injected".into()));
                }
                self.inner.apply(batch).await
            }
            async fn apply_at(&self, batch: Vec<(WriteTime, Mutation)>) -> Result<(), StoreError> {
                let times = batch.iter().filter_map(|(at, m)| match m {
                    Mutation::Message(msg) => Some((msg.id, *at)),
                    _ => None,
                });
                let times: Vec<(MessageId, WriteTime)> = times.collect();
                self.apply(batch.into_iter().map(|(_, m)| m).collect()).await?;
                self.times.lock().unwrap().extend(times);
                Ok(())
            }
            async fn sync(&self) -> Result<(), StoreError> {
                if take(&self.sync_failures) {
                    return Err(StoreError::Backend("injected".into()));
                }
                self.inner.sync().await
            }
            $(async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> { self.inner.$name($($arg),*).await })*
        }
    };
}

flaky_store! {
    create_account(user: &User, hash: &str) -> ();
    token_generation(user_id: UserId) -> u64;
    create_application(app: &Application) -> ();
    application(id: Id) -> Option<Application>;
    create_webhook(hook: &rookery_proto::webhooks::Webhook) -> ();
    webhook(id: Id) -> Option<rookery_proto::webhooks::Webhook>;
    webhooks(guild: GuildId, channel: Option<ChannelId>) -> Vec<rookery_proto::webhooks::Webhook>;
    delete_webhook(hook: &rookery_proto::webhooks::Webhook) -> ();
    revoke_tokens(user_id: UserId, password_hash: Option<&str>) -> u64;
    account(username: &str) -> Option<(User, String)>;
    user(id: UserId) -> Option<User>;
    guild(id: GuildId) -> Option<Guild>;
    guild_channels(guild_id: GuildId) -> Vec<Channel>;
    guild_roles(guild_id: GuildId) -> Vec<Role>;
    channel(id: ChannelId) -> Option<Channel>;
    member(guild_id: GuildId, user_id: UserId) -> Option<Member>;
    user_guilds(user_id: UserId) -> Vec<Id>;
    guild_members(guild_id: GuildId, after: UserId, limit: usize) -> Vec<Member>;
    dm_channel(a: UserId, b: UserId) -> Option<ChannelId>;
    invite(code: &str) -> Option<Invite>;
    guild_invites(guild_id: GuildId) -> Vec<Invite>;
    member_count(guild_id: GuildId) -> u64;
    nonce(user_id: UserId, nonce: &str) -> Option<MessageId>;
    messages(channel_id: ChannelId, cursor: Cursor, limit: usize) -> Vec<Message>;
    message(channel_id: ChannelId, message_id: MessageId) -> Option<Message>;
    pins(channel_id: ChannelId) -> Vec<Message>;
    bans(guild_id: GuildId, after: UserId, limit: usize) -> Vec<BanRecord>;
    audit_log(guild_id: GuildId, before: Id, limit: usize) -> Vec<AuditLogEntry>;
    read_states(user_id: UserId) -> Vec<(ChannelId, MessageId)>;
    mentions(channel_id: ChannelId, user_id: UserId, roles: &[RoleId], after: MessageId, limit: usize) -> Vec<MessageId>;
    ban(guild_id: GuildId, user_id: UserId) -> Option<BanRecord>;
    reactions(channel_id: ChannelId, message_id: MessageId, emoji: &str, after: UserId, limit: usize) -> Vec<UserId>;
    user_reactions(channel_id: ChannelId, user_id: UserId, ids: (MessageId, MessageId)) -> Vec<(MessageId, String)>;
}

struct Rig {
    _dir: tempfile::TempDir,
    bus: EmbeddedBus,
    store: EmbeddedStore,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let bus = EmbeddedBus::open(&EmbeddedBusConfig::new(dir.path().join("bus"))).unwrap();
    let store = EmbeddedStore::open(&EmbeddedConfig::new(dir.path().join("store"))).unwrap();
    Rig {
        _dir: dir,
        bus,
        store,
    }
}

fn message_event(id: u64) -> Envelope {
    let id = MessageId(id << 22);
    Envelope {
        v: SCHEMA_VERSION,
        id: id.raw(),
        ts: 0,
        origin: 0,
        audit: None,
        event: Event::MessageCreate(Message::new(
            id,
            (GuildId(1), ChannelId(10)),
            User {
                id: UserId(2),
                username: "a".into(),
            },
            "hi".into(),
        )),
    }
}

async fn publish(bus: &EmbeddedBus, env: &Envelope) {
    bus.publish(Record {
        key: env.event.key(),
        payload: env.to_bytes(),
    })
    .await
    .unwrap();
}

async fn stored(store: &EmbeddedStore) -> Vec<MessageId> {
    store
        .messages(ChannelId(10), Cursor::After(MessageId(0)), 100)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect()
}

#[tokio::test]
async fn events_are_stored_then_pushed_then_committed() {
    let r = rig();
    let link = Arc::new(Recorder::default());
    for i in 1..=3 {
        publish(&r.bus, &message_event(i)).await;
    }
    let config = WriterConfig::default();
    let mut w = Writer::new(&r.bus, Arc::new(r.store.clone()), link.clone(), &config)
        .await
        .unwrap();
    assert_eq!(w.catch_up().await.unwrap(), 3);
    let expected: Vec<MessageId> = (1..=3).map(|i| MessageId(i << 22)).collect();
    assert_eq!(stored(&r.store).await, expected);
    let pushed: Vec<Id> = expected.iter().map(|m| m.raw()).collect();
    assert_eq!(*link.0.lock().unwrap(), pushed);
    drop(w);
    let mut again = r.bus.consumer(&config.group).await.unwrap();
    assert!(
        again.try_poll(10).await.unwrap().is_empty(),
        "offsets were committed"
    );
}

#[tokio::test]
async fn store_failures_are_retried_and_never_committed_past() {
    let r = rig();
    publish(&r.bus, &message_event(1)).await;
    // Two failed writes and two failed syncs, then it recovers.
    let flaky = Arc::new(Flaky::new(&r.store, 2, 2));
    let link = Arc::new(Recorder::default());
    let mut w = Writer::new(&r.bus, flaky, link.clone(), &WriterConfig::default())
        .await
        .unwrap();
    assert_eq!(w.catch_up().await.unwrap(), 1);
    assert_eq!(stored(&r.store).await, vec![MessageId(1 << 22)]);

    // A store that never recovers: stop the writer mid-retry; the event stays on the bus.
    publish(&r.bus, &message_event(2)).await;
    drop(w);
    let dead = Arc::new(Flaky::new(&r.store, usize::MAX, 0));
    let w = Writer::new(&r.bus, dead, link.clone(), &WriterConfig::default())
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(w.run(async move { stopped.await.unwrap_or(()) }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stop);
    task.abort();
    let _ = task.await;
    let mut c = r
        .bus
        .consumer(&WriterConfig::default().group)
        .await
        .unwrap();
    let pending = c.try_poll(10).await.unwrap();
    assert_eq!(
        pending.iter().map(|b| b.records.len()).sum::<usize>(),
        1,
        "event 2 not committed"
    );
    assert_eq!(
        link.0.lock().unwrap().len(),
        1,
        "event 2 was not pushed before being stored"
    );
}

#[tokio::test]
async fn offsets_wait_for_the_store_sync() {
    let r = rig();
    publish(&r.bus, &message_event(1)).await;
    let link = Arc::new(Recorder::default());
    let config = WriterConfig {
        sync_interval: Duration::from_millis(10),
        ..WriterConfig::default()
    };
    let w = Writer::new(
        &r.bus,
        Arc::new(Flaky::new(&r.store, 0, usize::MAX)),
        link.clone(),
        &config,
    )
    .await
    .unwrap();
    let task = tokio::spawn(w.run(std::future::pending()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    task.abort();
    let _ = task.await;
    // Applied and pushed at once...
    assert_eq!(stored(&r.store).await, vec![MessageId(1 << 22)]);
    assert_eq!(link.0.lock().unwrap().len(), 1);
    // ...but never committed, since no sync succeeded: a crash would replay it.
    let mut c = r.bus.consumer(&config.group).await.unwrap();
    assert_eq!(c.try_poll(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn undecodable_records_are_skipped_without_stalling_the_partition() {
    let r = rig();
    r.bus
        .publish(Record {
            key: 10,
            payload: b"\xc1garbage".to_vec(),
        })
        .await
        .unwrap();
    publish(&r.bus, &message_event(5)).await;
    let link = Arc::new(Recorder::default());
    let mut w = Writer::new(
        &r.bus,
        Arc::new(r.store.clone()),
        link,
        &WriterConfig::default(),
    )
    .await
    .unwrap();
    assert_eq!(w.catch_up().await.unwrap(), 2);
    assert_eq!(stored(&r.store).await, vec![MessageId(5 << 22)]);
}

fn typing_event(id: u64, ts: u64) -> Envelope {
    Envelope {
        v: SCHEMA_VERSION,
        id: Id(id << 22),
        ts,
        origin: 0,
        audit: None,
        event: Event::TypingStart(rookery_proto::event::TypingStart {
            channel_id: ChannelId(10),
            guild_id: GuildId(1),
            user_id: UserId(2),
            timestamp: ts / 1000,
        }),
    }
}

/// The relay pushes fresh ephemeral events, never stores them, and drops
/// stale ones and anything that is not ephemeral.
#[tokio::test]
async fn the_relay_pushes_fresh_ephemeral_events_only() {
    let r = rig();
    let link = Arc::new(Recorder::default());
    let relay = EphemeralRelay::new(&r.bus, link.clone()).await.unwrap();
    let now = rookery_bus::now_ms();
    let stale = now - relay::STALE_AFTER.as_millis() as u64 - 1000;
    for env in [
        typing_event(1, stale),
        message_event(2),
        typing_event(3, now),
    ] {
        let record = Record {
            key: env.event.key(),
            payload: env.to_bytes(),
        };
        r.bus.publish_ephemeral(record).await.unwrap();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(relay.run(async {
        let _ = stopped.await;
    }));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while link.0.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "nothing relayed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(*link.0.lock().unwrap(), vec![Id(3 << 22)]);
    assert!(stored(&r.store).await.is_empty(), "nothing is stored");
}

/// A writer that starts where another committed stamps every record from
/// there exactly as a writer that read the partition from its start: the
/// clock travels with the commit, and an event's time is never taken from
/// the writer's own clock. Events minted out of order by clocks that
/// disagree still get increasing times in log order.
#[tokio::test]
async fn a_writer_resuming_at_a_checkpoint_stamps_as_its_predecessor_did() {
    let r = rig();
    // The reference group exists from the start, so nothing is trimmed
    // before it reads.
    drop(r.bus.consumer("from-the-start").await.unwrap());
    // An edge whose clock ran ahead minted 90 before the commit: what follows
    // must still come after it.
    let minted = [50u64, 20, 90, 10, 70, 30, 80, 40];
    for i in &minted[..4] {
        publish(&r.bus, &message_event(*i)).await;
    }
    let config = WriterConfig::default();
    let link = Arc::new(Recorder::default());
    let first = Arc::new(Flaky::new(&r.store, 0, 0));
    let mut w = Writer::new(&r.bus, first.clone(), link.clone(), &config)
        .await
        .unwrap();
    assert_eq!(w.catch_up().await.unwrap(), 4);
    drop(w);
    for i in &minted[4..] {
        publish(&r.bus, &message_event(*i)).await;
    }
    let next = Arc::new(Flaky::new(&r.store, 0, 0));
    let mut w = Writer::new(&r.bus, next.clone(), link.clone(), &config)
        .await
        .unwrap();
    assert_eq!(w.catch_up().await.unwrap(), 4, "resumed after the commit");

    let reference = Arc::new(Flaky::new(&r.store, 0, 0));
    let from_start = WriterConfig {
        group: "from-the-start".into(),
        ..WriterConfig::default()
    };
    let mut w = Writer::new(&r.bus, reference.clone(), link, &from_start)
        .await
        .unwrap();
    assert_eq!(w.catch_up().await.unwrap(), 8);
    let times = |s: &Flaky| s.times.lock().unwrap().clone();
    let all = times(&reference);
    assert_eq!(times(&first), all[..4]);
    assert_eq!(
        times(&next),
        all[4..],
        "the same times from the checkpoint on"
    );
    assert!(
        all.windows(2).all(|w| w[0].1 < w[1].1),
        "increasing: {all:?}"
    );
    let ids: Vec<MessageId> = all.iter().map(|(id, _)| *id).collect();
    let published: Vec<MessageId> = minted.iter().map(|i| MessageId(i << 22)).collect();
    assert_eq!(ids, published, "in log order, not id order");
}
