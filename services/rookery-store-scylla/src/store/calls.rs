//! The `Store` trait over the ScyllaDB tables: each call a prepared
//! statement (or a few), with the driver's and the store's metrics.

use super::{ScyllaStore, id, key};
use crate::history;
use crate::migrate::lwt_outcome;
use crate::session::backend;
use async_trait::async_trait;
use rookery_proto::Id;
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use rookery_store::metrics as sm;
use rookery_store::{BanRecord, Cursor, Mutation, Store, StoreError, WriteTime};
use std::time::Instant;

#[async_trait]
impl Store for ScyllaStore {
    async fn apply(&self, batch: Vec<Mutation>) -> Result<(), StoreError> {
        let timed = batch.into_iter().map(|m| (self.0.clock.now(), m));
        self.apply_at(timed.collect()).await
    }

    async fn apply_at(&self, batch: Vec<(WriteTime, Mutation)>) -> Result<(), StoreError> {
        let started = Instant::now();
        let n = batch.len() as u64;
        self.0.write_all(&batch).await?;
        metrics::histogram!(sm::WRITE_DURATION, "store" => "scylla").record(started.elapsed());
        metrics::counter!(sm::MUTATIONS, "store" => "scylla").increment(n);
        Ok(())
    }

    async fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn create_account(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        let (inner, s) = (&self.0, &self.0.s);
        let at = inner.clock.now();
        // Profile and hash first, claim last: a crash in between leaves an
        // unreachable row under a fresh id, never a claimed name without an
        // account behind it.
        futures_util::try_join!(
            inner.exec(at, &s.insert_user, (key(user.id), &user.username)),
            inner.exec(at, &s.insert_credentials, (key(user.id), password_hash)),
        )?;
        let name = user.username.to_lowercase();
        let result = inner
            .session
            .execute_unpaged(&s.claim_username, (&name, key(user.id)))
            .await
            .map_err(backend)?;
        let (applied, _) = lwt_outcome(result)?;
        if applied {
            return Ok(());
        }
        // A retried claim of our own (a timeout after it was applied) is
        // ours; any other holder is a conflict.
        match inner.one::<(i64,)>(&s.select_username, (&name,)).await? {
            Some((holder,)) if holder == key(user.id) => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "username {:?} is taken",
                user.username
            ))),
        }
    }

    async fn account(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        let (inner, s) = (&self.0, &self.0.s);
        let name = username.to_lowercase();
        let Some((uid,)) = inner.one::<(i64,)>(&s.select_username, (&name,)).await? else {
            return Ok(None);
        };
        let (user, hash) = futures_util::try_join!(
            self.user(id(uid)),
            inner.one::<(String,)>(&s.select_credentials, (uid,))
        )?;
        Ok(user.zip(hash).map(|(u, (h,))| (u, h)))
    }

    async fn create_application(&self, app: &Application) -> Result<(), StoreError> {
        // The application row first, the account (and its name claim)
        // last: a crash in between leaves an unreachable row under a fresh
        // id, never a claimed name without its application; a name taken
        // meanwhile takes the row back.
        let (inner, s) = (&self.0, &self.0.s);
        let row = (key(app.id), &app.name, key(app.owner_id));
        inner
            .exec(inner.clock.now(), &s.insert_application, row)
            .await?;
        let bot = User {
            id: UserId::from(app.id),
            username: app.name.clone(),
        };
        let claimed = self.create_account(&bot, rookery_store::NO_PASSWORD).await;
        if let Err(StoreError::Conflict(_)) = &claimed {
            let gone = (key(app.id),);
            inner
                .exec(inner.clock.now(), &s.delete_application, gone)
                .await?;
        }
        claimed
    }

    async fn application(&self, app: Id) -> Result<Option<Application>, StoreError> {
        let row = self
            .0
            .one::<(i64, String, i64)>(&self.0.s.select_application, (key(app),));
        Ok(row.await?.map(|(i, name, owner)| Application {
            id: id(i),
            name,
            owner_id: id(owner),
        }))
    }

    async fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        self.0.create_webhook(hook).await
    }

    async fn webhook(&self, hook: Id) -> Result<Option<Webhook>, StoreError> {
        self.0.webhook(hook).await
    }

    async fn webhooks(
        &self,
        guild: GuildId,
        channel: Option<ChannelId>,
    ) -> Result<Vec<Webhook>, StoreError> {
        self.0.webhooks(guild, channel).await
    }

    async fn delete_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        self.0.delete_webhook(hook).await
    }

    async fn token_generation(&self, user_id: UserId) -> Result<u64, StoreError> {
        let (inner, s) = (&self.0, &self.0.s);
        let row = inner.one::<(Option<i64>,)>(&s.select_token_generation, (key(user_id),));
        Ok(row.await?.and_then(|(g,)| g).map_or(0, |g| g as u64))
    }

    async fn revoke_tokens(
        &self,
        user_id: UserId,
        password_hash: Option<&str>,
    ) -> Result<u64, StoreError> {
        // Read, then write: two edges revoking at once each leave a time
        // based generation (see `next_token_generation`), so either write
        // revokes every token issued before both.
        let generation =
            rookery_store::next_token_generation(self.token_generation(user_id).await?);
        let (inner, s) = (&self.0, &self.0.s);
        let at = inner.clock.now();
        let stored = generation as i64;
        match password_hash {
            Some(hash) => {
                let values = (key(user_id), hash, stored);
                inner.exec(at, &s.insert_password_change, values).await?
            }
            None => {
                let values = (key(user_id), stored);
                inner.exec(at, &s.insert_token_generation, values).await?
            }
        }
        Ok(generation)
    }

    async fn user(&self, uid: UserId) -> Result<Option<User>, StoreError> {
        let row = self
            .0
            .one::<(i64, String)>(&self.0.s.select_user, (key(uid),));
        Ok(row.await?.map(|(i, username)| User {
            id: id(i),
            username,
        }))
    }

    async fn guild(&self, gid: GuildId) -> Result<Option<Guild>, StoreError> {
        let row = self
            .0
            .one::<(i64, String, i64)>(&self.0.s.select_guild, (key(gid),));
        Ok(row.await?.map(|(i, name, owner)| Guild {
            id: id(i),
            name,
            owner_id: id(owner),
        }))
    }

    async fn guild_channels(&self, guild_id: GuildId) -> Result<Vec<Channel>, StoreError> {
        self.0.guild_channels(guild_id).await
    }

    async fn guild_roles(&self, guild_id: GuildId) -> Result<Vec<Role>, StoreError> {
        self.0.roles(guild_id).await
    }

    async fn channel(&self, cid: ChannelId) -> Result<Option<Channel>, StoreError> {
        self.0.channel(cid).await
    }

    async fn member(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        self.0.member(guild_id, user_id).await
    }

    async fn guild_members(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        self.0.guild_members(guild_id, after, limit).await
    }

    async fn user_guilds(&self, user_id: UserId) -> Result<Vec<Id>, StoreError> {
        let stmt = &self.0.s.select_user_guilds;
        let rows = self.0.all::<(i64,)>(stmt, (key(user_id),)).await?;
        Ok(rows.into_iter().map(|(g,)| id(g)).collect())
    }

    async fn dm_channel(&self, a: UserId, b: UserId) -> Result<Option<ChannelId>, StoreError> {
        self.0.dm_channel(a.min(b), a.max(b)).await
    }

    async fn invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        self.0.invite(code).await
    }

    async fn guild_invites(&self, guild_id: GuildId) -> Result<Vec<Invite>, StoreError> {
        self.0.guild_invites(guild_id).await
    }

    async fn member_count(&self, guild_id: GuildId) -> Result<u64, StoreError> {
        self.0.member_count(guild_id).await
    }

    async fn nonce(&self, user_id: UserId, nonce: &str) -> Result<Option<MessageId>, StoreError> {
        let row = self
            .0
            .one::<(i64,)>(&self.0.s.select_nonce, (key(user_id), nonce));
        Ok(row.await?.map(|(m,)| id(m)))
    }

    async fn read_states(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        self.0.read_states(user_id).await
    }

    async fn mentions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        roles: &[RoleId],
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError> {
        self.0
            .mentions((channel_id, user_id), roles, after, limit)
            .await
    }

    async fn audit_log(
        &self,
        guild_id: GuildId,
        before: Id,
        limit: usize,
    ) -> Result<Vec<AuditLogEntry>, StoreError> {
        self.0.audit_log(guild_id, before, limit).await
    }

    async fn bans(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<BanRecord>, StoreError> {
        self.0.bans(guild_id, after, limit).await
    }

    async fn ban(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<BanRecord>, StoreError> {
        self.0.ban(guild_id, user_id).await
    }

    async fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        self.0.message(channel_id, message_id).await
    }

    async fn pins(&self, channel_id: ChannelId) -> Result<Vec<Message>, StoreError> {
        self.0.pins(channel_id).await
    }

    async fn reactions(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        emoji: &str,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        self.0
            .reactions((channel_id, message_id), emoji, after, limit)
            .await
    }

    async fn user_reactions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        ids: (MessageId, MessageId),
    ) -> Result<Vec<(MessageId, String)>, StoreError> {
        self.0.user_reactions((channel_id, user_id), ids).await
    }

    async fn messages(
        &self,
        channel_id: ChannelId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let started = Instant::now();
        let page = history::page(&self.0, channel_id, cursor, limit.clamp(1, 100)).await;
        metrics::histogram!(sm::HISTORY_READ_DURATION, "store" => "scylla")
            .record(started.elapsed());
        page
    }
}
