//! The embedded store: fjall on local disk, one process at a time.
//!
//! Tables are fjall keyspaces named after the ScyllaDB tables. Writes go
//! through one atomic fjall batch per [`Mutation`] batch on the blocking pool,
//! and `sync` fsyncs the journal; point reads and short range scans run
//! inline, since they are bounded, mostly in-memory work.

mod accounts;
mod audit;
mod bans;
mod channels;
mod guild_delete;
mod history;
mod invites;
mod keys;
mod known;
mod member_counts;
mod mentions;
mod messages;
mod store;
mod webhooks;

use crate::{Mutation, StoreError};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use rookery_proto::Id;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Default message bucket width: 10 days.
pub const DEFAULT_BUCKET_MS: u64 = 10 * 24 * 3600 * 1000;

/// Embedded store settings.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// Directory holding the store (created if missing).
    pub path: PathBuf,
    /// Width of a message bucket. Fixed when the store is created: reopening
    /// with another width is refused, since rows would be looked up in the
    /// wrong buckets.
    pub bucket_ms: u64,
    /// Block cache size in bytes.
    pub cache_bytes: u64,
}

impl EmbeddedConfig {
    /// Defaults for a store under `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            bucket_ms: DEFAULT_BUCKET_MS,
            cache_bytes: 64 << 20,
        }
    }
}

/// The embedded store. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedStore(Arc<Inner>);

struct Tables {
    meta: Keyspace,
    users: Keyspace,
    usernames: Keyspace,
    credentials: Keyspace,
    applications: Keyspace,
    mentions: Keyspace,
    broadcast_mentions: Keyspace,
    token_generations: Keyspace,
    guilds: Keyspace,
    channels: Keyspace,
    channels_by_guild: Keyspace,
    recipients: Keyspace,
    dm_pairs: Keyspace,
    members: Keyspace,
    /// Guild → its number of members (8 bytes, big-endian).
    member_counts: Keyspace,
    roles: Keyspace,
    guilds_by_user: Keyspace,
    invites: Keyspace,
    /// Guild and code of every invite (a guild's list).
    invites_by_guild: Keyspace,
    nonces: Keyspace,
    messages: Keyspace,
    channel_buckets: Keyspace,
    pins: Keyspace,
    reactions: Keyspace,
    user_reactions: Keyspace,
    bans: Keyspace,
    read_states: Keyspace,
    audit_log: Keyspace,
    /// Webhooks by guild, channel and id.
    webhooks: Keyspace,
    /// Webhook id → guild and channel (its key in `webhooks`).
    webhooks_by_id: Keyspace,
}

struct Inner {
    db: Database,
    t: Tables,
    bucket_ms: u64,
    /// Serialises username claims (check-then-insert).
    accounts: Mutex<()>,
    /// What the insert path need not write or read again.
    known: known::Known,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(v).expect("msgpack encoding of a record")
}

fn decode<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        detail: e.to_string(),
    })
}

impl EmbeddedStore {
    /// Opens (or creates) the store; fails if another process holds it.
    pub fn open(config: &EmbeddedConfig) -> Result<Self, StoreError> {
        std::fs::create_dir_all(&config.path).map_err(|e| {
            StoreError::Config(format!("cannot create {}: {e}", config.path.display()))
        })?;
        let db = Database::builder(&config.path)
            .cache_size(config.cache_bytes)
            .open()
            .map_err(|e| match e {
                fjall::Error::Locked => StoreError::Locked(config.path.display().to_string()),
                other => backend(other),
            })?;
        let ks = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(backend)
        };
        let t = Tables {
            meta: ks("meta")?,
            users: ks("users")?,
            usernames: ks("usernames")?,
            credentials: ks("credentials")?,
            applications: ks("applications")?,
            mentions: ks("mentions")?,
            broadcast_mentions: ks("broadcast_mentions")?,
            token_generations: ks("token_generations")?,
            guilds: ks("guilds")?,
            channels: ks("channels")?,
            channels_by_guild: ks("channels_by_guild")?,
            recipients: ks("recipients")?,
            dm_pairs: ks("dm_pairs")?,
            members: ks("members")?,
            member_counts: ks("member_counts")?,
            roles: ks("roles")?,
            guilds_by_user: ks("guilds_by_user")?,
            invites: ks("invites")?,
            invites_by_guild: ks("invites_by_guild")?,
            nonces: ks("nonces")?,
            messages: ks("messages")?,
            channel_buckets: ks("channel_buckets")?,
            pins: ks("pins")?,
            reactions: ks("reactions")?,
            user_reactions: ks("user_reactions")?,
            bans: ks("bans")?,
            read_states: ks("read_states")?,
            audit_log: ks("audit_log")?,
            webhooks: ks("webhooks")?,
            webhooks_by_id: ks("webhooks_by_id")?,
        };
        check_bucket_width(&db, &t.meta, config.bucket_ms)?;
        let inner = Inner {
            db,
            t,
            bucket_ms: config.bucket_ms,
            accounts: Mutex::new(()),
            known: known::Known::default(),
        };
        inner.backfill_reaction_counts()?;
        inner.backfill_mention_index()?;
        inner.backfill_invite_index()?;
        inner.backfill_member_counts()?;
        Ok(Self(Arc::new(inner)))
    }

    /// The bucket width the store was created with.
    pub fn bucket_ms(&self) -> u64 {
        self.0.bucket_ms
    }

    fn get<T: DeserializeOwned>(
        &self,
        table: &'static str,
        ks: &Keyspace,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        ks.get(key)
            .map_err(backend)?
            .map(|v| decode(table, &v))
            .transpose()
    }

    /// Ids in the trailing 8 bytes of every key under `prefix`.
    fn ids_under<T: From<Id> + Default>(
        &self,
        ks: &Keyspace,
        prefix: &[u8],
    ) -> Result<Vec<T>, StoreError> {
        ks.prefix(prefix)
            .map(|g| {
                g.key()
                    .map_err(backend)
                    .map(|k| keys::trailing_id(&k).unwrap_or_default())
            })
            .collect()
    }
}

fn check_bucket_width(db: &Database, meta: &Keyspace, bucket_ms: u64) -> Result<(), StoreError> {
    match meta.get("bucket_ms").map_err(backend)? {
        Some(v) => {
            let stored =
                u64::from_be_bytes(v.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                    table: "meta",
                    detail: "bucket_ms is not 8 bytes".into(),
                })?);
            if stored != bucket_ms {
                return Err(StoreError::Config(format!(
                    "store was created with {stored} ms buckets, configured {bucket_ms} ms"
                )));
            }
        }
        None => {
            meta.insert("bucket_ms", bucket_ms.to_be_bytes())
                .map_err(backend)?;
            db.persist(PersistMode::SyncAll).map_err(backend)?;
        }
    }
    Ok(())
}

impl Inner {
    fn write_batch(&self, batch: &[Mutation]) -> Result<(), StoreError> {
        let t = &self.t;
        let mut b = self.db.batch();
        let mut pending = messages::Pending::default();
        for mutation in batch {
            match mutation {
                Mutation::User(u) => b.insert(&t.users, keys::id(u.id), encode(u)),
                Mutation::Guild(g) => b.insert(&t.guilds, keys::id(g.id), encode(g)),
                Mutation::Channel(c) => self.upsert_channel(&mut b, c),
                Mutation::PrivateChannel { channel, joined_at } => {
                    self.open_private(&mut b, &mut pending, channel, joined_at)?
                }
                Mutation::ChannelDelete {
                    guild_id,
                    channel_id,
                } => {
                    b.remove(&t.channels, keys::id(*channel_id));
                    b.remove(&t.channels_by_guild, keys::pair(*guild_id, *channel_id));
                }
                Mutation::Recipient {
                    channel_id,
                    user,
                    add,
                } => {
                    let key = keys::pair(*channel_id, user.id);
                    match add {
                        true => b.insert(&t.recipients, key, encode(user)),
                        false => b.remove(&t.recipients, key),
                    }
                }
                Mutation::Member(mb) => {
                    if !self.banned(&pending, mb.guild_id, mb.user.id)? {
                        let (guild, user) = (mb.guild_id, mb.user.id);
                        self.count_member(&mut b, &mut pending, (guild, user), true)?;
                        b.insert(&t.members, keys::pair(guild, user), encode(mb));
                        b.insert(&t.guilds_by_user, keys::pair(user, guild), []);
                    }
                }
                Mutation::MemberDelete { guild_id, user_id } => {
                    let membership = (*guild_id, *user_id);
                    self.count_member(&mut b, &mut pending, membership, false)?;
                    b.remove(&t.members, keys::pair(*guild_id, *user_id));
                    b.remove(&t.guilds_by_user, keys::pair(*user_id, *guild_id));
                }
                Mutation::Role { guild_id, role } => {
                    b.insert(&t.roles, keys::pair(*guild_id, role.id), encode(role))
                }
                Mutation::RoleDelete { guild_id, role_id } => {
                    b.remove(&t.roles, keys::pair(*guild_id, *role_id))
                }
                Mutation::Invite(i) => self.upsert_invite(&mut b, &mut pending, i)?,
                Mutation::GuildDelete { guild_id } => {
                    self.delete_guild(&mut b, &mut pending, *guild_id)?
                }
                Mutation::InviteDelete { guild_id, code } => {
                    self.delete_invite(&mut b, &mut pending, (*guild_id, code))
                }
                Mutation::InviteUsed { code } => {
                    self.count_invite_use(&mut b, &mut pending, code)?
                }
                Mutation::Message(msg) => self.insert_message(&mut b, &mut pending, msg)?,
                Mutation::MessageEdit(msg) => self.edit_message(&mut b, &mut pending, msg)?,
                Mutation::MessageDelete {
                    channel_id,
                    message_id,
                } => self.delete_message(&mut b, &mut pending, *channel_id, *message_id)?,
                Mutation::Pin {
                    channel_id,
                    message_id,
                    pinned,
                } => self.pin(&mut b, &mut pending, (*channel_id, *message_id), *pinned)?,
                Mutation::Reaction(r) => self.react(&mut b, &mut pending, r)?,
                Mutation::ReactionsClear {
                    channel_id,
                    message_id,
                    emoji,
                } => self.clear_reactions(
                    &mut b,
                    &mut pending,
                    (*channel_id, *message_id),
                    emoji.as_deref(),
                )?,
                Mutation::Ban {
                    guild_id,
                    user_id,
                    reason,
                } => self.ban(&mut b, &mut pending, (*guild_id, *user_id), reason),
                Mutation::ReadState {
                    user_id,
                    channel_id,
                    last_message_id,
                } => b.insert(
                    &t.read_states,
                    keys::pair(*user_id, *channel_id),
                    keys::id(*last_message_id),
                ),
                Mutation::Audit(a) => {
                    b.insert(&t.audit_log, keys::pair(a.guild_id, a.id), encode(a))
                }
                Mutation::Unban { guild_id, user_id } => {
                    self.unban(&mut b, &mut pending, (*guild_id, *user_id))
                }
            }
        }
        b.commit().map_err(backend)?;
        self.known.add_buckets(pending.buckets);
        Ok(())
    }
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.0.db_path())
            .finish()
    }
}

impl Inner {
    fn db_path(&self) -> &Path {
        self.t.meta.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cursor, Store};
    use rookery_proto::MessageId;
    use rookery_proto::model::{Message, User};
    use rookery_proto::{ChannelId, GuildId, UserId};

    const BUCKET_MS: u64 = 60_000;

    fn open(dir: &Path) -> EmbeddedStore {
        EmbeddedStore::open(&EmbeddedConfig {
            bucket_ms: BUCKET_MS,
            ..EmbeddedConfig::new(dir)
        })
        .unwrap()
    }

    crate::conformance_tests!(|dir| tempfile::tempdir().unwrap() => &open(dir.path()), BUCKET_MS);

    #[tokio::test]
    async fn data_survives_reopen_and_bucket_width_is_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let (channel, ids) = {
            let store = open(dir.path());
            let author = User {
                id: UserId(5),
                username: "x".into(),
            };
            let ids: Vec<MessageId> = (1..=3).map(|i| MessageId(i << 22)).collect();
            let batch = ids
                .iter()
                .map(|&id| {
                    Mutation::Message(Message::new(
                        id,
                        (GuildId(1), ChannelId(9)),
                        author.clone(),
                        "c".into(),
                    ))
                })
                .collect();
            store.apply(batch).await.unwrap();
            store.sync().await.unwrap();
            (ChannelId(9), ids)
        };
        let store = open(dir.path());
        let page = store.messages(channel, Cursor::Latest, 10).await.unwrap();
        assert_eq!(page.iter().map(|m| m.id).rev().collect::<Vec<_>>(), ids);
        drop(store);
        let other = EmbeddedConfig {
            bucket_ms: BUCKET_MS * 2,
            ..EmbeddedConfig::new(dir.path())
        };
        assert!(matches!(
            EmbeddedStore::open(&other),
            Err(StoreError::Config(_))
        ));
    }

    #[tokio::test]
    async fn a_second_open_of_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = open(dir.path());
        let second = EmbeddedStore::open(&EmbeddedConfig {
            bucket_ms: BUCKET_MS,
            ..EmbeddedConfig::new(dir.path())
        });
        assert!(matches!(second, Err(StoreError::Locked(_))), "{second:?}");
    }
}
