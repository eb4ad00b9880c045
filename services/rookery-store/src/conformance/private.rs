//! Conformance: DMs and group DMs (channels outside any guild), and
//! channel deletion.

use super::{fresh, message, user};
use crate::{Cursor, Mutation, Store};
use rookery_proto::GuildId;
use rookery_proto::Id;
use rookery_proto::model::{CHANNEL_DM, CHANNEL_GROUP_DM, Channel};
use rookery_proto::{ChannelId, UserId};

/// A private channel is read back with its recipients (by id), recipient
/// changes are one row each, it is listed under no guild, and its
/// recipients' memberships of its scope find it from the user's side.
pub async fn private_channels_keep_their_recipients(store: &dyn Store, _bucket_ms: u64) {
    let (owner, ann, bo) = (user("own"), user("ann"), user("bo"));
    let group = Channel {
        id: fresh(),
        guild_id: GuildId::NONE,
        name: "trip".into(),
        kind: CHANNEL_GROUP_DM,
        position: 0,
        permission_overwrites: Vec::new(),
        rate_limit_per_user: 0,
        recipients: vec![owner.clone(), ann.clone()],
        owner_id: Some(owner.id),
    };
    let batch = vec![Mutation::PrivateChannel {
        channel: group.clone(),
        joined_at: group.id.timestamp(),
    }];
    store.apply(batch.clone()).await.unwrap();
    // Applying it again (a redelivery) changes nothing.
    store.apply(batch).await.unwrap();
    let mut expected = group.clone();
    expected.recipients.sort_by_key(|u| u.id);
    assert_eq!(store.channel(group.id).await.unwrap(), Some(expected));
    assert!(
        store
            .guild_channels(GuildId::NONE)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .user_guilds(ann.id)
            .await
            .unwrap()
            .contains(&group.id.raw())
    );
    let member = store.member(group.id.as_scope(), owner.id).await.unwrap();
    assert_eq!(member.map(|m| m.joined_at), Some(group.id.timestamp()));

    let add = |u: &rookery_proto::model::User, add| Mutation::Recipient {
        channel_id: group.id,
        user: u.clone(),
        add,
    };
    store.apply(vec![add(&bo, true)]).await.unwrap();
    store.apply(vec![add(&ann, false)]).await.unwrap();
    let now = store.channel(group.id).await.unwrap().unwrap();
    let mut ids: Vec<UserId> = now.recipients.iter().map(|u| u.id).collect();
    let mut want = vec![owner.id, bo.id];
    want.sort();
    ids.sort();
    assert_eq!(ids, want);
    assert_eq!(now.owner_id, Some(owner.id));
    assert!(now.is_private());

    // Its messages take the same path as a guild channel's.
    let m = rookery_proto::model::Message {
        guild_id: GuildId::NONE,
        ..message(group.id, fresh(), &bo, None)
    };
    store
        .apply(vec![Mutation::Message(m.clone())])
        .await
        .unwrap();
    let page = store.messages(group.id, Cursor::Latest, 10).await.unwrap();
    assert_eq!(page, vec![m]);
}

/// A deleted channel is found by no index, its siblings are untouched, and
/// deleting it again changes nothing.
pub async fn deleted_channels_are_gone(store: &dyn Store, _bucket_ms: u64) {
    let guild = fresh();
    let kept = Channel::guild_text(fresh(), guild, "kept", 0);
    let doomed = Channel::guild_text(fresh(), guild, "doomed", 1);
    let batch = vec![
        Mutation::Channel(kept.clone()),
        Mutation::Channel(doomed.clone()),
    ];
    store.apply(batch).await.unwrap();
    let delete = Mutation::ChannelDelete {
        guild_id: guild,
        channel_id: doomed.id,
    };
    store.apply(vec![delete.clone()]).await.unwrap();
    store.apply(vec![delete]).await.unwrap();
    assert_eq!(store.channel(doomed.id).await.unwrap(), None);
    assert_eq!(store.channel(kept.id).await.unwrap(), Some(kept.clone()));
    assert_eq!(store.guild_channels(guild).await.unwrap(), vec![kept]);
}

/// At most one DM per pair of users: a later opening of a DM between the
/// same two users (in either order, in the same batch or a later one)
/// writes nothing, and redelivering the first changes nothing.
pub async fn a_pair_of_users_has_one_dm(store: &dyn Store, _bucket_ms: u64) {
    let (ann, bo) = (user("ann"), user("bo"));
    let dm = |recipients: Vec<rookery_proto::model::User>| Mutation::PrivateChannel {
        channel: Channel {
            id: fresh(),
            kind: CHANNEL_DM,
            recipients,
            ..Channel::guild_text(ChannelId::NONE, GuildId::NONE, "", 0)
        },
        joined_at: fresh::<Id>().timestamp(),
    };
    let (first, same_batch, later) = (
        dm(vec![ann.clone(), bo.clone()]),
        dm(vec![bo.clone(), ann.clone()]),
        dm(vec![bo.clone(), ann.clone()]),
    );
    let id_of = |m: &Mutation| match m {
        Mutation::PrivateChannel { channel, .. } => channel.id,
        other => panic!("{other:?}"),
    };
    let batch = vec![first.clone(), same_batch.clone()];
    store.apply(batch).await.unwrap();
    store
        .apply(vec![later.clone(), first.clone()])
        .await
        .unwrap();
    for (a, b) in [(ann.id, bo.id), (bo.id, ann.id)] {
        assert_eq!(store.dm_channel(a, b).await.unwrap(), Some(id_of(&first)));
    }
    for lost in [&same_batch, &later] {
        assert_eq!(store.channel(id_of(lost)).await.unwrap(), None);
        let scopes = store.user_guilds(ann.id).await.unwrap();
        assert!(!scopes.contains(&id_of(lost).raw()), "{scopes:?}");
    }
    assert!(store.channel(id_of(&first)).await.unwrap().is_some());
    assert_eq!(store.dm_channel(ann.id, user("cy").id).await.unwrap(), None);
}
