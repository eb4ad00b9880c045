//! `GET /gateway?encoding=json|msgpack[&v=10][&compress=zlib-stream]`: the
//! WebSocket upgrade and the connection's reader (its protocol state
//! machine). What the connection sends leaves through
//! [`crate::delivery`]: written through on the socket by whoever delivers
//! it, or queued for the connection's writer task when the socket is busy.

mod discord;
mod frames;
mod open;
mod read_side;
mod reader;
mod ready;

#[cfg(fuzzing)]
pub(crate) use frames::FrameReader;
pub(crate) use open::OpenConnections;

use crate::{Edge, EdgeError};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use fastwebsockets::upgrade::IncomingUpgrade;
use futures_util::FutureExt;
use futures_util::future::OptionFuture;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use rookery_proto::codec::Encoding;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub(crate) struct GatewayQuery {
    encoding: Option<String>,
    /// Discord's gateway version: READY in Discord's shape.
    v: Option<String>,
    /// Transport compression.
    compress: Option<String>,
}

/// What a connection asked for in its URL.
pub(crate) struct Options {
    encoding: Encoding,
    discord: Option<discord::Dialect>,
    /// `compress=zlib-stream`: every frame deflated into one zlib stream.
    zlib: bool,
}

impl GatewayQuery {
    fn options(self, edge: &Edge, headers: &HeaderMap) -> Result<Options, EdgeError> {
        let invalid = |what: &str| EdgeError::InvalidBody(what.to_owned());
        let encoding = match self.encoding.as_deref().map(str::parse::<Encoding>) {
            None => Encoding::default(),
            Some(parsed) => parsed.map_err(|e| EdgeError::InvalidBody(e.to_string()))?,
        };
        let discord = match self.v.as_deref().map(str::parse::<u8>) {
            None => None,
            Some(Ok(version)) if discord::VERSIONS.contains(&version) => Some(discord::Dialect {
                version,
                resume_url: crate::transport::rest::gateway_url(edge, headers),
            }),
            Some(_) => {
                return Err(invalid(
                    "unsupported gateway version (v=9 and v=10 are served)",
                ));
            }
        };
        // zstd-stream is answered uncompressed: Discord's libraries take a
        // text frame as plain JSON whatever they asked for.
        let zlib = match self.compress.as_deref() {
            None | Some("zstd-stream") => false,
            Some("zlib-stream") => true,
            Some(_) => return Err(invalid("unknown compress (zlib-stream is served)")),
        };
        Ok(Options {
            encoding,
            discord,
            zlib,
        })
    }
}

/// The connection on an upgraded socket, once the upgrade completed.
fn open(
    edge: Arc<Edge>,
    upgraded: Result<fastwebsockets::WebSocket<TokioIo<Upgraded>>, fastwebsockets::WebSocketError>,
    options: Options,
    holds: reader::Holds,
) -> Option<reader::Connection> {
    let upgraded = match upgraded {
        Ok(ws) => ws.into_inner().into_inner(),
        Err(e) => {
            tracing::debug!(error = %e, "websocket upgrade failed");
            return None;
        }
    };
    // Every listener serves plain TCP (`transport::serve`): the socket
    // itself, so deliveries can write on it without a task hop.
    let Ok(parts) = upgraded.downcast::<TokioIo<tokio::net::TcpStream>>() else {
        tracing::error!("websocket over a transport other than tcp; closed");
        return None;
    };
    // `read_buf` is a view of hyper's whole read buffer (8 KiB): the
    // connection copies its bytes (usually none) and lets the buffer go.
    let tcp = parts.io.into_inner();
    Some(reader::Connection::open(
        edge,
        tcp,
        &parts.read_buf,
        options,
        holds,
    ))
}

pub(crate) async fn upgrade(
    State(edge): State<Arc<Edge>>,
    Query(q): Query<GatewayQuery>,
    headers: HeaderMap,
    slot: Option<axum::Extension<crate::transport::ConnectionSlot>>,
    ws: IncomingUpgrade,
) -> Response {
    let options = match q.options(&edge, &headers) {
        Ok(options) => options,
        Err(e) => return e.into_response(),
    };
    if edge.gateways.draining() {
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
    let holds = reader::Holds { permit, slot };
    // A combinator rather than an `async` block: the task keeps either the
    // upgrade in progress or the connection, never both side by side.
    let connection = fut.map(move |upgraded| open(edge, upgraded, options, holds));
    tokio::spawn(connection.then(|c| OptionFuture::from(c.map(reader::Connection::serve))));
    response.into_response()
}
