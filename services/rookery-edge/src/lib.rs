//! The edge role: terminates client WebSockets (the gateway) and serves the
//! REST API. It authenticates, validates and publishes changes to the bus,
//! and delivers applied events to its local sessions through the [`Hub`].
//!
//! Reads (history, guilds, memberships) go to the store, through moka caches
//! where hot. Writes never touch the store directly, except account
//! creation, which needs an atomic username claim (see `docs/architecture.md`).

mod access;
mod config;
mod delivery;
mod error;
pub mod metrics;
mod operations;
pub mod transport;

/// Entry points for the fuzz targets in `fuzz/` (built with `--cfg
/// fuzzing` only).
#[cfg(fuzzing)]
pub mod fuzz_logic {
    /// Reads WebSocket client frames from `bytes` until the reader stops;
    /// returns how many it read. Every frame it returns respects the size
    /// limit.
    pub fn read_frames(bytes: &[u8], max_payload: usize) -> usize {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let mut reader = crate::transport::gateway::FrameReader::new(bytes, max_payload);
            let mut read = 0;
            while let Ok(frame) = reader.next().await {
                assert!(frame.payload.len() <= max_payload, "a frame over the limit");
                read += 1;
            }
            read
        })
    }
}

pub use config::EdgeConfig;
pub use delivery::hub::Hub;
pub use error::EdgeError;
pub use operations::domain::Applied;
pub use transport::rest::API_ROUTES;

use access::auth::{Hasher, Tokens};
use access::caches::Caches;
use access::ratelimit;
use delivery::session::Session;
use delivery::{presence, sessions};
use rookery_bus::Bus;
use rookery_proto::Snowflake;
use rookery_store::Store;
use sessions::{Refusal, Registry};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, watch};
use transport::rest;

/// Renders the Prometheus exposition for `/metrics`.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// One edge: shared state behind every connection and request.
pub struct Edge {
    config: EdgeConfig,
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    hub: Arc<Hub>,
    ids: Snowflake,
    tokens: Tokens,
    hasher: Hasher,
    caches: Caches,
    sessions: Registry,
    presence: Mutex<presence::Local>,
    connections: Arc<Semaphore>,
    rest_limits: Option<ratelimit::RestLimits>,
    auth_limits: ratelimit::AuthLimits,
    message_limits: Option<ratelimit::Keyed<(rookery_proto::UserId, rookery_proto::ChannelId)>>,
    /// Open gateway connections, for a drain.
    gateways: transport::gateway::OpenConnections,
    ready: AtomicBool,
    metrics: Option<MetricsRender>,
}

impl Edge {
    /// An edge over `store` and `bus`; `hub` must be the one the writer
    /// pushes to.
    pub fn new(
        config: EdgeConfig,
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        hub: Arc<Hub>,
        metrics: Option<MetricsRender>,
    ) -> Result<Arc<Self>, rookery_proto::id::InvalidWorker> {
        hub.set_write_through_budget(config.write_through_per_batch);
        Ok(Arc::new(Self {
            ids: Snowflake::new(config.worker_id)?,
            tokens: Tokens::new(&config.jwt_secret, config.token_ttl),
            hasher: Hasher::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            caches: Caches::new(config.nonce_cache_mib.saturating_mul(1 << 20)),
            sessions: Registry::new(sessions::SessionLimits {
                per_user: config.max_sessions_per_user,
                identify_burst: config.identify_burst,
                identify_window: config.identify_window,
            }),
            presence: Mutex::new(presence::Local::new(presence::Timing {
                grace: config.presence_grace,
                refresh: config.presence_refresh,
            })),
            connections: Arc::new(Semaphore::new(config.max_websockets())),
            auth_limits: ratelimit::AuthLimits::new(&config),
            message_limits: ratelimit::Keyed::new(
                config.channel_messages_burst,
                config.channel_messages_window,
            ),
            rest_limits: ratelimit::RestLimits::new(
                config.rest_rate_burst,
                config.rest_rate_window,
            ),
            gateways: Default::default(),
            ready: AtomicBool::new(false),
            config,
            store,
            bus,
            hub,
            metrics,
        }))
    }

    /// The public HTTP router: REST, gateway and health.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        rest::router(self.clone())
    }

    /// The operations router: health, readiness and metrics.
    pub fn ops_router(self: &Arc<Self>) -> axum::Router {
        rest::ops_router(self.clone())
    }

    /// Marks the edge ready (for `/readyz`).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Admits a new session for its user (spending an IDENTIFY, ending the
    /// user's oldest detached session at their cap) and routes to it.
    fn register_session(&self, s: &Arc<Session>) -> Result<(), Refusal> {
        let admitted = self
            .sessions
            .take_identify(s.user.id)
            .and_then(|()| self.sessions.admit(s));
        let evicted = admitted.inspect_err(|refusal| {
            ::metrics::counter!(metrics::IDENTIFY_REFUSED, "reason" => refusal.label())
                .increment(1);
        })?;
        if let Some(old) = evicted {
            self.unroute(&old, "evicted");
        }
        self.hub.add_session(s);
        Ok(())
    }

    fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions.get(id)
    }

    /// Ends a session for good: no RESUME after this. `reason` is one of
    /// [`metrics::SESSION_END_REASONS`].
    fn end_session(&self, s: &Session, reason: &'static str) {
        if self.sessions.remove(s) {
            self.unroute(s, reason);
        }
    }

    /// Stops fan-out to a session already out of the registry.
    fn unroute(&self, s: &Session, reason: &'static str) {
        self.hub.remove_session(s);
        self.presence_ended(s);
        ::metrics::counter!(metrics::SESSIONS_ENDED, "reason" => reason).increment(1);
    }

    /// Ends sessions detached for longer than the resume window, those
    /// whose replay buffer overflowed and those whose tokens were revoked;
    /// returns how many. The binary calls
    /// this every second.
    pub fn expire_sessions(&self) -> usize {
        let window = self.config.resume_window;
        let ended = self
            .sessions
            .matching(|s| s.overflowed() || s.detached_at().is_some_and(|t| t.elapsed() >= window));
        for s in &ended {
            let reason = if s.revoked() {
                "revoked"
            } else if s.overflowed() {
                "overflowed"
            } else {
                "expired"
            };
            self.end_session(s, reason);
        }
        ended.len()
    }

    /// Starts draining: new gateway connections are refused and every open
    /// one is closed with 4102, so clients reconnect elsewhere and resume.
    pub fn drain(&self) {
        self.set_ready(false);
        self.gateways.drain();
    }

    /// Withdraws this edge's interest (call when stopping, after
    /// [`Edge::drain`]).
    pub async fn leave(&self) {
        self.hub.leave().await;
    }

    /// Open gateway connections.
    pub fn open_connections(&self) -> usize {
        self.config.max_websockets() - self.connections.available_permits()
    }

    /// Serves the edge's routes on `listener` within its connection limits
    /// until `stopped`.
    pub async fn serve(
        self: &Arc<Self>,
        listener: tokio::net::TcpListener,
        stopped: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let limits = transport::HttpLimits {
            max_connections: self.config.max_connections,
            header_timeout: self.config.http_header_timeout,
            name: "public",
        };
        transport::serve(listener, self.router(), limits, stopped).await
    }
}
