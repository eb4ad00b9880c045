//! REST handlers: thin adapters from HTTP to the edge's operations.

use super::extract::{ApiJson, Auth, IsBot};
use crate::{Applied, Edge, EdgeError};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
use rookery_proto::rest::{
    BulkDelete, ChannelParams, ChannelPosition, CreateMessage, CreateNamed, Credentials,
    EditMessage, PasswordChange,
};
use rookery_store::Cursor;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

pub(super) type EdgeState = State<Arc<Edge>>;

/// 200 when applied, 202 when only durable on the bus.
pub(super) fn applied<T: Serialize>(body: T, applied: Applied) -> Response {
    let status = if applied == Applied::Yes {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Json(body)).into_response()
}

/// A path segment as the kind of id the route names; `unknown` if it is
/// not one.
pub(super) fn id<T: std::str::FromStr>(raw: &str, unknown: EdgeError) -> Result<T, EdgeError> {
    raw.parse().map_err(|_| unknown)
}

pub async fn register(
    State(edge): EdgeState,
    peer: super::extract::Peer,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Response, EdgeError> {
    if let Err(refused) = edge.auth_limits.register(peer.0) {
        return Ok(super::refused_by(&refused, "registration"));
    }
    Ok((StatusCode::CREATED, Json(edge.register(c).await?)).into_response())
}

pub async fn login(
    State(edge): EdgeState,
    peer: super::extract::Peer,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Response, EdgeError> {
    if let Err(refused) = edge.auth_limits.login(peer.0, &c.username) {
        return Ok(super::refused_by(&refused, "login"));
    }
    Ok(Json(edge.login(c).await?).into_response())
}

/// Spends a login of the caller's budget: the current password is checked,
/// so a stolen token must not become a password oracle.
pub async fn change_password(
    State(edge): EdgeState,
    peer: super::extract::Peer,
    Auth(user): Auth,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<Response, EdgeError> {
    if let Err(refused) = edge.auth_limits.login(peer.0, &user.username) {
        return Ok(super::refused_by(&refused, "login"));
    }
    Ok(Json(edge.change_password(&user, change).await?).into_response())
}

pub async fn log_out_everywhere(
    State(edge): EdgeState,
    Auth(user): Auth,
) -> Result<StatusCode, EdgeError> {
    edge.log_out_everywhere(&user).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_guild(
    State(edge): EdgeState,
    Auth(user): Auth,
    ApiJson(b): ApiJson<CreateNamed>,
) -> Result<Response, EdgeError> {
    let (guild, a) = edge.create_guild(&user, &b.name).await?;
    Ok(applied(guild, a))
}

pub async fn create_channel(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(guild): Path<String>,
    ApiJson(b): ApiJson<CreateNamed>,
) -> Result<Response, EdgeError> {
    let (channel, a) = edge
        .create_channel(&user, id(&guild, EdgeError::UnknownGuild)?, &b.name)
        .await?;
    Ok(applied(channel, a))
}

pub async fn my_guilds(State(edge): EdgeState, Auth(user): Auth) -> Result<Response, EdgeError> {
    Ok(Json(edge.user_guilds(&user).await?).into_response())
}

/// Discord's request fields Rookery accepts only empty (docs/protocol.md).
pub(super) fn unsupported(field: &str) -> EdgeError {
    EdgeError::InvalidBody(format!(
        "{field}: not supported by Rookery yet (send it empty or leave it out)"
    ))
}

pub async fn post_message(
    State(edge): EdgeState,
    Auth(user): Auth,
    IsBot(bot): IsBot,
    Path(channel): Path<String>,
    ApiJson(b): ApiJson<CreateMessage>,
) -> Result<Response, EdgeError> {
    let channel = id(&channel, EdgeError::UnknownChannel)?;
    if let Some(field) = b.unsupported() {
        return Err(unsupported(field));
    }
    if b.message_reference.as_ref().is_some_and(|r| r.kind != 0) {
        return Err(EdgeError::InvalidBody(
            "message forwards are not supported".into(),
        ));
    }
    let (message, a) = edge.send_message((&user, bot), channel, b, true).await?;
    Ok(applied(&*message, a))
}

pub async fn update_channel(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
    ApiJson(p): ApiJson<ChannelParams>,
) -> Result<Response, EdgeError> {
    let channel = id(&channel, EdgeError::UnknownChannel)?;
    let (updated, a) = edge.update_channel(&user, channel, p).await?;
    Ok(applied(updated, a))
}

pub async fn move_channels(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(guild): Path<String>,
    ApiJson(moves): ApiJson<Vec<ChannelPosition>>,
) -> Result<Response, EdgeError> {
    let guild = id(&guild, EdgeError::UnknownGuild)?;
    Ok(no_content(edge.move_channels(&user, guild, &moves).await?))
}

pub async fn history(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, EdgeError> {
    let channel = id(&channel, EdgeError::UnknownChannel)?;
    let (cursor, limit) = page(&q)?;
    Ok(Json(edge.history(&user, channel, cursor, limit).await?).into_response())
}

pub async fn get_message(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((channel, message)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    Ok(Json(edge.message(&user, c, m).await?).into_response())
}

pub async fn edit_message(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((channel, message)): Path<(String, String)>,
    ApiJson(b): ApiJson<EditMessage>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    if let Some(field) = b.unsupported() {
        return Err(unsupported(field));
    }
    let (message, a) = edge.edit_message(&user, c, m, b.content).await?;
    Ok(applied(message, a))
}

pub async fn delete_message(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((channel, message)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    Ok(no_content(edge.delete_message(&user, c, m).await?))
}

pub async fn bulk_delete(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
    ApiJson(b): ApiJson<BulkDelete>,
) -> Result<Response, EdgeError> {
    let c = id(&channel, EdgeError::UnknownChannel)?;
    Ok(no_content(edge.bulk_delete(&user, c, b.messages).await?))
}

pub(super) fn message_path(
    channel: &str,
    message: &str,
) -> Result<(ChannelId, MessageId), EdgeError> {
    let c = id(channel, EdgeError::UnknownChannel)?;
    Ok((c, id(message, EdgeError::UnknownMessage)?))
}

/// 204 when applied, 202 when only durable on the bus.
pub(super) fn no_content(a: Applied) -> Response {
    match a {
        Applied::Yes => StatusCode::NO_CONTENT.into_response(),
        Applied::Pending => StatusCode::ACCEPTED.into_response(),
    }
}

/// `before`/`after`/`around` (at most one) and `limit` (1..=100, default 50).
fn page(q: &HashMap<String, String>) -> Result<(Cursor, usize), EdgeError> {
    let bad = |what: &str| EdgeError::InvalidBody(format!("{what} must be a snowflake id"));
    let mut cursor = Cursor::Latest;
    for (key, make) in [
        ("before", Cursor::Before as fn(MessageId) -> Cursor),
        ("after", Cursor::After),
        ("around", Cursor::Around),
    ] {
        if let Some(v) = q.get(key) {
            if cursor != Cursor::Latest {
                return Err(EdgeError::InvalidBody(
                    "use at most one of before, after, around".into(),
                ));
            }
            cursor = make(v.parse().map_err(|_| bad(key))?);
        }
    }
    let limit = match q.get("limit") {
        None => 50,
        Some(l) => l
            .parse()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                EdgeError::InvalidBody("limit must be an integer from 1 to 100".into())
            })?,
    };
    Ok((cursor, limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::MessageId;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn page_parameters() {
        assert_eq!(page(&q(&[])).unwrap(), (Cursor::Latest, 50));
        assert_eq!(
            page(&q(&[("before", "5"), ("limit", "100")])).unwrap(),
            (Cursor::Before(MessageId(5)), 100)
        );
        assert_eq!(
            page(&q(&[("after", "7")])).unwrap().0,
            Cursor::After(MessageId(7))
        );
        assert_eq!(
            page(&q(&[("around", "9")])).unwrap().0,
            Cursor::Around(MessageId(9))
        );
        assert!(page(&q(&[("before", "5"), ("after", "6")])).is_err());
        assert!(page(&q(&[("limit", "0")])).is_err());
        assert!(page(&q(&[("limit", "101")])).is_err());
        assert!(page(&q(&[("before", "x")])).is_err());
    }
}
