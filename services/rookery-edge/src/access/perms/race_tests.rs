//! Revocations raced against loads: a permission computed from data read
//! before a revocation must never outlive it in the cache. The store here
//! can hold a channel read back until the test releases it, so each
//! interleaving is made to happen rather than hoped for.

use super::Perms;
use async_trait::async_trait;
use rookery_proto::Id;
use rookery_proto::event::Event;
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::permissions::{Overwrite, OverwriteKind, Permissions};
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use rookery_store::{
    BanRecord, Cursor, EmbeddedConfig, EmbeddedStore, Mutation, Store, StoreError,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Semaphore;

const GUILD: GuildId = GuildId(10);
const CHANNEL: ChannelId = ChannelId(11);
const USER: UserId = UserId(12);

/// The embedded store, except that while `hold` is set a channel read
/// waits (with what it read) for a permit of `release`.
struct Gated {
    inner: EmbeddedStore,
    hold: AtomicBool,
    held: Semaphore,
    release: Semaphore,
    /// Channel reads served.
    channel_reads: AtomicUsize,
}

macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        #[async_trait]
        impl Store for Gated {
            async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
                let read = self.inner.channel(id).await;
                self.channel_reads.fetch_add(1, Ordering::SeqCst);
                if self.hold.swap(false, Ordering::SeqCst) {
                    self.held.add_permits(1);
                    self.release.acquire().await.expect("open").forget();
                }
                read
            }
            $(async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                self.inner.$name($($arg),*).await
            })*
        }
    };
}

forward! {
    apply(batch: Vec<Mutation>) -> ();
    sync() -> ();
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

fn channel(hidden: bool) -> Channel {
    let mut c = Channel::guild_text(CHANNEL, GUILD, "general", 0);
    if hidden {
        c.permission_overwrites.push(Overwrite {
            id: GUILD.everyone().raw(),
            kind: OverwriteKind::Role,
            allow: Permissions::NONE,
            deny: Permissions::VIEW_CHANNEL,
        });
    }
    c
}

async fn rig(dir: &tempfile::TempDir) -> (Arc<Gated>, Perms) {
    let inner = EmbeddedStore::open(&EmbeddedConfig::new(dir.path())).unwrap();
    let member = Member {
        guild_id: GUILD,
        user: User {
            id: USER,
            username: "u".into(),
        },
        joined_at: "2026-01-01T00:00:00Z".into(),
        roles: vec![],
        communication_disabled_until: None,
        bot: false,
    };
    let guild = Guild {
        id: GUILD,
        name: "g".into(),
        owner_id: UserId(1),
    };
    let seed = vec![
        Mutation::Guild(guild),
        Mutation::Channel(channel(false)),
        Mutation::Member(member),
    ];
    inner.apply(seed).await.unwrap();
    let store = Arc::new(Gated {
        inner,
        hold: AtomicBool::new(false),
        held: Semaphore::new(0),
        release: Semaphore::new(0),
        channel_reads: AtomicUsize::new(0),
    });
    (store.clone(), Perms::new(store))
}

/// Sets whether @everyone may see the channel, as the edge applies it:
/// the store first, then the invalidation.
async fn set_hidden(store: &Gated, perms: &Perms, hidden: bool) {
    let c = channel(hidden);
    store
        .apply(vec![Mutation::Channel(c.clone())])
        .await
        .unwrap();
    perms.invalidate(&Event::ChannelUpdate(c));
}

async fn sees(perms: &Perms) -> bool {
    perms.can_view(USER, CHANNEL).await
}

#[tokio::test]
async fn a_load_that_read_the_channel_before_a_revocation_does_not_cache_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, perms) = rig(&dir).await;
    let perms = Arc::new(perms);
    for round in 0..3 {
        // Nothing cached: the load below reads the store.
        set_hidden(&store, &perms, false).await;
        // A load reads the channel (visible), and is held there...
        store.hold.store(true, Ordering::SeqCst);
        let load = tokio::spawn({
            let perms = perms.clone();
            async move { sees(&perms).await }
        });
        store.held.acquire().await.unwrap().forget();
        // ...while the channel is hidden and the caches invalidated.
        set_hidden(&store, &perms, true).await;
        store.release.add_permits(1);
        let _stale_once = load.await.unwrap();
        assert!(
            !sees(&perms).await,
            "round {round}: a revoked view was cached"
        );
        assert_ne!(perms.cached_view(USER, CHANNEL), Some(true));
        set_hidden(&store, &perms, false).await;
        assert!(sees(&perms).await, "round {round}: the grant is back");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_raced_against_loads_never_leave_a_stale_grant() {
    let dir = tempfile::tempdir().unwrap();
    let (store, perms) = rig(&dir).await;
    let perms = Arc::new(perms);
    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = (0..4)
        .map(|_| {
            let (perms, stop) = (perms.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    sees(&perms).await;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for round in 0..300 {
        let hidden = round % 2 == 0;
        set_hidden(&store, &perms, hidden).await;
        // Whatever the loaders computed meanwhile, the answer now is the
        // store's.
        assert_eq!(sees(&perms).await, !hidden, "round {round}");
    }
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.await.unwrap();
    }
}

#[tokio::test]
async fn sessions_that_miss_one_channel_at_once_read_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, perms) = rig(&dir).await;
    let perms = Arc::new(perms);
    let users: Vec<UserId> = (100..120).map(UserId).collect();
    let members = users.iter().map(|&id| {
        let user = User {
            id,
            username: format!("u{id}"),
        };
        Mutation::Member(Member::joined(GUILD, user, "2026-01-01T00:00:00Z".into()))
    });
    store.apply(members.collect()).await.unwrap();
    // A role change has just emptied the caches; every session asks at once.
    store.hold.store(true, Ordering::SeqCst);
    let mut checks = tokio::task::JoinSet::new();
    for &user in &users {
        let perms = perms.clone();
        checks.spawn(async move { perms.can_view(user, CHANNEL).await });
    }
    store.held.acquire().await.unwrap().forget();
    // Every other check reaches the channel while the first read is out.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    store.release.add_permits(1);
    let seen = checks.join_all().await;
    assert!(seen.iter().all(|&s| s), "every member sees the channel");
    assert_eq!(
        store.channel_reads.load(Ordering::SeqCst),
        1,
        "one read, shared"
    );
    assert_eq!(
        perms.channel_loads.in_flight(),
        0,
        "the shared load is forgotten"
    );
    // A load after an invalidation is not handed the one before it.
    set_hidden(&store, &perms, true).await;
    assert!(!sees(&perms).await);
}
