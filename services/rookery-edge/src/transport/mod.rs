//! The listener: accepts TCP connections within the listener's slots
//! ([`slots`]) and serves HTTP/1.1 on each with a bounded time to send a
//! request's headers, which also bounds how long a keep-alive connection
//! may sit idle. An upgraded connection (the gateway) keeps its slot.
//!
//! axum's own `serve` has neither bound, so this is the server loop the
//! binary runs for the public listener and the operations listener.
//!
//! Under it, the two protocols a client speaks: the WebSocket [`gateway`]
//! and the REST API ([`rest`], with the web client's files).

pub(crate) mod gateway;
pub(crate) mod rest;
mod slots;

pub(crate) use slots::Slot;

use crate::metrics as m;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use slots::{Admission, Slots};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;

/// Limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Open TCP connections, HTTP and WebSocket together.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from when the
    /// connection starts waiting for one: a slow request and an idle
    /// keep-alive connection are both closed after it.
    pub header_timeout: Duration,
    /// `listener` label of this listener's metrics.
    pub name: &'static str,
}

/// The connection's slot, in each request's extensions: the gateway keeps
/// it for the WebSocket's life.
#[derive(Clone)]
pub(crate) struct ConnectionSlot(pub(crate) Arc<Slot>);

/// Serves `app` on `listener` until `stopped` turns true, then lets each
/// connection finish its request in progress (bounded by the header
/// timeout) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let slots = Slots::new(limits.max_connections, limits.name);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            () = until(&mut stopped) => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors, or a connection reset before accept:
                // neither ends the listener.
                tracing::warn!(error = %e, listener = limits.name, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match slots.admit() {
            Admission::Admitted(slot) => slot,
            Admission::Evicted(slot) => {
                metrics::counter!(m::HTTP_EVICTED, "listener" => limits.name).increment(1);
                slot
            }
            Admission::Refused => {
                metrics::counter!(m::HTTP_REFUSED, "listener" => limits.name).increment(1);
                continue;
            }
        };
        let connection = Connection {
            app: app.clone(),
            peer,
            slot,
            limits,
        };
        connections.spawn(connection.run(tcp, stopped.clone()));
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

struct Connection {
    app: Router,
    peer: SocketAddr,
    slot: Arc<Slot>,
    limits: HttpLimits,
}

impl Connection {
    async fn run(self, tcp: TcpStream, mut stopped: watch::Receiver<bool>) {
        // Without TCP_NODELAY, Nagle's algorithm holds a small dispatch
        // until the client's delayed ACK (up to 40 ms per message).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let Connection {
            app,
            peer,
            slot,
            limits,
        } = self;
        let service = {
            let slot = slot.clone();
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                slot.busy();
                request.extensions_mut().insert(ConnectInfo(peer));
                request
                    .extensions_mut()
                    .insert(ConnectionSlot(slot.clone()));
                let answer = app.clone().call(request);
                let slot = slot.clone();
                async move {
                    let response = answer.await;
                    slot.idle();
                    response
                }
            })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        tokio::pin!(connection);
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            () = slot.evicted() => return,
            () = until(&mut stopped) => {
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(limits.header_timeout, connection).await {
                    Ok(ended) => ended,
                    Err(_) => return,
                }
            }
        };
        if let Err(e) = ended {
            let reason = if e.is_timeout() { "timeout" } else { "error" };
            metrics::counter!(m::HTTP_CLOSED, "listener" => limits.name, "reason" => reason)
                .increment(1);
            tracing::debug!(error = %e, %peer, "http connection ended");
        }
    }
}

async fn until(stopped: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here.
    let _ = stopped.wait_for(|s| *s).await;
}
