//! Messages: the message object, its reactions as a reader sees them,
//! and the message a reply answers.

use super::{MESSAGE_DEFAULT, User};
use crate::Id;
use crate::event::Emoji;
use crate::{ChannelId, GuildId, MessageId, RoleId, UserId};
use serde::{Deserialize, Serialize};

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    /// Snowflake id; its time part is the creation time.
    pub id: MessageId,
    /// The channel it was posted in.
    pub channel_id: ChannelId,
    /// The guild of that channel; none (left out) in a DM or group DM.
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
    /// Author, as of sending.
    pub author: User,
    /// Text, at most the configured length in characters.
    pub content: String,
    /// The client's idempotency nonce, echoed back.
    #[serde(default)]
    pub nonce: Option<String>,
    /// RFC 3339 creation time (derived from `id`).
    pub timestamp: String,
    /// RFC 3339 time of the last edit, if edited.
    #[serde(default)]
    pub edited_timestamp: Option<String>,
    /// [`MESSAGE_DEFAULT`], or [`MESSAGE_REPLY`] with a `message_reference`.
    #[serde(rename = "type", default)]
    pub kind: u8,
    /// The message this one replies to; left out when none, as Discord does
    /// (its libraries fail on a `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    /// Members mentioned, by id.
    #[serde(default)]
    pub mentions: Vec<User>,
    /// Roles mentioned, by id.
    #[serde(default)]
    pub mention_roles: Vec<RoleId>,
    /// Whether `@everyone` or `@here` mentioned the whole channel.
    #[serde(default)]
    pub mention_everyone: bool,
    /// Whether the message is pinned in its channel.
    #[serde(default)]
    pub pinned: bool,
    /// Reaction counts, by emoji (byte order); left out when there are
    /// none, and in events (see [`Message::count_reaction`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<MessageReaction>,
    /// The webhook that posted it; none (left out) for a user's message.
    #[serde(default)]
    pub webhook_id: Option<Id>,
    /// Whether its author is a bot (an application's bot user, or a
    /// webhook): Discord's `author.bot` in JSON, `author_bot` (left out
    /// when false) in MessagePack.
    #[serde(default)]
    pub author_bot: bool,
}

impl Message {
    /// A plain message: no reply, mentions or pin.
    pub fn new(
        id: MessageId,
        (guild_id, channel_id): (GuildId, ChannelId),
        author: User,
        content: String,
    ) -> Self {
        Message {
            id,
            channel_id,
            guild_id,
            author,
            content,
            nonce: None,
            timestamp: id.timestamp(),
            edited_timestamp: None,
            kind: MESSAGE_DEFAULT,
            message_reference: None,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            mention_everyone: false,
            pinned: false,
            reactions: Vec::new(),
            webhook_id: None,
            author_bot: false,
        }
    }

    /// Its channel's scope (see [`Channel::scope`]).
    pub fn scope(&self) -> Id {
        self.guild_id.or_private(self.channel_id)
    }

    /// Whether the message mentions `user`, who holds `roles`: by name, by
    /// one of the roles, or through `@everyone`.
    pub fn mentions_user(&self, user: UserId, roles: &[RoleId]) -> bool {
        self.mention_everyone
            || self.mentions.iter().any(|u| u.id == user)
            || self.mention_roles.iter().any(|r| roles.contains(r))
    }
}

/// Discord's reaction object: how many reacted to a message with one emoji,
/// and whether the reader did (`me`, false as stored: the edge sets it per
/// reader). Super reactions do not exist here, so the burst fields are
/// always zero, false and empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReaction {
    /// Users who reacted with the emoji.
    pub count: u32,
    /// The count split by kind: all `normal`.
    #[serde(default)]
    pub count_details: CountDetails,
    /// Whether the reader reacted with it.
    #[serde(default)]
    pub me: bool,
    /// Whether the reader super-reacted: never.
    #[serde(default)]
    pub me_burst: bool,
    /// The emoji.
    pub emoji: Emoji,
    /// Super reaction colours: none.
    #[serde(default)]
    pub burst_colors: Vec<String>,
}

/// Discord's reaction count details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountDetails {
    /// Super reactions: always 0.
    pub burst: u32,
    /// Ordinary reactions.
    pub normal: u32,
}

impl MessageReaction {
    fn counted(emoji: &str, count: u32) -> Self {
        MessageReaction {
            count,
            count_details: CountDetails {
                burst: 0,
                normal: count,
            },
            me: false,
            me_burst: false,
            emoji: Emoji {
                id: None,
                name: emoji.to_owned(),
            },
            burst_colors: Vec::new(),
        }
    }
}

impl Message {
    /// Counts one more (`add`) or one fewer reaction with `emoji`; an emoji
    /// whose count reaches zero is dropped. The store calls this only when
    /// a user's reaction actually appears or goes, so counts stay exact
    /// when the bus delivers an event twice.
    pub fn count_reaction(&mut self, emoji: &str, add: bool) {
        let n = self.reaction_count(emoji);
        let n = if add { n + 1 } else { n.saturating_sub(1) };
        self.set_reaction_count(emoji, n);
    }

    /// Sets the count of `emoji` (zero drops it), keeping byte order.
    pub fn set_reaction_count(&mut self, emoji: &str, count: u32) {
        match (self.find_reaction(emoji), count) {
            (Ok(i), 0) => {
                self.reactions.remove(i);
            }
            (Ok(i), n) => self.reactions[i] = MessageReaction::counted(emoji, n),
            (Err(i), n) if n > 0 => self.reactions.insert(i, MessageReaction::counted(emoji, n)),
            (Err(_), _) => {}
        }
    }

    /// The reaction count of `emoji` (0 when nobody reacted with it).
    pub fn reaction_count(&self, emoji: &str) -> u32 {
        self.find_reaction(emoji)
            .map_or(0, |i| self.reactions[i].count)
    }

    /// Where `emoji` is in `reactions`, or where it would go.
    fn find_reaction(&self, emoji: &str) -> Result<usize, usize> {
        self.reactions
            .binary_search_by(|r| r.emoji.name.as_str().cmp(emoji))
    }
}

/// Discord's `message_reference`: the message a reply answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageReference {
    /// The message replied to.
    pub message_id: MessageId,
    /// Its channel (the reply's own).
    pub channel_id: ChannelId,
    /// Its guild; none (left out) in a DM or group DM.
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
}
