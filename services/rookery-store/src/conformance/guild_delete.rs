//! Checks of a guild's deletion: nothing of it is found by any index
//! afterwards, and another guild sharing its members is untouched.

use super::{fresh, user};
use crate::{Mutation, Store};
use rookery_proto::Id;
use rookery_proto::UserId;
use rookery_proto::model::{Channel, Guild, Invite, Member, Role, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::webhooks::Webhook;

fn guild(owner: &User) -> Guild {
    Guild {
        id: fresh(),
        name: "doomed".into(),
        owner_id: owner.id,
    }
}

/// The rows of a guild with one channel, `members`, a role, a ban, an
/// invite; and its webhook, made directly.
async fn populate(store: &dyn Store, g: &Guild, members: &[&User]) -> (Channel, Webhook) {
    let channel = Channel::guild_text(fresh(), g.id, "general", 0);
    let mut batch = vec![
        Mutation::Guild(g.clone()),
        Mutation::Channel(channel.clone()),
    ];
    batch.extend(
        members
            .iter()
            .map(|u| Mutation::Member(Member::joined(g.id, (*u).clone(), g.id.timestamp()))),
    );
    let role = Role {
        id: fresh(),
        name: "r".into(),
        permissions: Permissions::NONE,
        position: 1,
        color: 0,
        hoist: false,
        mentionable: false,
    };
    batch.push(Mutation::Role {
        guild_id: g.id,
        role,
    });
    batch.push(Mutation::Ban {
        guild_id: g.id,
        user_id: fresh(),
        reason: None,
    });
    batch.push(Mutation::Invite(Invite {
        code: format!("d{}", fresh::<Id>().0),
        guild_id: g.id,
        inviter_id: g.owner_id,
        channel_id: None,
        created_at_ms: 0,
        max_age: 0,
        max_uses: 0,
        uses: 0,
    }));
    store.apply(batch).await.unwrap();
    let hook = Webhook {
        id: fresh(),
        guild_id: g.id,
        channel_id: channel.id,
        name: "hook".into(),
        token: "secret".into(),
        creator: (*members[0]).clone(),
    };
    store.create_webhook(&hook).await.unwrap();
    (channel, hook)
}

/// After a guild's deletion its row, channels, memberships (in each
/// member's guild list too), roles, bans, invites, webhooks and count are
/// gone, a replay of the deletion changes nothing, and a second guild of
/// the same members keeps everything.
pub async fn a_deleted_guild_leaves_nothing_behind(store: &dyn Store, _bucket_ms: u64) {
    let (owner, member) = (user("owner"), user("member"));
    let (doomed, kept) = (guild(&owner), guild(&owner));
    let (channel, hook) = populate(store, &doomed, &[&owner, &member]).await;
    populate(store, &kept, &[&owner, &member]).await;
    let delete = Mutation::GuildDelete {
        guild_id: doomed.id,
    };
    store.apply(vec![delete.clone()]).await.unwrap();
    store.apply(vec![delete]).await.unwrap();

    let g = doomed.id;
    assert_eq!(store.guild(g).await.unwrap(), None);
    assert_eq!(store.channel(channel.id).await.unwrap(), None);
    assert!(store.guild_channels(g).await.unwrap().is_empty());
    assert!(store.guild_roles(g).await.unwrap().is_empty());
    assert!(store.member(g, member.id).await.unwrap().is_none());
    assert!(
        store
            .guild_members(g, UserId(0), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.bans(g, UserId(0), 10).await.unwrap().is_empty());
    assert!(store.guild_invites(g).await.unwrap().is_empty());
    assert!(store.webhooks(g, None).await.unwrap().is_empty());
    assert_eq!(store.webhook(hook.id).await.unwrap(), None);
    assert_eq!(store.member_count(g).await.unwrap(), 0);
    for u in [&owner, &member] {
        assert_eq!(store.user_guilds(u.id).await.unwrap(), vec![kept.id.raw()]);
    }
    assert_eq!(store.guild(kept.id).await.unwrap(), Some(kept.clone()));
    assert_eq!(store.member_count(kept.id).await.unwrap(), 2);
    assert_eq!(store.guild_roles(kept.id).await.unwrap().len(), 1);
    assert_eq!(store.guild_invites(kept.id).await.unwrap().len(), 1);
}
