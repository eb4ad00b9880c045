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
mod webhooks;

use crate::metrics as m;
use crate::{BanRecord, Cursor, MAX_BANS_PAGE, Mutation, Store, StoreError};
use async_trait::async_trait;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use rookery_proto::Id;
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(backend)?
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn apply(&self, batch: Vec<Mutation>) -> Result<(), StoreError> {
        let started = Instant::now();
        let n = batch.len() as u64;
        let inner = self.0.clone();
        blocking(move || inner.write_batch(&batch)).await?;
        metrics::histogram!(m::WRITE_DURATION, "store" => "embedded").record(started.elapsed());
        metrics::counter!(m::MUTATIONS, "store" => "embedded").increment(n);
        Ok(())
    }

    async fn sync(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let inner = self.0.clone();
        // fdatasync: the journal is append-only, so syncing data suffices.
        blocking(move || inner.db.persist(PersistMode::SyncData).map_err(backend)).await?;
        metrics::histogram!(m::SYNC_DURATION, "store" => "embedded").record(started.elapsed());
        Ok(())
    }

    async fn create_account(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        let (inner, user, hash) = (self.0.clone(), user.clone(), password_hash.to_owned());
        blocking(move || inner.create_account(&user, &hash)).await
    }

    async fn account(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        let t = &self.0.t;
        let Some(id) = t.usernames.get(username.to_lowercase()).map_err(backend)? else {
            return Ok(None);
        };
        let id = keys::trailing_id(&id).ok_or(StoreError::Corrupt {
            table: "usernames",
            detail: "bad id".into(),
        })?;
        let user = self.get::<User>("users", &t.users, &keys::id(id))?;
        Ok(user.zip(self.0.password_hash(id)?))
    }

    async fn create_application(&self, app: &Application) -> Result<(), StoreError> {
        let (inner, app) = (self.0.clone(), app.clone());
        blocking(move || inner.create_application(&app)).await
    }

    async fn application(&self, id: Id) -> Result<Option<Application>, StoreError> {
        self.get("applications", &self.0.t.applications, &keys::id(id))
    }

    async fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        let (inner, hook) = (self.0.clone(), hook.clone());
        blocking(move || inner.create_webhook(&hook)).await
    }

    async fn webhook(&self, id: Id) -> Result<Option<Webhook>, StoreError> {
        self.0.webhook(id)
    }

    async fn webhooks(
        &self,
        guild: GuildId,
        channel: Option<ChannelId>,
    ) -> Result<Vec<Webhook>, StoreError> {
        self.0.webhooks(guild, channel)
    }

    async fn delete_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        let (inner, hook) = (self.0.clone(), hook.clone());
        blocking(move || inner.delete_webhook(&hook)).await
    }

    async fn token_generation(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.0.token_generation(user_id)
    }

    async fn revoke_tokens(
        &self,
        user_id: UserId,
        password_hash: Option<&str>,
    ) -> Result<u64, StoreError> {
        let (inner, hash) = (self.0.clone(), password_hash.map(str::to_owned));
        blocking(move || inner.revoke_tokens(user_id, hash.as_deref())).await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.get("users", &self.0.t.users, &keys::id(id))
    }

    async fn guild(&self, id: GuildId) -> Result<Option<Guild>, StoreError> {
        self.get("guilds", &self.0.t.guilds, &keys::id(id))
    }

    async fn guild_channels(&self, guild_id: GuildId) -> Result<Vec<Channel>, StoreError> {
        let t = &self.0.t;
        let mut out = Vec::new();
        for id in self.ids_under::<ChannelId>(&t.channels_by_guild, &keys::id(guild_id))? {
            out.extend(self.get::<Channel>("channels", &t.channels, &keys::id(id))?);
        }
        out.sort_by_key(|c| (c.position, c.id));
        Ok(out)
    }

    async fn guild_roles(&self, guild_id: GuildId) -> Result<Vec<Role>, StoreError> {
        let mut out: Vec<Role> = Vec::new();
        for row in self.0.t.roles.prefix(keys::id(guild_id)) {
            out.push(decode("roles", &row.value().map_err(backend)?)?);
        }
        out.sort_by_key(|r| (r.position, r.id));
        Ok(out)
    }

    async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        self.0.channel(id)
    }

    async fn member(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        self.get("members", &self.0.t.members, &keys::pair(guild_id, user_id))
    }

    async fn guild_members(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        let limit = limit.clamp(1, crate::MAX_MEMBERS_PAGE);
        let (prefix, from) = (
            keys::id(guild_id),
            keys::pair(guild_id, Id(after.0.saturating_add(1))),
        );
        let mut out = Vec::new();
        for row in self.0.t.members.range(from..) {
            let (key, value) = row.into_inner().map_err(backend)?;
            if !key.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.push(decode("members", &value)?);
        }
        Ok(out)
    }

    async fn user_guilds(&self, user_id: UserId) -> Result<Vec<Id>, StoreError> {
        self.ids_under(&self.0.t.guilds_by_user, &keys::id(user_id))
    }

    async fn dm_channel(&self, a: UserId, b: UserId) -> Result<Option<ChannelId>, StoreError> {
        self.0.dm_channel(a.min(b), a.max(b))
    }

    async fn invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        self.get("invites", &self.0.t.invites, code.as_bytes())
    }

    async fn guild_invites(&self, guild_id: GuildId) -> Result<Vec<Invite>, StoreError> {
        self.invites_of(guild_id)
    }

    async fn member_count(&self, guild_id: GuildId) -> Result<u64, StoreError> {
        self.members_in(guild_id)
    }

    async fn nonce(&self, user_id: UserId, nonce: &str) -> Result<Option<MessageId>, StoreError> {
        let v = self
            .0
            .t
            .nonces
            .get(keys::user_nonce(user_id, nonce))
            .map_err(backend)?;
        Ok(v.and_then(|v| keys::trailing_id(&v)))
    }

    async fn read_states(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        let mut out = Vec::new();
        for row in self.0.t.read_states.prefix(keys::id(user_id)) {
            let (key, value) = row.into_inner().map_err(backend)?;
            out.extend(keys::trailing_id(&key).zip(keys::trailing_id(&value)));
        }
        Ok(out)
    }

    async fn mentions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        roles: &[RoleId],
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError> {
        self.0.mentions((channel_id, user_id), roles, after, limit)
    }

    async fn audit_log(
        &self,
        guild_id: GuildId,
        before: Id,
        limit: usize,
    ) -> Result<Vec<AuditLogEntry>, StoreError> {
        self.audit_page(guild_id, before, limit)
    }

    async fn bans(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<BanRecord>, StoreError> {
        let Some(first) = after.0.checked_add(1) else {
            return Ok(Vec::new());
        };
        let range = keys::pair(guild_id, Id(first))..=keys::pair(guild_id, Id(u64::MAX));
        let mut out = Vec::new();
        for row in self
            .0
            .t
            .bans
            .range(range)
            .take(limit.clamp(1, MAX_BANS_PAGE))
        {
            out.push(decode("bans", &row.value().map_err(backend)?)?);
        }
        Ok(out)
    }

    async fn ban(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<BanRecord>, StoreError> {
        self.get("bans", &self.0.t.bans, &keys::pair(guild_id, user_id))
    }

    async fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        self.one_message(channel_id, message_id)
    }

    async fn pins(&self, channel_id: ChannelId) -> Result<Vec<Message>, StoreError> {
        self.pinned(channel_id)
    }

    async fn reactions(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        emoji: &str,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        self.reacted((channel_id, message_id), emoji, after, limit)
    }

    async fn user_reactions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        ids: (MessageId, MessageId),
    ) -> Result<Vec<(MessageId, String)>, StoreError> {
        self.reactions_of((channel_id, user_id), ids)
    }

    async fn messages(
        &self,
        channel_id: ChannelId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let started = Instant::now();
        let page = history::page(self, channel_id, cursor, limit.clamp(1, 100));
        metrics::histogram!(m::HISTORY_READ_DURATION, "store" => "embedded")
            .record(started.elapsed());
        page
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
    use rookery_proto::MessageId;
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
