//! REST request and response bodies under `/api/v1` (JSON).

use crate::Id;
use crate::model::User;
use crate::permissions::{OverwriteKind, Permissions};
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

/// `POST /channels/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMessage {
    /// Message text.
    pub content: String,
    /// Optional idempotency key (≤ 64 bytes): a repeat returns the first message.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// `PATCH /channels/{id}/messages/{message}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// The new text.
    pub content: String,
}

/// `POST /channels/{id}/messages/bulk-delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    /// 2 to 100 message ids, none older than 14 days.
    pub messages: Vec<crate::Id>,
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
    pub id: Id,
    /// Its new position (1 or more: 0 is @everyone's).
    pub position: u32,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable numeric code (see `docs/protocol.md`).
    pub code: u32,
    /// Human-readable reason.
    pub message: String,
}
