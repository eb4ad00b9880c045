//! REST request and response bodies under `/api/v1` (JSON).

use crate::Id;
use crate::model::User;
use crate::permissions::{OverwriteKind, Permissions};
use crate::{ChannelId, GuildId, MessageId, RoleId, UserId};
use serde::{Deserialize, Serialize};

/// `POST /auth/register` and `POST /auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 2 to 32 characters: letters, digits, `_`, `.` and `-`.
    pub username: String,
    /// 8 to 128 characters.
    pub password: String,
}

/// `POST /auth/password`: the current password, and the new one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub password: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

/// Answer to register and login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthResponse {
    /// The account.
    pub user: User,
    /// A JWT for `Authorization: Bearer` and gateway IDENTIFY.
    pub token: String,
}

/// `POST /guilds` and `POST /guilds/{id}/channels`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateNamed {
    /// 1 to 100 characters.
    pub name: String,
}

/// `POST /users/@me/channels`: a DM with `recipient_id` (the existing one
/// if there is one), or a new group DM with the caller and `recipients`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePrivate {
    /// The other user of a DM.
    #[serde(default)]
    pub recipient_id: Option<UserId>,
    /// The other users of a group DM (1 to 9).
    #[serde(default)]
    pub recipients: Option<Vec<UserId>>,
    /// A group DM's name (0 to 100 characters).
    #[serde(default)]
    pub name: Option<String>,
}

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

/// `GET /guilds/{id}/audit-logs` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditLog {
    /// Newest first.
    pub audit_log_entries: Vec<crate::model::AuditLogEntry>,
}

/// `PUT /guilds/{id}/bans/{user}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBan {
    /// Delete the user's messages of the last this many seconds (0 to
    /// 604800, 7 days).
    #[serde(default)]
    pub delete_message_seconds: u32,
}

/// `PATCH /channels/{id}`: absent fields keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelParams {
    /// 1 to 100 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// Slow mode in seconds, 0 to 21600.
    #[serde(default)]
    pub rate_limit_per_user: Option<u32>,
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

/// `POST /guilds/{id}/invites` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteCode {
    /// The code for `POST /invites/{code}`.
    pub code: String,
}

/// `POST /guilds/{id}/roles` and `PATCH /guilds/{id}/roles/{role}`:
/// absent fields keep their value (or Discord's default on create).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleParams {
    /// 1 to 100 characters ("new role" on create).
    #[serde(default)]
    pub name: Option<String>,
    /// Bits granted guild-wide, a decimal string.
    #[serde(default)]
    pub permissions: Option<Permissions>,
    /// RGB colour.
    #[serde(default)]
    pub color: Option<u32>,
    /// Shown separately in the member list.
    #[serde(default)]
    pub hoist: Option<bool>,
    /// Anyone may @mention it.
    #[serde(default)]
    pub mentionable: Option<bool>,
}

/// One entry of `PATCH /guilds/{id}/roles`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolePosition {
    /// The role.
    pub id: RoleId,
    /// Its new position (1 or more: 0 is @everyone's).
    pub position: u32,
}

/// One move of `PATCH /guilds/{id}/channels`, with Discord's fields:
/// categories do not exist here, so `parent_id` is only null (or absent)
/// and `lock_permissions`, which syncs with a parent, changes nothing.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelPosition {
    /// The channel.
    pub id: ChannelId,
    /// Its new position; null keeps it.
    #[serde(default)]
    pub position: Option<u32>,
    /// Accepted: there is no parent to sync with.
    #[serde(default)]
    pub lock_permissions: Option<bool>,
    /// Only null.
    #[serde(default)]
    pub parent_id: Option<Id>,
}

/// `PUT /channels/{id}/permissions/{target}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverwriteParams {
    /// 0: `target` is a role; 1: a member.
    #[serde(rename = "type")]
    pub kind: OverwriteKind,
    /// Bits granted (default none).
    #[serde(default)]
    pub allow: Option<Permissions>,
    /// Bits taken away (default none).
    #[serde(default)]
    pub deny: Option<Permissions>,
}

/// `PATCH /guilds/{id}/members/{user}`: only the timeout, so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberParams {
    /// Absent: unchanged; `null`: no timeout; an RFC 3339 time at most 28
    /// days ahead: timed out until then.
    #[serde(default, deserialize_with = "present")]
    pub communication_disabled_until: Option<Option<String>>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Every REST error body: a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable numeric code (see `docs/protocol.md`).
    pub code: u32,
    /// Human-readable reason.
    pub message: String,
    /// Seconds to wait before retrying (slow mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
}

/// Discord's user object, as `GET /users/@me` and `GET /users/{id}` answer:
/// Rookery has no discriminators (`"0"`, as Discord's migrated names), no
/// display names or avatars yet (`null`), and no flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserObject {
    /// Snowflake id.
    pub id: UserId,
    /// The unique name.
    pub username: String,
    /// Always `"0"`.
    pub discriminator: String,
    /// The display name: none.
    pub global_name: Option<String>,
    /// The avatar hash: none.
    pub avatar: Option<String>,
    /// Whether the account is a bot's.
    pub bot: bool,
    /// Discord's public flags: none.
    pub public_flags: u64,
    /// Discord's flags: none.
    pub flags: u64,
    /// Discord's primary guild (a server tag): none.
    #[serde(default)]
    pub primary_guild: Option<serde_json::Value>,
}

impl UserObject {
    /// `user`'s object; `bot` if it is an application's bot user.
    pub fn of(user: &User, bot: bool) -> Self {
        UserObject {
            id: user.id,
            username: user.username.clone(),
            discriminator: "0".into(),
            global_name: None,
            avatar: None,
            bot,
            public_flags: 0,
            flags: 0,
            primary_guild: None,
        }
    }
}

/// `POST /applications`: a new application and its bot user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    /// Its name, also its bot's username (the username rules apply).
    pub name: String,
}

/// A bot token, as `POST /applications` and a reset answer it (the only
/// times it is shown).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BotToken {
    /// The application.
    pub application: ApplicationObject,
    /// For `Authorization: Bot <token>` and the gateway's IDENTIFY.
    pub token: String,
}

/// Discord's application object, as far as Rookery has one: no icon,
/// description, OAuth2 or teams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationObject {
    /// Snowflake id, also its bot user's.
    pub id: Id,
    /// Its name.
    pub name: String,
    /// None.
    pub icon: Option<String>,
    /// Empty.
    pub description: String,
    /// Whether others may add the bot: Rookery's bots join by invite.
    pub bot_public: bool,
    /// Always false.
    pub bot_require_code_grant: bool,
    /// Empty: no interactions endpoint.
    pub verify_key: String,
    /// None set.
    pub flags: u64,
    /// The user who created it.
    pub owner: UserObject,
    /// Its bot user.
    pub bot: UserObject,
}

/// `GET /gateway`: where the gateway is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayInfo {
    /// A WebSocket URL; clients add `?v=10&encoding=json` (or `msgpack`).
    pub url: String,
}

/// `GET /gateway/bot`: the gateway, and the caller's identify budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotGatewayInfo {
    /// As in [`GatewayInfo`].
    pub url: String,
    /// Shards to connect with: 1 (Rookery does not shard sessions).
    pub shards: u32,
    /// The identify budget.
    pub session_start_limit: SessionStartLimit,
}

/// Discord's `session_start_limit`: the caller's IDENTIFY budget on the
/// edge that answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStartLimit {
    /// IDENTIFYs allowed per day (`--identifies-per-day`).
    pub total: u32,
    /// IDENTIFYs left now.
    pub remaining: u32,
    /// Milliseconds until the budget is full again.
    pub reset_after: u64,
    /// IDENTIFYs that may start at once: 1.
    pub max_concurrency: u32,
}

/// Discord's invite object: what `GET /invites/{code}` shows anyone before
/// joining, and, with [`InviteMetadata`] and the inviter, what the invite
/// lists, creation and deletion answer to those who manage invites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    /// Discord's invite type: 0, a guild's.
    #[serde(rename = "type")]
    pub kind: u8,
    /// The code.
    pub code: String,
    /// The guild it joins.
    pub guild_id: GuildId,
    /// The guild, as Discord shows it in an invite.
    pub guild: crate::model::Guild,
    /// Where a member lands: the invite's channel, or for a guild invite
    /// the guild's first channel; none if it has no channel left.
    pub channel: Option<InviteChannel>,
    /// Who made it.
    pub inviter_id: UserId,
    /// RFC 3339 time it stops working; null if never.
    pub expires_at: Option<String>,
    /// Who made it, as Discord's user object (to those who manage invites).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<UserObject>,
    /// Its limits and uses (to those who manage invites).
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<InviteMetadata>,
}

/// Discord's invite metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteMetadata {
    /// Joins made with it.
    pub uses: u32,
    /// Joins it allows; 0 is unlimited.
    pub max_uses: u32,
    /// Seconds it lasts; 0 is forever.
    pub max_age: u32,
    /// Temporary membership: never here.
    pub temporary: bool,
    /// RFC 3339 time it was made.
    pub created_at: String,
}

/// Longest `max_age` of a channel invite: 7 days (Discord's).
pub const MAX_INVITE_AGE_SECS: u32 = 604_800;
/// Default `max_age` of a channel invite: 24 hours (Discord's).
pub const DEFAULT_INVITE_AGE_SECS: u32 = 86_400;
/// Most `max_uses` of an invite (Discord's).
pub const MAX_INVITE_USES: u32 = 100;

/// `POST /channels/{id}/invites`, with Discord's fields: `max_age` and
/// `max_uses` are honoured, `unique` is always so (every invite gets a new
/// code); temporary membership and stream or activity targets do not exist
/// here and are refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelInvite {
    /// Seconds it lasts, 0 to [`MAX_INVITE_AGE_SECS`] (0 is forever);
    /// [`DEFAULT_INVITE_AGE_SECS`] if absent.
    #[serde(default)]
    pub max_age: Option<u32>,
    /// Joins it allows, 0 to [`MAX_INVITE_USES`] (0 is unlimited).
    #[serde(default)]
    pub max_uses: Option<u32>,
    /// Only false (or null).
    #[serde(default)]
    pub temporary: Option<bool>,
    /// Accepted: every invite is unique.
    #[serde(default)]
    pub unique: Option<bool>,
    /// Discord's invite flags (guest membership): only 0 or null.
    #[serde(default)]
    pub flags: Option<u32>,
    /// Only absent or null.
    #[serde(default)]
    pub target_type: Option<u8>,
    /// Only absent or null.
    #[serde(default)]
    pub target_user_id: Option<Id>,
    /// Only absent or null.
    #[serde(default)]
    pub target_application_id: Option<Id>,
}

/// An invite's channel: Discord's partial channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteChannel {
    /// Snowflake id.
    pub id: ChannelId,
    /// Its channel type.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Its name.
    pub name: String,
}
