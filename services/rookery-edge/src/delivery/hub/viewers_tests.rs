//! Viewer lists against what they stand for: after a list is kept, a
//! permission change and a session leaving must both be seen by the next
//! delivery, as the per-session verdicts would see them.

use super::Hub;
use crate::delivery::Outlet;
use crate::delivery::frame::Outbound;
use crate::delivery::session::{Conn, Session};
use rookery_bus::{EdgeLink, FanoutBatch, LocalInterest};
use rookery_proto::Id;
use rookery_proto::codec::{Dispatch, DispatchData, Empty};
use rookery_proto::event::{Envelope, Event, SCHEMA_VERSION};
use rookery_proto::model::{Channel, Guild, Member, Message, User};
use rookery_proto::permissions::{Overwrite, OverwriteKind, Permissions};
use rookery_proto::{ChannelId, GuildId, MessageId, UserId};
use rookery_store::{EmbeddedConfig, EmbeddedStore, Mutation, Store};
use std::sync::Arc;
use std::time::Duration;

const GUILD: GuildId = GuildId(10);
const CHANNEL: ChannelId = ChannelId(11);

fn user(id: u64) -> User {
    User {
        id: UserId(id),
        username: format!("u{id}"),
    }
}

/// A ready session of `who`, subscribed to the guild, and its outlet.
fn session(hub: &Hub, who: &User, key: u64) -> (Arc<Session>, Arc<Outlet>) {
    let s = Session::new(who.clone(), 64);
    let (conn, rx) = Conn::queue_only(key, 64);
    let ready = Arc::new(Dispatch::new("READY", DispatchData::Resumed(Empty {})));
    s.attach_ready(conn, ready, Vec::new());
    hub.add_session(&s);
    hub.subscribe(&s, GUILD);
    (s, rx)
}

/// The ids of the messages `rx` was sent within a moment.
async fn messages(rx: &Outlet) -> Vec<u64> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ids = Vec::new();
    while let Ok(out) = rx.try_recv() {
        if let Outbound::Dispatch(_, d) = out
            && let DispatchData::Message(m) = d.data()
        {
            ids.push(m.id.0);
        }
    }
    ids
}

async fn apply(hub: &Hub, id: u64, event: Event) {
    let env = Envelope {
        v: SCHEMA_VERSION,
        id: Id(id),
        ts: rookery_proto::id::now_ms(),
        origin: 1,
        event,
        audit: None,
    };
    let batch = FanoutBatch {
        partition: None,
        events: vec![Arc::new(env)],
        applied_at_ms: 0,
    };
    hub.push(batch).await.unwrap();
}

async fn post(hub: &Hub, id: u64, author: &User) {
    let m = Message::new(MessageId(id), (GUILD, CHANNEL), author.clone(), "hi".into());
    apply(hub, id, Event::MessageCreate(m)).await;
}

/// A hub over a store with the guild, its channel, and both as members.
async fn guild_of(
    owner: &User,
    member: &User,
) -> (Arc<Hub>, Arc<EmbeddedStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&EmbeddedConfig::new(dir.path())).unwrap());
    let joined = |who: &User| Member::joined(GUILD, who.clone(), "2026-01-01T00:00:00Z".into());
    let guild = Guild {
        id: GUILD,
        name: "g".into(),
        owner_id: owner.id,
    };
    let seed = vec![
        Mutation::Guild(guild),
        Mutation::Channel(Channel::guild_text(CHANNEL, GUILD, "general", 0)),
        Mutation::Member(joined(owner)),
        Mutation::Member(joined(member)),
    ];
    store.apply(seed).await.unwrap();
    let hub = Hub::new(1, store.clone(), Arc::new(LocalInterest));
    (hub, store, dir)
}

#[tokio::test]
async fn a_kept_list_follows_a_permission_change() {
    let (owner, member) = (user(1), user(2));
    let (hub, store, _dir) = guild_of(&owner, &member).await;
    let (_o, owner_rx) = session(&hub, &owner, 1);
    let (_m, member_rx) = session(&hub, &member, 2);

    // The first delivery computes the verdicts; the second keeps a list.
    post(&hub, 100, &owner).await;
    assert_eq!(messages(&member_rx).await, [100]);
    assert_eq!(hub.viewers.len(), 0, "verdicts were not cached yet");
    post(&hub, 101, &owner).await;
    assert_eq!(hub.viewers.len(), 1);
    post(&hub, 102, &owner).await;
    assert_eq!(messages(&member_rx).await, [101, 102]);

    // The member loses sight of the channel.
    let mut hidden = Channel::guild_text(CHANNEL, GUILD, "general", 0);
    hidden.permission_overwrites.push(Overwrite {
        id: member.id.raw(),
        kind: OverwriteKind::Member,
        allow: Permissions::NONE,
        deny: Permissions::VIEW_CHANNEL,
    });
    store
        .apply(vec![Mutation::Channel(hidden.clone())])
        .await
        .unwrap();
    apply(&hub, 103, Event::ChannelUpdate(hidden)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    post(&hub, 104, &owner).await;
    post(&hub, 105, &owner).await;
    assert_eq!(messages(&member_rx).await, [] as [u64; 0]);
    assert_eq!(messages(&owner_rx).await, [100, 101, 102, 104, 105]);
}

#[tokio::test]
async fn a_session_that_leaves_is_dropped_from_the_list() {
    let (owner, member) = (user(1), user(2));
    let (hub, _store, _dir) = guild_of(&owner, &member).await;
    let (_o, owner_rx) = session(&hub, &owner, 1);
    let (m, member_rx) = session(&hub, &member, 2);
    post(&hub, 100, &owner).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    post(&hub, 101, &owner).await;
    assert_eq!(hub.viewers.len(), 1);
    assert_eq!(messages(&member_rx).await, [100, 101]);

    hub.remove_session(&m);
    assert_eq!(hub.viewers.len(), 0, "the guild's sessions changed");
    post(&hub, 102, &owner).await;
    assert_eq!(messages(&member_rx).await, [] as [u64; 0]);

    // A newcomer is delivered to as soon as it subscribes.
    let (_n, newcomer_rx) = session(&hub, &member, 3);
    post(&hub, 103, &owner).await;
    post(&hub, 104, &owner).await;
    assert_eq!(messages(&newcomer_rx).await, [103, 104]);
    assert_eq!(messages(&owner_rx).await, [100, 101, 102, 103, 104]);
}
