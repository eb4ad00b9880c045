//! [`RemoteStore`]: the `Store` an edge reads through the writers' links,
//! identical reads coalesced into one call.

use super::{InFlight, LinkSet};
use crate::metrics as m;
use crate::wire::{Call, Reply, WireCursor};
use async_trait::async_trait;
use futures_util::FutureExt;
use rookery_proto::Id;
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use rookery_store::{BanRecord, Cursor, Mutation, Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The store of the writers that host it, reached over their links.
pub struct RemoteStore {
    links: Arc<LinkSet>,
    in_flight: Arc<Mutex<HashMap<Call, InFlight>>>,
}

impl RemoteStore {
    /// A store behind `links`.
    pub fn new(links: Arc<LinkSet>) -> Self {
        Self {
            links,
            in_flight: Arc::default(),
        }
    }

    /// Reads are coalesced: a call identical to one in flight waits for its
    /// answer instead of going out again.
    /// A write answered `Done`: never coalesced.
    async fn write(&self, call: Call) -> Result<(), StoreError> {
        let link = self.links.pick().map_err(StoreError::from)?;
        match link.call(call).await.map_err(StoreError::from)? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn read(&self, call: Call) -> Result<Reply, StoreError> {
        let (shared, joined) = {
            let mut map = self.in_flight.lock().expect("in flight");
            match map.get(&call) {
                Some(f) => (f.clone(), true),
                None => {
                    let (links, key, map_ref) =
                        (self.links.clone(), call.clone(), self.in_flight.clone());
                    let fut = async move {
                        let result = match links.pick() {
                            Ok(link) => link.call(key.clone()).await,
                            Err(e) => Err(e),
                        };
                        map_ref.lock().expect("in flight").remove(&key);
                        result
                    }
                    .boxed()
                    .shared();
                    map.insert(call, fut.clone());
                    (fut, false)
                }
            }
        };
        if joined {
            metrics::counter!(m::COALESCED).increment(1);
        }
        let result = shared.await;
        let label = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!(m::CALLS, "result" => label).increment(1);
        result.map_err(Into::into)
    }
}

/// Ids as the wire carries them (untyped) as the kind the call asked for.
fn typed<T: From<Id>>(ids: Vec<Id>) -> Vec<T> {
    ids.into_iter().map(T::from).collect()
}

fn unexpected(reply: Reply) -> StoreError {
    StoreError::Backend(format!("unexpected reply from the writer: {reply:?}"))
}

#[async_trait]
impl Store for RemoteStore {
    async fn apply(&self, _batch: Vec<Mutation>) -> Result<(), StoreError> {
        Err(StoreError::Config(
            "edges do not apply mutations; writers do".into(),
        ))
    }

    async fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn create_account(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        let call = Call::CreateAccount {
            user: user.clone(),
            hash: password_hash.to_owned(),
        };
        // A write: never coalesced.
        let link = self.links.pick().map_err(StoreError::from)?;
        match link.call(call).await.map_err(StoreError::from)? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn account(&self, _username: &str) -> Result<Option<(User, String)>, StoreError> {
        Err(StoreError::Config(
            "password hashes never leave the writer; edges use check_password".into(),
        ))
    }

    async fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> Option<Result<Option<User>, StoreError>> {
        let call = Call::Login {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        // Never coalesced: two logins with one name may differ in password.
        let checked = async {
            let link = self.links.pick().map_err(StoreError::from)?;
            match link.call(call).await.map_err(StoreError::from)? {
                Reply::User(user) => Ok(user),
                other => Err(unexpected(other)),
            }
        };
        Some(checked.await)
    }

    async fn create_application(&self, app: &Application) -> Result<(), StoreError> {
        self.write(Call::CreateApplication { app: app.clone() })
            .await
    }

    async fn application(&self, id: Id) -> Result<Option<Application>, StoreError> {
        match self.read(Call::Application { id }).await? {
            Reply::Application(app) => Ok(app),
            other => Err(unexpected(other)),
        }
    }

    async fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        self.write(Call::CreateWebhook { hook: hook.clone() }).await
    }

    async fn webhook(&self, id: Id) -> Result<Option<Webhook>, StoreError> {
        match self.read(Call::Webhook { id }).await? {
            Reply::Webhook(hook) => Ok(hook),
            other => Err(unexpected(other)),
        }
    }

    async fn webhooks(
        &self,
        guild: GuildId,
        channel: Option<ChannelId>,
    ) -> Result<Vec<Webhook>, StoreError> {
        match self.read(Call::Webhooks { guild, channel }).await? {
            Reply::Webhooks(hooks) => Ok(hooks),
            other => Err(unexpected(other)),
        }
    }

    async fn delete_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        self.write(Call::DeleteWebhook { hook: hook.clone() }).await
    }

    async fn token_generation(&self, user_id: UserId) -> Result<u64, StoreError> {
        match self.read(Call::TokenGeneration { user_id }).await? {
            Reply::Generation(g) => Ok(g),
            other => Err(unexpected(other)),
        }
    }

    async fn revoke_tokens(
        &self,
        user_id: UserId,
        password_hash: Option<&str>,
    ) -> Result<u64, StoreError> {
        let call = Call::RevokeTokens {
            user_id,
            hash: password_hash.map(str::to_owned),
        };
        // A write: never coalesced.
        let link = self.links.pick().map_err(StoreError::from)?;
        match link.call(call).await.map_err(StoreError::from)? {
            Reply::Generation(g) => Ok(g),
            other => Err(unexpected(other)),
        }
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        match self.read(Call::User { id }).await? {
            Reply::User(u) => Ok(u),
            other => Err(unexpected(other)),
        }
    }

    async fn guild(&self, id: GuildId) -> Result<Option<Guild>, StoreError> {
        match self.read(Call::Guild { id }).await? {
            Reply::Guild(g) => Ok(g),
            other => Err(unexpected(other)),
        }
    }

    async fn guild_channels(&self, guild_id: GuildId) -> Result<Vec<Channel>, StoreError> {
        match self.read(Call::GuildChannels { guild_id }).await? {
            Reply::Channels(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }

    async fn guild_roles(&self, guild_id: GuildId) -> Result<Vec<Role>, StoreError> {
        match self.read(Call::GuildRoles { guild_id }).await? {
            Reply::Roles(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        match self.read(Call::Channel { id }).await? {
            Reply::Channel(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }

    async fn member(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        match self.read(Call::Member { guild_id, user_id }).await? {
            Reply::Member(m) => Ok(m),
            other => Err(unexpected(other)),
        }
    }

    async fn guild_members(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        let call = Call::GuildMembers {
            guild_id,
            after,
            limit,
        };
        match self.read(call).await? {
            Reply::Members(members) => Ok(members),
            other => Err(unexpected(other)),
        }
    }

    async fn user_guilds(&self, user_id: UserId) -> Result<Vec<Id>, StoreError> {
        match self.read(Call::UserGuilds { user_id }).await? {
            Reply::Ids(ids) => Ok(typed(ids)),
            other => Err(unexpected(other)),
        }
    }

    async fn dm_channel(&self, a: UserId, b: UserId) -> Result<Option<ChannelId>, StoreError> {
        match self.read(Call::DmChannel { a, b }).await? {
            Reply::Nonce(id) => Ok(id.map(ChannelId::from)),
            other => Err(unexpected(other)),
        }
    }

    async fn invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        match self
            .read(Call::Invite {
                code: code.to_owned(),
            })
            .await?
        {
            Reply::Invite(i) => Ok(i),
            other => Err(unexpected(other)),
        }
    }

    async fn guild_invites(&self, guild_id: GuildId) -> Result<Vec<Invite>, StoreError> {
        match self.read(Call::GuildInvites { guild_id }).await? {
            Reply::Invites(found) => Ok(found),
            other => Err(unexpected(other)),
        }
    }

    async fn member_count(&self, guild_id: GuildId) -> Result<u64, StoreError> {
        match self.read(Call::MemberCount { guild_id }).await? {
            Reply::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    async fn nonce(&self, user_id: UserId, nonce: &str) -> Result<Option<MessageId>, StoreError> {
        match self
            .read(Call::Nonce {
                user_id,
                nonce: nonce.to_owned(),
            })
            .await?
        {
            Reply::Nonce(n) => Ok(n.map(MessageId::from)),
            other => Err(unexpected(other)),
        }
    }

    async fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let call = Call::Message {
            channel_id,
            message_id,
        };
        match self.read(call).await? {
            Reply::Message(m) => Ok(m.map(|m| *m)),
            other => Err(unexpected(other)),
        }
    }

    async fn mentions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        roles: &[RoleId],
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError> {
        let call = Call::Mentions {
            channel_id,
            user_id,
            roles: roles.to_vec(),
            after,
            limit,
        };
        match self.read(call).await? {
            Reply::Ids(ids) => Ok(typed(ids)),
            other => Err(unexpected(other)),
        }
    }

    async fn read_states(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        match self.read(Call::ReadStates { user_id }).await? {
            Reply::Pairs(p) => Ok(p),
            other => Err(unexpected(other)),
        }
    }

    async fn audit_log(
        &self,
        guild_id: GuildId,
        before: Id,
        limit: usize,
    ) -> Result<Vec<AuditLogEntry>, StoreError> {
        let call = Call::AuditLog {
            guild_id,
            before,
            limit,
        };
        match self.read(call).await? {
            Reply::AuditLog(entries) => Ok(entries),
            other => Err(unexpected(other)),
        }
    }

    async fn bans(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<BanRecord>, StoreError> {
        let call = Call::Bans {
            guild_id,
            after,
            limit,
        };
        match self.read(call).await? {
            Reply::Bans(b) => Ok(b),
            other => Err(unexpected(other)),
        }
    }

    async fn ban(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<BanRecord>, StoreError> {
        match self.read(Call::Ban { guild_id, user_id }).await? {
            Reply::Bans(b) => Ok(b.into_iter().next()),
            other => Err(unexpected(other)),
        }
    }

    async fn pins(&self, channel_id: ChannelId) -> Result<Vec<Message>, StoreError> {
        match self.read(Call::Pins { channel_id }).await? {
            Reply::Messages(m) => Ok(m),
            other => Err(unexpected(other)),
        }
    }

    async fn reactions(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        emoji: &str,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        let call = Call::Reactions {
            channel_id,
            message_id,
            emoji: emoji.to_owned(),
            after,
            limit,
        };
        match self.read(call).await? {
            Reply::Ids(users) => Ok(typed(users)),
            other => Err(unexpected(other)),
        }
    }

    async fn user_reactions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        (first, last): (MessageId, MessageId),
    ) -> Result<Vec<(MessageId, String)>, StoreError> {
        let call = Call::UserReactions {
            channel_id,
            user_id,
            first,
            last,
        };
        match self.read(call).await? {
            Reply::Reacted(found) => Ok(found),
            other => Err(unexpected(other)),
        }
    }

    async fn messages(
        &self,
        channel_id: ChannelId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let call = Call::Messages {
            channel_id,
            cursor: WireCursor::from(cursor),
            limit,
        };
        match self.read(call).await? {
            Reply::Messages(m) => Ok(m),
            other => Err(unexpected(other)),
        }
    }
}
