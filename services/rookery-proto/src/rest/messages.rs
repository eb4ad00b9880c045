//! Message bodies: posting (with replies and `allowed_mentions`), editing
//! and bulk-deleting.

use crate::{ChannelId, GuildId, MessageId, RoleId, UserId};
use serde::{Deserialize, Serialize};

/// `POST /channels/{id}/messages` (and the gateway's SEND). Discord's other
/// request fields are accepted as its libraries send them, and honoured or
/// ignored; what Rookery cannot do is refused when asked for (a non-empty
/// `embeds`, say): see [`CreateMessage::unsupported`] and `docs/protocol.md`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMessage {
    /// Message text (absent: empty, which is refused as an empty message).
    #[serde(default)]
    pub content: String,
    /// Optional idempotency key (≤ 64 bytes): a repeat returns the first
    /// message. Discord's libraries may send it as an integer.
    #[serde(default, deserialize_with = "string_or_number")]
    pub nonce: Option<String>,
    /// Makes the message a reply to one of the same channel.
    #[serde(default)]
    pub message_reference: Option<ReplyTo>,
    /// Which mentions in the content notify (all that are allowed, if absent).
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// Text to speech: accepted, never spoken.
    #[serde(default)]
    pub tts: bool,
    /// Discord's message flags: accepted, none applies yet.
    #[serde(default)]
    pub flags: u64,
    /// Honoured always: a nonce de-duplicates whether or not this is set.
    #[serde(default)]
    pub enforce_nonce: bool,
    /// Rich embeds: accepted empty, refused otherwise (none yet).
    #[serde(default)]
    pub embeds: Vec<serde_json::Value>,
    /// Buttons and menus: accepted empty, refused otherwise.
    #[serde(default)]
    pub components: Vec<serde_json::Value>,
    /// Files: accepted empty, refused otherwise.
    #[serde(default)]
    pub attachments: Vec<serde_json::Value>,
    /// Stickers: accepted empty, refused otherwise.
    #[serde(default)]
    pub sticker_ids: Vec<serde_json::Value>,
    /// A poll: accepted null, refused otherwise.
    #[serde(default)]
    pub poll: Option<serde_json::Value>,
}

impl CreateMessage {
    /// The first field asked for that Rookery cannot honour.
    pub fn unsupported(&self) -> Option<&'static str> {
        let poll = self.poll.as_ref().is_some_and(|p| !p.is_null());
        first_asked([
            (!self.embeds.is_empty(), "embeds"),
            (!self.components.is_empty(), "components"),
            (!self.attachments.is_empty(), "attachments"),
            (!self.sticker_ids.is_empty(), "sticker_ids"),
            (poll, "poll"),
        ])
    }
}

fn first_asked<const N: usize>(asked: [(bool, &'static str); N]) -> Option<&'static str> {
    asked.into_iter().find(|(on, _)| *on).map(|(_, name)| name)
}

/// A nonce as Discord takes it: a string or an integer.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Nonce {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Nonce>::deserialize(d)?.map(|n| match n {
        Nonce::Text(s) => s,
        Nonce::Number(n) => n.to_string(),
    }))
}

/// A reply's `message_reference` in a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyTo {
    /// The message replied to.
    pub message_id: MessageId,
    /// Its channel: the reply's own, if given.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    /// Its guild: the reply's own, if given.
    #[serde(default)]
    pub guild_id: Option<GuildId>,
    /// Refuse the send when the message is gone (true, the default), or send
    /// it as an ordinary message.
    #[serde(default = "yes")]
    pub fail_if_not_exists: bool,
    /// Discord's reference type: 0, a reply (forwards, 1, are refused).
    #[serde(default, rename = "type")]
    pub kind: u8,
}

fn yes() -> bool {
    true
}

/// Discord's `allowed_mentions`: which of the content's mentions notify.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedMentions {
    /// Kinds parsed from the content in full.
    #[serde(default)]
    pub parse: Vec<MentionKind>,
    /// Users who may be mentioned (at most 100; not with `parse: ["users"]`).
    #[serde(default)]
    pub users: Vec<UserId>,
    /// Roles that may be mentioned (at most 100; not with `parse: ["roles"]`).
    #[serde(default)]
    pub roles: Vec<RoleId>,
    /// Whether a reply mentions the author of the message replied to.
    #[serde(default)]
    pub replied_user: bool,
}

/// A kind of mention in `allowed_mentions.parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MentionKind {
    /// `<@id>` user mentions.
    Users,
    /// `<@&id>` role mentions.
    Roles,
    /// `@everyone` and `@here`.
    Everyone,
}

/// `PATCH /channels/{id}/messages/{message}`, with Discord's other fields
/// taken as for [`CreateMessage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// The new text.
    pub content: String,
    /// Accepted and ignored: an edit keeps the message's mentions.
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// Discord's message flags: accepted, none applies yet.
    #[serde(default)]
    pub flags: u64,
    /// Accepted, never spoken.
    #[serde(default)]
    pub tts: bool,
    /// Rich embeds: accepted empty, refused otherwise (none yet).
    #[serde(default)]
    pub embeds: Vec<serde_json::Value>,
    /// Buttons and menus: accepted empty, refused otherwise.
    #[serde(default)]
    pub components: Vec<serde_json::Value>,
    /// Files: accepted empty, refused otherwise.
    #[serde(default)]
    pub attachments: Vec<serde_json::Value>,
    /// Sent by discord.js on every edit (false): accepted, meaningless
    /// without a nonce.
    #[serde(default)]
    pub enforce_nonce: bool,
}

impl EditMessage {
    /// The first field asked for that Rookery cannot honour.
    pub fn unsupported(&self) -> Option<&'static str> {
        first_asked([
            (!self.embeds.is_empty(), "embeds"),
            (!self.components.is_empty(), "components"),
            (!self.attachments.is_empty(), "attachments"),
        ])
    }
}

/// `POST /channels/{id}/messages/bulk-delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    /// 2 to 100 message ids, none older than 14 days.
    pub messages: Vec<MessageId>,
}
