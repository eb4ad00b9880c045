//! Reactions (Discord's rules, unicode emoji only): reacting needs
//! READ_MESSAGE_HISTORY, and ADD_REACTIONS too when nobody has reacted with
//! that emoji yet (a message takes at most [`MAX_REACTION_EMOJI`] distinct
//! emoji); removing one's own needs nothing more, removing another's needs
//! MANAGE_MESSAGES, and so does removing all of a message's reactions (or
//! one emoji's); listing who reacted needs READ_MESSAGE_HISTORY. Adding
//! a reaction that exists, or removing one that does not, publishes
//! nothing, so event consumers can count.
//!
//! Messages read over REST carry their reaction counts, with `me` set for
//! the reader by [`Edge::mark_mine`].

use crate::{Applied, Edge, EdgeError};
use rookery_proto::event::{Emoji, Event, ReactionChange, ReactionsRemoved};
use rookery_proto::model::{Message, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::{ChannelId, GuildId, MessageId, UserId};
use std::collections::HashSet;

/// Longest emoji accepted, in bytes (a family emoji with modifiers is 25).
const MAX_EMOJI_BYTES: usize = 64;

/// Distinct emoji per message (Discord's limit). Checked against the stored
/// counts, so reactions with new emoji racing each other may pass it by
/// the few in flight.
pub const MAX_REACTION_EMOJI: usize = 20;

/// Whether `emoji` can be a unicode emoji: short, no whitespace or control
/// characters, and at least one character outside ASCII (keycaps such as
/// "1️⃣" mix an ASCII digit with combining marks). Custom emoji (`name:id`)
/// do not exist here.
pub(crate) fn valid_emoji(emoji: &str) -> bool {
    if emoji.is_empty() || emoji.len() > MAX_EMOJI_BYTES {
        return false;
    }
    // Unicode's list, skin tones included; with or without the emoji
    // presentation selector, as clients send both.
    let bare = emoji.trim_end_matches('\u{fe0f}');
    emojis::get(emoji).is_some()
        || emojis::get(bare).is_some()
        || emojis::get(&format!("{bare}\u{fe0f}")).is_some()
}

impl Edge {
    /// Whether `user` reacted to the message with `emoji`.
    async fn reacted(
        &self,
        (channel, message): (ChannelId, MessageId),
        emoji: &str,
        user: UserId,
    ) -> Result<bool, EdgeError> {
        let below = UserId(user.0.saturating_sub(1));
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
        channel: ChannelId,
        message: MessageId,
        emoji: &str,
    ) -> Result<Applied, EdgeError> {
        if !valid_emoji(emoji) {
            return Err(EdgeError::UnknownEmoji);
        }
        let (c, bits) = self.visible_channel(user.id, channel).await?;
        if !bits.contains(Permissions::READ_MESSAGE_HISTORY) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        if !c.is_private() && self.timed_out(c.guild_id, user.id).await? {
            // Even an existing reaction, which needs no ADD_REACTIONS.
            return Err(EdgeError::MissingPermissions("while timed out"));
        }
        let found = self.stored_message(channel, message).await?;
        let found = found.ok_or(EdgeError::UnknownMessage)?;
        if found.reaction_count(emoji) == 0 {
            if !bits.contains(Permissions::ADD_REACTIONS) {
                return Err(EdgeError::MissingPermissions("in this channel"));
            }
            if found.reactions.len() >= MAX_REACTION_EMOJI {
                return Err(EdgeError::MaxReactions(MAX_REACTION_EMOJI));
            }
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
        (channel, message): (ChannelId, MessageId),
        emoji: &str,
        target: UserId,
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

    /// Removes every reaction on a message, or (with `emoji`) every one
    /// with that emoji: MANAGE_MESSAGES, as on Discord. Nothing to remove
    /// publishes nothing.
    pub async fn clear_reactions(
        &self,
        user: &User,
        (channel, message): (ChannelId, MessageId),
        emoji: Option<&str>,
    ) -> Result<Applied, EdgeError> {
        if emoji.is_some_and(|e| !valid_emoji(e)) {
            return Err(EdgeError::UnknownEmoji);
        }
        let needed = Permissions::MANAGE_MESSAGES;
        let c = self.require_in_channel(user.id, channel, needed).await?;
        let found = self.stored_message(channel, message).await?;
        let found = found.ok_or(EdgeError::UnknownMessage)?;
        let removed = ReactionsRemoved {
            channel_id: channel,
            message_id: message,
            guild_id: c.guild_id,
            emoji: emoji.map(|name| Emoji {
                id: None,
                name: name.to_owned(),
            }),
        };
        let event = match emoji {
            Some(e) if found.reaction_count(e) == 0 => return Ok(Applied::Yes),
            Some(_) => Event::MessageReactionRemoveEmoji(removed),
            None if found.reactions.is_empty() => return Ok(Applied::Yes),
            None => Event::MessageReactionRemoveAll(removed),
        };
        self.publish(event, true).await
    }

    /// Who reacted with `emoji`, by id above `after`, at most `limit`.
    pub async fn reactions(
        &self,
        user: &User,
        (channel, message): (ChannelId, MessageId),
        emoji: &str,
        (after, limit): (UserId, usize),
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

    /// Sets `me` on the reactions of one channel's `messages` for `reader`,
    /// from one read of the reader's reactions over their id range; no read
    /// when none of them has a reaction.
    pub(crate) async fn mark_mine(
        &self,
        reader: UserId,
        channel: ChannelId,
        messages: &mut [Message],
    ) -> Result<(), EdgeError> {
        let reacted = messages.iter().filter(|m| !m.reactions.is_empty());
        let ids = reacted.map(|m| m.id);
        let (Some(first), Some(last)) = (ids.clone().min(), ids.max()) else {
            return Ok(());
        };
        let found = self.store.user_reactions(channel, reader, (first, last));
        let found = found.await?;
        let mine: HashSet<(MessageId, &str)> =
            found.iter().map(|(m, e)| (*m, e.as_str())).collect();
        for m in messages {
            for r in &mut m.reactions {
                r.me = mine.contains(&(m.id, r.emoji.name.as_str()));
            }
        }
        Ok(())
    }
}

fn reaction(
    user_id: UserId,
    (guild_id, channel_id, message_id): (GuildId, ChannelId, MessageId),
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
        kind: 0,
        burst: false,
    }
}

#[cfg(test)]
mod tests {
    use super::valid_emoji;

    #[test]
    fn only_unicode_emoji_are_accepted() {
        for ok in ["👍", "👍🏽", "1️⃣", "👨‍👩‍👧", "🇫🇷", "❤", "❤\u{fe0f}"]
        {
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
            "👍👍",
            "é",
            "\u{200b}",
            "ß\u{301}",
            "\u{1f9ff}\u{1f9ff}",
        ] {
            assert!(!valid_emoji(bad), "{bad:?}");
        }
    }
}
