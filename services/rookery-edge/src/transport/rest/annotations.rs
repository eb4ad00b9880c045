//! REST handlers for pins, reactions, typing, acks and read states: thin adapters
//! to the edge's operations. An emoji in a path is URL-encoded, as in
//! Discord's API.

use super::extract::Auth;
use super::routes::{EdgeState, message_path, no_content};
use crate::EdgeError;
use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use rookery_proto::UserId;
use serde::Deserialize;

pub async fn pins(
    edge: EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
) -> Result<Response, EdgeError> {
    let channel = super::routes::id(&channel, EdgeError::UnknownChannel)?;
    Ok(Json(edge.pins(&user, channel).await?).into_response())
}

pub async fn typing(
    edge: EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
) -> Result<Response, EdgeError> {
    let channel = super::routes::id(&channel, EdgeError::UnknownChannel)?;
    edge.typing(&user, channel).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

pub async fn pin(
    edge: EdgeState,
    Auth(user): Auth,
    Path((channel, message)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    Ok(no_content(edge.set_pin(&user, c, m, true).await?))
}

pub async fn unpin(
    edge: EdgeState,
    Auth(user): Auth,
    Path((channel, message)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    Ok(no_content(edge.set_pin(&user, c, m, false).await?))
}

pub async fn ack(
    edge: EdgeState,
    Auth(user): Auth,
    Path((channel, message)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    Ok(no_content(edge.ack(&user, c, m).await?))
}

pub async fn read_states(edge: EdgeState, Auth(user): Auth) -> Result<Response, EdgeError> {
    Ok(Json(edge.my_read_states(&user).await?).into_response())
}

/// `{emoji}/@me`, or `{emoji}/{user}` to remove another's reaction.
type ReactionPath = Path<(String, String, String, String)>;

pub async fn add_reaction(
    edge: EdgeState,
    Auth(user): Auth,
    Path((channel, message, emoji, who)): ReactionPath,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    if who != "@me" {
        return Err(EdgeError::NotFound);
    }
    Ok(no_content(edge.add_reaction(&user, c, m, &emoji).await?))
}

pub async fn remove_reaction(
    edge: EdgeState,
    Auth(user): Auth,
    Path((channel, message, emoji, who)): ReactionPath,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    let target = match who.as_str() {
        "@me" => user.id,
        other => super::routes::id(other, EdgeError::UnknownMember)?,
    };
    let done = edge.remove_reaction(&user, (c, m), &emoji, target).await?;
    Ok(no_content(done))
}

/// `DELETE .../reactions`: every reaction on the message.
pub async fn clear_reactions(
    edge: EdgeState,
    Auth(user): Auth,
    Path((channel, message)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    Ok(no_content(edge.clear_reactions(&user, (c, m), None).await?))
}

/// `DELETE .../reactions/{emoji}`: every reaction with that emoji.
pub async fn clear_emoji_reactions(
    edge: EdgeState,
    Auth(user): Auth,
    Path((channel, message, emoji)): Path<(String, String, String)>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    let done = edge.clear_reactions(&user, (c, m), Some(&emoji)).await?;
    Ok(no_content(done))
}

/// A page of users: `after` (a user id) and `limit`, as Discord takes them
/// (reactions: 1..=100, default 25; bans: 1..=1000, default 1000).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPage {
    #[serde(default)]
    after: Option<UserId>,
    #[serde(default)]
    limit: Option<usize>,
}

impl UserPage {
    /// `(after, limit)`, or 400 naming the bound the limit is outside.
    pub(crate) fn within(&self, default: usize, max: usize) -> Result<(UserId, usize), EdgeError> {
        let limit = self.limit.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            let why = format!("limit must be an integer from 1 to {max}");
            return Err(EdgeError::InvalidBody(why));
        }
        Ok((self.after.unwrap_or(UserId(0)), limit))
    }
}

pub async fn reactions(
    edge: EdgeState,
    Auth(user): Auth,
    Path((channel, message, emoji)): Path<(String, String, String)>,
    Query(q): Query<UserPage>,
) -> Result<Response, EdgeError> {
    let (c, m) = message_path(&channel, &message)?;
    let page = q.within(25, 100)?;
    Ok(Json(edge.reactions(&user, (c, m), &emoji, page).await?).into_response())
}
