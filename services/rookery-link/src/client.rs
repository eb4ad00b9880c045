//! The edge's side: a [`WriterLink`] keeps a connection to one writer
//! (reconnecting with backoff), hands fan-out batches to the edge's hub
//! (dropping those of a writer that lost the partition, see [`EdgeLinks`]),
//! and carries store calls; [`RemoteStore`] is the [`Store`] an edge uses when
//! the writer hosts the embedded store, with identical calls in flight
//! coalesced into one (a hot channel's history is read once, not once per
//! client).

use crate::metrics as m;
use crate::wire::{self, Call, Reply, ToEdge, ToWriter, WireError};
use bytes::Bytes;
use futures_util::future::{BoxFuture, Shared};
use futures_util::{SinkExt, StreamExt};
use rookery_bus::{EdgeId, EdgeLink, FanoutBatch, InterestAcks};
use rookery_proto::event::Envelope;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::codec::Framed;

mod remote;
pub use remote::RemoteStore;

/// How long a store call waits for its reply.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

type Pending = Mutex<HashMap<u64, oneshot::Sender<Result<Reply, WireError>>>>;

/// What an edge's links to every writer share: who the edge is, how far
/// its interest is applied, and the newest ownership claim seen per
/// partition.
pub struct EdgeLinks {
    me: EdgeId,
    key: crate::LinkKey,
    acks: Arc<InterestAcks>,
    claims: Mutex<HashMap<u32, u64>>,
}

impl EdgeLinks {
    /// Shared state for edge `me`, which proves `key` to every writer,
    /// reporting interest progress to `acks`.
    pub fn new(me: EdgeId, key: crate::LinkKey, acks: Arc<InterestAcks>) -> Arc<Self> {
        Arc::new(Self {
            me,
            key,
            acks,
            claims: Mutex::default(),
        })
    }

    /// Whether a batch of `partition` under `claim` comes from its current
    /// owner. Claims grow with each new owner, so a lower claim than one
    /// seen is a writer that lost the partition and has not noticed yet.
    pub fn admit(&self, partition: Option<u32>, claim: Option<u64>) -> bool {
        let (Some(partition), Some(claim)) = (partition, claim) else {
            return true;
        };
        let mut claims = self.claims.lock().expect("claims");
        let newest = claims.entry(partition).or_insert(claim);
        if claim < *newest {
            return false;
        }
        *newest = claim;
        true
    }
}

/// A connection to one writer, kept up in the background.
pub struct WriterLink {
    addr: String,
    shared: Arc<EdgeLinks>,
    out: Mutex<Option<mpsc::Sender<Bytes>>>,
    pending: Pending,
    next_id: AtomicU64,
    connected: watch::Sender<bool>,
}

impl WriterLink {
    /// Starts connecting to `addr`; fan-out goes to `hub`.
    pub fn spawn(addr: String, hub: Arc<dyn EdgeLink>, shared: Arc<EdgeLinks>) -> Arc<Self> {
        let link = Arc::new(Self {
            addr,
            shared,
            out: Mutex::new(None),
            pending: Mutex::default(),
            next_id: AtomicU64::new(1),
            connected: watch::channel(false).0,
        });
        tokio::spawn(link.clone().run(hub));
        link
    }

    /// The writer's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// Waits until connected, up to `limit`.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let mut rx = self.connected.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|c| *c))
            .await
            .is_ok()
    }

    async fn run(self: Arc<Self>, hub: Arc<dyn EdgeLink>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match TcpStream::connect(&self.addr).await {
                Ok(socket) => {
                    let _ = socket.set_nodelay(true);
                    backoff = Duration::from_millis(100);
                    self.session(socket, hub.as_ref()).await;
                    tracing::warn!(writer = %self.addr, "writer link lost; reconnecting");
                }
                Err(e) => tracing::debug!(writer = %self.addr, error = %e, "cannot reach writer"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// One connection's life: frames out from the queue, fan-out and
    /// replies in; on loss every pending call fails.
    async fn session(&self, socket: TcpStream, hub: &dyn EdgeLink) {
        let mut framed = Framed::new(socket, wire::codec());
        if let Err(e) = crate::auth::connect(&mut framed, &self.shared.key, self.shared.me).await {
            tracing::error!(writer = %self.addr, error = %e, "writer link authentication failed");
            return;
        }
        let (mut sink, mut stream) = framed.split();
        let (tx, mut rx) = mpsc::channel::<Bytes>(1024);
        *self.out.lock().expect("out") = Some(tx);
        self.connected.send_replace(true);
        metrics::gauge!(m::WRITERS).increment(1.0);
        tracing::info!(writer = %self.addr, "writer link up");
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if sink.send(frame).await.is_err() {
                    return;
                }
            }
        });
        while let Some(Ok(frame)) = stream.next().await {
            if let Err(e) = self.handle(&frame, hub).await {
                tracing::warn!(writer = %self.addr, error = %e, "undecodable frame from a writer");
                break;
            }
        }
        self.out.lock().expect("out").take();
        self.connected.send_replace(false);
        metrics::gauge!(m::WRITERS).decrement(1.0);
        writer.abort();
        // Dropping the senders fails every call in flight.
        self.pending.lock().expect("pending").clear();
    }

    async fn handle(&self, frame: &[u8], hub: &dyn EdgeLink) -> Result<(), String> {
        match wire::decode::<ToEdge>(frame).map_err(|e| e.to_string())? {
            ToEdge::Fanout {
                partition,
                claim,
                applied_at_ms,
                events,
            } => {
                if !self.shared.admit(partition, claim) {
                    tracing::debug!(writer = %self.addr, ?partition, "batch from a former partition owner dropped");
                    metrics::counter!(m::STALE_BATCHES).increment(1);
                    return Ok(());
                }
                let events: Vec<Arc<Envelope>> = events
                    .iter()
                    .map(|e| Envelope::from_bytes(e).map(Arc::new))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
                let routed = events
                    .iter()
                    .filter(|e| e.event.channel().is_some())
                    .count();
                metrics::counter!(m::RECEIVED, "scope" => "channel").increment(routed as u64);
                metrics::counter!(m::RECEIVED, "scope" => "other")
                    .increment((events.len() - routed) as u64);
                let batch = FanoutBatch {
                    partition,
                    events,
                    applied_at_ms,
                };
                let _ = hub.push(batch).await;
            }
            ToEdge::InterestApplied { partition, next } => {
                self.shared.acks.applied(partition, next);
            }
            ToEdge::Reply { id, result } => {
                if let Some(waiter) = self.pending.lock().expect("pending").remove(&id) {
                    let _ = waiter.send(result);
                }
            }
            ToEdge::Challenge { .. } | ToEdge::Welcome { .. } => {
                return Err("a handshake frame after the handshake".into());
            }
        }
        Ok(())
    }

    /// Sends a call and waits for its reply.
    pub async fn call(&self, call: Call) -> Result<Reply, WireError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let Some(out) = self.out.lock().expect("out").clone() else {
            return Err(WireError::Other(format!(
                "writer {} is not connected",
                self.addr
            )));
        };
        self.pending.lock().expect("pending").insert(id, tx);
        let lost = || WireError::Other(format!("writer link to {} lost", self.addr));
        // A session that ended after `out` was read has already failed the
        // pending calls; this one must not wait out the timeout instead.
        if self.out.lock().expect("out").is_none() {
            self.pending.lock().expect("pending").remove(&id);
            return Err(lost());
        }
        if out
            .send(wire::encode(&ToWriter::Call { id, call }))
            .await
            .is_err()
        {
            self.pending.lock().expect("pending").remove(&id);
            return Err(lost());
        }
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(lost()),
            Err(_) => {
                self.pending.lock().expect("pending").remove(&id);
                Err(WireError::Other(format!(
                    "writer {} did not answer in {CALL_TIMEOUT:?}",
                    self.addr
                )))
            }
        }
    }
}

type InFlight = Shared<BoxFuture<'static, Result<Reply, WireError>>>;

/// The links to the writers, set once they exist (they need the hub, which
/// needs the store built on them).
#[derive(Default)]
pub struct LinkSet(OnceLock<Vec<Arc<WriterLink>>>);

impl LinkSet {
    /// Sets the links; later calls are ignored.
    pub fn set(&self, links: Vec<Arc<WriterLink>>) {
        let _ = self.0.set(links);
    }

    /// A connected link (the first), else the first at all.
    fn pick(&self) -> Result<Arc<WriterLink>, WireError> {
        let links = self.0.get().map(Vec::as_slice).unwrap_or_default();
        links
            .iter()
            .find(|l| l.is_connected())
            .or(links.first())
            .cloned()
            .ok_or_else(|| WireError::Other("no writer configured".into()))
    }
}
