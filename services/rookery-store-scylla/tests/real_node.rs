//! What only a real CQL node shows about the ScyllaDB store (each test
//! failed before its fix): the engine `migrate` finds, the schema timeout
//! and the renewed migration lock, opening a pinned store without Paxos,
//! upserts that write no tombstones, write times that keep a late write of
//! an earlier event from winning, history that survives a partial row, a
//! delete of a much-reacted message, time-window compaction only where
//! rows expire, and batched new messages that keep each row's write time. Skipped without `ROOKERY_TEST_SCYLLA` (see `conformance.rs`).

mod common;

use common::{BUCKET_MS, config_for, engines, fresh_keyspace, session};
use rookery_proto::GuildId;
use rookery_proto::RoleId;
use rookery_proto::UserId;
use rookery_proto::model::{Channel, Member, Message, Role, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::{ChannelId, MessageId};
use rookery_proto::{Id, Snowflake};
use rookery_store::{Cursor, Mutation, Reaction, Store, StoreError, WriteTime};
use rookery_store_scylla::{
    Engine, MigrateOptions, Replication, SchemaLock, ScyllaConfig, ScyllaStore, migrate_with,
};
use scylla::statement::unprepared::Statement;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

static IDS: LazyLock<Snowflake> = LazyLock::new(|| Snowflake::new(1022).unwrap());

fn fresh<T: From<Id>>() -> T {
    IDS.next_id()
}

fn user(name: &str) -> User {
    User {
        id: fresh(),
        username: format!("{name}{}", fresh::<Id>().0 % 1_000_003),
    }
}

async fn store_on_fresh_keyspace() -> Option<(String, ScyllaConfig, ScyllaStore)> {
    let node = engines::cassandra()?;
    let config = fresh_keyspace(&node).await;
    let store = ScyllaStore::connect(&config).await.unwrap();
    Some((node, config, store))
}

#[tokio::test]
async fn migrate_names_the_engine_it_found() {
    let Some(node) = engines::cassandra() else {
        return;
    };
    let config = config_for(&node, &engines::unique("rookery_test"));
    let options = MigrateOptions::default();
    let report = migrate_with(&config, &Replication::Simple(1), &options)
        .await
        .unwrap();
    let Some(Engine::Cassandra { version }) = &report.engine else {
        panic!("CI runs Apache Cassandra: {:?}", report.engine);
    };
    assert!(version.starts_with("5.0"), "{version}");
}

/// Schema changes wait for the whole cluster: they run under their own
/// timeout, so a store timeout shorter than any of them does not fail
/// `migrate` (it did, when DDL ran under the store's 2 s).
#[tokio::test]
async fn migrate_runs_under_the_schema_timeout_not_the_stores() {
    let Some(node) = engines::cassandra() else {
        return;
    };
    let mut config = config_for(&node, &engines::unique("rookery_test"));
    config.request_timeout = Duration::from_millis(1);
    let options = MigrateOptions::default();
    let report = migrate_with(&config, &Replication::Simple(1), &options).await;
    assert!(report.is_ok(), "every migrate request had 1 ms: {report:?}");
}

/// The lock is taken before any table but its own is created, and a long
/// migration keeps it past its lease by renewing it.
#[tokio::test]
async fn the_migration_lock_is_renewed_and_guards_the_bootstrap() {
    let Some(node) = engines::cassandra() else {
        return;
    };
    let config = fresh_keyspace(&node).await;
    let raw = Arc::new(session(&node).await);
    raw.use_keyspace(&config.keyspace, false).await.unwrap();
    let drop_ledger = "DROP TABLE schema_migrations";
    raw.query_unpaged(drop_ledger, ()).await.unwrap();

    let lease = Duration::from_secs(2);
    let held = SchemaLock::acquire(raw.clone(), "holder", lease, lease)
        .await
        .unwrap();
    tokio::time::sleep(lease * 2).await;
    held.check().unwrap();
    let impatient = MigrateOptions {
        lock_lease: lease,
        lock_wait: Duration::from_secs(2),
    };
    let refused = migrate_with(&config, &Replication::Simple(1), &impatient)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Locked(_)), "{refused}");
    let ledger = "SELECT table_name FROM system_schema.tables \
                  WHERE keyspace_name = ? AND table_name = 'schema_migrations'";
    let found = raw
        .query_unpaged(ledger, (&config.keyspace,))
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .rows_num();
    assert_eq!(found, 0, "nothing but the lock's table before the lock");

    held.release().await.unwrap();
    let report = migrate_with(&config, &Replication::Simple(1), &impatient)
        .await
        .unwrap();
    assert!(report.applied.len() > 1, "{report:?}");
}

/// A store whose bucket width is pinned opens with reads only: with the
/// keyspace at replication 3 on one node, Paxos cannot reach a quorum (an
/// opening that claims the width again fails), plain reads at ONE can.
#[tokio::test]
async fn a_pinned_store_opens_without_a_lightweight_transaction() {
    let Some((node, config, _pinned)) = store_on_fresh_keyspace().await else {
        return;
    };
    let raw = session(&node).await;
    let alter = format!(
        "ALTER KEYSPACE {} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': '3'}}",
        config.keyspace
    );
    raw.query_unpaged(alter, ()).await.unwrap();
    // The control: a lightweight transaction here cannot be served.
    let probe = format!(
        "INSERT INTO {}.store_meta (name, value) VALUES ('probe', 'x') IF NOT EXISTS",
        config.keyspace
    );
    let mut probe = Statement::new(probe);
    probe.set_serial_consistency(Some(scylla::statement::SerialConsistency::Serial));
    assert!(
        raw.query_unpaged(probe, ()).await.is_err(),
        "Paxos needs 2 of 3"
    );
    let url = format!("scylla://{node}/{}?consistency=one", config.keyspace);
    let one = ScyllaConfig {
        bucket_ms: BUCKET_MS,
        ..ScyllaConfig::from_url(&url).unwrap()
    };
    ScyllaStore::connect(&one).await.unwrap();
    let other_width = ScyllaConfig {
        bucket_ms: BUCKET_MS * 2,
        ..one
    };
    let refused = ScyllaStore::connect(&other_width).await.unwrap_err();
    assert!(refused.to_string().contains("ms buckets"), "{refused}");
}

/// `Read N live rows and M tombstone cells`, from the node's trace of `query`.
async fn tombstones_read(
    node: &str,
    query: &str,
    values: impl scylla::serialize::row::SerializeRow,
) -> u64 {
    let raw = session(node).await;
    let mut traced = Statement::new(query);
    traced.set_tracing(true);
    let result = raw.query_unpaged(traced, values).await.unwrap();
    let id = result.tracing_id().expect("traced");
    for _ in 0..50 {
        if let Ok(info) = raw.get_tracing_info(&id).await {
            let counts = info.events.iter().filter_map(|e| {
                let activity = e.activity.as_deref()?;
                let (_, rest) = activity.split_once(" live rows and ")?;
                rest.split_whitespace().next()?.parse::<u64>().ok()
            });
            if let Some(n) = counts.max() {
                return n;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no read count in the trace of {query}");
}

/// A member without roles or a timeout, and a guild channel (no owner),
/// are written without a null or a collection reset: both are tombstones,
/// and every join and channel change wrote them.
#[tokio::test]
async fn upserts_write_no_tombstones() {
    let Some((node, config, store)) = store_on_fresh_keyspace().await else {
        return;
    };
    let (guild, member) = (fresh(), user("plain"));
    let channel = Channel::guild_text(fresh(), guild, "general", 0);
    store
        .apply(vec![
            Mutation::Member(Member::joined(guild, member.clone(), guild.timestamp())),
            Mutation::Channel(channel.clone()),
        ])
        .await
        .unwrap();
    let ks = &config.keyspace;
    let members = format!("SELECT * FROM {ks}.members WHERE guild_id = ? AND user_id = ?");
    let pair = (guild.0 as i64, member.id.0 as i64);
    assert_eq!(tombstones_read(&node, &members, pair).await, 0);
    // The control: a null bound on purpose is counted.
    let nulled = (guild.0 as i64, fresh::<Id>().0 as i64);
    let with_null = format!(
        "INSERT INTO {ks}.members (guild_id, user_id, username, communication_disabled_until) \
         VALUES (?, ?, 'x', null)"
    );
    session(&node)
        .await
        .query_unpaged(with_null, nulled)
        .await
        .unwrap();
    assert_eq!(tombstones_read(&node, &members, nulled).await, 1);
    let channels = format!("SELECT * FROM {ks}.channels WHERE id = ?");
    let by_id = (channel.id.0 as i64,);
    assert_eq!(tombstones_read(&node, &channels, by_id).await, 0);
    // A timeout lifted is still lifted (the epoch stands for none).
    let timed_out = Member {
        communication_disabled_until: Some("2100-01-01T00:00:00.000Z".into()),
        ..Member::joined(guild, member.clone(), guild.timestamp())
    };
    store
        .apply(vec![Mutation::Member(timed_out)])
        .await
        .unwrap();
    let lifted = Member::joined(guild, member.clone(), guild.timestamp());
    store.apply(vec![Mutation::Member(lifted)]).await.unwrap();
    let read = store.member(guild, member.id).await.unwrap().unwrap();
    assert_eq!(read.communication_disabled_until, None);
}

fn role(id: RoleId, name: &str) -> Role {
    Role {
        id,
        name: name.into(),
        color: 0,
        hoist: false,
        position: 1,
        permissions: Permissions::SEND_MESSAGES,
        mentionable: false,
    }
}

/// A former partition owner still finishing its batch writes an earlier
/// event after the new owner wrote a later one. With write times from the
/// events' places in the log, the later event wins whatever arrives last
/// (with each process's own clock, the late write won).
#[tokio::test]
async fn a_late_write_of_an_earlier_event_loses_to_a_later_one() {
    let Some((_, _, store)) = store_on_fresh_keyspace().await else {
        return;
    };
    let (guild, member, role_id) = (fresh(), user("late"), fresh());
    let at = |t: i64| WriteTime(1_900_000_000_000_000 + t);
    let joined = Mutation::Member(Member::joined(guild, member.clone(), guild.timestamp()));
    let left = Mutation::MemberDelete {
        guild_id: guild,
        user_id: member.id,
    };
    let renamed = |name| Mutation::Role {
        guild_id: guild,
        role: role(role_id, name),
    };
    // The new owner: join at 10, rename at 20, leave at 30.
    let new_owner = vec![
        (at(10), joined.clone()),
        (at(20), renamed("new")),
        (at(30), left),
    ];
    store.apply_at(new_owner).await.unwrap();
    // The old owner, late: its earlier join (5) and rename (15).
    let old_owner = vec![(at(5), joined), (at(15), renamed("old"))];
    store.apply_at(old_owner).await.unwrap();
    assert!(store.member(guild, member.id).await.unwrap().is_none());
    let roles = store.guild_roles(guild).await.unwrap();
    assert_eq!(
        roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
}

fn message(channel: ChannelId, author: &User) -> Message {
    let id = fresh();
    Message::new(
        id,
        (GuildId(1), channel),
        author.clone(),
        format!("m{}", id.0),
    )
}

/// A channel's new messages go in one unlogged batch (as do the author's
/// nonces), each row at its own write time: replayed after an edit made
/// between two of its rows' times, the batch leaves the edit in place
/// (a batch written at one time, its latest or the server's, overwrote it).
#[tokio::test]
async fn batched_messages_keep_each_rows_write_time() {
    let Some((_, _, store)) = store_on_fresh_keyspace().await else {
        return;
    };
    let (channel, author) = (fresh(), user("batch"));
    let at = |t: i64| WriteTime(1_700_000_000_000_000 + t);
    let messages: Vec<Message> = (0..5)
        .map(|i| {
            let mut m = message(channel, &author);
            m.nonce = Some(format!("n{i}"));
            m
        })
        .collect();
    let created: Vec<_> = (0..)
        .zip(&messages)
        .map(|(i, m)| (at(10 * (i + 1)), Mutation::Message(m.clone())))
        .collect();
    store.apply_at(created.clone()).await.unwrap();
    let mut edited = messages[0].clone();
    edited.content = "edited".into();
    edited.edited_timestamp = Some("2026-12-06T00:00:00.000Z".into());
    let edit = vec![(at(15), Mutation::MessageEdit(edited))];
    store.apply_at(edit).await.unwrap();
    store.apply_at(created).await.unwrap();
    let first = store
        .message(channel, messages[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.content, "edited");
    for (i, m) in messages.iter().enumerate() {
        let stored = store.message(channel, m.id).await.unwrap().unwrap();
        assert_eq!(stored.author.id, author.id);
        let nonce = store.nonce(author.id, &format!("n{i}")).await.unwrap();
        assert_eq!(nonce, Some(m.id));
    }
}

/// A row holding only an edit's or a reaction's columns (written after its
/// message's delete by a writer without write times) is left out of
/// history and single reads, instead of failing every page that holds it.
#[tokio::test]
async fn history_leaves_out_a_partial_row() {
    let Some((node, config, store)) = store_on_fresh_keyspace().await else {
        return;
    };
    let (channel, author) = (fresh(), user("author"));
    let kept: Vec<Message> = (0..3).map(|_| message(channel, &author)).collect();
    let batch = kept.iter().cloned().map(Mutation::Message).collect();
    store.apply(batch).await.unwrap();
    let ghost: MessageId = fresh();
    let bucket = i64::from(ghost.bucket(BUCKET_MS));
    let partial = format!(
        "INSERT INTO {}.messages (channel_id, bucket, message_id, pinned) VALUES (?, ?, ?, true)",
        config.keyspace
    );
    let raw = session(&node).await;
    let values = (channel.0 as i64, bucket, ghost.0 as i64);
    raw.query_unpaged(partial, values).await.unwrap();
    let page = store.messages(channel, Cursor::Latest, 50).await.unwrap();
    let ids: Vec<MessageId> = page.iter().map(|m| m.id).collect();
    assert_eq!(ids, kept.iter().rev().map(|m| m.id).collect::<Vec<_>>());
    assert_eq!(store.message(channel, ghost).await.unwrap(), None);
}

/// A message with hundreds of reactions is deleted whole: every reader's
/// index row goes with it, read and deleted a page at a time.
#[tokio::test]
async fn a_much_reacted_message_is_deleted_with_every_index_row() {
    let Some((_, _, store)) = store_on_fresh_keyspace().await else {
        return;
    };
    let (channel, author) = (fresh(), user("popular"));
    let msg = message(channel, &author);
    store
        .apply(vec![Mutation::Message(msg.clone())])
        .await
        .unwrap();
    let readers: Vec<UserId> = (0..300).map(|_| fresh()).collect();
    let reactions = readers.iter().map(|&user_id| {
        Mutation::Reaction(Reaction {
            channel_id: channel,
            message_id: msg.id,
            emoji: "👍".into(),
            user_id,
            add: true,
        })
    });
    store.apply(reactions.collect()).await.unwrap();
    let counted = store.message(channel, msg.id).await.unwrap().unwrap();
    assert_eq!(counted.reactions[0].count, 300);
    let mine = store.user_reactions(channel, readers[7], (msg.id, msg.id));
    assert_eq!(mine.await.unwrap(), [(msg.id, "👍".to_string())]);

    let delete = Mutation::MessageDelete {
        channel_id: channel,
        message_id: msg.id,
    };
    store.apply(vec![delete]).await.unwrap();
    assert_eq!(store.message(channel, msg.id).await.unwrap(), None);
    for reader in readers {
        let left = store.user_reactions(channel, reader, (msg.id, msg.id));
        assert!(left.await.unwrap().is_empty(), "{reader:?}");
    }
}

/// Time-window compaction only on tables whose every row expires (it
/// never merges windows, so tombstones and overwrites landing in a later
/// window than their rows would stay for ever): as the node applied it.
#[tokio::test]
async fn time_window_compaction_only_where_rows_expire() {
    let Some((node, config, _)) = store_on_fresh_keyspace().await else {
        return;
    };
    let raw = session(&node).await;
    let tables = "SELECT table_name, compaction, default_time_to_live \
                  FROM system_schema.tables WHERE keyspace_name = ?";
    let rows = raw
        .query_unpaged(tables, (&config.keyspace,))
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let mut seen = Vec::new();
    for row in rows
        .rows::<(String, std::collections::HashMap<String, String>, i32)>()
        .unwrap()
    {
        let (table, compaction, ttl) = row.unwrap();
        let class = compaction.get("class").cloned().unwrap_or_default();
        if class.ends_with("TimeWindowCompactionStrategy") {
            assert!(ttl > 0, "{table} uses TWCS without a default TTL");
        }
        seen.push((table, class));
    }
    let messages = seen
        .iter()
        .find(|(t, _)| t == "messages")
        .expect("messages");
    assert!(
        messages.1.ends_with("SizeTieredCompactionStrategy"),
        "{messages:?}"
    );
}
