//! The `Store` trait over the embedded tables: reads answer inline (fjall
//! reads do not block for long), writes and syncs run on the blocking pool.

use super::{EmbeddedStore, backend, decode, history, keys};
use crate::metrics as m;
use crate::{BanRecord, Cursor, MAX_BANS_PAGE, Mutation, Store, StoreError};
use async_trait::async_trait;
use fjall::PersistMode;
use rookery_proto::Id;
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use std::time::Instant;

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
