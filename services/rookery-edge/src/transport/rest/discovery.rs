//! Where clients find things, as Discord's libraries ask: the gateway's URL
//! (`GET /gateway`; `GET /gateway/bot` adds the caller's identify budget)
//! user objects (`GET /users/@me`, `GET /users/{id}`), applications with
//! their bots ([`crate::operations::applications`]), and reads of a guild and an invite
//! ([`crate::operations::guilds`]).

use super::extract::{ApiJson, Auth};
use super::routes::{EdgeState, id};
use crate::EdgeError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::HOST;
use axum::response::{IntoResponse, Response};
use rookery_proto::model::{Channel, GuildState, Role};
use rookery_proto::rest::{
    ApplicationObject, BotGatewayInfo, BotToken, CreateApplication, GatewayInfo, InvitePreview,
    SessionStartLimit, UserObject,
};

/// The budget reported when IDENTIFYs are not budgeted (`--identifies-per-day 0`).
const UNLIMITED: u32 = 1_000_000;

/// `--gateway-url`, or this listener as the request names it. A Host that
/// is not a plain `host[:port]` is not echoed back.
pub(crate) fn gateway_url(edge: &crate::Edge, headers: &HeaderMap) -> String {
    if let Some(url) = &edge.config.gateway_url {
        return url.clone();
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let plain = |h: &&str| {
        h.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    };
    format!("ws://{}/gateway", host.filter(plain).unwrap_or("localhost"))
}

pub async fn gateway(State(edge): EdgeState, headers: HeaderMap) -> Json<GatewayInfo> {
    Json(GatewayInfo {
        url: gateway_url(&edge, &headers),
    })
}

pub async fn bot_gateway(
    State(edge): EdgeState,
    Auth(user): Auth,
    headers: HeaderMap,
) -> Json<BotGatewayInfo> {
    let session_start_limit = match edge.sessions.identify_budget(user.id) {
        Some(left) => SessionStartLimit {
            total: left.limit,
            remaining: left.remaining,
            reset_after: left.reset_after.as_millis() as u64,
            max_concurrency: 1,
        },
        None => SessionStartLimit {
            total: UNLIMITED,
            remaining: UNLIMITED,
            reset_after: 0,
            max_concurrency: 1,
        },
    };
    Json(BotGatewayInfo {
        url: gateway_url(&edge, &headers),
        shards: 1,
        session_start_limit,
    })
}

pub async fn me(State(edge): EdgeState, Auth(user): Auth) -> Result<Json<UserObject>, EdgeError> {
    Ok(Json(edge.user_object(&user).await?))
}

pub async fn user(
    State(edge): EdgeState,
    Auth(_): Auth,
    Path(raw): Path<String>,
) -> Result<Json<UserObject>, EdgeError> {
    let wanted = id(&raw, EdgeError::UnknownUser)?;
    let found = edge
        .store
        .user(wanted)
        .await?
        .ok_or(EdgeError::UnknownUser)?;
    Ok(Json(edge.user_object(&found).await?))
}

pub async fn create_application(
    State(edge): EdgeState,
    Auth(owner): Auth,
    ApiJson(body): ApiJson<CreateApplication>,
) -> Result<Response, EdgeError> {
    let created = edge.create_application(&owner, body.name).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn reset_bot_token(
    State(edge): EdgeState,
    Auth(caller): Auth,
    Path(raw): Path<String>,
) -> Result<Json<BotToken>, EdgeError> {
    let app = id(&raw, EdgeError::UnknownApplication)?;
    Ok(Json(edge.reset_bot_token(&caller, app).await?))
}

pub async fn my_application(
    State(edge): EdgeState,
    Auth(bot): Auth,
) -> Result<Json<ApplicationObject>, EdgeError> {
    Ok(Json(edge.my_application(&bot).await?))
}

pub async fn guild(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(raw): Path<String>,
) -> Result<Json<GuildState>, EdgeError> {
    let g = id(&raw, EdgeError::UnknownGuild)?;
    Ok(Json(edge.guild_for(&user, g).await?))
}

pub async fn modify_guild(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Response, EdgeError> {
    let g = id(&raw, EdgeError::UnknownGuild)?;
    let (guild, a) = edge.modify_guild(&user, g, &body).await?;
    Ok(super::routes::applied(guild, a))
}

pub async fn delete_guild(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(raw): Path<String>,
) -> Result<Response, EdgeError> {
    let g = id(&raw, EdgeError::UnknownGuild)?;
    Ok(super::routes::no_content(
        edge.delete_guild(&user, g).await?,
    ))
}

pub async fn guild_channels(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(raw): Path<String>,
) -> Result<Json<Vec<Channel>>, EdgeError> {
    let g = id(&raw, EdgeError::UnknownGuild)?;
    Ok(Json(edge.guild_channels_for(&user, g).await?))
}

pub async fn guild_role(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, r)): Path<(String, String)>,
) -> Result<Json<Role>, EdgeError> {
    let (g, r) = (
        id(&g, EdgeError::UnknownGuild)?,
        id(&r, EdgeError::UnknownRole)?,
    );
    Ok(Json(edge.guild_role(&user, g, r).await?))
}

pub async fn invite(
    State(edge): EdgeState,
    Auth(_): Auth,
    Path(code): Path<String>,
) -> Result<Json<InvitePreview>, EdgeError> {
    Ok(Json(edge.invite_preview(&code).await?))
}
