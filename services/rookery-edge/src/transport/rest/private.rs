//! REST handlers for DMs and group DMs, and channel deletion (Discord's
//! routes): thin adapters to the edge's operations.

use super::extract::{ApiJson, Auth};
use super::routes::{EdgeState, applied, id, no_content};
use crate::EdgeError;
use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use rookery_proto::rest::CreatePrivate;
use rookery_proto::{ChannelId, UserId};

/// `/channels/{id}/recipients/{user}`.
type RecipientPath = Path<(String, String)>;

fn recipient_path(
    Path((channel, target)): RecipientPath,
) -> Result<(ChannelId, UserId), EdgeError> {
    Ok((
        id(&channel, EdgeError::UnknownChannel)?,
        id(&target, EdgeError::UnknownUser)?,
    ))
}

/// `POST /users/@me/channels`.
pub async fn open(
    edge: EdgeState,
    Auth(user): Auth,
    ApiJson(body): ApiJson<CreatePrivate>,
) -> Result<Response, EdgeError> {
    let (channel, a) = edge.open_private(&user, body).await?;
    Ok(applied(channel, a))
}

/// `GET /users/@me/channels`.
pub async fn list(edge: EdgeState, Auth(user): Auth) -> Result<Response, EdgeError> {
    Ok(Json(edge.private_channels(&user).await?).into_response())
}

/// `PUT /channels/{id}/recipients/{user}`.
pub async fn add(
    edge: EdgeState,
    Auth(user): Auth,
    p: RecipientPath,
) -> Result<Response, EdgeError> {
    let (channel, target) = recipient_path(p)?;
    Ok(no_content(
        edge.add_recipient(&user, channel, target).await?,
    ))
}

/// `DELETE /channels/{id}/recipients/{user}`.
pub async fn remove(
    edge: EdgeState,
    Auth(user): Auth,
    p: RecipientPath,
) -> Result<Response, EdgeError> {
    let (channel, target) = recipient_path(p)?;
    Ok(no_content(
        edge.remove_recipient(&user, channel, target).await?,
    ))
}

/// `DELETE /channels/{id}`: deletes a guild channel, or leaves a group DM.
pub async fn delete(
    edge: EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
) -> Result<Response, EdgeError> {
    let channel = id(&channel, EdgeError::UnknownChannel)?;
    let (gone, a) = edge.delete_channel(&user, channel).await?;
    Ok(applied(gone, a))
}
