//! How fast a writer catching up on a backlog of new messages fills the
//! store, with per-partition batching and without: writer-sized batches
//! of messages (a nonce each) over a few channels, applied one batch after
//! another as the writer does, on a fresh keyspace of a real node.
//!
//! ```sh
//! engines/run start cassandra
//! cargo run --release -p rookery-store-scylla --example catch_up -- \
//!     127.0.0.1:9042 CHANNELS MESSAGES BATCH BATCH_ROWS [CASSANDRA_PID]
//! ```
//!
//! Prints messages per second, and CPU per message of this process and
//! (given its pid) of the node.

use rookery_proto::Snowflake;
use rookery_proto::model::{Message, User};
use rookery_proto::{ChannelId, GuildId};
use rookery_store::{Mutation, Store};
use rookery_store_scylla::{Replication, ScyllaConfig, ScyllaStore, migrate};
use std::time::Instant;

fn arg(n: usize, default: &str) -> String {
    std::env::args()
        .nth(n)
        .unwrap_or_else(|| default.to_owned())
}

/// CPU time of process `pid` so far, in seconds (utime + stime).
fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn backlog(channels: u64, messages: u64) -> Vec<Mutation> {
    let ids = Snowflake::new(1023).expect("worker id");
    let authors: Vec<User> = (0..channels)
        .map(|c| User {
            id: ids.next_id(),
            username: format!("author{c}"),
        })
        .collect();
    (0..messages)
        .map(|i| {
            let author = &authors[(i % channels) as usize];
            let channel = ChannelId(1_000 + i % channels);
            let text = format!("message {i} {}", "x".repeat(80));
            let mut m = Message::new(ids.next_id(), (GuildId(1), channel), author.clone(), text);
            m.nonce = Some(format!("n{i}"));
            Mutation::Message(m)
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let node = arg(1, "127.0.0.1:9042");
    let channels: u64 = arg(2, "4").parse().expect("CHANNELS");
    let messages: u64 = arg(3, "20000").parse().expect("MESSAGES");
    let batch: usize = arg(4, "512").parse().expect("BATCH");
    let rows = arg(5, "64");
    let cassandra = std::env::args().nth(6);
    let keyspace = format!("catchup_{}", rookery_proto::id::now_ms());
    let url = format!("scylla://{node}/{keyspace}?batch_rows={rows}");
    let config = ScyllaConfig::from_url(&url).expect("url");
    migrate(&config, &Replication::Simple(1))
        .await
        .expect("migrate");
    let store = ScyllaStore::connect(&config).await.expect("connect");
    let work = backlog(channels, messages);
    let own = std::process::id().to_string();
    let cpu = |pid: &Option<String>| pid.as_deref().and_then(cpu_secs).unwrap_or(0.0);
    let (node_before, own_before) = (cpu(&cassandra), cpu(&Some(own.clone())));
    let started = Instant::now();
    for chunk in work.chunks(batch) {
        store.apply(chunk.to_vec()).await.expect("apply");
    }
    let secs = started.elapsed().as_secs_f64();
    let per_msg = |secs: f64| secs * 1e6 / messages as f64;
    println!(
        "channels {channels} messages {messages} batch {batch} batch_rows {rows}: \
         {:.0} msgs/s, client {:.0} us/msg, node {:.0} us/msg",
        messages as f64 / secs,
        per_msg(cpu(&Some(own)) - own_before),
        per_msg(cpu(&cassandra) - node_before),
    );
}
