//! The operations REST and the gateway share: validate, check access,
//! mint ids, publish the event, and (for REST) wait until it is applied.

use crate::access::perms::GuildAccess;
use crate::{Edge, EdgeError};
use rookery_bus::Record;
use rookery_proto::Id;
use rookery_proto::event::{Audit, AuditChange, Envelope, Event, GuildCreate, SCHEMA_VERSION};
use rookery_proto::model::{
    Channel, Guild, GuildState, MAX_SLOW_MODE_SECS, Member, Message, Role, User, audit_action,
};
use rookery_proto::permissions::Permissions;
use rookery_proto::rest::ChannelParams;
use rookery_proto::{ChannelId, GuildId, UserId};
use rookery_store::Cursor;
use std::sync::Arc;

/// Whether a published change was applied before the call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied: reads see it (REST answers 200).
    Yes,
    /// Durable on the bus but not yet applied within the timeout (REST 202).
    Pending,
}

pub(crate) fn name_of(field: &str, value: &str) -> Result<String, EdgeError> {
    let name = value.trim();
    let shown = rookery_proto::text::visible(name);
    if !shown || name.chars().count() > 100 {
        return Err(EdgeError::InvalidBody(format!(
            "{field} must be 1 to 100 characters, not all of them invisible"
        )));
    }
    if let Some(c) = rookery_proto::text::name_control(name) {
        let why = format!(
            "{field} must not contain control characters (U+{:04X})",
            c as u32
        );
        return Err(EdgeError::InvalidBody(why));
    }
    Ok(name.to_owned())
}

impl Edge {
    /// Publishes `event`; with `wait`, returns once it is applied or the
    /// apply timeout passed.
    pub(crate) async fn publish(&self, event: Event, wait: bool) -> Result<Applied, EdgeError> {
        self.publish_audited(event, None, wait).await
    }

    /// Publishes a change the guild's audit log records, made by `user`.
    pub(crate) async fn publish_by(
        &self,
        event: Event,
        by: (UserId, u8, Option<impl Into<Id>>),
    ) -> Result<Applied, EdgeError> {
        self.publish_changes(event, by, Vec::new()).await
    }

    /// As [`Edge::publish_by`], recording what changed field by field.
    pub(crate) async fn publish_changes(
        &self,
        event: Event,
        (user, action_type, target_id): (UserId, u8, Option<impl Into<Id>>),
        changes: Vec<AuditChange>,
    ) -> Result<Applied, EdgeError> {
        let audit = Audit {
            user_id: user,
            action_type,
            target_id: target_id.map(Into::into),
            reason: None,
            changes,
        };
        self.publish_audited(event, Some(audit), true).await
    }

    /// Publishes a change the guild's audit log records (`audit`).
    pub(crate) async fn publish_audited(
        &self,
        event: Event,
        audit: Option<Audit>,
        wait: bool,
    ) -> Result<Applied, EdgeError> {
        let env = self.envelope(event, audit);
        let id = env.id;
        let applied = wait.then(|| self.hub.wait_applied(id));
        if let Err(e) = self
            .bus
            .publish(Record {
                key: env.event.key(),
                payload: env.to_bytes(),
            })
            .await
        {
            self.hub.forget_waiter(id);
            return Err(e.into());
        }
        let Some(applied) = applied else {
            return Ok(Applied::Pending);
        };
        match tokio::time::timeout(self.config.apply_timeout, applied).await {
            Ok(Ok(())) => Ok(Applied::Yes),
            _ => {
                self.hub.forget_waiter(id);
                Ok(Applied::Pending)
            }
        }
    }

    /// An event from this edge with a fresh id, stamped now.
    pub(crate) fn envelope(&self, event: Event, audit: Option<Audit>) -> Envelope {
        Envelope {
            v: SCHEMA_VERSION,
            id: self.ids.next_id(),
            ts: rookery_proto::id::now_ms(),
            origin: self.config.worker_id,
            event,
            audit,
        }
    }

    /// Creates a guild owned by `owner`, with a `general` text channel.
    pub async fn create_guild(
        &self,
        owner: &User,
        name: &str,
    ) -> Result<(GuildState, Applied), EdgeError> {
        let name = name_of("name", name)?;
        let id: GuildId = self.ids.next_id();
        let general = Channel::guild_text(self.ids.next_id(), id, "general", 0);
        let everyone = Role {
            id: id.everyone(),
            name: "@everyone".into(),
            color: 0,
            hoist: false,
            position: 0,
            permissions: Permissions::DEFAULT_EVERYONE,
            mentionable: false,
        };
        let guild = GuildState {
            id,
            name,
            owner_id: owner.id,
            channels: vec![general],
            roles: vec![everyone],
        };
        let event = Event::GuildCreate(GuildCreate {
            guild: guild.clone(),
            owner: owner.clone(),
        });
        let applied = self.publish(event, true).await?;
        Ok((guild, applied))
    }

    /// Creates a text channel (MANAGE_CHANNELS).
    pub async fn create_channel(
        &self,
        user: &User,
        guild_id: GuildId,
        name: &str,
    ) -> Result<(Channel, Applied), EdgeError> {
        let name = name_of("name", name)?;
        self.require_base(guild_id, user.id, Permissions::MANAGE_CHANNELS)
            .await?;
        let position = self
            .store
            .guild_channels(guild_id)
            .await?
            .iter()
            .map(|c| c.position + 1)
            .max()
            .unwrap_or(0);
        let channel = Channel::guild_text(self.ids.next_id(), guild_id, name, position);
        let by = (user.id, audit_action::CHANNEL_CREATE, Some(channel.id));
        let applied = self
            .publish_by(Event::ChannelCreate(channel.clone()), by)
            .await?;
        Ok((channel, applied))
    }

    /// Renames a channel or sets its slow mode (MANAGE_CHANNELS in it);
    /// absent fields are kept. CHANNEL_UPDATE carries the whole channel.
    pub async fn update_channel(
        &self,
        user: &User,
        channel: ChannelId,
        p: ChannelParams,
    ) -> Result<(Channel, Applied), EdgeError> {
        let name = p.name.as_deref().map(|n| name_of("name", n)).transpose()?;
        if p.rate_limit_per_user
            .is_some_and(|r| r > MAX_SLOW_MODE_SECS)
        {
            let why = format!("rate_limit_per_user must be 0 to {MAX_SLOW_MODE_SECS}");
            return Err(EdgeError::InvalidBody(why));
        }
        let needed = Permissions::MANAGE_CHANNELS;
        let before = self.require_in_channel(user.id, channel, needed).await?;
        let mut updated = (*before).clone();
        updated.name = name.unwrap_or(updated.name);
        updated.rate_limit_per_user = p.rate_limit_per_user.unwrap_or(updated.rate_limit_per_user);
        let changes = [
            AuditChange::of("name", &before.name, &updated.name),
            AuditChange::of(
                "rate_limit_per_user",
                &before.rate_limit_per_user,
                &updated.rate_limit_per_user,
            ),
        ];
        let by = (user.id, audit_action::CHANNEL_UPDATE, Some(channel));
        let event = Event::ChannelUpdate(updated.clone());
        let applied = self
            .publish_changes(event, by, changes.into_iter().flatten().collect())
            .await?;
        Ok((updated, applied))
    }

    /// Deletes a guild channel (MANAGE_CHANNELS in it), or leaves a group
    /// DM; answers the channel as it was.
    pub async fn delete_channel(
        &self,
        user: &User,
        channel: ChannelId,
    ) -> Result<(Channel, Applied), EdgeError> {
        let c = self.hub.perms().channel(channel).await?;
        if c.is_private() {
            let applied = self.remove_recipient(user, channel, user.id).await?;
            return Ok((c.seen_by(user.id), applied));
        }
        let needed = Permissions::MANAGE_CHANNELS;
        let c = self.require_in_channel(user.id, channel, needed).await?;
        let by = (user.id, audit_action::CHANNEL_DELETE, Some(channel));
        let applied = self
            .publish_by(Event::ChannelDelete((*c).clone()), by)
            .await?;
        Ok(((*c).clone(), applied))
    }

    /// The user's guilds.
    pub async fn user_guilds(&self, user: &User) -> Result<Vec<Guild>, EdgeError> {
        let mut out = Vec::new();
        for id in self.store.user_guilds(user.id).await? {
            out.extend(self.store.guild(GuildId::from(id)).await?);
        }
        Ok(out)
    }

    /// A page of history of a channel the user can see; empty without
    /// READ_MESSAGE_HISTORY (as Discord answers).
    pub async fn history(
        &self,
        user: &User,
        channel_id: ChannelId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Vec<Message>, EdgeError> {
        let (_, bits) = self.visible_channel(user.id, channel_id).await?;
        if !bits.contains(Permissions::READ_MESSAGE_HISTORY) {
            return Ok(Vec::new());
        }
        let mut page = self.store.messages(channel_id, cursor, limit).await?;
        self.mark_mine(user.id, channel_id, &mut page).await?;
        Ok(page)
    }

    /// A channel the user can see, with the user's permissions in it.
    pub(crate) async fn visible_channel(
        &self,
        user: UserId,
        channel: ChannelId,
    ) -> Result<(Arc<Channel>, Permissions), EdgeError> {
        let (c, bits) = self.hub.perms().in_channel(user, channel).await?;
        if !bits.contains(Permissions::VIEW_CHANNEL) {
            return Err(EdgeError::MissingAccess);
        }
        Ok((c, bits))
    }

    /// A channel the user can see and has `needed` in.
    pub(crate) async fn require_in_channel(
        &self,
        user: UserId,
        channel: ChannelId,
        needed: Permissions,
    ) -> Result<Arc<Channel>, EdgeError> {
        let (c, bits) = self.visible_channel(user, channel).await?;
        if !bits.contains(needed) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        Ok(c)
    }

    /// Whether the member is timed out now.
    pub(crate) async fn timed_out(&self, guild: GuildId, user: UserId) -> Result<bool, EdgeError> {
        let (_, member) = self.hub.perms().in_guild(guild, user).await?;
        let now = rookery_proto::id::now_ms();
        Ok(member.timed_out_until(now).is_some())
    }

    /// The user's guild-wide permissions, which must include `needed`.
    pub(crate) async fn require_base(
        &self,
        guild: GuildId,
        user: UserId,
        needed: Permissions,
    ) -> Result<(Arc<GuildAccess>, Arc<Member>, Permissions), EdgeError> {
        let (access, member) = self.hub.perms().in_guild(guild, user).await?;
        let mut base = access.base(&member);
        if member
            .timed_out_until(rookery_proto::id::now_ms())
            .is_some()
        {
            let reading = Permissions::VIEW_CHANNEL.union(Permissions::READ_MESSAGE_HISTORY);
            base = Permissions(base.0 & reading.0);
        }
        if !base.contains(needed) {
            return Err(EdgeError::MissingPermissions("in this guild"));
        }
        Ok((access, member, base))
    }
}
