//! The HTTP surface: `/api/v1` (JSON), `/gateway`, `/healthz`, `/readyz`
//! and the web client (`/`, `/invite/{code}`, `/assets/...`) on the public
//! listener; `/healthz`, `/readyz`, `/metrics` on the
//! operations listener. Authenticated API calls spend the user's REST budget
//! (`docs/protocol.md`, "Rate limits").

mod annotations;
mod discovery;
mod extract;
mod invites;
mod private;
mod roles;
mod routes;
mod table;
mod web;
mod webhooks;

pub(crate) use discovery::gateway_url;
pub(crate) use extract::Scheme;
pub use table::API_ROUTES;

use crate::access::ratelimit::Taken;
use crate::metrics as m;
use crate::{Edge, EdgeError};
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::time::Instant;

pub(crate) fn router(edge: Arc<Edge>) -> Router {
    let api = table::api().route_layer(middleware::from_fn_with_state(edge.clone(), limit));
    // `/api/v10` is Discord's path for the same API (its libraries build
    // their URLs with it); Rookery's own stays `/api/v1`.
    Router::new()
        .nest("/api/v1", api.clone())
        .nest("/api/v10", api)
        .route("/gateway", get(crate::transport::gateway::upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/", get(web::page))
        .route("/invite/{code}", get(web::page))
        .route("/assets/{*path}", get(web::asset))
        .fallback(|| async { EdgeError::NotFound })
        .layer(middleware::from_fn(record))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(edge)
}

/// The operations listener's routes: health, readiness and `/metrics`,
/// kept off the public listener so scrapes and probes never compete with
/// clients for connections, and the exposition is not public.
pub(crate) fn ops_router(edge: Arc<Edge>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { EdgeError::NotFound })
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

/// Spends one of the caller's REST tokens: Discord's `X-RateLimit-*`
/// headers on every answer, 429 with `retry_after` when none is left.
/// Unauthenticated calls pass (the route answers 401, or is a login).
async fn limit(State(edge): State<Arc<Edge>>, mut req: Request, next: Next) -> Response {
    let Some(limits) = &edge.rest_limits else {
        return next.run(req).await;
    };
    let Some((scheme, token)) = extract::credentials(req.headers()) else {
        return next.run(req).await;
    };
    let Ok(verified) = edge.authenticate_as(scheme, token).await else {
        return next.run(req).await;
    };
    let user = verified.user;
    let taken = limits.take(user.id);
    // The route's `Auth` takes the user from here instead of verifying the
    // token again.
    req.extensions_mut().insert(extract::Auth(user));
    let mut response = if taken.allowed {
        next.run(req).await
    } else {
        metrics::counter!(m::RATE_LIMITED, "scope" => "rest").increment(1);
        too_many(&taken)
    };
    rate_headers(response.headers_mut(), &taken);
    response
}

/// A login or registration refused by its budget: 429 as for any budget,
/// counted under its own scope.
pub(crate) fn refused_by(taken: &Taken, scope: &'static str) -> Response {
    metrics::counter!(m::RATE_LIMITED, "scope" => scope).increment(1);
    let mut response = too_many(taken);
    response
        .headers_mut()
        .insert("x-ratelimit-scope", HeaderValue::from_static("shared"));
    response
}

fn too_many(taken: &Taken) -> Response {
    let retry_after = taken.retry_after.as_secs_f64();
    let body = serde_json::json!({
        "message": "You are being rate limited.",
        "retry_after": (retry_after * 1000.0).ceil() / 1000.0,
        "global": false,
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        RETRY_AFTER,
        HeaderValue::from(retry_after.ceil().max(1.0) as u64),
    );
    headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
    response
}

fn rate_headers(headers: &mut HeaderMap, taken: &Taken) {
    let reset_after = taken.reset_after.as_secs_f64();
    let reset = rookery_bus::now_ms() as f64 / 1000.0 + reset_after;
    let seconds =
        |s: f64| HeaderValue::from_str(&format!("{s:.3}")).expect("a number is a header value");
    headers.insert("x-ratelimit-limit", HeaderValue::from(taken.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(taken.remaining));
    headers.insert("x-ratelimit-reset", seconds(reset));
    headers.insert("x-ratelimit-reset-after", seconds(reset_after));
    headers.insert("x-ratelimit-bucket", HeaderValue::from_static("user"));
}

/// Counts requests by route template (never by raw path, which holds ids).
async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    // Bounded: an unauthenticated client could otherwise mint a series per
    // invented method.
    let method = m::HTTP_METHODS
        .iter()
        .find(|known| **known == req.method().as_str())
        .map_or("other", |known| known);
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(m::HTTP_DURATION, "route" => route.clone()).record(started.elapsed());
    metrics::counter!(m::HTTP_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}
