//! Edge settings. Built by the binary from flags, environment and defaults;
//! tests build them directly.

use std::time::Duration;

/// Everything the edge needs to know.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Snowflake worker id of this process; also its origin id on the bus.
    pub worker_id: u16,
    /// HMAC secret for HS256 session tokens.
    pub jwt_secret: Vec<u8>,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// What `GET /gateway` answers; none: `ws://` and the request's Host.
    pub gateway_url: Option<String>,
    /// Heartbeat interval announced in HELLO. A connection is closed with
    /// 4009 when no heartbeat arrives within 1.5 intervals.
    pub heartbeat_interval: Duration,
    /// How long after HELLO a connection has to IDENTIFY or RESUME before it
    /// is closed with 4003 (heartbeats do not extend it).
    pub identify_timeout: Duration,
    /// Largest inbound WebSocket frame, in bytes.
    pub max_frame_bytes: usize,
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// Inbound frames allowed per connection in a burst, refilled over
    /// `frame_rate_window` (Discord: 120 per 60 s).
    pub frame_rate_burst: u32,
    /// Window over which the frame budget refills.
    pub frame_rate_window: Duration,
    /// REST requests allowed per user in a burst, refilled over
    /// `rest_rate_window` (0: unlimited).
    pub rest_rate_burst: u32,
    /// Window over which the REST budget refills.
    pub rest_rate_window: Duration,
    /// Messages one user may post in one channel per
    /// `channel_messages_window`, over every connection and REST client
    /// together (Discord: 5 per 5 s; 0: unlimited).
    pub channel_messages_burst: u32,
    /// Window over which that budget refills.
    pub channel_messages_window: Duration,
    /// Login attempts per source address per minute (0: unlimited).
    pub logins_per_minute_per_address: u32,
    /// Login attempts per username per minute, from any address (0:
    /// unlimited).
    pub logins_per_minute_per_username: u32,
    /// Registrations per source address per hour (0: unlimited).
    pub registrations_per_hour_per_address: u32,
    /// Frames a connection's outbound queue holds before the client is
    /// disconnected as a slow consumer.
    pub outbound_queue: usize,
    /// Frames of one applied batch the hub writes through on its own
    /// thread; the rest are written by the connections' writer tasks, on
    /// every core.
    pub write_through_per_batch: usize,
    /// MiB the send path's nonce cache (idempotent retries) may hold.
    pub nonce_cache_mib: u64,
    /// Dispatches kept per session for RESUME.
    pub replay_buffer: usize,
    /// Sessions one user may hold on this edge; at the cap a new IDENTIFY
    /// ends the user's oldest detached session, or is refused (4008) if all
    /// are attached.
    pub max_sessions_per_user: usize,
    /// IDENTIFYs one user may start per `identify_window` on this edge
    /// (Discord's `session_start_limit`: 1000 a day).
    pub identify_burst: u32,
    /// Window over which the identify budget refills.
    pub identify_window: Duration,
    /// How long a disconnected session can still be resumed.
    pub resume_window: Duration,
    /// Most open TCP connections on the public listener, HTTP and WebSocket
    /// together.
    pub max_connections: usize,
    /// Connections of `max_connections` that WebSockets may not take, so
    /// REST calls, logins and health checks still get in when the gateway
    /// is full.
    pub connection_reserve: usize,
    /// Time a client has to send a request's headers; an idle keep-alive
    /// connection is closed after it too.
    pub http_header_timeout: Duration,
    /// How long a REST mutation waits to be applied before answering 202.
    pub apply_timeout: Duration,
    /// How long after a user's last connection drops they show offline (a
    /// reconnect within it shows nothing).
    pub presence_grace: Duration,
    /// How often an unchanged presence is published again; other edges
    /// drop a view not refreshed within three of these.
    pub presence_refresh: Duration,
}

impl EdgeConfig {
    /// Gateway connections allowed: the cap less the reserve (at least one).
    pub fn max_websockets(&self) -> usize {
        self.max_connections
            .saturating_sub(self.connection_reserve)
            .max(1)
    }

    /// Defaults with the given signing secret.
    pub fn new(jwt_secret: Vec<u8>) -> Self {
        Self {
            worker_id: 0,
            jwt_secret,
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            gateway_url: None,
            heartbeat_interval: Duration::from_millis(41_250),
            identify_timeout: Duration::from_secs(10),
            max_frame_bytes: 4096,
            max_message_chars: 2000,
            frame_rate_burst: 120,
            frame_rate_window: Duration::from_secs(60),
            rest_rate_burst: 50,
            rest_rate_window: Duration::from_secs(1),
            channel_messages_burst: 5,
            channel_messages_window: Duration::from_secs(5),
            logins_per_minute_per_address: 30,
            logins_per_minute_per_username: 10,
            registrations_per_hour_per_address: 30,
            outbound_queue: 1024,
            write_through_per_batch: 64,
            nonce_cache_mib: 64,
            replay_buffer: 1024,
            resume_window: Duration::from_secs(120),
            max_sessions_per_user: 16,
            identify_burst: 1000,
            identify_window: Duration::from_secs(24 * 3600),
            max_connections: 18_000,
            connection_reserve: 512,
            http_header_timeout: Duration::from_secs(10),
            apply_timeout: Duration::from_secs(5),
            presence_grace: Duration::from_secs(5),
            presence_refresh: Duration::from_secs(60),
        }
    }
}
