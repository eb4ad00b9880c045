//! Incoming webhooks (Discord's type 1): a secret URL of a guild channel
//! that posts messages without an account. Its messages carry its id as
//! `author.id` and `webhook_id`, and its name (or the executor's
//! `username`) as the author's name.

use crate::Id;
use crate::UserId;
use crate::model::User;
use crate::rest::AllowedMentions;
use crate::{ChannelId, GuildId};
use serde::{Deserialize, Serialize};

/// Discord's webhook type of an incoming webhook.
pub const WEBHOOK_INCOMING: u8 = 1;
/// Most webhooks in one channel (Discord's 15).
pub const MAX_WEBHOOKS_PER_CHANNEL: usize = 15;
/// Longest webhook name, and author name given on execution (Discord's 80).
pub const MAX_WEBHOOK_NAME_CHARS: usize = 80;

/// A webhook as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Webhook {
    /// Snowflake id.
    pub id: Id,
    /// The channel's guild.
    pub guild_id: GuildId,
    /// Where it posts.
    pub channel_id: ChannelId,
    /// The author name of its messages.
    pub name: String,
    /// The secret in its URL.
    pub token: String,
    /// Who made it.
    pub creator: User,
}

/// Discord's webhook object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookObject {
    /// Snowflake id.
    pub id: Id,
    /// Always [`WEBHOOK_INCOMING`].
    #[serde(rename = "type")]
    pub kind: u8,
    /// The channel's guild.
    pub guild_id: GuildId,
    /// Where it posts.
    pub channel_id: ChannelId,
    /// Its name.
    pub name: String,
    /// No avatars here: null.
    pub avatar: Option<String>,
    /// Not an application's: null.
    pub application_id: Option<Id>,
    /// The secret: shown to those who may manage it, left out for a
    /// caller who already holds it in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Who made it; left out on the token routes, as Discord does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

impl Webhook {
    /// The object a manager sees (`manager`), or one holding the URL.
    pub fn object(&self, manager: bool) -> WebhookObject {
        WebhookObject {
            id: self.id,
            kind: WEBHOOK_INCOMING,
            guild_id: self.guild_id,
            channel_id: self.channel_id,
            name: self.name.clone(),
            avatar: None,
            application_id: None,
            token: manager.then(|| self.token.clone()),
            user: manager.then(|| self.creator.clone()),
        }
    }

    /// The author its messages carry: its id, under `name` or its own.
    pub fn author(&self, name: Option<&str>) -> User {
        User {
            id: UserId::from(self.id),
            username: name.unwrap_or(&self.name).to_owned(),
        }
    }
}

/// `POST /channels/{id}/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// 1 to [`MAX_WEBHOOK_NAME_CHARS`] characters.
    pub name: String,
    /// Avatars do not exist here: only null (or absent) is accepted.
    #[serde(default)]
    pub avatar: Option<String>,
}

/// `POST /webhooks/{id}/{token}`: a message, with Discord's fields as for
/// [`crate::rest::CreateMessage`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteWebhook {
    /// Message text.
    #[serde(default)]
    pub content: String,
    /// The author name of this message instead of the webhook's.
    #[serde(default)]
    pub username: Option<String>,
    /// Accepted and ignored: no avatars here.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Accepted, never spoken.
    #[serde(default)]
    pub tts: bool,
    /// Discord's message flags: accepted, none applies.
    #[serde(default)]
    pub flags: u64,
    /// Which mentions notify.
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// Rich embeds: accepted empty, refused otherwise.
    #[serde(default)]
    pub embeds: Vec<serde_json::Value>,
    /// Buttons and menus: accepted empty, refused otherwise.
    #[serde(default)]
    pub components: Vec<serde_json::Value>,
    /// Files: accepted empty, refused otherwise.
    #[serde(default)]
    pub attachments: Vec<serde_json::Value>,
}

impl ExecuteWebhook {
    /// The first field asked for that Rookery cannot honour.
    pub fn unsupported(&self) -> Option<&'static str> {
        [
            (!self.embeds.is_empty(), "embeds"),
            (!self.components.is_empty(), "components"),
            (!self.attachments.is_empty(), "attachments"),
        ]
        .into_iter()
        .find_map(|(asked, name)| asked.then_some(name))
    }
}

/// `PATCH /webhooks/{id}` (and, without `channel_id`, `PATCH
/// /webhooks/{id}/{token}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyWebhook {
    /// A new name, 1 to [`MAX_WEBHOOK_NAME_CHARS`] characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Avatars do not exist here: only null (or absent).
    #[serde(default)]
    pub avatar: Option<String>,
    /// Only its own channel: moving a webhook is not built.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
}

/// `PATCH /webhooks/{id}/{token}/messages/{message}`: Discord's fields, as
/// for an execution; an edit keeps the message's mentions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditWebhookMessage {
    /// The new text; absent keeps it.
    #[serde(default)]
    pub content: Option<String>,
    /// Accepted and ignored: an edit keeps the message's mentions.
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// Discord's message flags: accepted, none applies.
    #[serde(default)]
    pub flags: Option<u64>,
    /// Accepted empty (or null).
    #[serde(default)]
    pub embeds: Option<Vec<serde_json::Value>>,
    /// Accepted empty (or null).
    #[serde(default)]
    pub components: Option<Vec<serde_json::Value>>,
    /// Accepted empty (or null).
    #[serde(default)]
    pub attachments: Option<Vec<serde_json::Value>>,
}

impl EditWebhookMessage {
    /// The first field asked for that Rookery cannot honour.
    pub fn unsupported(&self) -> Option<&'static str> {
        let filled = |v: &Option<Vec<serde_json::Value>>| v.as_ref().is_some_and(|v| !v.is_empty());
        [
            (filled(&self.embeds), "embeds"),
            (filled(&self.components), "components"),
            (filled(&self.attachments), "attachments"),
        ]
        .into_iter()
        .find_map(|(asked, name)| asked.then_some(name))
    }
}
