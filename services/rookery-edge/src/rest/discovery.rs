//! Where clients find things, as Discord's libraries ask: the gateway's URL
//! (`GET /gateway`; `GET /gateway/bot` adds the caller's identify budget)
//! and user objects (`GET /users/@me`, `GET /users/{id}`).

use super::extract::Auth;
use super::routes::{EdgeState, id};
use crate::EdgeError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::HOST;
use rookery_proto::rest::{BotGatewayInfo, GatewayInfo, SessionStartLimit, UserObject};

/// The budget reported when IDENTIFYs are not budgeted (`--identifies-per-day 0`).
const UNLIMITED: u32 = 1_000_000;

/// `--gateway-url`, or this listener as the request names it. A Host that
/// is not a plain `host[:port]` is not echoed back.
fn gateway_url(edge: &crate::Edge, headers: &HeaderMap) -> String {
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

pub async fn me(Auth(user): Auth) -> Json<UserObject> {
    Json(UserObject::from(&user))
}

pub async fn user(
    State(edge): EdgeState,
    Auth(_): Auth,
    Path(raw): Path<String>,
) -> Result<Json<UserObject>, EdgeError> {
    let wanted = id(&raw, EdgeError::UnknownUser)?;
    let found = edge.store.user(wanted).await?;
    Ok(Json(UserObject::from(
        &found.ok_or(EdgeError::UnknownUser)?,
    )))
}
