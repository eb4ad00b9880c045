//! Typing indicators: `POST /channels/{id}/typing` publishes TYPING_START
//! on the ephemeral topic, to the channel's viewers. It needs SEND_MESSAGES
//! there (so a timed-out member cannot), as in Discord. Never stored.

use crate::{Edge, EdgeError};
use rookery_proto::ChannelId;
use rookery_proto::event::{Event, TypingStart};
use rookery_proto::model::User;
use rookery_proto::permissions::Permissions;

impl Edge {
    /// `user` started typing in `channel`.
    pub async fn typing(&self, user: &User, channel: ChannelId) -> Result<(), EdgeError> {
        let needed = Permissions::SEND_MESSAGES;
        let c = self.require_in_channel(user.id, channel, needed).await?;
        let typing = TypingStart {
            channel_id: channel,
            guild_id: c.guild_id,
            user_id: user.id,
            timestamp: rookery_proto::id::now_ms() / 1000,
        };
        let env = self.envelope(Event::TypingStart(typing), None);
        self.publish_ephemeral(&env).await?;
        Ok(())
    }
}
