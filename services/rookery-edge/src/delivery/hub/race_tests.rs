//! A join that a ban overtook: the edge checked the ban, then the ban's
//! event reached the guild's partition before the join's. The store keeps
//! the banned user out; the hub must not hand them the guild either.

use super::Hub;
use crate::delivery::Outlet;
use crate::delivery::session::{Conn, Outbound, Session};
use rookery_bus::{EdgeLink, FanoutBatch, LocalInterest};
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::event::{Envelope, Event, MemberAdd, SCHEMA_VERSION};
use rookery_proto::gateway::event_name as ev;
use rookery_proto::model::{Channel, Guild, Member, User};
use rookery_proto::{GuildId, UserId};
use rookery_store::{EmbeddedConfig, EmbeddedStore, Mutation, Store};
use std::sync::Arc;
use std::time::Duration;

const GUILD: GuildId = GuildId(10);

fn user(id: u64) -> User {
    User {
        id: UserId(id),
        username: format!("u{id}"),
    }
}

/// A ready session of `who` on `hub`, and what it is sent.
fn session(hub: &Hub, who: &User) -> Arc<Outlet> {
    let s = Session::new(who.clone(), 64);
    let (conn, rx) = Conn::queue_only(1, 64);
    let ready = Arc::new(rookery_proto::codec::Dispatch::new(
        "READY",
        rookery_proto::codec::DispatchData::Resumed(rookery_proto::codec::Empty {}),
    ));
    s.attach_ready(conn, ready, Vec::new());
    hub.add_session(&s);
    rx
}

/// The dispatches `rx` got within a moment.
async fn received(rx: &Outlet) -> Vec<&'static str> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut names = Vec::new();
    while let Ok(Outbound::Dispatch(_, d)) = rx.try_recv() {
        names.push(d.name());
    }
    names
}

fn joined(id: u64, who: &User) -> Arc<Envelope> {
    Arc::new(Envelope {
        v: SCHEMA_VERSION,
        id: Id(id),
        ts: rookery_proto::id::now_ms(),
        origin: 1,
        event: Event::GuildMemberAdd(MemberAdd {
            guild_id: GUILD,
            user: who.clone(),
            invite_code: None,
            bot: false,
        }),
        audit: None,
    })
}

#[tokio::test]
async fn a_join_applied_after_a_ban_sends_the_banned_user_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&EmbeddedConfig::new(dir.path())).unwrap());
    let (owner, banned, welcome) = (user(1), user(2), user(3));
    let guild = Guild {
        id: GUILD,
        name: "g".into(),
        owner_id: owner.id,
    };
    let member = |who: &User| Member::joined(GUILD, who.clone(), "2026-01-01T00:00:00Z".into());
    let ban = Mutation::Ban {
        guild_id: GUILD,
        user_id: banned.id,
        reason: None,
    };
    let seed = vec![
        Mutation::Guild(guild),
        Mutation::Channel(Channel::guild_text(ChannelId(11), GUILD, "general", 0)),
        Mutation::Member(member(&owner)),
        ban,
    ];
    store.apply(seed).await.unwrap();
    // The writer applies both joins; the ban keeps one out of the store.
    let joins = vec![
        Mutation::Member(member(&banned)),
        Mutation::Member(member(&welcome)),
    ];
    store.apply(joins).await.unwrap();
    assert!(store.member(GUILD, banned.id).await.unwrap().is_none());

    let hub = Hub::new(1, store.clone(), Arc::new(LocalInterest));
    let banned_rx = session(&hub, &banned);
    let welcome_rx = session(&hub, &welcome);
    let batch = FanoutBatch {
        partition: None,
        events: vec![joined(100, &banned), joined(101, &welcome)],
        applied_at_ms: 0,
    };
    hub.push(batch).await.unwrap();
    let to_banned = received(&banned_rx).await;
    assert!(
        !to_banned.contains(&ev::GUILD_CREATE),
        "the banned user was sent the guild: {to_banned:?}"
    );
    let to_welcome = received(&welcome_rx).await;
    assert!(to_welcome.contains(&ev::GUILD_CREATE), "{to_welcome:?}");
}
