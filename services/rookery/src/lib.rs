//! The `rookery` binary's library half: configuration and the wiring of the
//! single-node shape (embedded store and bus, writer, edge), so integration
//! tests can start a real server in-process on port 0.

mod config;
mod roles;
mod supervise;
mod telemetry;

pub use config::{MigrateConfig, ServeConfig, TopicsConfig};
pub use roles::{
    EdgeNode, EdgeRoleConfig, WriterNode, WriterRoleConfig, start_edge, start_writer,
    start_writer_on,
};
pub use telemetry::{init_logging, metrics_handle};

use anyhow::{Context, Result};
use rookery_bus::{Bus, EmbeddedBus, EmbeddedBusConfig};
use rookery_bus_kafka::{KafkaBus, KafkaConfig};
use rookery_edge::{Edge, Hub};
use rookery_store::{EmbeddedConfig, EmbeddedStore, Store};
use rookery_store_scylla::{ScyllaConfig, ScyllaStore};
use rookery_writer::{EphemeralRelay, Writer, WriterConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running single-node server.
pub struct Server {
    addr: SocketAddr,
    ops_addr: SocketAddr,
    edge: Arc<Edge>,
    stop: watch::Sender<bool>,
    http: Listeners,
    writer: JoinHandle<Result<()>>,
    failure: supervise::Failure,
}

/// Opens the data dir, replays the bus backlog into the store, and starts
/// serving. Fails with a one-line reason on a taken port or unusable data dir.
pub async fn start(config: ServeConfig) -> Result<Server> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("data dir {} is not usable", config.data_dir.display()))?;
    let listener = bind(config.listen).await?;
    let ops_listener = bind(config.ops_listen).await?;
    let addr = listener.local_addr()?;
    let ops_addr = ops_listener.local_addr()?;
    let secret = jwt_secret(&config)?;
    // The recorder before the store and bus: what they report at open
    // (the log's segment count) would otherwise be lost.
    metrics_handle();
    let store = open_store(&config).await.context("cannot open the store")?;
    let bus = open_bus(&config).await.context("cannot open the bus")?;

    // One node: the writer pushes every event to this one edge.
    let hub = Hub::new(
        config.worker_id,
        store.clone(),
        Arc::new(rookery_bus::LocalInterest),
    );
    let edge = Edge::new(
        config.edge(secret),
        store.clone(),
        bus.clone(),
        hub.clone(),
        metrics_render(),
    )
    .context("invalid edge configuration")?;
    let relay = EphemeralRelay::new(bus.as_ref(), hub.clone()).await?;
    let mut writer = Writer::new(bus.as_ref(), store, hub, &WriterConfig::default()).await?;
    let replayed = writer
        .catch_up()
        .await
        .context("cannot replay the bus into the store")?;
    tracing::info!(replayed, "bus backlog applied");

    let (stop, stopped) = watch::channel(false);
    let failure = supervise::Failure::new();
    let run = writer.run(wait_for(stopped.clone()));
    let writer = supervise::spawn("writer", run, stopped.clone(), &failure);
    let run = relay.run(wait_for(stopped.clone()));
    supervise::spawn("ephemeral relay", run, stopped.clone(), &failure);
    tokio::spawn(unready_on_failure(edge.clone(), failure.clone()));
    tokio::spawn(expire_sessions(edge.clone(), stopped.clone()));
    let http = serve_edge(&edge, listener, ops_listener, &config, stopped);
    edge.set_ready(true);
    tracing::info!(%addr, %ops_addr, data_dir = %config.data_dir.display(), "rookery serving");
    Ok(Server {
        addr,
        ops_addr,
        edge,
        stop,
        http,
        writer,
        failure,
    })
}

/// A failed role makes the edge unready: clients and load balancers move
/// to other nodes while the process exits.
async fn unready_on_failure(edge: Arc<Edge>, failure: supervise::Failure) {
    failure.failed().await;
    edge.set_ready(false);
}

/// The `/metrics` renderer: the exposition plus process metrics, read from
/// /proc at scrape time.
pub(crate) fn metrics_render() -> Option<rookery_edge::MetricsRender> {
    metrics_handle().map(|h| {
        Arc::new(move || {
            metrics_process::Collector::default().collect();
            h.render()
        }) as rookery_edge::MetricsRender
    })
}

/// Binds `listen`, failing with a one-line reason.
pub(crate) async fn bind(listen: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))
}

/// Serves `app` on an operations listener (health, readiness, metrics).
pub(crate) fn serve_ops(
    listener: TcpListener,
    app: axum::Router,
    config: &ServeConfig,
    stopped: watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>> {
    let limits = config.ops_limits();
    tokio::spawn(rookery_edge::transport::serve(
        listener, app, limits, stopped,
    ))
}

/// Serves the edge's public routes and its operations routes, each on its
/// own listener, until `stopped`.
pub(crate) fn serve_edge(
    edge: &Arc<Edge>,
    public: TcpListener,
    ops: TcpListener,
    config: &ServeConfig,
    stopped: watch::Receiver<bool>,
) -> Listeners {
    let ops = serve_ops(ops, edge.ops_router(), config, stopped.clone());
    let edge = edge.clone();
    let public = tokio::spawn(async move { edge.serve(public, stopped).await });
    Listeners { public, ops }
}

/// The tasks serving an edge's two listeners.
pub(crate) struct Listeners {
    public: JoinHandle<std::io::Result<()>>,
    ops: JoinHandle<std::io::Result<()>>,
}

impl Listeners {
    /// Waits for both to finish (after `stopped`).
    pub(crate) async fn join(self) -> Result<()> {
        self.public.await??;
        self.ops.await??;
        Ok(())
    }
}

/// `/healthz`, `/readyz` and `/metrics` for a process without the edge's
/// routes (a writer); unready once a role failed.
pub(crate) fn ops_router(
    render: Option<rookery_edge::MetricsRender>,
    failure: supervise::Failure,
) -> axum::Router {
    use axum::http::StatusCode;
    use axum::routing::get;
    let metrics = move || {
        let render = render.clone();
        async move { render.map_or_else(String::new, |r| r()) }
    };
    let readyz = move || {
        let failed = failure.has_failed();
        async move {
            if failed {
                (StatusCode::SERVICE_UNAVAILABLE, "not ready")
            } else {
                (StatusCode::OK, "ready")
            }
        }
    };
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The embedded log under the data dir, or a Kafka cluster.
pub(crate) async fn open_bus(config: &ServeConfig) -> Result<Arc<dyn Bus>> {
    if config.bus == "embedded" {
        let bus_config = EmbeddedBusConfig {
            partitions: config.partitions,
            commit_linger: std::time::Duration::from_micros(config.bus_commit_linger_us),
            segment_bytes: config.bus_segment_mib << 20,
            ..EmbeddedBusConfig::new(config.data_dir.join("bus"))
        };
        return Ok(Arc::new(EmbeddedBus::open(&bus_config)?));
    }
    let kafka = KafkaBus::connect(KafkaConfig::from_url(&config.bus)?).await?;
    Ok(Arc::new(kafka))
}

/// Creates the topics of `kafka/topics.json` that are missing and checks the
/// rest; fails listing every difference.
pub async fn ensure_topics(
    config: &TopicsConfig,
) -> Result<rookery_bus_kafka::topics::EnsureReport> {
    use rookery_bus_kafka::topics;
    let kafka = KafkaConfig::from_url(&config.bus)?;
    let overrides = topics::Overrides {
        replication_factor: config.replication_factor,
        partitions: config.partitions,
    };
    let specs: Vec<_> = topics::definitions_for(&kafka)
        .into_iter()
        .map(|s| overrides.apply(s))
        .collect();
    let report = topics::ensure(&kafka, &specs).await?;
    anyhow::ensure!(
        report.problems.is_empty(),
        "topics differ from kafka/topics.json: {}",
        report.problems.join("; ")
    );
    Ok(report)
}

/// The embedded store under the data dir, or a migrated ScyllaDB keyspace.
pub(crate) async fn open_store(config: &ServeConfig) -> Result<Arc<dyn Store>> {
    if config.store == "embedded" {
        let store_config = EmbeddedConfig {
            bucket_ms: config.bucket_ms,
            ..EmbeddedConfig::new(config.data_dir.join("store"))
        };
        return Ok(Arc::new(EmbeddedStore::open(&store_config)?));
    }
    let scylla = ScyllaConfig {
        bucket_ms: config.bucket_ms,
        ..ScyllaConfig::from_url(&config.store)?
    };
    let store = ScyllaStore::connect(&scylla).await?;
    tracing::info!(nodes = ?scylla.nodes, keyspace = %scylla.keyspace, "scylla store connected");
    Ok(Arc::new(store))
}

/// Applies the ScyllaDB schema (`schema/`) to the configured keyspace. The
/// embedded store creates its tables when it opens, so with it there is
/// nothing to do (and the same deployment Job works for both stores).
pub async fn migrate(config: &MigrateConfig) -> Result<rookery_store_scylla::MigrateReport> {
    if config.store == "embedded" {
        tracing::info!("the embedded store needs no migration");
        return Ok(rookery_store_scylla::MigrateReport::default());
    }
    let scylla = ScyllaConfig::from_url(&config.store)?;
    let options = rookery_store_scylla::MigrateOptions {
        lock_lease: std::time::Duration::from_secs(config.lock_lease_secs.max(3)),
        lock_wait: std::time::Duration::from_secs(config.lock_wait_secs),
    };
    let report = rookery_store_scylla::migrate_with(&scylla, &config.replication, &options).await?;
    Ok(report)
}

impl Server {
    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Resolves with the reason when a role (the writer, the ephemeral
    /// relay) has failed; the process should then exit non-zero.
    pub fn failed(&self) -> impl Future<Output = String> + use<> {
        self.failure.failed()
    }

    /// The operations listener's address (`/metrics`).
    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_addr
    }

    /// Drains and stops: not ready, clients told to reconnect (4102), HTTP
    /// stops accepting, the writer finishes and commits its batch.
    pub async fn stop(self) -> Result<()> {
        self.edge.drain();
        let _ = self.stop.send(true);
        self.http.join().await?;
        self.writer.await??;
        // Give connection writers a moment to flush their close frames.
        for _ in 0..50 {
            if self.edge.open_connections() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

pub(crate) async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Once a second: ends sessions past the resume window, publishes the
/// presence changes that are due and drops expired presences.
pub(crate) async fn expire_sessions(edge: Arc<Edge>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        edge.expire_sessions();
        edge.tick_presence().await;
    }
}

/// The configured secret, or one generated on first start and kept (mode
/// 0600) in the data dir so tokens survive restarts.
pub(crate) fn jwt_secret(config: &ServeConfig) -> Result<Vec<u8>> {
    if let Some(s) = &config.jwt_secret {
        anyhow::ensure!(s.len() >= 32, "the JWT secret must be at least 32 bytes");
        return Ok(s.as_bytes().to_vec());
    }
    let path = config.data_dir.join("jwt.secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => anyhow::bail!(
            "{} is too short; delete it to generate a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_secret(&path),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_secret(path: &Path) -> Result<Vec<u8>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let secret = format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(secret.as_bytes())?;
    f.sync_all()?;
    Ok(secret.into_bytes())
}
