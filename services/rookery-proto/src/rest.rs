//! REST request and response bodies under `/api/v1` (JSON).

use crate::model::User;
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

/// `POST /guilds/{id}/invites` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteCode {
    /// The code for `POST /invites/{code}`.
    pub code: String,
}

/// Every REST error body: a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable numeric code (see `docs/protocol.md`).
    pub code: u32,
    /// Human-readable reason.
    pub message: String,
}
