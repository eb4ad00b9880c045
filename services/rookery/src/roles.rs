//! The cluster roles: `rookery writer` and `rookery edge` as separate
//! processes over Kafka and the internal link (`rookery-link`).
//!
//! - A writer consumes its share of `rookery.events` in the writers' group,
//!   applies it to the store, pushes each applied batch to the connected
//!   edges interested in it (interest from `rookery.interest`, rebuilt for
//!   each new assignment), and (with the embedded store, of which it must
//!   be the only writer) answers the edges' store calls.
//! - An edge serves the gateway and REST, publishes to Kafka, registers
//!   its sessions' channels on `rookery.interest`, connects to every
//!   writer, and reads the store directly (ScyllaDB) or through the writers
//!   (embedded store).

use crate::supervise::{self, Failure};
use crate::{Listeners, ServeConfig, bind, jwt_secret, metrics_render, open_store, wait_for};
use anyhow::{Context, Result};
use clap::Args;
use rookery_bus::{Bus, EdgeId, InterestAcks, InterestTable};
use rookery_bus_kafka::{AppliedNotify, InterestFollower, KafkaBus, KafkaConfig, KafkaInterest};
use rookery_edge::{Edge, Hub};
use rookery_link::{
    EdgeLinks, FanoutServer, LinkKey, LinkSet, RemoteStore, ServerOptions, WriterLink,
};
use rookery_store::Store;
use rookery_writer::{EphemeralRelay, Writer, WriterConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// `rookery writer` settings.
#[derive(Debug, Clone, Args)]
pub struct WriterRoleConfig {
    /// The shared settings (`--bus` must be `kafka://...`; `--listen` serves
    /// /healthz, /readyz and /metrics).
    #[command(flatten)]
    pub node: ServeConfig,
    /// Address edges connect to for fan-out and store calls.
    #[arg(
        long,
        env = "ROOKERY_INTERNAL_LISTEN",
        default_value = "127.0.0.1:7070"
    )]
    pub internal_listen: SocketAddr,
    /// The internal link's shared secret (at least 32 bytes; the same on
    /// every writer and edge): edges prove it before anything else.
    #[arg(
        long,
        env = "ROOKERY_LINK_SECRET",
        hide_env_values = true,
        required = true
    )]
    pub link_secret: String,
    /// Store calls one edge may have in flight on this writer; its next
    /// call waits.
    #[arg(long, env = "ROOKERY_LINK_CALLS_PER_EDGE", default_value_t = 256)]
    pub link_calls_per_edge: usize,
    /// Internal connections that may be authenticating at once; more are
    /// closed at once.
    #[arg(long, env = "ROOKERY_LINK_HANDSHAKES", default_value_t = 64)]
    pub link_handshakes: usize,
}

/// `rookery edge` settings.
#[derive(Debug, Clone, Args)]
pub struct EdgeRoleConfig {
    /// The shared settings (`--bus` must be `kafka://...`; `--jwt-secret` is
    /// required, since every edge must accept every edge's tokens).
    #[command(flatten)]
    pub node: ServeConfig,
    /// Internal addresses of every writer, comma-separated.
    #[arg(long, env = "ROOKERY_WRITERS", value_delimiter = ',', required = true)]
    pub writers: Vec<String>,
    /// The internal link's shared secret (the writers').
    #[arg(
        long,
        env = "ROOKERY_LINK_SECRET",
        hide_env_values = true,
        required = true
    )]
    pub link_secret: String,
}

/// A running writer process.
pub struct WriterNode {
    /// Its internal (edge-facing) address.
    pub internal: SocketAddr,
    /// Its HTTP (operations) address.
    pub addr: SocketAddr,
    fanout: Arc<FanoutServer>,
    follower: Arc<InterestFollower>,
    stop: watch::Sender<bool>,
    writer: JoinHandle<Result<()>>,
    http: JoinHandle<std::io::Result<()>>,
    failure: Failure,
}

fn kafka_only(node: &ServeConfig, role: &str) -> Result<()> {
    anyhow::ensure!(
        node.bus.starts_with("kafka://"),
        "the {role} role needs --bus kafka://... (the embedded bus belongs to one process; use `rookery serve` for a single node)"
    );
    Ok(())
}

async fn open_kafka(node: &ServeConfig) -> Result<Arc<KafkaBus>> {
    let config = KafkaConfig::from_url(&node.bus).context("cannot open the bus")?;
    let bus = KafkaBus::connect(config)
        .await
        .context("cannot open the bus")?;
    Ok(Arc::new(bus))
}

/// This process as an edge instance: a restart is a new epoch.
fn instance(node: &ServeConfig) -> EdgeId {
    EdgeId {
        node: node.worker_id,
        epoch: rookery_bus::now_ms(),
    }
}

/// Tells edges, over their links, that their interest is applied.
struct NotifyEdges(Arc<FanoutServer>);

impl AppliedNotify for NotifyEdges {
    fn applied(&self, edge: EdgeId, partition: u32, next: u64) {
        self.0.interest_applied(edge, partition, next);
    }
}

/// Starts a writer on its configured store.
pub async fn start_writer(config: WriterRoleConfig) -> Result<WriterNode> {
    kafka_only(&config.node, "writer")?;
    std::fs::create_dir_all(&config.node.data_dir)
        .with_context(|| format!("data dir {} is not usable", config.node.data_dir.display()))?;
    if config.node.store == "embedded" {
        // Checked before the store opens: a refused writer touches nothing.
        let bus = open_kafka(&config.node).await?;
        rookery_bus_kafka::claim_embedded_store(&bus, config.node.worker_id)
            .await
            .context("refusing to start this writer")?;
    }
    let store = open_store(&config.node)
        .await
        .context("cannot open the store")?;
    start_writer_on(config, store).await
}

/// Starts a writer on `store` (tests share one store between writers, so
/// the single-writer check of the embedded store is [`start_writer`]'s).
pub async fn start_writer_on(
    config: WriterRoleConfig,
    store: Arc<dyn Store>,
) -> Result<WriterNode> {
    kafka_only(&config.node, "writer")?;
    let bus = open_kafka(&config.node).await?;
    let table = Arc::new(InterestTable::new(bus.partitions()));
    let options = ServerOptions {
        key: LinkKey::new(config.link_secret.as_bytes()).context("invalid --link-secret")?,
        calls_per_edge: config.link_calls_per_edge,
        handshakes: config.link_handshakes,
    };
    let fanout = FanoutServer::bind(
        config.internal_listen,
        store.clone(),
        Some(table.clone()),
        options,
    )
    .await
    .with_context(|| format!("cannot listen on {}", config.internal_listen))?;
    let notify = Arc::new(NotifyEdges(fanout.clone()));
    let follower = InterestFollower::start(&bus, instance(&config.node), table, notify)
        .await
        .context("cannot follow the interest topic")?;
    let mut writer = Writer::new(
        bus.as_ref(),
        store,
        fanout.clone(),
        &WriterConfig::default(),
    )
    .await?;
    let relay = EphemeralRelay::new(bus.as_ref(), fanout.clone())
        .await
        .context("cannot read the ephemeral topic")?;
    writer
        .catch_up()
        .await
        .context("cannot replay the bus into the store")?;
    let (stop, stopped) = watch::channel(false);
    let failure = Failure::new();
    let run = writer.run(wait_for(stopped.clone()));
    let writer = supervise::spawn("writer", run, stopped.clone(), &failure);
    let run = relay.run(wait_for(stopped.clone()));
    supervise::spawn("ephemeral relay", run, stopped.clone(), &failure);
    let listener = bind(config.node.listen).await?;
    let addr = listener.local_addr()?;
    let ops = crate::ops_router(metrics_render(), failure.clone());
    let http = crate::serve_ops(listener, ops, &config.node, stopped);
    let internal = fanout.local_addr();
    tracing::info!(%addr, %internal, "rookery writer serving");
    Ok(WriterNode {
        internal,
        addr,
        fanout,
        follower,
        stop,
        writer,
        http,
        failure,
    })
}

impl WriterNode {
    /// Resolves with the reason when the writer or the relay has failed;
    /// the process should then exit non-zero.
    pub fn failed(&self) -> impl std::future::Future<Output = String> + use<> {
        self.failure.failed()
    }

    /// Edges connected now.
    pub fn edges(&self) -> usize {
        self.fanout.edges()
    }

    /// Stops: the batch in progress is finished and committed, and the
    /// consumer leaves the group so its partitions move to other writers.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        self.writer.await??;
        self.follower.close();
        self.fanout.close();
        self.http.await??;
        Ok(())
    }
}

/// A running edge process.
pub struct EdgeNode {
    /// Its HTTP and gateway address.
    pub addr: SocketAddr,
    /// Its operations address (`/metrics`).
    pub ops_addr: SocketAddr,
    edge: Arc<Edge>,
    links: Vec<Arc<WriterLink>>,
    stop: watch::Sender<bool>,
    http: Listeners,
}

/// Starts an edge.
pub async fn start_edge(config: EdgeRoleConfig) -> Result<EdgeNode> {
    let node = &config.node;
    kafka_only(node, "edge")?;
    anyhow::ensure!(
        node.jwt_secret.is_some(),
        "the edge role needs --jwt-secret, shared by every edge"
    );
    let secret = jwt_secret(node)?;
    let bus = open_kafka(node).await?;
    let me = instance(node);
    let acks = Arc::new(InterestAcks::default());
    let interest = KafkaInterest::new(&bus, me, acks.clone())
        .await
        .context("cannot register interest")?;
    // With the embedded store, reads go through the writers' links; the
    // links need the hub, which needs the store, so the store gets the link
    // set first and the links after.
    let remote = node.store == "embedded";
    let link_set = Arc::new(LinkSet::default());
    let store: Arc<dyn Store> = if remote {
        Arc::new(RemoteStore::new(link_set.clone()))
    } else {
        open_store(node).await.context("cannot open the store")?
    };
    let hub = Hub::new(node.worker_id, store.clone(), Arc::new(interest));
    let key = LinkKey::new(config.link_secret.as_bytes()).context("invalid --link-secret")?;
    let shared = EdgeLinks::new(me, key, acks);
    let links: Vec<_> = config
        .writers
        .iter()
        .map(|w| WriterLink::spawn(w.clone(), hub.clone(), shared.clone()))
        .collect();
    link_set.set(links.clone());
    let bus: Arc<dyn Bus> = bus;
    let edge = Edge::new(node.edge(secret), store, bus, hub, metrics_render())
        .context("invalid edge configuration")?;
    let connected = futures_util::future::join_all(
        links
            .iter()
            .map(|l| l.wait_connected(Duration::from_secs(10))),
    )
    .await;
    anyhow::ensure!(
        !remote || connected.iter().any(|c| *c),
        "no writer reachable at {} (the embedded store is read through them)",
        config.writers.join(",")
    );
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(crate::expire_sessions(edge.clone(), stopped.clone()));
    let (public, ops) = (bind(node.listen).await?, bind(node.ops_listen).await?);
    let (addr, ops_addr) = (public.local_addr()?, ops.local_addr()?);
    let http = crate::serve_edge(&edge, public, ops, node, stopped);
    edge.set_ready(true);
    tracing::info!(%addr, %ops_addr, writers = %config.writers.join(","), "rookery edge serving");
    Ok(EdgeNode {
        addr,
        ops_addr,
        edge,
        links,
        stop,
        http,
    })
}

impl EdgeNode {
    /// Writers connected now.
    pub fn writers_connected(&self) -> usize {
        self.links.iter().filter(|l| l.is_connected()).count()
    }

    /// Drains (RECONNECT and close 4102 to every session) and stops.
    pub async fn stop(self) -> Result<()> {
        self.edge.drain();
        let _ = self.stop.send(true);
        self.http.join().await?;
        // Writers stop routing here; a crashed edge's records go when its
        // id comes back with a new epoch instead.
        let left = tokio::time::timeout(Duration::from_secs(5), self.edge.leave()).await;
        if left.is_err() {
            tracing::warn!("interest withdrawal timed out");
        }
        Ok(())
    }
}
