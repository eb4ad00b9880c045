//! The conformance suite every [`Store`] must pass.
//!
//! Each check takes a store and the bucket width it was opened with and
//! isolates itself with fresh ids, so checks can share one store (one
//! keyspace per run on ScyllaDB). [`conformance_tests!`](crate::conformance_tests)
//! makes one test per check; [`all`] runs every check on one store. The two
//! lists below are the only ones: a new check goes in both.

use crate::{Cursor, Mutation, Store};
use rookery_proto::ChannelId;
use rookery_proto::GuildId;
use rookery_proto::UserId;
use rookery_proto::model::{
    CHANNEL_GUILD_TEXT, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::permissions::{Overwrite, OverwriteKind, Permissions};
use rookery_proto::{Id, Snowflake};
use rookery_proto::{MessageId, RoleId};
use std::sync::LazyLock;

mod accounts;
mod guild_delete;
mod history;
mod invites;
mod mentions;
mod messages;
mod moderation;
mod private;
mod reactions;
mod webhooks;
pub use accounts::{
    accounts_claim_usernames, applications_own_a_bot_account_no_password_opens,
    revocations_move_the_token_generation,
};
pub use guild_delete::a_deleted_guild_leaves_nothing_behind;
pub use history::{
    history_after_and_around, history_limit_is_clamped, history_walks_buckets_newest_first,
};
pub use invites::{
    invites_are_listed_by_guild_counted_and_deleted, member_counts_follow_memberships,
};
pub use mentions::mentions_are_found_exactly_through_the_index;
pub use messages::{
    pins_survive_edits_and_go_with_deletes, reactions_list_by_emoji_and_go_with_deletes,
    read_states_are_per_user_and_the_last_ack_wins, replies_and_mentions_round_trip,
};
pub use moderation::{
    audit_log_lists_newest_first_within_retention, bans_are_paged_by_user_id,
    bans_keep_banned_users_out,
};
pub use private::{
    a_pair_of_users_has_one_dm, deleted_channels_are_gone, private_channels_keep_their_recipients,
};
pub use reactions::{reaction_counts_stay_exact, reactions_clear_all_or_one_emoji};
pub use webhooks::webhooks_are_found_by_id_channel_and_guild;

static IDS: LazyLock<Snowflake> = LazyLock::new(|| Snowflake::new(1023).expect("valid worker"));

/// One `#[tokio::test]` per check:
/// `conformance_tests!(|rig| setup => store, bucket_ms)` builds `rig` from
/// `setup` in each test and checks `store` (an expression over `rig`).
#[macro_export]
macro_rules! conformance_tests {
    (|$rig:ident| $setup:expr => $store:expr, $bucket:expr) => {
        $crate::conformance_tests!(@each [$rig, $setup, $store, $bucket]
            history_walks_buckets_newest_first,
            history_after_and_around,
            history_limit_is_clamped,
            apply_is_idempotent,
            accounts_claim_usernames,
            revocations_move_the_token_generation,
            applications_own_a_bot_account_no_password_opens,
            guild_metadata_indexes,
            members_are_paged_by_user_id,
            roles_overwrites_and_member_roles,
            edits_and_deletes_never_resurrect,
            replies_and_mentions_round_trip,
            pins_survive_edits_and_go_with_deletes,
            reactions_list_by_emoji_and_go_with_deletes,
            reaction_counts_stay_exact,
            bans_keep_banned_users_out,
            bans_are_paged_by_user_id,
            read_states_are_per_user_and_the_last_ack_wins,
            mentions_are_found_exactly_through_the_index,
            audit_log_lists_newest_first_within_retention,
            private_channels_keep_their_recipients,
            deleted_channels_are_gone,
            a_pair_of_users_has_one_dm,
            webhooks_are_found_by_id_channel_and_guild,
            invites_are_listed_by_guild_counted_and_deleted,
            member_counts_follow_memberships,
            a_deleted_guild_leaves_nothing_behind,
            reactions_clear_all_or_one_emoji
        );
    };
    (@each [$rig:ident, $setup:expr, $store:expr, $bucket:expr] $($name:ident),*) => {$(
        #[tokio::test]
        async fn $name() {
            let $rig = $setup;
            $crate::conformance::$name($store, $bucket).await;
        }
    )*};
}

/// Every check in turn, on one store.
pub async fn all(store: &dyn Store, bucket_ms: u64) {
    history_walks_buckets_newest_first(store, bucket_ms).await;
    history_after_and_around(store, bucket_ms).await;
    history_limit_is_clamped(store, bucket_ms).await;
    apply_is_idempotent(store, bucket_ms).await;
    accounts_claim_usernames(store, bucket_ms).await;
    revocations_move_the_token_generation(store, bucket_ms).await;
    applications_own_a_bot_account_no_password_opens(store, bucket_ms).await;
    guild_metadata_indexes(store, bucket_ms).await;
    members_are_paged_by_user_id(store, bucket_ms).await;
    roles_overwrites_and_member_roles(store, bucket_ms).await;
    edits_and_deletes_never_resurrect(store, bucket_ms).await;
    replies_and_mentions_round_trip(store, bucket_ms).await;
    pins_survive_edits_and_go_with_deletes(store, bucket_ms).await;
    reactions_list_by_emoji_and_go_with_deletes(store, bucket_ms).await;
    reaction_counts_stay_exact(store, bucket_ms).await;
    bans_keep_banned_users_out(store, bucket_ms).await;
    bans_are_paged_by_user_id(store, bucket_ms).await;
    read_states_are_per_user_and_the_last_ack_wins(store, bucket_ms).await;
    mentions_are_found_exactly_through_the_index(store, bucket_ms).await;
    audit_log_lists_newest_first_within_retention(store, bucket_ms).await;
    webhooks_are_found_by_id_channel_and_guild(store, bucket_ms).await;
    private_channels_keep_their_recipients(store, bucket_ms).await;
    deleted_channels_are_gone(store, bucket_ms).await;
    a_pair_of_users_has_one_dm(store, bucket_ms).await;
    invites_are_listed_by_guild_counted_and_deleted(store, bucket_ms).await;
    member_counts_follow_memberships(store, bucket_ms).await;
    a_deleted_guild_leaves_nothing_behind(store, bucket_ms).await;
    reactions_clear_all_or_one_emoji(store, bucket_ms).await;
}

pub(crate) fn fresh<T: From<Id>>() -> T {
    IDS.next_id()
}

pub(crate) fn user(name: &str) -> User {
    User {
        id: fresh(),
        username: format!("{name}{}", fresh::<Id>().0 % 1_000_000_007),
    }
}

pub(crate) fn message(
    channel: ChannelId,
    id: MessageId,
    author: &User,
    nonce: Option<&str>,
) -> Message {
    let content = format!("message {}", id.0);
    Message {
        nonce: nonce.map(str::to_owned),
        ..Message::new(id, (GuildId(1), channel), author.clone(), content)
    }
}

/// Applying a batch twice leaves one copy of each row; edits overwrite.
pub async fn apply_is_idempotent(store: &dyn Store, _bucket_ms: u64) {
    let channel = fresh();
    let author = user("idem");
    let m = message(channel, fresh(), &author, Some("n-1"));
    store
        .apply(vec![Mutation::Message(m.clone())])
        .await
        .unwrap();
    store
        .apply(vec![Mutation::Message(m.clone())])
        .await
        .unwrap();
    let page = store.messages(channel, Cursor::Latest, 10).await.unwrap();
    assert_eq!(page, vec![m.clone()]);
    assert_eq!(store.nonce(author.id, "n-1").await.unwrap(), Some(m.id));
    assert_eq!(store.nonce(author.id, "n-2").await.unwrap(), None);
    assert_eq!(
        store.nonce(fresh(), "n-1").await.unwrap(),
        None,
        "nonces are per user"
    );
}

/// A guild's members come a page at a time, by user id, and only its own.
pub async fn members_are_paged_by_user_id(store: &dyn Store, _bucket_ms: u64) {
    let (guild, other) = (fresh(), fresh());
    let users: Vec<User> = (0..5).map(|_| user("m")).collect();
    let member = |guild, u: &User| {
        Mutation::Member(Member::joined(
            guild,
            u.clone(),
            "2026-01-01T00:00:00Z".into(),
        ))
    };
    let mut batch: Vec<Mutation> = users.iter().map(|u| member(guild, u)).collect();
    batch.push(member(other, &users[0]));
    store.apply(batch).await.unwrap();
    let ids = |page: Vec<Member>| page.into_iter().map(|m| m.user.id).collect::<Vec<_>>();
    let first = ids(store.guild_members(guild, UserId(0), 2).await.unwrap());
    assert_eq!(first, [users[0].id, users[1].id]);
    let rest = ids(store.guild_members(guild, first[1], 100).await.unwrap());
    assert_eq!(rest, [users[2].id, users[3].id, users[4].id]);
    let one = store.guild_members(guild, users[3].id, 0).await.unwrap();
    assert_eq!(ids(one), [users[4].id], "a limit of 0 is clamped to 1");
    assert!(
        store
            .guild_members(fresh(), UserId(0), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let kept = store.guild_members(guild, UserId(0), 1).await.unwrap();
    assert_eq!(kept[0].user, users[0], "the member as stored");
}

/// Guilds, channels, members and invites are found by every index.
pub async fn guild_metadata_indexes(store: &dyn Store, _bucket_ms: u64) {
    let owner = user("own");
    let guest = user("guest");
    let guild = Guild {
        id: fresh(),
        name: "g".into(),
        owner_id: owner.id,
    };
    let chan = |name: &str, position| Channel {
        rate_limit_per_user: position * 30,
        ..Channel::guild_text(fresh(), guild.id, name, position)
    };
    let (general, random) = (chan("general", 0), chan("random", 1));
    let member = |u: &User| Member {
        guild_id: guild.id,
        user: u.clone(),
        joined_at: guild.id.timestamp(),
        roles: Vec::new(),
        communication_disabled_until: None,
        bot: false,
    };
    let invite = Invite {
        code: format!("c{}", fresh::<Id>().0),
        guild_id: guild.id,
        inviter_id: owner.id,
        channel_id: None,
        created_at_ms: 0,
        max_age: 0,
        max_uses: 0,
        uses: 0,
    };
    store
        .apply(vec![
            Mutation::Guild(guild.clone()),
            Mutation::Channel(random.clone()),
            Mutation::Channel(general.clone()),
            Mutation::Member(member(&owner)),
            Mutation::Invite(invite.clone()),
        ])
        .await
        .unwrap();
    assert_eq!(store.guild(guild.id).await.unwrap(), Some(guild.clone()));
    assert_eq!(
        store.guild_channels(guild.id).await.unwrap(),
        vec![general.clone(), random.clone()]
    );
    assert_eq!(store.channel(random.id).await.unwrap(), Some(random));
    assert_eq!(store.invite(&invite.code).await.unwrap(), Some(invite));
    assert!(store.member(guild.id, guest.id).await.unwrap().is_none());
    store
        .apply(vec![Mutation::Member(member(&guest))])
        .await
        .unwrap();
    assert_eq!(
        store.member(guild.id, guest.id).await.unwrap(),
        Some(member(&guest))
    );
    assert_eq!(
        store.user_guilds(guest.id).await.unwrap(),
        vec![guild.id.raw()]
    );
    assert!(store.guild(fresh()).await.unwrap().is_none());
    assert!(store.channel(fresh()).await.unwrap().is_none());
    assert!(store.invite("no-such-code").await.unwrap().is_none());
    assert!(store.guild_channels(fresh()).await.unwrap().is_empty());
}

fn role(id: RoleId, position: u32, permissions: Permissions) -> Role {
    Role {
        id,
        name: format!("role {position}"),
        color: 0x00ff_8800,
        hoist: position % 2 == 1,
        position,
        permissions,
        mentionable: true,
    }
}

/// Roles come back by position; updates and deletes take effect; channel
/// overwrites and member role lists are stored whole and replaced whole.
pub async fn roles_overwrites_and_member_roles(store: &dyn Store, _bucket_ms: u64) {
    let guild: GuildId = fresh();
    let everyone = role(guild.everyone(), 0, Permissions::DEFAULT_EVERYONE);
    let (mods, gone) = (
        role(fresh(), 2, Permissions::ALL),
        role(fresh(), 1, Permissions::NONE),
    );
    let roles = |r: Vec<Role>| {
        r.into_iter().map(|role| Mutation::Role {
            guild_id: guild,
            role,
        })
    };
    store
        .apply(roles(vec![mods.clone(), everyone.clone(), gone.clone()]).collect())
        .await
        .unwrap();
    let got = store.guild_roles(guild).await.unwrap();
    assert_eq!(got, vec![everyone.clone(), gone.clone(), mods.clone()]);
    let renamed = Role {
        name: "moderators".into(),
        ..mods
    };
    let mut batch: Vec<Mutation> = roles(vec![renamed.clone()]).collect();
    batch.push(Mutation::RoleDelete {
        guild_id: guild,
        role_id: gone.id,
    });
    store.apply(batch).await.unwrap();
    assert_eq!(
        store.guild_roles(guild).await.unwrap(),
        vec![everyone, renamed.clone()]
    );
    assert!(store.guild_roles(fresh()).await.unwrap().is_empty());

    let overwrite = |id, kind, allow| Overwrite {
        id,
        kind,
        allow,
        deny: Permissions::VIEW_CHANNEL,
    };
    let mut channel = Channel {
        id: fresh(),
        guild_id: guild,
        name: "secret".into(),
        kind: CHANNEL_GUILD_TEXT,
        position: 0,
        permission_overwrites: vec![
            overwrite(
                guild.everyone().raw(),
                OverwriteKind::Role,
                Permissions::NONE,
            ),
            overwrite(
                renamed.id.raw(),
                OverwriteKind::Role,
                Permissions::SEND_MESSAGES,
            ),
        ],
        rate_limit_per_user: 0,
        recipients: Vec::new(),
        owner_id: None,
    };
    store
        .apply(vec![Mutation::Channel(channel.clone())])
        .await
        .unwrap();
    assert_eq!(
        store.channel(channel.id).await.unwrap(),
        Some(channel.clone())
    );
    channel.permission_overwrites.remove(1);
    store
        .apply(vec![Mutation::Channel(channel.clone())])
        .await
        .unwrap();
    assert_eq!(
        store
            .channel(channel.id)
            .await
            .unwrap()
            .unwrap()
            .permission_overwrites
            .len(),
        1
    );
    assert_eq!(store.guild_channels(guild).await.unwrap(), vec![channel]);

    let mut member = Member {
        guild_id: guild,
        user: user("roled"),
        joined_at: guild.timestamp(),
        roles: vec![renamed.id],
        communication_disabled_until: Some("2030-01-02T03:04:05.678Z".into()),
        // A bot's membership keeps saying so.
        bot: true,
    };
    store
        .apply(vec![Mutation::Member(member.clone())])
        .await
        .unwrap();
    assert_eq!(
        store.member(guild, member.user.id).await.unwrap(),
        Some(member.clone())
    );
    member.roles.clear();
    store
        .apply(vec![Mutation::Member(member.clone())])
        .await
        .unwrap();
    assert_eq!(
        store.member(guild, member.user.id).await.unwrap(),
        Some(member.clone())
    );
    assert_eq!(
        store.user_guilds(member.user.id).await.unwrap(),
        vec![guild.raw()]
    );
    let gone = Mutation::MemberDelete {
        guild_id: guild,
        user_id: member.user.id,
    };
    store.apply(vec![gone.clone(), gone]).await.unwrap();
    assert!(store.member(guild, member.user.id).await.unwrap().is_none());
    assert!(store.user_guilds(member.user.id).await.unwrap().is_empty());
}

/// Edits replace content and `edited_timestamp`; deletes remove; an edit
/// applied after a delete (in a later batch or the same one) writes nothing.
pub async fn edits_and_deletes_never_resurrect(store: &dyn Store, _bucket_ms: u64) {
    let channel = fresh();
    let author = user("editor");
    let [a, b, c] = [fresh(), fresh(), fresh()].map(|id| message(channel, id, &author, None));
    let edited = |m: &Message| Message {
        content: format!("{} (edited)", m.content),
        edited_timestamp: Some(m.id.timestamp()),
        ..m.clone()
    };
    let ids = |page: Vec<Message>| page.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let all = async || {
        store
            .messages(channel, Cursor::After(MessageId(0)), 100)
            .await
            .unwrap()
    };
    store
        .apply(vec![
            Mutation::Message(a.clone()),
            Mutation::Message(b.clone()),
        ])
        .await
        .unwrap();
    store
        .apply(vec![Mutation::MessageEdit(edited(&a))])
        .await
        .unwrap();
    assert_eq!(all().await, vec![edited(&a), b.clone()]);

    let delete = |m: &Message| Mutation::MessageDelete {
        channel_id: channel,
        message_id: m.id,
    };
    store.apply(vec![delete(&b), delete(&b)]).await.unwrap();
    store
        .apply(vec![Mutation::MessageEdit(edited(&b))])
        .await
        .unwrap();
    assert_eq!(ids(all().await), vec![a.id]);

    // Within one batch, in order.
    store
        .apply(vec![
            Mutation::Message(c.clone()),
            Mutation::MessageEdit(edited(&c)),
        ])
        .await
        .unwrap();
    assert_eq!(all().await.last(), Some(&edited(&c)));
    store
        .apply(vec![delete(&c), Mutation::MessageEdit(edited(&c))])
        .await
        .unwrap();
    assert_eq!(ids(all().await), vec![a.id]);
}
