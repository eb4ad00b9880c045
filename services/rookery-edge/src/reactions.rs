//! Reactions (Discord's rules, unicode emoji only): reacting needs
//! READ_MESSAGE_HISTORY, and ADD_REACTIONS too when nobody has reacted with
//! that emoji yet; removing one's own needs nothing more, removing
//! another's needs MANAGE_MESSAGES; listing who reacted needs
//! READ_MESSAGE_HISTORY. Adding a reaction that exists, or removing one
//! that does not, publishes nothing, so event consumers can count.

use crate::{Applied, Edge, EdgeError};
use rookery_proto::Id;
use rookery_proto::event::{Emoji, Event, ReactionChange};
use rookery_proto::model::User;
use rookery_proto::permissions::Permissions;

/// Longest emoji accepted, in bytes (a family emoji with modifiers is 25).
const MAX_EMOJI_BYTES: usize = 64;

/// Whether `emoji` can be a unicode emoji: short, no whitespace or control
/// characters, and at least one character outside ASCII (keycaps such as
/// "1️⃣" mix an ASCII digit with combining marks). Custom emoji (`name:id`)
/// do not exist here.
pub(crate) fn valid_emoji(emoji: &str) -> bool {
    !emoji.is_empty()
        && emoji.len() <= MAX_EMOJI_BYTES
        && !emoji.is_ascii()
        && !emoji
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':')
}

impl Edge {
    /// Whether `user` reacted to the message with `emoji`.
    async fn reacted(
        &self,
        (channel, message): (Id, Id),
        emoji: &str,
        user: Id,
    ) -> Result<bool, EdgeError> {
        let below = Id(user.0.saturating_sub(1));
        let found = self
            .store
            .reactions(channel, message, emoji, below, 1)
            .await?;
        Ok(found.first() == Some(&user))
    }

    /// Adds the user's reaction.
    pub async fn add_reaction(
        &self,
        user: &User,
        channel: Id,
        message: Id,
        emoji: &str,
    ) -> Result<Applied, EdgeError> {
        if !valid_emoji(emoji) {
            return Err(EdgeError::UnknownEmoji);
        }
        let (c, bits) = self.visible_channel(user.id, channel).await?;
        if !bits.contains(Permissions::READ_MESSAGE_HISTORY) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        self.stored_message(channel, message)
            .await?
            .ok_or(EdgeError::UnknownMessage)?;
        let first = self.store.reactions(channel, message, emoji, Id(0), 1);
        if first.await?.is_empty() && !bits.contains(Permissions::ADD_REACTIONS) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        if self.reacted((channel, message), emoji, user.id).await? {
            return Ok(Applied::Yes);
        }
        let change = reaction(user.id, (c.guild_id, channel, message), emoji);
        self.publish(Event::MessageReactionAdd(change), true).await
    }

    /// Removes `target`'s reaction: one's own, or anyone's with
    /// MANAGE_MESSAGES.
    pub async fn remove_reaction(
        &self,
        user: &User,
        (channel, message): (Id, Id),
        emoji: &str,
        target: Id,
    ) -> Result<Applied, EdgeError> {
        if !valid_emoji(emoji) {
            return Err(EdgeError::UnknownEmoji);
        }
        let (c, bits) = self.visible_channel(user.id, channel).await?;
        if target != user.id && !bits.contains(Permissions::MANAGE_MESSAGES) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        self.stored_message(channel, message)
            .await?
            .ok_or(EdgeError::UnknownMessage)?;
        if !self.reacted((channel, message), emoji, target).await? {
            return Ok(Applied::Yes);
        }
        let change = reaction(target, (c.guild_id, channel, message), emoji);
        self.publish(Event::MessageReactionRemove(change), true)
            .await
    }

    /// Who reacted with `emoji`, by id above `after`, at most `limit`.
    pub async fn reactions(
        &self,
        user: &User,
        (channel, message): (Id, Id),
        emoji: &str,
        (after, limit): (Id, usize),
    ) -> Result<Vec<User>, EdgeError> {
        if !valid_emoji(emoji) {
            return Err(EdgeError::UnknownEmoji);
        }
        let needed = Permissions::READ_MESSAGE_HISTORY;
        self.require_in_channel(user.id, channel, needed).await?;
        self.stored_message(channel, message)
            .await?
            .ok_or(EdgeError::UnknownMessage)?;
        let ids = self.store.reactions(channel, message, emoji, after, limit);
        let mut users = Vec::new();
        for id in ids.await? {
            users.extend(self.store.user(id).await?);
        }
        Ok(users)
    }
}

fn reaction(
    user_id: Id,
    (guild_id, channel_id, message_id): (Id, Id, Id),
    emoji: &str,
) -> ReactionChange {
    ReactionChange {
        user_id,
        channel_id,
        message_id,
        guild_id,
        emoji: Emoji {
            id: None,
            name: emoji.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::valid_emoji;

    #[test]
    fn only_unicode_emoji_are_accepted() {
        for ok in ["👍", "👍🏽", "1️⃣", "👨‍👩‍👧", "🇫🇷"] {
            assert!(valid_emoji(ok), "{ok}");
        }
        for bad in [
            "",
            "abc",
            ":smile:",
            "name:123",
            "👍 👍",
            "\u{0}👍",
            &"👍".repeat(17),
        ] {
            assert!(!valid_emoji(bad), "{bad:?}");
        }
    }
}
