//! DMs and group DMs: channels outside any guild (Discord's routes under
//! `/users/@me/channels` and `/channels/{id}/recipients`).
//!
//! A private channel is its own scope: its recipients are the scope's
//! members, and messages, reactions, pins, typing and read states take the
//! guild channel's path unchanged, with [`Permissions::PRIVATE_CHANNEL`]
//! for every recipient. Opening one is a CHANNEL_CREATE event: a group
//! DM's is keyed by the channel, as its recipient changes
//! (CHANNEL_RECIPIENT_ADD and _REMOVE) are, so they apply in order; a DM's
//! is keyed by the lower of its two user ids, so two openings of one
//! pair's DM apply in order and the store keeps the first.

use crate::delivery::hub::Scope;
use crate::{Applied, Edge, EdgeError};
use rookery_proto::event::{Event, RecipientChange};
use rookery_proto::model::{CHANNEL_DM, CHANNEL_GROUP_DM, Channel, MAX_GROUP_DM_RECIPIENTS, User};
use rookery_proto::rest::CreatePrivate;
use rookery_proto::{ChannelId, GuildId, UserId};
use std::sync::Arc;

fn group_name(name: Option<String>) -> Result<String, EdgeError> {
    let name = name.unwrap_or_default().trim().to_owned();
    if name.chars().count() > 100 {
        return Err(EdgeError::InvalidBody(
            "name must be at most 100 characters".into(),
        ));
    }
    Ok(name)
}

impl Edge {
    /// Opens a DM with `recipient_id` (the existing one if there is one),
    /// or a group DM with `recipients`; the channel as `user` is shown it.
    pub async fn open_private(
        &self,
        user: &User,
        body: CreatePrivate,
    ) -> Result<(Channel, Applied), EdgeError> {
        let (kind, others, name) = match (body.recipient_id, body.recipients) {
            (Some(other), None) if body.name.is_none() => (CHANNEL_DM, vec![other], String::new()),
            (None, Some(others)) => (CHANNEL_GROUP_DM, others, group_name(body.name)?),
            _ => {
                let why = "give recipient_id (a DM) or recipients and a name (a group DM)";
                return Err(EdgeError::InvalidBody(why.into()));
            }
        };
        let mut recipients = vec![user.clone()];
        for id in others {
            if recipients.iter().any(|u| u.id == id) {
                let why = "recipients must be other users, each once";
                return Err(EdgeError::InvalidBody(why.into()));
            }
            recipients.push(self.store.user(id).await?.ok_or(EdgeError::UnknownUser)?);
        }
        if kind == CHANNEL_GROUP_DM && !(2..=MAX_GROUP_DM_RECIPIENTS).contains(&recipients.len()) {
            let why = format!(
                "recipients must hold 1 to {} users",
                MAX_GROUP_DM_RECIPIENTS - 1
            );
            return Err(EdgeError::InvalidBody(why));
        }
        if kind == CHANNEL_DM
            && let Some(open) = self.dm_with(user.id, recipients[1].id).await?
        {
            return Ok((open.seen_by(user.id), Applied::Yes));
        }
        let channel = Channel {
            id: self.ids.next_id(),
            guild_id: GuildId::NONE,
            name,
            kind,
            position: 0,
            permission_overwrites: Vec::new(),
            rate_limit_per_user: 0,
            recipients,
            owner_id: (kind == CHANNEL_GROUP_DM).then_some(user.id),
        };
        let applied = self
            .publish(Event::ChannelCreate(channel.clone()), true)
            .await?;
        // Two openings of one pair's DM apply in order and the first wins:
        // answer the DM that exists.
        if let (CHANNEL_DM, Applied::Yes) = (kind, applied)
            && let Some(open) = self.dm_with(user.id, channel.recipients[1].id).await?
        {
            return Ok((open.seen_by(user.id), applied));
        }
        Ok((channel.seen_by(user.id), applied))
    }

    /// The DM between two users, if one is open.
    async fn dm_with(
        &self,
        user: UserId,
        other: UserId,
    ) -> Result<Option<Arc<Channel>>, EdgeError> {
        match self.store.dm_channel(user, other).await? {
            Some(id) => Ok(Some(self.hub.perms().channel(id).await?)),
            None => Ok(None),
        }
    }

    async fn private_channels_of(&self, user: UserId) -> Result<Vec<Arc<Channel>>, EdgeError> {
        let mut out = Vec::new();
        for id in self.store.user_guilds(user).await? {
            if let Some(Scope::Private(c)) = self.hub.scope_state(id).await {
                out.push(Arc::new(c));
            }
        }
        Ok(out)
    }

    /// The user's DMs and group DMs, as they are shown them.
    pub async fn private_channels(&self, user: &User) -> Result<Vec<Channel>, EdgeError> {
        let all = self.private_channels_of(user.id).await?;
        Ok(all.iter().map(|c| c.seen_by(user.id)).collect())
    }

    /// A group DM `user` is in.
    async fn group_of(&self, user: UserId, channel: ChannelId) -> Result<Arc<Channel>, EdgeError> {
        let (c, _) = self.visible_channel(user, channel).await?;
        match c.kind {
            CHANNEL_GROUP_DM => Ok(c),
            CHANNEL_DM => Err(EdgeError::DmChannel),
            _ => Err(EdgeError::UnknownChannel),
        }
    }

    /// Adds `target` to a group DM (any recipient may, up to
    /// [`MAX_GROUP_DM_RECIPIENTS`]); adding a recipient is a no-op.
    pub async fn add_recipient(
        &self,
        user: &User,
        channel: ChannelId,
        target: UserId,
    ) -> Result<Applied, EdgeError> {
        let c = self.group_of(user.id, channel).await?;
        if c.recipients.iter().any(|r| r.id == target) {
            return Ok(Applied::Yes);
        }
        let added = self
            .store
            .user(target)
            .await?
            .ok_or(EdgeError::UnknownUser)?;
        if c.recipients.len() >= MAX_GROUP_DM_RECIPIENTS {
            let why = format!("a group DM holds at most {MAX_GROUP_DM_RECIPIENTS} users");
            return Err(EdgeError::InvalidBody(why));
        }
        let change = RecipientChange {
            channel_id: channel,
            user: added,
        };
        self.publish(Event::ChannelRecipientAdd(change), true).await
    }

    /// Removes `target` from a group DM: the owner may remove anyone, and
    /// every recipient may leave (`DELETE /channels/{id}` is a leave).
    pub async fn remove_recipient(
        &self,
        user: &User,
        channel: ChannelId,
        target: UserId,
    ) -> Result<Applied, EdgeError> {
        let c = self.group_of(user.id, channel).await?;
        let removed = c.recipients.iter().find(|r| r.id == target);
        let removed = removed.ok_or(EdgeError::UnknownUser)?.clone();
        if target != user.id && c.owner_id != Some(user.id) {
            return Err(EdgeError::MissingPermissions(
                "only the owner removes others",
            ));
        }
        let change = RecipientChange {
            channel_id: channel,
            user: removed,
        };
        self.publish(Event::ChannelRecipientRemove(change), true)
            .await
    }
}
