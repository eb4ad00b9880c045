//! `GET /gateway?encoding=json|msgpack`: the WebSocket upgrade and the
//! per-connection tasks — one reader (this connection's protocol state
//! machine) and one writer (draining the bounded outbound queue, several
//! frames per flush).

mod frames;
mod reader;

#[cfg(fuzzing)]
pub(crate) use frames::FrameReader;
mod writer;

use crate::{Edge, EdgeError};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use fastwebsockets::upgrade::IncomingUpgrade;
use rookery_proto::codec::Encoding;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub(crate) struct GatewayQuery {
    encoding: Option<String>,
}

pub(crate) async fn upgrade(
    State(edge): State<Arc<Edge>>,
    Query(q): Query<GatewayQuery>,
    slot: Option<axum::Extension<crate::transport::ConnectionSlot>>,
    ws: IncomingUpgrade,
) -> Response {
    let encoding = match q
        .encoding
        .as_deref()
        .map(str::parse::<Encoding>)
        .transpose()
    {
        Ok(e) => e.unwrap_or_default(),
        Err(e) => return EdgeError::InvalidBody(e.to_string()).into_response(),
    };
    if *edge.draining.borrow() {
        return EdgeError::Unavailable("draining".into()).into_response();
    }
    let Ok(permit) = edge.connections.clone().try_acquire_owned() else {
        return EdgeError::Unavailable("connection limit reached".into()).into_response();
    };
    let (response, fut) = match ws.upgrade() {
        Ok(parts) => parts,
        Err(e) => return EdgeError::InvalidBody(format!("websocket upgrade: {e}")).into_response(),
    };
    // The WebSocket keeps the connection's slot for its life.
    let slot = slot.map(|axum::Extension(s)| s.0);
    if let Some(slot) = &slot {
        slot.upgraded();
    }
    tokio::spawn(async move {
        let _slot = slot;
        match fut.await {
            Ok(ws) => reader::run(edge, ws, encoding, permit).await,
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    });
    response.into_response()
}
