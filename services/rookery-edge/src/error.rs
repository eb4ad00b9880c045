//! The edge's error enum and its mapping to HTTP statuses and the numeric
//! codes shared by REST bodies and gateway SEND_ERROR (see `docs/protocol.md`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rookery_bus::BusError;
use rookery_proto::rest::ApiError;
use rookery_store::StoreError;

/// Everything an edge operation can refuse or fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EdgeError {
    /// Missing, malformed, expired or wrongly signed token; bad credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// A field failed validation.
    #[error("invalid form body: {0}")]
    InvalidBody(String),
    /// The body is not valid JSON of the expected shape.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A message with no content.
    #[error("cannot send an empty message")]
    EmptyMessage,
    /// No such channel.
    #[error("unknown channel")]
    UnknownChannel,
    /// No such guild.
    #[error("unknown guild")]
    UnknownGuild,
    /// No such invite.
    #[error("unknown invite")]
    UnknownInvite,
    /// No such role.
    #[error("unknown role")]
    UnknownRole,
    /// No such message.
    #[error("unknown message")]
    UnknownMessage,
    /// Only a message's author may edit it.
    #[error("cannot edit a message authored by another user")]
    NotAuthor,
    /// No such member.
    #[error("unknown member")]
    UnknownMember,
    /// Not a member of the guild, or cannot see the channel.
    #[error("missing access")]
    MissingAccess,
    /// Lacks a permission the operation needs, or the target ranks at or
    /// above the caller's highest role.
    #[error("missing permissions: {0}")]
    MissingPermissions(&'static str),
    /// The username is registered already.
    #[error("username is taken")]
    UsernameTaken,
    /// No such route.
    #[error("not found")]
    NotFound,
    /// Slow mode: the member may send again after this many milliseconds.
    #[error("slowmode rate limit: retry after {:.1} s", *.0 as f64 / 1000.0)]
    SlowMode(u64),
    /// The author's message budget in this channel is spent: retry after
    /// this many milliseconds.
    #[error("the channel's write rate limit: retry after {:.1} s", *.0 as f64 / 1000.0)]
    WriteRateLimited(u64),
    /// No such user.
    #[error("unknown user")]
    UnknownUser,
    /// No such application (or the caller is not a bot).
    #[error("unknown application")]
    UnknownApplication,
    /// No such webhook.
    #[error("unknown webhook")]
    UnknownWebhook,
    /// The webhook's URL token is wrong.
    #[error("invalid webhook token provided")]
    InvalidWebhookToken,
    /// The channel has the most webhooks it may.
    #[error("maximum number of webhooks reached ({0})")]
    MaxWebhooks(usize),
    /// The user is not banned.
    #[error("unknown ban")]
    UnknownBan,
    /// The user is banned from the guild.
    #[error("the user is banned from this guild")]
    Banned,
    /// Not a unicode emoji.
    #[error("unknown emoji")]
    UnknownEmoji,
    /// The channel holds the most pins it may.
    #[error("maximum number of pins reached ({0})")]
    MaxPins(usize),
    /// The message has the most distinct emoji it may.
    #[error("maximum number of reactions reached ({0})")]
    MaxReactions(usize),
    /// The action does not apply to a DM or group DM (or to a DM only).
    #[error("cannot execute action on a DM channel")]
    DmChannel,
    /// The request body is over the size limit.
    #[error("request entity too large")]
    TooLarge,
    /// The bus or store failed; retry later.
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

impl EdgeError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            EdgeError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            EdgeError::InvalidBody(_)
            | EdgeError::InvalidJson(_)
            | EdgeError::EmptyMessage
            | EdgeError::UnknownEmoji
            | EdgeError::MaxPins(_)
            | EdgeError::MaxReactions(_)
            | EdgeError::MaxWebhooks(_) => StatusCode::BAD_REQUEST,
            EdgeError::InvalidWebhookToken => StatusCode::UNAUTHORIZED,
            EdgeError::UnknownChannel
            | EdgeError::UnknownGuild
            | EdgeError::UnknownInvite
            | EdgeError::UnknownRole
            | EdgeError::UnknownMessage
            | EdgeError::UnknownMember
            | EdgeError::UnknownUser
            | EdgeError::UnknownApplication
            | EdgeError::UnknownWebhook
            | EdgeError::UnknownBan
            | EdgeError::NotFound => StatusCode::NOT_FOUND,
            EdgeError::Banned => StatusCode::FORBIDDEN,
            EdgeError::MissingAccess
            | EdgeError::MissingPermissions(_)
            | EdgeError::NotAuthor
            | EdgeError::DmChannel => StatusCode::FORBIDDEN,
            EdgeError::UsernameTaken => StatusCode::CONFLICT,
            EdgeError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EdgeError::SlowMode(_) | EdgeError::WriteRateLimited(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            EdgeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Numeric code (Discord's where Discord has one).
    pub fn code(&self) -> u32 {
        match self {
            EdgeError::Unauthorized(_) => 40001,
            EdgeError::InvalidBody(_) => 50035,
            EdgeError::InvalidJson(_) => 50109,
            EdgeError::EmptyMessage => 50006,
            EdgeError::UnknownChannel => 10003,
            EdgeError::UnknownGuild => 10004,
            EdgeError::UnknownInvite => 10006,
            EdgeError::UnknownMember => 10007,
            EdgeError::UnknownRole => 10011,
            EdgeError::UnknownMessage => 10008,
            EdgeError::UnknownEmoji => 10014,
            EdgeError::UnknownUser => 10013,
            EdgeError::UnknownApplication => 10002,
            EdgeError::UnknownWebhook => 10015,
            EdgeError::InvalidWebhookToken => 50027,
            EdgeError::MaxWebhooks(_) => 30007,
            EdgeError::UnknownBan => 10026,
            EdgeError::Banned => 40007,
            EdgeError::SlowMode(_) => 20016,
            EdgeError::WriteRateLimited(_) => 20028,
            EdgeError::MaxPins(_) => 30003,
            EdgeError::MaxReactions(_) => 30010,
            EdgeError::NotAuthor => 50005,
            EdgeError::DmChannel => 50003,
            EdgeError::MissingAccess => 50001,
            EdgeError::MissingPermissions(_) => 50013,
            EdgeError::UsernameTaken => 40009,
            EdgeError::TooLarge => 40005,
            EdgeError::NotFound | EdgeError::Unavailable(_) => 0,
        }
    }

    /// The wire body.
    pub fn body(&self) -> ApiError {
        ApiError {
            code: self.code(),
            message: self.to_string(),
            retry_after: match self {
                EdgeError::SlowMode(ms) | EdgeError::WriteRateLimited(ms) => {
                    Some(*ms as f64 / 1000.0)
                }
                _ => None,
            },
        }
    }
}

impl From<StoreError> for EdgeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => EdgeError::UsernameTaken,
            other => {
                tracing::error!(error = %other, "store failure");
                EdgeError::Unavailable("store".into())
            }
        }
    }
}

impl From<BusError> for EdgeError {
    fn from(e: BusError) -> Self {
        tracing::error!(error = %e, "bus failure");
        EdgeError::Unavailable("bus".into())
    }
}

impl IntoResponse for EdgeError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
