//! Checks of moderation records: bans (listed per guild, and a banned
//! user's membership is never written while the ban stands) and the audit
//! log.

use super::{fresh, user};
use crate::{AUDIT_RETENTION_MS, BanRecord, Mutation, Store};
use rookery_proto::Id;
use rookery_proto::event::AuditChange;
use rookery_proto::id::now_ms;
use rookery_proto::model::{AuditLogEntry, Member, User};
use rookery_proto::{GuildId, UserId};

fn member(guild: GuildId, u: &User) -> Member {
    Member {
        guild_id: guild,
        user: u.clone(),
        joined_at: guild.timestamp(),
        roles: Vec::new(),
        communication_disabled_until: None,
        bot: false,
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
    assert_eq!(
        store.bans(guild, UserId(0), 10).await.unwrap(),
        vec![record.clone()]
    );
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
    assert_eq!(
        store.user_guilds(troll.id).await.unwrap(),
        vec![other.raw()]
    );

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
    let banned: Vec<UserId> = store
        .bans(guild, UserId(0), 10)
        .await
        .unwrap()
        .iter()
        .map(|b| b.user_id)
        .collect();
    assert_eq!(banned, vec![late.id]);
}

/// Bans are read a page at a time, by user id, above a cursor; a limit
/// past the maximum is clamped.
pub async fn bans_are_paged_by_user_id(store: &dyn Store, _bucket_ms: u64) {
    let guild = fresh();
    let mut users: Vec<UserId> = (0..5).map(|_| fresh()).collect();
    users.sort();
    let bans = users.iter().map(|&user_id| Mutation::Ban {
        guild_id: guild,
        user_id,
        reason: None,
    });
    store.apply(bans.collect()).await.unwrap();
    let page = |after, limit| async move {
        let found = store.bans(guild, after, limit).await.unwrap();
        found.into_iter().map(|b| b.user_id).collect::<Vec<_>>()
    };
    assert_eq!(page(UserId(0), 2).await, users[..2]);
    assert_eq!(page(users[1], 2).await, users[2..4]);
    assert_eq!(page(users[3], 2).await, users[4..]);
    assert!(page(users[4], 2).await.is_empty());
    assert_eq!(
        page(UserId(0), 0).await,
        users[..1],
        "clamped to at least one"
    );
    assert_eq!(page(UserId(0), usize::MAX).await, users);
    assert!(page(UserId(u64::MAX), 10).await.is_empty());
}

/// The audit log lists a guild's entries newest first, pages with
/// `before`, keeps guilds apart, and leaves out entries past the retention.
/// A first page is a bounded read whatever the bucket width: ScyllaDB's
/// walked every message-width bucket from `before` down, which with the
/// suites' one-minute buckets never returned.
pub async fn audit_log_lists_newest_first_within_retention(store: &dyn Store, _bucket_ms: u64) {
    let (guild, other) = (fresh(), fresh());
    let entry = |guild, id: Id, action_type| AuditLogEntry {
        id,
        guild_id: guild,
        user_id: UserId(7),
        action_type,
        target_id: Some(Id(9)),
        reason: (action_type == 22).then(|| "spam".to_string()),
        changes: AuditChange::of("name", &"old", &"new")
            .into_iter()
            .collect(),
    };
    let expired_at = now_ms() - AUDIT_RETENTION_MS - 60_000;
    let expired = entry(guild, Id(Id::floor_of_ms(expired_at).0 + 1), 20);
    let entries: Vec<AuditLogEntry> = (0..5).map(|i| entry(guild, fresh(), 20 + i)).collect();
    let mut batch: Vec<Mutation> = entries.iter().cloned().map(Mutation::Audit).collect();
    batch.push(Mutation::Audit(entry(other, fresh(), 30)));
    batch.push(Mutation::Audit(expired));
    store.apply(batch).await.unwrap();

    let newest_first: Vec<AuditLogEntry> = entries.iter().rev().cloned().collect();
    let first_page = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        store.audit_log(guild, Id(u64::MAX >> 1), 100),
    );
    let first_page = first_page.await.expect("a first page is a bounded read");
    assert_eq!(first_page.unwrap(), newest_first);
    let page = store.audit_log(guild, entries[2].id, 1).await.unwrap();
    assert_eq!(page, vec![entries[1].clone()]);
    assert_eq!(
        store
            .audit_log(other, Id(u64::MAX >> 1), 100)
            .await
            .unwrap()
            .len(),
        1
    );
}
