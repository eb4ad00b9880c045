//! Checks of joining: invites listed under their guild, their joins
//! counted (and kept by a replayed creation), gone with a delete; and the
//! guild's member count.

use super::{fresh, user};
use crate::{Mutation, Store};
use rookery_proto::Id;
use rookery_proto::model::{Guild, Invite, Member, User};
use rookery_proto::{ChannelId, GuildId, RoleId};

fn invite(guild: GuildId, channel: Option<ChannelId>) -> Invite {
    Invite {
        code: format!("i{}", fresh::<Id>().0),
        guild_id: guild,
        inviter_id: fresh(),
        channel_id: channel,
        created_at_ms: 1_767_225_600_000,
        max_age: 3600,
        max_uses: 5,
        uses: 0,
    }
}

fn codes(mut found: Vec<Invite>) -> Vec<String> {
    found.sort_by(|a, b| a.code.cmp(&b.code));
    found.into_iter().map(|i| i.code).collect()
}

/// A guild's invites come back whole and only under their guild; a join
/// counts a use (in the same batch as the creation too), a replayed
/// creation keeps the count, and a delete takes the invite and its entry
/// (a join counted after it brings nothing back).
pub async fn invites_are_listed_by_guild_counted_and_deleted(store: &dyn Store, _bucket_ms: u64) {
    let (guild, other) = (fresh(), fresh());
    let (a, b) = (invite(guild, Some(fresh())), invite(guild, None));
    let elsewhere = invite(other, None);
    let used = |i: &Invite| Mutation::InviteUsed {
        code: i.code.clone(),
    };
    store
        .apply(vec![
            Mutation::Invite(a.clone()),
            used(&a),
            Mutation::Invite(b.clone()),
            Mutation::Invite(elsewhere.clone()),
        ])
        .await
        .unwrap();
    store.apply(vec![used(&a)]).await.unwrap();
    let stored = store.invite(&a.code).await.unwrap().expect("stored");
    assert_eq!(
        stored,
        Invite {
            uses: 2,
            ..a.clone()
        },
        "two joins"
    );
    let mut expected = vec![a.code.clone(), b.code.clone()];
    expected.sort();
    assert_eq!(codes(store.guild_invites(guild).await.unwrap()), expected);
    assert_eq!(
        codes(store.guild_invites(other).await.unwrap()),
        vec![elsewhere.code.clone()]
    );

    store
        .apply(vec![Mutation::Invite(a.clone())])
        .await
        .unwrap();
    let replayed = store.invite(&a.code).await.unwrap().expect("stored");
    assert_eq!(replayed.uses, 2, "a replayed creation keeps the uses");

    let delete = Mutation::InviteDelete {
        guild_id: guild,
        code: a.code.clone(),
    };
    store.apply(vec![delete, used(&a)]).await.unwrap();
    assert_eq!(store.invite(&a.code).await.unwrap(), None);
    assert_eq!(
        codes(store.guild_invites(guild).await.unwrap()),
        vec![b.code.clone()]
    );
    assert!(store.guild_invites(fresh()).await.unwrap().is_empty());
}

/// A guild's member count follows its memberships: an update, a replayed
/// join and a removal of a non-member change nothing; a leave and a ban
/// count one out; a banned user's join writes nothing; an unknown guild
/// has none.
pub async fn member_counts_follow_memberships(store: &dyn Store, _bucket_ms: u64) {
    let guild = Guild {
        id: fresh(),
        name: "counted".into(),
        owner_id: fresh(),
    };
    let [a, b, c] = [user("a"), user("b"), user("c")];
    let member = |u: &User, roles: Vec<RoleId>| {
        Mutation::Member(Member {
            roles,
            ..Member::joined(guild.id, u.clone(), guild.id.timestamp())
        })
    };
    let gone = |u: &User| Mutation::MemberDelete {
        guild_id: guild.id,
        user_id: u.id,
    };
    let count = async || store.member_count(guild.id).await.unwrap();
    store
        .apply(vec![
            Mutation::Guild(guild.clone()),
            member(&a, vec![]),
            member(&b, vec![]),
        ])
        .await
        .unwrap();
    assert_eq!(count().await, 2);
    store
        .apply(vec![
            member(&a, vec![guild.id.everyone()]),
            member(&b, vec![]),
            gone(&c),
        ])
        .await
        .unwrap();
    assert_eq!(count().await, 2, "an update, a replay, a non-member");
    store.apply(vec![gone(&a)]).await.unwrap();
    assert_eq!(count().await, 1);
    let ban = Mutation::Ban {
        guild_id: guild.id,
        user_id: b.id,
        reason: None,
    };
    store.apply(vec![ban, gone(&b)]).await.unwrap();
    assert_eq!(count().await, 0);
    store.apply(vec![member(&b, vec![])]).await.unwrap();
    assert_eq!(count().await, 0, "banned");
    store.apply(vec![member(&c, vec![])]).await.unwrap();
    assert_eq!(count().await, 1);
    assert_eq!(store.member_count(fresh()).await.unwrap(), 0);
}
