//! Checks of bans: listed per guild, and a banned user's membership is
//! never written while the ban stands.

use super::{fresh, user};
use crate::{BanRecord, Mutation, Store};
use rookery_proto::Id;
use rookery_proto::model::{Member, User};

fn member(guild: Id, u: &User) -> Member {
    Member {
        guild_id: guild,
        user: u.clone(),
        joined_at: guild.timestamp(),
        roles: Vec::new(),
        communication_disabled_until: None,
    }
}

/// A ban removes nothing by itself (the writer pairs it with a member
/// delete), but while it stands a membership write for that user and guild
/// writes nothing, in a later batch or the same one; other guilds are
/// untouched; an unban lets the user back.
pub async fn bans_keep_banned_users_out(store: &dyn Store, _bucket_ms: u64) {
    let (guild, other) = (fresh(), fresh());
    let (troll, bystander) = (user("troll"), user("bystander"));
    let ban = Mutation::Ban {
        guild_id: guild,
        user_id: troll.id,
        reason: Some("spam".into()),
    };
    let delete = Mutation::MemberDelete {
        guild_id: guild,
        user_id: troll.id,
    };
    store
        .apply(vec![Mutation::Member(member(guild, &troll)), ban, delete])
        .await
        .unwrap();
    let record = BanRecord {
        user_id: troll.id,
        reason: Some("spam".into()),
    };
    assert_eq!(store.bans(guild).await.unwrap(), vec![record.clone()]);
    assert_eq!(store.ban(guild, troll.id).await.unwrap(), Some(record));
    assert_eq!(store.ban(guild, bystander.id).await.unwrap(), None);

    let joins = vec![
        Mutation::Member(member(guild, &troll)),
        Mutation::Member(member(other, &troll)),
        Mutation::Member(member(guild, &bystander)),
    ];
    store.apply(joins).await.unwrap();
    assert!(store.member(guild, troll.id).await.unwrap().is_none());
    assert!(store.member(other, troll.id).await.unwrap().is_some());
    assert!(store.member(guild, bystander.id).await.unwrap().is_some());
    assert_eq!(store.user_guilds(troll.id).await.unwrap(), vec![other]);

    // Within one batch, in order: banned then joined, unbanned then joined.
    let (late, back) = (user("late"), user("back"));
    let ban = |u: &User| Mutation::Ban {
        guild_id: guild,
        user_id: u.id,
        reason: None,
    };
    let unban = |u: &User| Mutation::Unban {
        guild_id: guild,
        user_id: u.id,
    };
    store
        .apply(vec![
            ban(&late),
            Mutation::Member(member(guild, &late)),
            ban(&back),
            unban(&back),
            Mutation::Member(member(guild, &back)),
        ])
        .await
        .unwrap();
    assert!(store.member(guild, late.id).await.unwrap().is_none());
    assert!(store.member(guild, back.id).await.unwrap().is_some());

    store.apply(vec![unban(&troll)]).await.unwrap();
    store
        .apply(vec![Mutation::Member(member(guild, &troll))])
        .await
        .unwrap();
    assert!(store.member(guild, troll.id).await.unwrap().is_some());
    let banned: Vec<Id> = store
        .bans(guild)
        .await
        .unwrap()
        .iter()
        .map(|b| b.user_id)
        .collect();
    assert_eq!(banned, vec![late.id]);
}
