//! The HTTP surface: `/api/v1` (JSON), `/gateway`, `/healthz`, `/readyz`,
//! `/metrics`.

mod extract;
mod routes;

use crate::metrics as m;
use crate::{Edge, EdgeError};
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Instant;

pub(crate) fn router(edge: Arc<Edge>) -> Router {
    let api = Router::new()
        .route("/auth/register", post(routes::register))
        .route("/auth/login", post(routes::login))
        .route("/guilds", post(routes::create_guild))
        .route("/guilds/{id}/channels", post(routes::create_channel))
        .route("/guilds/{id}/invites", post(routes::create_invite))
        .route("/invites/{code}", post(routes::accept_invite))
        .route("/users/@me/guilds", get(routes::my_guilds))
        .route(
            "/channels/{id}/messages",
            get(routes::history).post(routes::post_message),
        );
    Router::new()
        .nest("/api/v1", api)
        .route("/gateway", get(crate::gateway::upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { EdgeError::NotFound })
        .layer(middleware::from_fn(record))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(edge)
}

async fn readyz(State(edge): State<Arc<Edge>>) -> Response {
    if edge.is_ready() {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

async fn metrics(State(edge): State<Arc<Edge>>) -> Response {
    match &edge.metrics {
        Some(render) => ([("content-type", "text/plain; version=0.0.4")], render()).into_response(),
        None => EdgeError::NotFound.into_response(),
    }
}

/// Counts requests by route template (never by raw path, which holds ids).
async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(m::HTTP_DURATION, "route" => route.clone()).record(started.elapsed());
    metrics::counter!(m::HTTP_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}
