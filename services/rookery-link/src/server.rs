//! The writer's side: [`FanoutServer`] accepts edge connections on the
//! internal address, pushes every applied batch to each of them (it is the
//! writer's [`EdgeLink`]), and answers their store calls from the store it
//! hosts.

use crate::metrics as m;
use crate::wire::{self, Call, Reply, ToEdge, ToWriter};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rookery_bus::{EdgeLink, FanoutBatch, LinkError};
use rookery_store::{Store, StoreError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

/// Frames queued per edge; an edge further behind is disconnected (it
/// reconnects, and its clients recover from history).
const EDGE_QUEUE: usize = 4096;

/// Accepts edges and fans batches out to them.
pub struct FanoutServer {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    edges: Mutex<HashMap<u64, mpsc::Sender<Bytes>>>,
    next_id: AtomicU64,
    accept: Mutex<Option<tokio::task::AbortHandle>>,
    closed: tokio::sync::watch::Sender<bool>,
}

impl Drop for FanoutServer {
    fn drop(&mut self) {
        // Closes the listener now rather than at the next connection.
        self.close();
    }
}

impl FanoutServer {
    /// Listens on `addr` and serves edges until dropped.
    pub async fn bind(addr: SocketAddr, store: Arc<dyn Store>) -> std::io::Result<Arc<Self>> {
        let listener = TcpListener::bind(addr).await?;
        let server = Arc::new(Self {
            addr: listener.local_addr()?,
            store,
            edges: Mutex::default(),
            next_id: AtomicU64::new(1),
            accept: Mutex::new(None),
            closed: tokio::sync::watch::channel(false).0,
        });
        let weak = Arc::downgrade(&server);
        let task = tokio::spawn(async move {
            while let Ok((socket, peer)) = listener.accept().await {
                let Some(server) = weak.upgrade() else { return };
                let _ = socket.set_nodelay(true);
                tracing::info!(%peer, "edge connected");
                tokio::spawn(server.serve(socket));
            }
        });
        *server.accept.lock().expect("accept") = Some(task.abort_handle());
        Ok(server)
    }

    /// Stops accepting and disconnects every edge (they reconnect to the
    /// writers that remain).
    pub fn close(&self) {
        if let Some(task) = self.accept.lock().expect("accept").take() {
            task.abort();
        }
        self.closed.send_replace(true);
        self.edges.lock().expect("edges").clear();
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Edges connected now.
    pub fn edges(&self) -> usize {
        self.edges.lock().expect("edges").len()
    }

    async fn serve(self: Arc<Self>, socket: TcpStream) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (mut sink, mut stream) = Framed::new(socket, wire::codec()).split();
        let (tx, mut rx) = mpsc::channel::<Bytes>(EDGE_QUEUE);
        self.edges.lock().expect("edges").insert(id, tx.clone());
        metrics::gauge!(m::EDGES).increment(1.0);
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if sink.send(frame).await.is_err() {
                    return;
                }
            }
        });
        let mut closed = self.closed.subscribe();
        loop {
            let frame = tokio::select! {
                frame = stream.next() => frame,
                _ = closed.wait_for(|c| *c) => break,
            };
            let Some(Ok(frame)) = frame else { break };
            match wire::decode::<ToWriter>(&frame) {
                Ok(ToWriter::Call { id, call }) => {
                    let (store, tx) = (self.store.clone(), tx.clone());
                    tokio::spawn(async move {
                        let result = execute(store.as_ref(), call).await.map_err(Into::into);
                        let _ = tx.send(wire::encode(&ToEdge::Reply { id, result })).await;
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable frame from an edge; closing");
                    break;
                }
            }
        }
        self.edges.lock().expect("edges").remove(&id);
        metrics::gauge!(m::EDGES).decrement(1.0);
        drop(tx);
        // Queued frames go out first, unless the server is closing.
        if *self.closed.borrow() {
            writer.abort();
        }
        let _ = writer.await;
        tracing::info!(edge = id, "edge disconnected");
    }
}

#[async_trait]
impl EdgeLink for FanoutServer {
    async fn push(&self, batch: FanoutBatch) -> Result<(), LinkError> {
        let frame = wire::encode(&wire::FanoutRef::Fanout {
            applied_at_ms: batch.applied_at_ms,
            events: batch.events.iter().map(|e| &**e).collect(),
        });
        let mut edges = self.edges.lock().expect("edges");
        edges.retain(|id, tx| match tx.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    edge = id,
                    "edge cannot keep up with fan-out; disconnecting it"
                );
                metrics::counter!(m::SLOW_EDGES).increment(1);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        metrics::counter!(m::FANOUT_FRAMES).increment(edges.len() as u64);
        Ok(())
    }
}

/// Runs one call against the hosted store.
async fn execute(store: &dyn Store, call: Call) -> Result<Reply, StoreError> {
    Ok(match call {
        Call::CreateAccount { user, hash } => {
            store.create_account(&user, &hash).await?;
            Reply::Done
        }
        Call::Account { username } => Reply::Account(store.account(&username).await?),
        Call::User { id } => Reply::User(store.user(id).await?),
        Call::Guild { id } => Reply::Guild(store.guild(id).await?),
        Call::GuildChannels { guild_id } => Reply::Channels(store.guild_channels(guild_id).await?),
        Call::Channel { id } => Reply::Channel(store.channel(id).await?),
        Call::Member { guild_id, user_id } => Reply::Member(store.member(guild_id, user_id).await?),
        Call::UserGuilds { user_id } => Reply::Ids(store.user_guilds(user_id).await?),
        Call::Invite { code } => Reply::Invite(store.invite(&code).await?),
        Call::Nonce { user_id, nonce } => Reply::Nonce(store.nonce(user_id, &nonce).await?),
        Call::Messages {
            channel_id,
            cursor,
            limit,
        } => Reply::Messages(store.messages(channel_id, cursor.into(), limit).await?),
    })
}
