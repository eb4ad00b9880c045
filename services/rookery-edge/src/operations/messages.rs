//! Reading one message, editing, deleting and bulk-deleting (Discord's
//! rules). Each change is an event on the channel's partition, after the
//! message's MESSAGE_CREATE, and reaches the sessions that can see the
//! channel.
//!
//! - Reading needs VIEW_CHANNEL and READ_MESSAGE_HISTORY; editing, being
//!   the author (and seeing the channel); deleting, being the author or
//!   holding MANAGE_MESSAGES in the channel.
//! - Bulk delete: MANAGE_MESSAGES, 2 to 100 distinct ids, none older than
//!   14 days (Discord's limits); ids of messages that do not exist are
//!   skipped.

use crate::{Applied, Edge, EdgeError};
use rookery_proto::event::{Event, MessageDelete, MessageDeleteBulk};
use rookery_proto::id::{format_timestamp, now_ms};
use rookery_proto::model::{Message, User, audit_action};
use rookery_proto::permissions::Permissions;
use rookery_proto::{ChannelId, MessageId};
use std::collections::HashSet;
use std::slice;

/// Bulk deletes reach back at most this far.
const BULK_DELETE_MAX_AGE_MS: u64 = 14 * 24 * 3600 * 1000;

impl Edge {
    /// A stored message, if it exists.
    pub(crate) async fn stored_message(
        &self,
        channel: ChannelId,
        id: MessageId,
    ) -> Result<Option<Message>, EdgeError> {
        Ok(self.store.message(channel, id).await?)
    }

    async fn find_message(&self, channel: ChannelId, id: MessageId) -> Result<Message, EdgeError> {
        let found = self.stored_message(channel, id).await?;
        found.ok_or(EdgeError::UnknownMessage)
    }

    /// One message of a channel whose history the user may read.
    pub async fn message(
        &self,
        user: &User,
        channel: ChannelId,
        id: MessageId,
    ) -> Result<Message, EdgeError> {
        let needed = Permissions::READ_MESSAGE_HISTORY;
        self.require_in_channel(user.id, channel, needed).await?;
        let mut message = self.find_message(channel, id).await?;
        self.mark_mine(user.id, channel, slice::from_mut(&mut message))
            .await?;
        Ok(message)
    }

    /// Replaces the text of one's own message.
    pub async fn edit_message(
        &self,
        user: &User,
        channel: ChannelId,
        id: MessageId,
        content: String,
    ) -> Result<(Message, Applied), EdgeError> {
        self.check_content(&content)?;
        self.visible_channel(user.id, channel).await?;
        let mut message = self.find_message(channel, id).await?;
        if message.author.id != user.id {
            return Err(EdgeError::NotAuthor);
        }
        let applied = self.publish_edit(&mut message, content).await?;
        self.mark_mine(user.id, channel, slice::from_mut(&mut message))
            .await?;
        Ok((message, applied))
    }

    /// Gives `message` its new text and edit time, and publishes the edit.
    pub(crate) async fn publish_edit(
        &self,
        message: &mut Message,
        content: String,
    ) -> Result<Applied, EdgeError> {
        message.content = content;
        message.edited_timestamp = Some(format_timestamp(now_ms()));
        // The event goes to every viewer, so it carries no reader's `me`:
        // no reactions at all (clients keep the ones they have).
        let event = Message {
            reactions: Vec::new(),
            ..message.clone()
        };
        self.publish(Event::MessageUpdate(event), true).await
    }

    /// Deletes one's own message, or anyone's with MANAGE_MESSAGES.
    pub async fn delete_message(
        &self,
        user: &User,
        channel: ChannelId,
        id: MessageId,
    ) -> Result<Applied, EdgeError> {
        let (c, bits) = self.visible_channel(user.id, channel).await?;
        let message = self.find_message(channel, id).await?;
        if message.author.id != user.id && !bits.contains(Permissions::MANAGE_MESSAGES) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        let event = Event::MessageDelete(MessageDelete {
            id,
            channel_id: channel,
            guild_id: c.guild_id,
        });
        if message.author.id == user.id {
            return self.publish(event, true).await;
        }
        // A moderator's delete is audited, with the author as the target
        // (as Discord records it).
        let by = (
            user.id,
            audit_action::MESSAGE_DELETE,
            Some(message.author.id),
        );
        self.publish_by(event, by).await
    }

    /// Deletes 2 to 100 recent messages (MANAGE_MESSAGES).
    pub async fn bulk_delete(
        &self,
        user: &User,
        channel: ChannelId,
        ids: Vec<MessageId>,
    ) -> Result<Applied, EdgeError> {
        let c = self
            .require_in_channel(user.id, channel, Permissions::MANAGE_MESSAGES)
            .await?;
        let ids = bulk_ids(ids, now_ms())?;
        let event = MessageDeleteBulk {
            ids,
            channel_id: channel,
            guild_id: c.guild_id,
        };
        let by = (user.id, audit_action::MESSAGE_BULK_DELETE, Some(channel));
        self.publish_by(Event::MessageDeleteBulk(event), by).await
    }
}

/// The ids of a bulk delete, checked against Discord's limits.
fn bulk_ids(ids: Vec<MessageId>, now: u64) -> Result<Vec<MessageId>, EdgeError> {
    let distinct: HashSet<MessageId> = ids.iter().copied().collect();
    if distinct.len() != ids.len() || !(2..=100).contains(&ids.len()) {
        return Err(EdgeError::InvalidBody(
            "messages must be 2 to 100 distinct ids".into(),
        ));
    }
    if ids
        .iter()
        .any(|id| id.unix_ms() + BULK_DELETE_MAX_AGE_MS < now)
    {
        return Err(EdgeError::InvalidBody(
            "you can only bulk delete messages that are under 14 days old".into(),
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::Id;
    use rookery_proto::MessageId;

    #[test]
    fn bulk_deletes_take_2_to_100_distinct_recent_ids() {
        let now = now_ms();
        let recent = |n: u64| Id::floor_of_ms(now - 1_000).0 + n;
        let ids = |v: Vec<u64>| v.into_iter().map(MessageId).collect::<Vec<_>>();
        assert!(bulk_ids(ids(vec![recent(1), recent(2)]), now).is_ok());
        assert!(bulk_ids(ids(vec![recent(1)]), now).is_err());
        assert!(bulk_ids(ids(vec![recent(1), recent(1)]), now).is_err());
        assert!(bulk_ids(ids((1..=101).map(recent).collect()), now).is_err());
        let old = Id::floor_of_ms(now - BULK_DELETE_MAX_AGE_MS - 60_000).0;
        assert!(bulk_ids(ids(vec![recent(1), old]), now).is_err());
    }
}
