//! Gateway client over tokio-tungstenite (an implementation independent of
//! the server's), in either encoding.

use crate::{ClientError, Result};
use futures_util::{SinkExt, StreamExt};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
use rookery_proto::codec::{self, Encoding, Header};
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::presence::PresenceSet;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::{self, protocol::WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A frame from the server.
#[derive(Debug, Clone)]
pub struct ServerFrame {
    /// `op`, `s`, `t`.
    pub header: Header,
    raw: Vec<u8>,
    encoding: Encoding,
}

impl ServerFrame {
    /// Decodes `d`.
    pub fn d<T: DeserializeOwned>(&self) -> Result<T> {
        codec::decode_d(self.encoding, &self.raw).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// The event name of a dispatch.
    pub fn t(&self) -> Option<&str> {
        self.header.t.as_deref()
    }
}

/// One gateway connection.
pub struct Gateway {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    encoding: Encoding,
    /// The HELLO the server sent.
    pub hello: gw::Hello,
    last_seq: Option<u64>,
    stash: VecDeque<ServerFrame>,
    /// The connection's zlib stream, if it asked for `compress=zlib-stream`.
    inflate: Option<flate2::Decompress>,
}

impl Gateway {
    /// Connects to `ws_base` (e.g. `ws://127.0.0.1:8080`) and reads HELLO.
    pub async fn connect(ws_base: &str, encoding: Encoding) -> Result<Self> {
        Self::connect_from(ws_base, encoding, None).await
    }

    /// Like [`Gateway::connect`], from the local address `source` (e.g. one
    /// of several 127.0.0.x, to spread connections over more port ranges).
    /// Buffers are kept small so one process can hold thousands of
    /// connections.
    pub async fn connect_from(
        ws_base: &str,
        encoding: Encoding,
        source: Option<IpAddr>,
    ) -> Result<Self> {
        Self::connect_with(ws_base, encoding, source, false).await
    }

    /// Like [`Gateway::connect_from`]; with `zlib`, asks for
    /// `compress=zlib-stream` and inflates every frame the server sends.
    pub async fn connect_with(
        ws_base: &str,
        encoding: Encoding,
        source: Option<IpAddr>,
        zlib: bool,
    ) -> Result<Self> {
        let name = match encoding {
            Encoding::Json => "json",
            Encoding::MsgPack => "msgpack",
        };
        let compress = if zlib { "&compress=zlib-stream" } else { "" };
        let url = format!("{ws_base}/gateway?encoding={name}{compress}");
        let authority = ws_base.trim_start_matches("ws://").trim_end_matches('/');
        let addr = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| ClientError::Protocol(format!("resolve {authority}: {e}")))?
            .next()
            .ok_or_else(|| ClientError::Protocol(format!("{authority} resolves to nothing")))?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        };
        let socket = socket.map_err(tungstenite::Error::Io)?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(tungstenite::Error::Io)?;
        }
        let stream = socket.connect(addr).await.map_err(tungstenite::Error::Io)?;
        stream.set_nodelay(true).map_err(tungstenite::Error::Io)?;
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, _) = tokio_tungstenite::client_async_with_config(
            url,
            MaybeTlsStream::Plain(stream),
            Some(config),
        )
        .await?;
        let mut g = Self {
            ws,
            encoding,
            hello: gw::Hello {
                heartbeat_interval: 0,
            },
            last_seq: None,
            stash: VecDeque::new(),
            inflate: zlib.then(|| flate2::Decompress::new(true)),
        };
        let hello = g.next().await?;
        if hello.header.op != op::HELLO {
            return Err(ClientError::Protocol(format!(
                "expected HELLO, got op {}",
                hello.header.op
            )));
        }
        g.hello = hello.d()?;
        Ok(g)
    }

    /// The connection's encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The last dispatch sequence number received.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Sends a frame with `op` and `d`.
    pub async fn send_op<T: Serialize>(&mut self, op: u8, d: &T) -> Result<()> {
        let bytes = codec::encode(self.encoding, op, d);
        self.send_raw(self.frame_message(bytes)).await
    }

    /// Sends any WebSocket message (for testing bad input).
    pub async fn send_raw(&mut self, msg: WsMessage) -> Result<()> {
        self.ws.send(msg).await.map_err(Into::into)
    }

    /// Wraps bytes in the message type of the connection's encoding.
    pub fn frame_message(&self, bytes: Vec<u8>) -> WsMessage {
        match self.encoding {
            Encoding::Json => WsMessage::text(String::from_utf8(bytes).expect("json is utf-8")),
            Encoding::MsgPack => WsMessage::binary(bytes),
        }
    }

    /// The next frame (stashed ones first). A close becomes
    /// [`ClientError::Closed`].
    pub async fn next(&mut self) -> Result<ServerFrame> {
        if let Some(f) = self.stash.pop_front() {
            return Ok(f);
        }
        loop {
            let msg = self.ws.next().await.ok_or(ClientError::Closed {
                code: 1006,
                reason: "eof".into(),
            })??;
            let raw = match msg {
                WsMessage::Text(t) => t.as_bytes().to_vec(),
                WsMessage::Binary(b) => match &mut self.inflate {
                    Some(z) => inflate(z, &b)?,
                    None => b.to_vec(),
                },
                WsMessage::Close(frame) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (f.code.into(), f.reason.to_string())
                    });
                    return Err(ClientError::Closed { code, reason });
                }
                _ => continue,
            };
            let header = codec::decode_header(self.encoding, &raw)
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            if header.s.is_some() {
                self.last_seq = header.s;
            }
            return Ok(ServerFrame {
                header,
                raw,
                encoding: self.encoding,
            });
        }
    }

    /// Waits up to `timeout` for a frame matching `pred`; other frames are
    /// kept for later [`Gateway::next`] calls.
    pub async fn next_matching(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&ServerFrame) -> bool,
    ) -> Result<ServerFrame> {
        if let Some(i) = self.stash.iter().position(&pred) {
            return Ok(self.stash.remove(i).expect("index in range"));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.read_one()).await {
                Ok(f) => f?,
                Err(_) => return Err(ClientError::Timeout(what.to_owned())),
            };
            if pred(&frame) {
                return Ok(frame);
            }
            self.stash.push_back(frame);
        }
    }

    async fn read_one(&mut self) -> Result<ServerFrame> {
        let stash = std::mem::take(&mut self.stash);
        let frame = self.next().await;
        self.stash = stash;
        frame
    }

    /// Waits for a dispatch named `t`.
    pub async fn dispatch(&mut self, t: &str, timeout: Duration) -> Result<ServerFrame> {
        self.next_matching(t, timeout, |f| {
            f.header.op == op::DISPATCH && f.t() == Some(t)
        })
        .await
    }

    /// Waits for a frame with opcode `op`.
    pub async fn op(&mut self, op: u8, timeout: Duration) -> Result<ServerFrame> {
        self.next_matching(&format!("op {op}"), timeout, |f| f.header.op == op)
            .await
    }

    /// IDENTIFY and wait for READY.
    pub async fn identify(&mut self, token: &str) -> Result<gw::Ready> {
        self.identify_after(token, Default::default()).await
    }

    /// IDENTIFY asking for the messages missed since the last id held in
    /// each channel (delivered after READY); waits for READY.
    pub async fn identify_after(
        &mut self,
        token: &str,
        last_message_ids: std::collections::BTreeMap<ChannelId, MessageId>,
    ) -> Result<gw::Ready> {
        let identify = gw::Identify {
            token: token.into(),
            last_message_ids,
            presence: None,
            intents: None,
        };
        self.identify_with(&identify).await
    }

    /// Sends `identify` and waits for READY.
    pub async fn identify_with(&mut self, identify: &gw::Identify) -> Result<gw::Ready> {
        self.send_op(op::IDENTIFY, identify).await?;
        self.dispatch("READY", Duration::from_secs(10)).await?.d()
    }

    /// op 3: sets this session's status and activities.
    pub async fn set_presence(&mut self, presence: &PresenceSet) -> Result<()> {
        self.send_op(op::PRESENCE_UPDATE, presence).await
    }

    /// HEARTBEAT with the last seq.
    pub async fn heartbeat(&mut self) -> Result<()> {
        let seq = self.last_seq;
        self.send_op(op::HEARTBEAT, &seq).await
    }

    /// SEND a message.
    pub async fn send_message(
        &mut self,
        channel_id: ChannelId,
        nonce: &str,
        content: &str,
    ) -> Result<()> {
        let send = gw::Send {
            channel_id,
            nonce: nonce.into(),
            content: content.into(),
            ..gw::Send::default()
        };
        self.send_op(op::SEND, &send).await
    }

    /// Sends a close frame with `code`.
    pub async fn close(mut self, code: u16) -> Result<()> {
        use tokio_tungstenite::tungstenite::protocol::CloseFrame;
        let frame = CloseFrame {
            code: code.into(),
            reason: "".into(),
        };
        self.ws.close(Some(frame)).await.map_err(Into::into)
    }
}

/// One zlib-stream frame, inflated up to its sync flush.
fn inflate(z: &mut flate2::Decompress, frame: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(frame.len() * 4 + 256);
    let start = z.total_in();
    loop {
        let read = (z.total_in() - start) as usize;
        z.decompress_vec(&frame[read..], &mut out, flate2::FlushDecompress::Sync)
            .map_err(|e| ClientError::Protocol(format!("zlib-stream: {e}")))?;
        let read = (z.total_in() - start) as usize;
        if read == frame.len() && out.len() < out.capacity() {
            return Ok(out);
        }
        out.reserve(out.capacity());
    }
}
