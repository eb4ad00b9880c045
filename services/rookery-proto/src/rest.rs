//! REST request and response bodies under `/api/v1` (JSON).

use crate::Id;
use crate::model::User;
use crate::permissions::{OverwriteKind, Permissions};
use crate::{ChannelId, GuildId, RoleId, UserId};
use serde::{Deserialize, Serialize};

mod messages;
pub use messages::{AllowedMentions, BulkDelete, CreateMessage, EditMessage, MentionKind, ReplyTo};

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
