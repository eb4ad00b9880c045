//! The cluster shape as processes on the real engines: `rookery migrate`
//! and `rookery topics ensure`, two writers on the ScyllaDB store (Apache
//! Cassandra here), two edges, and clients on both edges chatting in three
//! channels. Then, while they chat:
//!
//! 1. `kill -9` of a writer: the group hands its partitions to the other,
//!    and every acknowledged message is stored and reaches every member
//!    (duplicates allowed, counted);
//! 2. `kill -9` of an edge: its clients identify on the other edge with
//!    `last_message_ids` and miss nothing;
//! 3. the Kafka broker stopped and started again: sends fail with
//!    SEND_ERROR while it is down and are acknowledged after, and nothing
//!    acknowledged is lost.
//!
//! It restarts the broker `engines/run` started, so it is the only test in
//! its binary (cargo runs test binaries one at a time). Skipped without
//! `ROOKERY_TEST_SCYLLA` and `ROOKERY_TEST_KAFKA`.

#[path = "real_cluster/chatter.rs"]
mod chatter;
#[path = "../../rookery-bus-kafka/tests/common/mod.rs"]
mod common;

use chatter::{Chatter, Tally};
use common::{TestCluster, engines};
use rookery_client::Api;
use rookery_proto::ChannelId;
use rookery_proto::rest::AuthResponse;
use rookery_testkit::{ChildServer, until_found};
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_rookery");
const SECRET: &str = "a-cluster-wide-secret-of-at-least-32-bytes";
const LINK_SECRET: &str = "link-secret-of-at-least-thirty-two-bytes!";
const T: Duration = Duration::from_secs(60);

/// Runs a one-shot `rookery` command and requires success.
fn run(args: &[&str]) {
    let out = Command::new(BIN).args(args).output().expect("run rookery");
    assert!(
        out.status.success(),
        "rookery {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Cluster {
    bus: String,
    store: String,
    dir: tempfile::TempDir,
    writers: Vec<ChildServer>,
    edges: Vec<ChildServer>,
}

impl Cluster {
    fn common<'a>(&'a self, worker: &'a str) -> Vec<&'a str> {
        let flags = [
            "--jwt-secret",
            SECRET,
            "--link-secret",
            LINK_SECRET,
            "--frames-per-minute",
            "100000",
            "--channel-messages-per-5s",
            "0",
        ];
        let mut out = vec![
            "--bus",
            &self.bus,
            "--store",
            &self.store,
            "--worker-id",
            worker,
        ];
        out.extend(flags);
        out
    }

    fn writer(&self, worker: &str) -> ChildServer {
        let mut args = self.common(worker);
        args.extend(["--internal-listen", "127.0.0.1:0"]);
        ChildServer::role(BIN, "writer", &self.dir.path().join(worker), &args)
    }

    fn edge(&self, worker: &str) -> ChildServer {
        let internal: Vec<String> = self
            .writers
            .iter()
            .map(|w| w.field("internal").expect("internal address"))
            .collect();
        let writers = internal.join(",");
        let mut args = self.common(worker);
        args.extend(["--writers", &writers]);
        ChildServer::role(BIN, "edge", &self.dir.path().join(worker), &args)
    }
}

/// Three guilds of four members, two members on each edge.
async fn members(edges: [&str; 2]) -> Vec<(AuthResponse, ChannelId, usize)> {
    let mut out = Vec::new();
    for g in 0..3 {
        let owner_api = Api::new(format!("http://{}", edges[0]));
        let name = format!("owner{g}_{}", std::process::id());
        let owner = owner_api.register(&name, "long-enough").await.unwrap();
        let api = owner_api.with_token(&owner.token);
        let guild = api.create_guild(&format!("g{g}")).await.unwrap();
        let code = until_found(T, || api.create_invite(guild.id)).await;
        let channel = guild.channels[0].id;
        out.push((owner, channel, 0));
        for i in 1..4 {
            let edge = i % 2;
            let api = Api::new(format!("http://{}", edges[edge]));
            let name = format!("m{g}_{i}_{}", std::process::id());
            let member = api.register(&name, "long-enough").await.unwrap();
            let api = api.with_token(&member.token);
            until_found(T, || api.accept_invite(&code)).await;
            out.push((member, channel, edge));
        }
    }
    out
}

/// Sends for `period`, then waits until every acknowledged message reached
/// every member of its channel and is in history.
async fn chat_and_settle(chatters: &mut [Chatter], period: Duration, edge: &str) -> Tally {
    for c in chatters.iter() {
        c.set_sending(true);
    }
    tokio::time::sleep(period).await;
    for c in chatters.iter() {
        c.set_sending(false);
    }
    chatter::settle(chatters, T).await;
    chatter::check_history(chatters, &format!("http://{edge}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cluster_survives_a_writer_an_edge_and_the_broker_going_down() {
    let (Some(node), Some(topics)) = (engines::cassandra(), TestCluster::real()) else {
        return;
    };
    if !engines::managed("kafka") {
        assert!(
            !engines::required(),
            "the broker must be engines/run's to be restarted"
        );
        eprintln!("SKIPPED: the broker is not engines/run's");
        return;
    }
    let keyspace = engines::unique("rookery_test");
    let store = format!("scylla://{node}/{keyspace}");
    run(&["migrate", "--store", &store, "--replication", "simple:1"]);
    let bus = topics.url("&message.timeout.ms=3000");
    run(&[
        "topics",
        "ensure",
        "--bus",
        &bus,
        "--replication-factor",
        "1",
        "--partitions",
        "8",
    ]);

    let mut cluster = Cluster {
        bus,
        store,
        dir: tempfile::tempdir().unwrap(),
        writers: Vec::new(),
        edges: Vec::new(),
    };
    cluster.writers = vec![cluster.writer("10"), cluster.writer("11")];
    cluster.edges = vec![cluster.edge("1"), cluster.edge("2")];
    let addrs = [cluster.edges[0].addr.clone(), cluster.edges[1].addr.clone()];
    let people = members([&addrs[0], &addrs[1]]).await;
    let mut chatters = Vec::new();
    for (auth, channel, edge) in people {
        chatters.push(Chatter::connect(addrs[edge].as_str(), auth, channel, edge).await);
    }

    let before = chat_and_settle(&mut chatters, Duration::from_secs(3), &addrs[1]).await;
    eprintln!("steady: {before}");

    // 1. A writer dies mid-load; the other takes its partitions over.
    for c in &chatters {
        c.set_sending(true);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.writers[0].signal("KILL");
    let after_writer = chat_and_settle(&mut chatters, Duration::from_secs(14), &addrs[1]).await;
    eprintln!("writer killed: {after_writer}");

    // 2. An edge dies; its clients recover on the other one.
    for c in &chatters {
        c.set_sending(true);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.edges[0].signal("KILL");
    tokio::time::sleep(Duration::from_secs(2)).await;
    chatter::note_missed(&mut chatters, 0);
    for c in chatters.iter_mut().filter(|c| c.edge == 0) {
        c.reconnect(&addrs[1]).await;
    }
    let after_edge = chat_and_settle(&mut chatters, Duration::from_secs(3), &addrs[1]).await;
    eprintln!("edge killed: {after_edge}");
    assert!(
        after_edge.recovered > 0,
        "the moved clients caught up: {after_edge}"
    );

    // 3. The broker goes away and comes back.
    tokio::task::spawn_blocking(|| engines::run("stop", "kafka"))
        .await
        .unwrap();
    let refused = chatter::send_while_down(&mut chatters[..], Duration::from_secs(5)).await;
    assert!(
        refused > 0,
        "sends fail with SEND_ERROR while the broker is down"
    );
    tokio::task::spawn_blocking(|| engines::run("start", "kafka"))
        .await
        .unwrap();
    chatter::until_acked_again(&mut chatters[..], T).await;
    let after_broker = chat_and_settle(&mut chatters, Duration::from_secs(3), &addrs[1]).await;
    eprintln!("broker restarted: {after_broker} ({refused} refused while down)");

    // The keyspace stays: the store tests drop test keyspaces over an
    // hour old, and CI's node is thrown away.
    drop(keyspace);
}
