//! The internal link over real TCP: every read of the store conformance
//! suite through [`RemoteStore`], fan-out reaching the edge's hub, identical
//! reads coalesced, and calls failing cleanly when the writer is gone.

use async_trait::async_trait;
use rookery_bus::{EdgeLink, FanoutBatch, LinkError};
use rookery_link::{FanoutServer, LinkSet, RemoteStore, WriterLink};
use rookery_proto::Id;
use rookery_proto::event::{Envelope, Event};
use rookery_proto::model::{Channel, Guild, Invite, Member, Message, User};
use rookery_store::conformance as c;
use rookery_store::{Cursor, EmbeddedConfig, EmbeddedStore, Mutation, Store, StoreError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUCKET_MS: u64 = 60_000;

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
    local: [apply(batch: Vec<Mutation>) -> (), sync() -> ()]
    remote: [
        create_account(user: &User, password_hash: &str) -> (),
        account(username: &str) -> Option<(User, String)>,
        user(id: Id) -> Option<User>,
        guild(id: Id) -> Option<Guild>,
        guild_channels(guild_id: Id) -> Vec<Channel>,
        channel(id: Id) -> Option<Channel>,
        member(guild_id: Id, user_id: Id) -> Option<Member>,
        user_guilds(user_id: Id) -> Vec<Id>,
        invite(code: &str) -> Option<Invite>,
        nonce(user_id: Id, nonce: &str) -> Option<Id>,
        messages(channel_id: Id, cursor: Cursor, limit: usize) -> Vec<Message>,
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
        account(username: &str) -> Option<(User, String)>,
        user(id: Id) -> Option<User>,
        guild(id: Id) -> Option<Guild>,
        guild_channels(guild_id: Id) -> Vec<Channel>,
        channel(id: Id) -> Option<Channel>,
        member(guild_id: Id, user_id: Id) -> Option<Member>,
        user_guilds(user_id: Id) -> Vec<Id>,
        invite(code: &str) -> Option<Invite>,
        nonce(user_id: Id, nonce: &str) -> Option<Id>,
    ]
}
    async fn messages(&self, ch: Id, cursor: Cursor, limit: usize) -> Result<Vec<Message>, StoreError> {
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
    let server = FanoutServer::bind("127.0.0.1:0".parse().unwrap(), hosted)
        .await
        .unwrap();
    let hub = Arc::new(Recorder::default());
    let link = WriterLink::spawn(server.local_addr().to_string(), hub.clone());
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

macro_rules! conformance {
    ($($name:ident),*) => {$(
        #[tokio::test]
        async fn $name() {
            let rig = rig().await;
            c::$name(&rig.store, BUCKET_MS).await;
        }
    )*};
}

conformance!(
    history_walks_buckets_newest_first,
    history_after_and_around,
    history_limit_is_clamped,
    apply_is_idempotent,
    accounts_claim_usernames,
    guild_metadata_indexes
);

fn user_created(id: u64) -> Arc<Envelope> {
    Arc::new(Envelope {
        v: 1,
        id: Id(id),
        ts: 0,
        origin: 0,
        event: Event::UserCreate(User {
            id: Id(id),
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

    let reads = (0..10).map(|_| rig.store.remote.messages(Id(42), Cursor::Latest, 50));
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
    let link = WriterLink::spawn(closed.to_string(), Arc::new(Recorder::default()));
    assert!(!link.wait_connected(Duration::from_millis(300)).await);
    let links = Arc::new(LinkSet::default());
    links.set(vec![link]);
    let store = RemoteStore::new(links);
    let err = store.user(Id(1)).await.unwrap_err();
    assert!(err.to_string().contains("is not connected"), "{err}");
    assert!(matches!(
        store.apply(vec![]).await,
        Err(StoreError::Config(_))
    ));
}
