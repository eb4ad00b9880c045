//! Extractors that turn bad requests into the API's JSON errors.

use crate::{Edge, EdgeError};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rookery_proto::model::User;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The user named by a valid, unrevoked `Authorization: Bearer <jwt>`
/// (checked once per request: the rate limiter leaves it in the request's
/// extensions).
#[derive(Clone)]
pub struct Auth(pub User);

impl FromRequestParts<Arc<Edge>> for Auth {
    type Rejection = EdgeError;

    async fn from_request_parts(parts: &mut Parts, edge: &Arc<Edge>) -> Result<Self, EdgeError> {
        if let Some(auth) = parts.extensions.remove::<Auth>() {
            return Ok(auth);
        }
        let (scheme, token) = credentials(&parts.headers).ok_or(EdgeError::Unauthorized(
            "missing Authorization: Bearer or Bot token",
        ))?;
        Ok(Auth(edge.authenticate_as(scheme, token).await?.user))
    }
}

/// Whether the caller's `Authorization` is a bot's (`Bot`): after
/// [`Auth`] accepted it, the scheme names the kind of token.
pub struct IsBot(pub bool);

impl FromRequestParts<Arc<Edge>> for IsBot {
    type Rejection = EdgeError;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<Edge>) -> Result<Self, EdgeError> {
        let scheme = credentials(&parts.headers).map(|(scheme, _)| scheme);
        Ok(IsBot(scheme == Some(Scheme::Bot)))
    }
}

/// The client's address, as the listener accepted it (behind a proxy,
/// the proxy's). Unspecified when the router runs without the listener.
pub struct Peer(pub std::net::IpAddr);

impl FromRequestParts<Arc<Edge>> for Peer {
    type Rejection = EdgeError;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<Edge>) -> Result<Self, EdgeError> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        let unspecified = std::net::Ipv4Addr::UNSPECIFIED.into();
        Ok(Peer(info.map_or(unspecified, |c| c.0.ip())))
    }
}

/// Which kind of token an `Authorization` header says it carries: a
/// user's (`Bearer`) or a bot's (`Bot`, as Discord's libraries send it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    Bot,
}

/// The scheme and token of an `Authorization` header.
pub(super) fn credentials(headers: &HeaderMap) -> Option<(Scheme, &str)> {
    let header = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.split_once(' ')?;
    let scheme = match scheme {
        s if s.eq_ignore_ascii_case("bearer") => Scheme::Bearer,
        s if s.eq_ignore_ascii_case("bot") => Scheme::Bot,
        _ => return None,
    };
    Some((scheme, token.trim()))
}

/// A JSON body Discord lets callers leave out: none is `T::default()`;
/// a malformed one gets 400 with code 50109.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<Arc<Edge>> for OptionalJson<T> {
    type Rejection = EdgeError;

    async fn from_request(req: Request, edge: &Arc<Edge>) -> Result<Self, EdgeError> {
        let bytes = axum::body::Bytes::from_request(req, edge)
            .await
            .map_err(|e| body_error(e.into()))?;
        if bytes.is_empty() {
            return Ok(Self(T::default()));
        }
        let parsed = serde_json::from_slice(&bytes);
        parsed
            .map(Self)
            .map_err(|e| EdgeError::InvalidJson(e.to_string()))
    }
}

/// 413 for a body over the limit, else 400 (code 50109).
fn body_error(e: axum::extract::rejection::JsonRejection) -> EdgeError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        EdgeError::TooLarge
    } else {
        EdgeError::InvalidJson(e.body_text())
    }
}

/// A JSON body; malformed bodies get 400 with code 50109, oversized ones
/// 413 with code 40005.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Edge>> for ApiJson<T> {
    type Rejection = EdgeError;

    async fn from_request(req: Request, edge: &Arc<Edge>) -> Result<Self, EdgeError> {
        axum::Json::<T>::from_request(req, edge)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(body_error)
    }
}
