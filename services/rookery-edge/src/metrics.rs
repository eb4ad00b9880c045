//! Edge metrics, declared and described in one place. Label values are
//! bounded: close codes, HTTP routes, cache names, results.

use metrics::{
    Counter, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
};
use rookery_proto::gateway::CloseCode;
use std::sync::OnceLock;

/// Open WebSocket connections, by state (`pending` until IDENTIFY or RESUME
/// succeeds, then `identified`).
pub const CONNECTIONS: &str = "rookery_edge_connections";
/// Live sessions (attached or awaiting resume).
pub const SESSIONS: &str = "rookery_edge_sessions";
/// Sessions identified.
pub const IDENTIFIED: &str = "rookery_edge_sessions_identified_total";
/// Sessions resumed.
pub const RESUMED: &str = "rookery_edge_sessions_resumed_total";
/// Sessions ended, by reason (see [`SESSION_END_REASONS`]).
pub const SESSIONS_ENDED: &str = "rookery_edge_sessions_ended_total";
/// Why a session ends: the client closed it, its resume window passed, its
/// replay buffer overflowed while detached, a newer session of the same user
/// evicted it, a RESUME found a gap it could not fill, its IDENTIFY
/// failed after it was registered, or its user's tokens were revoked.
pub const SESSION_END_REASONS: [&str; 7] = [
    "closed",
    "expired",
    "overflowed",
    "evicted",
    "gap",
    "failed",
    "revoked",
];
/// IDENTIFYs refused because the user spent the identify budget or holds
/// the most sessions allowed.
pub const IDENTIFY_REFUSED: &str = "rookery_edge_identify_refused_total";
/// Connections closed for not identifying within the deadline after HELLO.
pub const IDENTIFY_TIMEOUTS: &str = "rookery_edge_identify_timeouts_total";
/// Inbound frames.
pub const FRAMES_IN: &str = "rookery_edge_frames_received_total";
/// Outbound frames.
pub const FRAMES_OUT: &str = "rookery_edge_frames_sent_total";
/// Socket writes, written through by a delivering thread or by a connection's
/// writer (frames sent / writes = frames per write).
pub const SOCKET_WRITES: &str = "rookery_edge_socket_writes_total";
/// Inbound payload bytes.
pub const BYTES_IN: &str = "rookery_edge_received_bytes_total";
/// Outbound payload bytes.
pub const BYTES_OUT: &str = "rookery_edge_sent_bytes_total";
/// Bytes of gateway frames before zlib-stream compression (of the
/// connections that asked for it); against their share of
/// [`BYTES_OUT`], the bandwidth compression saves.
pub const DEFLATE_IN: &str = "rookery_edge_deflate_input_bytes_total";
/// Connections closed by the server, by close code.
pub const CLOSES: &str = "rookery_edge_closes_total";
/// Clients disconnected because their outbound queue overflowed.
pub const SLOW_CONSUMERS: &str = "rookery_edge_slow_consumer_disconnects_total";
/// Seconds from SEND received to SEND_ACK (bus durable).
pub const SEND_ACK_DURATION: &str = "rookery_edge_send_ack_duration_seconds";
/// Sends refused, by error code.
pub const SEND_ERRORS: &str = "rookery_edge_send_errors_total";
/// Seconds from an event's acceptance to its delivery to local sessions.
pub const FANOUT_DELAY: &str = "rookery_edge_fanout_delay_seconds";
/// Seconds from the store having a batch to its delivery to local sessions.
pub const PERSISTED_DELAY: &str = "rookery_edge_persisted_to_delivered_seconds";
/// Dispatches queued to sessions.
pub const DELIVERIES: &str = "rookery_edge_deliveries_total";
/// Inbound frames refused by a rate limit, by scope.
pub const RATE_LIMITED: &str = "rookery_edge_rate_limited_total";
/// Cache lookups, by cache and result (hit/miss).
pub const CACHE_REQUESTS: &str = "rookery_edge_cache_requests_total";
/// HTTP requests, by method, route and status.
pub const HTTP_REQUESTS: &str = "rookery_edge_http_requests_total";
/// HTTP request duration, by route.
pub const HTTP_DURATION: &str = "rookery_edge_http_request_duration_seconds";

/// Open TCP connections of a listener (HTTP and WebSocket), by listener.
pub const HTTP_CONNECTIONS: &str = "rookery_edge_http_connections";
/// Idle HTTP connections closed to make room at the connection cap.
pub const HTTP_EVICTED: &str = "rookery_edge_http_connections_evicted_total";
/// Connections refused at the cap (every slot busy or a WebSocket).
pub const HTTP_REFUSED: &str = "rookery_edge_http_connections_refused_total";
/// HTTP connections ended by the server, by reason (timeout: no complete
/// request headers in time; error: a protocol or I/O error).
pub const HTTP_CLOSED: &str = "rookery_edge_http_connections_closed_total";
/// Listener names, as the `listener` label.
pub const LISTENERS: [&str; 2] = ["public", "ops"];
/// HTTP methods counted by name; any other is `other`.
pub const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Cache names, as the `cache` label.
pub const CACHES: [&str; 5] = [
    "channel",
    "member",
    "guild",
    "permissions",
    "token_generations",
];

/// Registers descriptions with the installed recorder, and creates every
/// series with a bounded label set at zero, so dashboards and alerts see a
/// zero rather than no series before the first event.
pub fn describe() {
    describe_gauge!(
        CONNECTIONS,
        Unit::Count,
        "Open gateway WebSocket connections, by state (pending, identified)."
    );
    for state in ["pending", "identified"] {
        gauge!(CONNECTIONS, "state" => state).set(0.0);
    }
    for code in CloseCode::ALL {
        counter!(CLOSES, "code" => code.code().to_string()).absolute(0);
    }
    for cache in CACHES {
        for result in ["hit", "miss"] {
            counter!(CACHE_REQUESTS, "cache" => cache, "result" => result).absolute(0);
        }
    }
    describe_counter!(
        RATE_LIMITED,
        Unit::Count,
        "Inbound requests refused by a rate limit, by scope."
    );
    for name in [IDENTIFIED, RESUMED, SLOW_CONSUMERS, IDENTIFY_TIMEOUTS] {
        counter!(name).absolute(0);
    }
    for listener in LISTENERS {
        gauge!(HTTP_CONNECTIONS, "listener" => listener).set(0.0);
        counter!(HTTP_EVICTED, "listener" => listener).absolute(0);
        counter!(HTTP_REFUSED, "listener" => listener).absolute(0);
        for reason in ["timeout", "error"] {
            counter!(HTTP_CLOSED, "listener" => listener, "reason" => reason).absolute(0);
        }
    }
    describe_gauge!(
        HTTP_CONNECTIONS,
        Unit::Count,
        "Open TCP connections of a listener, HTTP and WebSocket together."
    );
    describe_counter!(
        HTTP_EVICTED,
        Unit::Count,
        "Idle HTTP connections closed to make room at the connection cap."
    );
    describe_counter!(
        HTTP_REFUSED,
        Unit::Count,
        "Connections refused at the cap because every slot held a request in flight or a WebSocket."
    );
    describe_counter!(
        HTTP_CLOSED,
        Unit::Count,
        "HTTP connections ended by the server, by reason (timeout: no complete request headers in time; error)."
    );
    for reason in SESSION_END_REASONS {
        counter!(SESSIONS_ENDED, "reason" => reason).absolute(0);
    }
    for reason in ["budget", "sessions"] {
        counter!(IDENTIFY_REFUSED, "reason" => reason).absolute(0);
    }
    describe_counter!(
        SESSIONS_ENDED,
        Unit::Count,
        "Gateway sessions ended, by reason (closed, expired, overflowed, evicted, gap, failed)."
    );
    describe_counter!(
        IDENTIFY_REFUSED,
        Unit::Count,
        "IDENTIFYs refused, by reason (budget: the user's identify budget is spent; sessions: the user holds the most sessions allowed)."
    );
    describe_counter!(
        IDENTIFY_TIMEOUTS,
        Unit::Count,
        "Gateway connections closed for not identifying within the deadline after HELLO."
    );
    for scope in ["gateway", "rest", "login", "registration", "messages"] {
        counter!(RATE_LIMITED, "scope" => scope).absolute(0);
    }
    describe_gauge!(
        SESSIONS,
        Unit::Count,
        "Gateway sessions, attached or awaiting resume."
    );
    describe_counter!(IDENTIFIED, Unit::Count, "Gateway sessions identified.");
    describe_counter!(RESUMED, Unit::Count, "Gateway sessions resumed.");
    describe_counter!(FRAMES_IN, Unit::Count, "Gateway frames received.");
    describe_counter!(FRAMES_OUT, Unit::Count, "Gateway frames sent.");
    describe_counter!(
        SOCKET_WRITES,
        Unit::Count,
        "Gateway socket writes (written through or by a connection's writer); each carries one or more frames."
    );
    describe_counter!(BYTES_IN, Unit::Bytes, "Gateway payload bytes received.");
    describe_counter!(
        BYTES_OUT,
        Unit::Bytes,
        "Gateway bytes sent, frame headers included."
    );
    describe_counter!(
        DEFLATE_IN,
        Unit::Bytes,
        "Gateway frame bytes before zlib-stream compression."
    );
    describe_counter!(
        CLOSES,
        Unit::Count,
        "Gateway connections closed by the server, by close code."
    );
    describe_counter!(
        SLOW_CONSUMERS,
        Unit::Count,
        "Gateway clients disconnected for not reading fast enough."
    );
    describe_histogram!(
        SEND_ACK_DURATION,
        Unit::Seconds,
        "Time from SEND received to SEND_ACK sent."
    );
    describe_counter!(
        SEND_ERRORS,
        Unit::Count,
        "Message sends refused, by error code."
    );
    describe_histogram!(
        FANOUT_DELAY,
        Unit::Seconds,
        "Time from an event's acceptance to its delivery to local sessions."
    );
    describe_histogram!(
        PERSISTED_DELAY,
        Unit::Seconds,
        "Time from the store having a batch to its delivery to local sessions."
    );
    describe_counter!(
        DELIVERIES,
        Unit::Count,
        "Dispatches queued to gateway sessions."
    );
    describe_counter!(
        CACHE_REQUESTS,
        Unit::Count,
        "Edge cache lookups, by cache and result."
    );
    describe_counter!(
        HTTP_REQUESTS,
        Unit::Count,
        "HTTP requests, by method, route and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request duration, by route."
    );
}

/// Counters touched per frame, resolved once per process: a registry lookup
/// on every socket write showed up in profiles of fan-out. Resolved on first
/// use, so the recorder must be installed before the first connection (the
/// binary installs it at startup).
pub(crate) struct Hot {
    pub frames_in: Counter,
    pub bytes_in: Counter,
    pub frames_out: Counter,
    pub bytes_out: Counter,
    pub deflate_in: Counter,
    pub socket_writes: Counter,
    pub deliveries: Counter,
    pub view_hits: Counter,
    pub view_misses: Counter,
    pub viewer_list_hits: Counter,
    pub viewer_list_misses: Counter,
}

pub(crate) fn hot() -> &'static Hot {
    static HOT: OnceLock<Hot> = OnceLock::new();
    HOT.get_or_init(|| Hot {
        frames_in: counter!(FRAMES_IN),
        bytes_in: counter!(BYTES_IN),
        frames_out: counter!(FRAMES_OUT),
        bytes_out: counter!(BYTES_OUT),
        deflate_in: counter!(DEFLATE_IN),
        socket_writes: counter!(SOCKET_WRITES),
        deliveries: counter!(DELIVERIES),
        view_hits: counter!(CACHE_REQUESTS, "cache" => "permissions", "result" => "hit"),
        view_misses: counter!(CACHE_REQUESTS, "cache" => "permissions", "result" => "miss"),
        viewer_list_hits: counter!(CACHE_REQUESTS, "cache" => "viewers", "result" => "hit"),
        viewer_list_misses: counter!(CACHE_REQUESTS, "cache" => "viewers", "result" => "miss"),
    })
}
