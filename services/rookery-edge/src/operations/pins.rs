//! Pins (Discord's rules): listing needs READ_MESSAGE_HISTORY; pinning and
//! unpinning need MANAGE_MESSAGES (in a DM or group DM, any recipient may);
//! a channel holds at most [`MAX_PINS`].
//! Each change is a CHANNEL_PINS_UPDATE on the channel's partition, after
//! the message's MESSAGE_CREATE; a pin of a message deleted meanwhile
//! changes nothing.

use crate::{Applied, Edge, EdgeError};
use rookery_proto::event::{Event, PinsUpdate};
use rookery_proto::id::{format_timestamp, now_ms};
use rookery_proto::model::{Message, User, audit_action};
use rookery_proto::permissions::Permissions;
use rookery_proto::{ChannelId, MessageId};

/// Pins per channel (Discord's limit).
pub const MAX_PINS: usize = 50;

impl Edge {
    /// A channel's pinned messages, newest first.
    pub async fn pins(&self, user: &User, channel: ChannelId) -> Result<Vec<Message>, EdgeError> {
        let needed = Permissions::READ_MESSAGE_HISTORY;
        self.require_in_channel(user.id, channel, needed).await?;
        let mut pins = self.store.pins(channel).await?;
        self.mark_mine(user.id, channel, &mut pins).await?;
        Ok(pins)
    }

    /// Pins (`pinned`) or unpins a message; doing either twice is a no-op.
    pub async fn set_pin(
        &self,
        user: &User,
        channel: ChannelId,
        message: MessageId,
        pinned: bool,
    ) -> Result<Applied, EdgeError> {
        let (c, bits) = self.visible_channel(user.id, channel).await?;
        // In a DM or group DM anyone may pin, as in Discord.
        if !c.is_private() && !bits.contains(Permissions::MANAGE_MESSAGES) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        let found = self.stored_message(channel, message).await?;
        let found = found.ok_or(EdgeError::UnknownMessage)?;
        if found.pinned == pinned {
            return Ok(Applied::Yes);
        }
        if pinned && self.store.pins(channel).await?.len() >= MAX_PINS {
            return Err(EdgeError::MaxPins(MAX_PINS));
        }
        let update = PinsUpdate {
            guild_id: c.guild_id,
            channel_id: channel,
            message_id: message,
            pinned,
            last_pin_timestamp: pinned.then(|| format_timestamp(now_ms())),
        };
        let action = match pinned {
            true => audit_action::MESSAGE_PIN,
            false => audit_action::MESSAGE_UNPIN,
        };
        let event = Event::ChannelPinsUpdate(update);
        if c.is_private() {
            // Audit logs are a guild's.
            return self.publish(event, true).await;
        }
        let by = (user.id, action, Some(message));
        self.publish_by(event, by).await
    }
}
