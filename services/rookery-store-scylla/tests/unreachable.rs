//! Connection failures end in a clear, bounded error (real sockets, no
//! ScyllaDB needed): a refused port, and a peer that accepts but never
//! speaks CQL.

use rookery_store_scylla::{Replication, ScyllaConfig, ScyllaStore, migrate};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

#[tokio::test]
async fn a_refused_port_fails_naming_the_nodes() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("scylla://127.0.0.1:{port}?connect_timeout_ms=3000");
    let config = ScyllaConfig::from_url(&url).unwrap();
    let err = ScyllaStore::connect(&config).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("cannot connect to ScyllaDB at 127.0.0.1:{port}")),
        "{err}"
    );
    let err = migrate(&config, &Replication::Simple(1)).await.unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
}

#[tokio::test]
async fn a_silent_peer_times_out_within_the_connect_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts and holds connections without answering.
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = format!("scylla://{addr}?connect_timeout_ms=400");
    let config = ScyllaConfig::from_url(&url).unwrap();
    let started = Instant::now();
    let err = ScyllaStore::connect(&config).await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(5), "bounded");
    assert!(err.contains("cannot connect to ScyllaDB"), "{err}");
    hold.abort();
}
