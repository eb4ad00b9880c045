//! Checks of invites: listed under their guild, their joins counted (and
//! kept by a replayed creation), gone with a delete.

use super::fresh;
use crate::{Mutation, Store};
use rookery_proto::Id;
use rookery_proto::model::Invite;

fn invite(guild: Id, channel: Option<Id>) -> Invite {
    Invite {
        code: format!("i{}", fresh().0),
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
