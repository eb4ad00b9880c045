//! A small Rookery client built only on the wire contract
//! ([`rookery_proto`]): [`Api`] for REST, [`Gateway`] for the WebSocket
//! gateway in either encoding. Tests, the chat example and tools use it.

mod api;
mod gateway;

pub use api::Api;
pub use gateway::{Gateway, ServerFrame};

/// Client-side failures.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Transport-level HTTP failure.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an error body.
    #[error("{status}: {code} {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Rookery error code.
        code: u32,
        /// Human message.
        message: String,
    },
    /// WebSocket failure.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server closed the gateway connection.
    #[error("closed by server: {code} {reason}")]
    Closed {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// A frame was not what the protocol allows.
    #[error("protocol: {0}")]
    Protocol(String),
    /// Nothing arrived in time.
    #[error("timed out waiting for {0}")]
    Timeout(String),
}

/// Result alias.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
