//! Webhook routes ([`crate::operations::webhooks`]): managed with a member's token,
//! read, deleted and executed with the webhook's own (in the URL).

use super::extract::{ApiJson, Auth};
use super::routes::{EdgeState, applied, id, unsupported};
use crate::EdgeError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rookery_proto::webhooks::{
    CreateWebhook, EditWebhookMessage, ExecuteWebhook, ModifyWebhook, WebhookObject,
};
use serde::Deserialize;

pub async fn create(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<Json<WebhookObject>, EdgeError> {
    let channel = id(&channel, EdgeError::UnknownChannel)?;
    Ok(Json(edge.create_webhook(&user, channel, body).await?))
}

pub async fn in_channel(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
) -> Result<Json<Vec<WebhookObject>>, EdgeError> {
    let channel = id(&channel, EdgeError::UnknownChannel)?;
    Ok(Json(edge.channel_webhooks(&user, channel).await?))
}

pub async fn in_guild(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(guild): Path<String>,
) -> Result<Json<Vec<WebhookObject>>, EdgeError> {
    let guild = id(&guild, EdgeError::UnknownGuild)?;
    Ok(Json(edge.guild_webhooks(&user, guild).await?))
}

pub async fn get(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(hook): Path<String>,
) -> Result<Json<WebhookObject>, EdgeError> {
    let hook = id(&hook, EdgeError::UnknownWebhook)?;
    Ok(Json(edge.managed_webhook(&user, hook).await?.object(true)))
}

pub async fn delete(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(hook): Path<String>,
) -> Result<StatusCode, EdgeError> {
    let hook = id(&hook, EdgeError::UnknownWebhook)?;
    let hook = edge.managed_webhook(&user, hook).await?;
    edge.delete_webhook(&hook).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_with_token(
    State(edge): EdgeState,
    Path((hook, token)): Path<(String, String)>,
) -> Result<Json<WebhookObject>, EdgeError> {
    let hook = id(&hook, EdgeError::UnknownWebhook)?;
    Ok(Json(
        edge.webhook_by_token(hook, &token).await?.object(false),
    ))
}

pub async fn delete_with_token(
    State(edge): EdgeState,
    Path((hook, token)): Path<(String, String)>,
) -> Result<StatusCode, EdgeError> {
    let hook = id(&hook, EdgeError::UnknownWebhook)?;
    let hook = edge.webhook_by_token(hook, &token).await?;
    edge.delete_webhook(&hook).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct ExecuteQuery {
    /// Answer with the message (once stored) instead of 204.
    #[serde(default)]
    wait: bool,
}

pub async fn execute(
    State(edge): EdgeState,
    Path((hook, token)): Path<(String, String)>,
    Query(q): Query<ExecuteQuery>,
    ApiJson(body): ApiJson<ExecuteWebhook>,
) -> Result<Response, EdgeError> {
    let hook = id(&hook, EdgeError::UnknownWebhook)?;
    if let Some(field) = body.unsupported() {
        return Err(unsupported(field));
    }
    let hook = edge.webhook_by_token(hook, &token).await?;
    let (message, a) = edge.execute_webhook(&hook, body, q.wait).await?;
    if q.wait {
        return Ok(applied(&*message, a));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn modify(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(hook): Path<String>,
    ApiJson(body): ApiJson<ModifyWebhook>,
) -> Result<Json<WebhookObject>, EdgeError> {
    let hook = id(&hook, EdgeError::UnknownWebhook)?;
    let hook = edge.managed_webhook(&user, hook).await?;
    Ok(Json(edge.modify_webhook(hook, body, true).await?))
}

pub async fn modify_with_token(
    State(edge): EdgeState,
    Path((hook, token)): Path<(String, String)>,
    ApiJson(body): ApiJson<ModifyWebhook>,
) -> Result<Json<WebhookObject>, EdgeError> {
    let hook = id(&hook, EdgeError::UnknownWebhook)?;
    let hook = edge.webhook_by_token(hook, &token).await?;
    Ok(Json(edge.modify_webhook(hook, body, false).await?))
}

/// `{id}/{token}/messages/{message}`.
type MessagePath = Path<(String, String, String)>;

/// The webhook a token route names, and the message id.
async fn hook_and_message(
    edge: &crate::Edge,
    (hook, token, message): (String, String, String),
) -> Result<(rookery_proto::webhooks::Webhook, rookery_proto::MessageId), EdgeError> {
    let hook = id(&hook, EdgeError::UnknownWebhook)?;
    let message = id(&message, EdgeError::UnknownMessage)?;
    Ok((edge.webhook_by_token(hook, &token).await?, message))
}

pub async fn message(
    State(edge): EdgeState,
    Path(path): MessagePath,
) -> Result<Response, EdgeError> {
    let (hook, message) = hook_and_message(&edge, path).await?;
    Ok(Json(edge.webhook_message(&hook, message).await?).into_response())
}

pub async fn edit_message(
    State(edge): EdgeState,
    Path(path): MessagePath,
    ApiJson(body): ApiJson<EditWebhookMessage>,
) -> Result<Response, EdgeError> {
    if let Some(field) = body.unsupported() {
        return Err(unsupported(field));
    }
    let (hook, message) = hook_and_message(&edge, path).await?;
    let (edited, a) = edge
        .edit_webhook_message(&hook, message, body.content)
        .await?;
    Ok(applied(edited, a))
}

pub async fn delete_message(
    State(edge): EdgeState,
    Path(path): MessagePath,
) -> Result<Response, EdgeError> {
    let (hook, message) = hook_and_message(&edge, path).await?;
    Ok(super::routes::no_content(
        edge.delete_webhook_message(&hook, message).await?,
    ))
}
