//! `rookery serve` settings: flags, each overridable by a `ROOKERY_*`
//! environment variable. Tests build [`ServeConfig`] directly and never touch
//! the process environment.

use clap::Args;
use rookery_edge::EdgeConfig;
use rookery_store_scylla::Replication;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of the single-node shape (every role in one process).
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address for HTTP, REST and the gateway.
    #[arg(long, env = "ROOKERY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address for `/healthz`, `/readyz` and `/metrics` (the operations
    /// listener of `serve` and `edge`; a writer serves them on `--listen`).
    #[arg(long, env = "ROOKERY_OPS_LISTEN", default_value = "127.0.0.1:9464")]
    pub ops_listen: SocketAddr,
    /// Most open connections on the operations listener.
    #[arg(long, env = "ROOKERY_OPS_MAX_CONNECTIONS", default_value_t = 64)]
    pub ops_max_connections: usize,
    /// Directory of the embedded store and bus (created if missing).
    #[arg(long, env = "ROOKERY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Where messages and metadata live: `embedded` (fjall under the data
    /// dir) or a ScyllaDB cluster, `scylla://host:port,.../keyspace?options`
    /// (migrated first with `rookery migrate`).
    #[arg(
        long,
        env = "ROOKERY_STORE",
        default_value = "embedded",
        hide_env_values = true
    )]
    pub store: String,
    /// The event bus: `embedded` (a log under the data dir) or Kafka,
    /// `kafka://host:port,...[?topic=...&<librdkafka property>=...]` (create
    /// the topics first with `rookery topics ensure`).
    #[arg(
        long,
        env = "ROOKERY_BUS",
        default_value = "embedded",
        hide_env_values = true
    )]
    pub bus: String,
    /// Snowflake worker id (0..=1023); unique per process in a cluster.
    #[arg(long, env = "ROOKERY_WORKER_ID", default_value_t = 0)]
    pub worker_id: u16,
    /// HS256 signing secret for tokens. Default: a random secret generated
    /// once and kept in `<data-dir>/jwt.secret`.
    #[arg(long, env = "ROOKERY_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Width of a message time bucket in milliseconds; fixed per data dir.
    #[arg(long, env = "ROOKERY_BUCKET_MS", default_value_t = rookery_store::DEFAULT_BUCKET_MS)]
    pub bucket_ms: u64,
    /// Partitions of the embedded bus; fixed per data dir.
    #[arg(long, env = "ROOKERY_PARTITIONS", default_value_t = 16)]
    pub partitions: u32,
    /// Microseconds the embedded bus's group commit waits for more records
    /// when the previous group held more than one (fewer fsyncs under load,
    /// at most this much more ack latency; a lone message is never held).
    /// 0 commits at once.
    #[arg(long, env = "ROOKERY_BUS_COMMIT_LINGER_US", default_value_t = rookery_bus::DEFAULT_COMMIT_LINGER.as_micros() as u64)]
    pub bus_commit_linger_us: u64,
    /// Size of an embedded-bus log segment file in MiB (1 to 1024). A
    /// segment every consumer group has read is reused or deleted.
    #[arg(long, env = "ROOKERY_BUS_SEGMENT_MIB", default_value_t = rookery_bus::DEFAULT_SEGMENT_BYTES >> 20, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub bus_segment_mib: u64,
    /// Heartbeat interval announced to clients, in milliseconds.
    #[arg(long, env = "ROOKERY_HEARTBEAT_INTERVAL_MS", default_value_t = 41_250)]
    pub heartbeat_interval_ms: u64,
    /// Milliseconds after HELLO within which a connection must IDENTIFY or
    /// RESUME (else close 4003; heartbeats do not extend it).
    #[arg(long, env = "ROOKERY_IDENTIFY_TIMEOUT_MS", default_value_t = 10_000)]
    pub identify_timeout_ms: u64,
    /// How long a session token is valid, in seconds (Discord-style clients
    /// log in again after it).
    #[arg(long, env = "ROOKERY_TOKEN_TTL_SECS", default_value_t = 7 * 24 * 3600)]
    pub token_ttl_secs: u64,
    /// The gateway URL `GET /api/v1/gateway` answers (behind a proxy or TLS
    /// terminator: its `wss://` address); unset, `ws://` and the request's
    /// Host.
    #[arg(long, env = "ROOKERY_GATEWAY_URL")]
    pub gateway_url: Option<String>,
    /// Largest inbound gateway frame, in bytes.
    #[arg(long, env = "ROOKERY_MAX_FRAME_BYTES", default_value_t = 4096)]
    pub max_frame_bytes: usize,
    /// Most open connections on the public listener, HTTP and WebSocket
    /// together. At the cap the longest-idle HTTP connection is closed to
    /// make room; with none idle, the newcomer is refused.
    #[arg(long, env = "ROOKERY_MAX_CONNECTIONS", default_value_t = 18_000)]
    pub max_connections: usize,
    /// Connections of `--max-connections` the gateway may not take, kept for
    /// REST, logins and health checks.
    #[arg(long, env = "ROOKERY_CONNECTION_RESERVE", default_value_t = 512)]
    pub connection_reserve: usize,
    /// Milliseconds a client has to send a request's headers; an idle
    /// keep-alive connection is closed after it too.
    #[arg(long, env = "ROOKERY_HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_header_timeout_ms: u64,
    /// Inbound gateway frames per connection per minute (burst size).
    #[arg(long, env = "ROOKERY_FRAMES_PER_MINUTE", default_value_t = 120)]
    pub frames_per_minute: u32,
    /// REST requests per user per second (burst size; Discord's global
    /// limit is 50). 0 turns the limit off.
    #[arg(long, env = "ROOKERY_REST_REQUESTS_PER_SECOND", default_value_t = 50)]
    pub rest_requests_per_second: u32,
    /// Messages one user may post in one channel per 5 seconds, over all
    /// their connections and REST clients together (Discord's 5; 429 or
    /// SEND_ERROR 20028 beyond; 0: unlimited).
    #[arg(long, env = "ROOKERY_CHANNEL_MESSAGES_PER_5S", default_value_t = 5)]
    pub channel_messages_per_5s: u32,
    /// Login attempts per client address per minute (0: unlimited; behind
    /// a proxy every client has the proxy's address).
    #[arg(
        long,
        env = "ROOKERY_LOGINS_PER_MINUTE_PER_ADDRESS",
        default_value_t = 30
    )]
    pub logins_per_minute_per_address: u32,
    /// Login attempts per username per minute, from any address (0:
    /// unlimited).
    #[arg(
        long,
        env = "ROOKERY_LOGINS_PER_MINUTE_PER_USERNAME",
        default_value_t = 10
    )]
    pub logins_per_minute_per_username: u32,
    /// Registrations per client address per hour (0: unlimited).
    #[arg(
        long,
        env = "ROOKERY_REGISTRATIONS_PER_HOUR_PER_ADDRESS",
        default_value_t = 30
    )]
    pub registrations_per_hour_per_address: u32,
    /// Frames queued per connection before a client that does not read is
    /// disconnected (close 4101).
    #[arg(long, env = "ROOKERY_OUTBOUND_QUEUE", default_value_t = 1024)]
    pub outbound_queue: usize,
    /// Frames of one applied batch written straight to their sockets by the
    /// delivering thread; the rest go through the connections' writer
    /// tasks, spread over the cores.
    #[arg(long, env = "ROOKERY_WRITE_THROUGH_PER_BATCH", default_value_t = 64)]
    pub write_through_per_batch: usize,
    /// MiB of recent sends kept for nonce retries (10 minutes each at
    /// most); the least used go first beyond it.
    #[arg(long, env = "ROOKERY_NONCE_CACHE_MIB", default_value_t = 64)]
    pub nonce_cache_mib: u64,
    /// Dispatches kept per session for RESUME; a detached session whose
    /// buffer drops one its client never got is ended.
    #[arg(long, env = "ROOKERY_REPLAY_BUFFER", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub replay_buffer: u64,
    /// Sessions one user may hold on this edge; at the cap a new IDENTIFY
    /// ends their oldest detached session, or is refused (close 4008) if
    /// every one is attached.
    #[arg(long, env = "ROOKERY_MAX_SESSIONS_PER_USER", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sessions_per_user: u64,
    /// IDENTIFYs one user may start per day on this edge (Discord's
    /// `session_start_limit.total`); then close 4008.
    #[arg(long, env = "ROOKERY_IDENTIFIES_PER_DAY", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub identifies_per_day: u32,
    /// Seconds a disconnected session stays resumable.
    #[arg(long, env = "ROOKERY_RESUME_WINDOW_SECS", default_value_t = 120)]
    pub resume_window_secs: u64,
    /// Milliseconds after a user's last connection drops before they show
    /// offline.
    #[arg(long, env = "ROOKERY_PRESENCE_GRACE_MS", default_value_t = 5000)]
    pub presence_grace_ms: u64,
    /// Seconds between refreshes of an unchanged presence (other edges drop
    /// a presence not refreshed within three).
    #[arg(long, env = "ROOKERY_PRESENCE_REFRESH_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub presence_refresh_secs: u64,
}

/// `rookery topics ensure` settings.
#[derive(Debug, Clone, Args)]
pub struct TopicsConfig {
    /// The Kafka cluster, `kafka://host:port,...[?<librdkafka property>=...]`.
    #[arg(long, env = "ROOKERY_BUS", hide_env_values = true)]
    pub bus: String,
    /// Replication factor for every topic instead of the definitions' (a
    /// development cluster of one broker needs 1).
    #[arg(long)]
    pub replication_factor: Option<u32>,
    /// Partitions for every topic instead of the definitions'.
    #[arg(long)]
    pub partitions: Option<u32>,
}

/// `rookery migrate` settings.
#[derive(Debug, Clone, Args)]
pub struct MigrateConfig {
    /// The ScyllaDB cluster and keyspace, `scylla://host:port,.../keyspace`.
    #[arg(long, env = "ROOKERY_STORE", hide_env_values = true)]
    pub store: String,
    /// Keyspace replication when it is created: `simple:N` (SimpleStrategy,
    /// development) or `dc1:N,dc2:N` (NetworkTopologyStrategy, production).
    #[arg(long, env = "ROOKERY_REPLICATION", default_value = "simple:1")]
    pub replication: Replication,
    /// Seconds to wait for another migrator's schema lock before giving up.
    #[arg(long, env = "ROOKERY_LOCK_WAIT_SECS", default_value_t = 600)]
    pub lock_wait_secs: u64,
    /// Seconds of the schema lock's lease: how soon a crashed migrator's
    /// lock frees itself (a running one renews it every third of it).
    #[arg(long, env = "ROOKERY_LOCK_LEASE_SECS", default_value_t = 60)]
    pub lock_lease_secs: u64,
}

impl ServeConfig {
    /// Defaults for a node serving `listen` from `data_dir`, with its
    /// operations listener on any free loopback port.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            ops_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ops_max_connections: 64,
            data_dir: data_dir.into(),
            store: "embedded".into(),
            bus: "embedded".into(),
            worker_id: 0,
            jwt_secret: None,
            bucket_ms: rookery_store::DEFAULT_BUCKET_MS,
            partitions: 16,
            bus_commit_linger_us: rookery_bus::DEFAULT_COMMIT_LINGER.as_micros() as u64,
            bus_segment_mib: rookery_bus::DEFAULT_SEGMENT_BYTES >> 20,
            heartbeat_interval_ms: 41_250,
            identify_timeout_ms: 10_000,
            token_ttl_secs: 7 * 24 * 3600,
            gateway_url: None,
            max_frame_bytes: 4096,
            max_connections: 18_000,
            connection_reserve: 512,
            http_header_timeout_ms: 10_000,
            frames_per_minute: 120,
            rest_requests_per_second: 50,
            channel_messages_per_5s: 5,
            logins_per_minute_per_address: 30,
            logins_per_minute_per_username: 10,
            registrations_per_hour_per_address: 30,
            outbound_queue: 1024,
            write_through_per_batch: 64,
            nonce_cache_mib: 64,
            replay_buffer: 1024,
            max_sessions_per_user: 16,
            identifies_per_day: 1000,
            resume_window_secs: 120,
            presence_grace_ms: 5000,
            presence_refresh_secs: 60,
        }
    }

    /// Limits of the operations listener.
    pub fn ops_limits(&self) -> rookery_edge::transport::HttpLimits {
        rookery_edge::transport::HttpLimits {
            max_connections: self.ops_max_connections.max(1),
            header_timeout: Duration::from_millis(self.http_header_timeout_ms.max(1)),
            name: "ops",
        }
    }

    /// The edge's share of the settings.
    pub fn edge(&self, jwt_secret: Vec<u8>) -> EdgeConfig {
        EdgeConfig {
            worker_id: self.worker_id,
            heartbeat_interval: Duration::from_millis(self.heartbeat_interval_ms),
            identify_timeout: Duration::from_millis(self.identify_timeout_ms),
            token_ttl: Duration::from_secs(self.token_ttl_secs.max(1)),
            gateway_url: self.gateway_url.clone(),
            max_frame_bytes: self.max_frame_bytes,
            max_connections: self.max_connections,
            connection_reserve: self.connection_reserve,
            http_header_timeout: Duration::from_millis(self.http_header_timeout_ms.max(1)),
            frame_rate_burst: self.frames_per_minute,
            frame_rate_window: Duration::from_secs(60),
            rest_rate_burst: self.rest_requests_per_second,
            rest_rate_window: Duration::from_secs(1),
            channel_messages_burst: self.channel_messages_per_5s,
            channel_messages_window: Duration::from_secs(5),
            logins_per_minute_per_address: self.logins_per_minute_per_address,
            logins_per_minute_per_username: self.logins_per_minute_per_username,
            registrations_per_hour_per_address: self.registrations_per_hour_per_address,
            outbound_queue: self.outbound_queue.max(1),
            write_through_per_batch: self.write_through_per_batch,
            resume_window: Duration::from_secs(self.resume_window_secs),
            replay_buffer: self.replay_buffer as usize,
            nonce_cache_mib: self.nonce_cache_mib,
            max_sessions_per_user: self.max_sessions_per_user as usize,
            identify_burst: self.identifies_per_day,
            identify_window: Duration::from_secs(24 * 3600),
            presence_grace: Duration::from_millis(self.presence_grace_ms),
            presence_refresh: Duration::from_secs(self.presence_refresh_secs.max(1)),
            ..EdgeConfig::new(jwt_secret)
        }
    }
}
