//! The cluster shape in-process: librdkafka's mock cluster as the broker,
//! two writers sharing one store, two edges connected to both; clients on
//! different edges chat, and a writer stopped mid-stream hands its
//! partitions over without losing an acknowledged message.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rookery::{EdgeNode, EdgeRoleConfig, ServeConfig, WriterNode, WriterRoleConfig};
use rookery_client::{Api, Gateway};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
use rookery_proto::codec::Encoding;
use rookery_proto::event::TypingStart;
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::model::Message;
use rookery_proto::presence::{PresenceSet, Status};
use rookery_proto::rest::AuthResponse;
use rookery_store::{EmbeddedConfig, EmbeddedStore, Store};
use rookery_testkit::presence_of;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);
const SECRET: &str = "a-cluster-wide-secret-of-32-bytes-or-more";
const LINK_SECRET: &str = "link-secret-of-at-least-thirty-two-bytes!";

/// A mock Kafka cluster of `brokers` with Rookery's three co-partitioned
/// topics.
fn kafka(
    brokers: i32,
    partitions: i32,
    replication: i32,
) -> MockCluster<'static, DefaultProducerContext> {
    let mock = MockCluster::new(brokers).unwrap();
    for topic in ["rookery.events", "rookery.ephemeral", "rookery.interest"] {
        mock.create_topic(topic, partitions, replication).unwrap();
    }
    mock
}

fn node(bus: &str, dir: &Path, worker_id: u16) -> ServeConfig {
    let mut c = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir);
    c.bus = bus.to_owned();
    c.jwt_secret = Some(SECRET.to_owned());
    c.worker_id = worker_id;
    c.frames_per_minute = 100_000;
    c.channel_messages_per_5s = 0;
    c
}

async fn writer(bus: &str, dir: &Path, store: Arc<dyn Store>) -> WriterNode {
    let config = WriterRoleConfig {
        node: node(bus, dir, 0),
        internal_listen: "127.0.0.1:0".parse().unwrap(),
        link_secret: LINK_SECRET.to_owned(),
        link_calls_per_edge: 256,
        link_handshakes: 64,
    };
    rookery::start_writer_on(config, store).await.unwrap()
}

async fn edge(bus: &str, dir: &Path, worker_id: u16, writers: &[&WriterNode]) -> EdgeNode {
    edge_with(bus, dir, worker_id, writers, |_| {}).await
}

async fn edge_with(
    bus: &str,
    dir: &Path,
    worker_id: u16,
    writers: &[&WriterNode],
    adjust: impl FnOnce(&mut ServeConfig),
) -> EdgeNode {
    let mut node = node(bus, dir, worker_id);
    adjust(&mut node);
    let config = EdgeRoleConfig {
        node,
        writers: writers.iter().map(|w| w.internal.to_string()).collect(),
        link_secret: LINK_SECRET.to_owned(),
    };
    let edge = rookery::start_edge(config).await.unwrap();
    let deadline = Instant::now() + T;
    while edge.writers_connected() < writers.len() {
        assert!(Instant::now() < deadline, "edge did not reach every writer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    edge
}

/// Alice (on edge `a`) and Bob (on edge `b`) in one guild, identified.
struct Pair {
    bob: AuthResponse,
    api_b: Api,
    channel: ChannelId,
    ga: Gateway,
    gb: Gateway,
}

async fn pair_across(a: &str, b: &str, bob_encoding: Encoding) -> Pair {
    let api_a = Api::new(format!("http://{a}"));
    let api_b = Api::new(format!("http://{b}"));
    let alice = api_a.register("alice", "long-enough").await.unwrap();
    let bob = api_b.register("bob", "long-enough").await.unwrap();
    // Logins on the other edge: checked where the hashes are kept (the
    // writer, with the embedded store; the store itself, with ScyllaDB).
    let again = api_b.login("ALICE", "long-enough").await.unwrap();
    assert_eq!(again.user.id, alice.user.id);
    let wrong = api_a.login("bob", "not-the-password").await.unwrap_err();
    assert!(
        matches!(wrong, rookery_client::ClientError::Api { status: 401, .. }),
        "{wrong}"
    );
    let owner = api_a.with_token(&alice.token);
    let guild = owner.create_guild("across edges").await.unwrap();
    // Right after start the writers may still be sharing out partitions,
    // so a change can take longer than the edge's apply wait (it answers
    // 202): like a client, retry what depends on it until it shows.
    let code = until_found(|| owner.create_invite(guild.id)).await;
    let bob_api = api_b.with_token(&bob.token);
    until_found(|| bob_api.accept_invite(&code)).await;
    until_found(|| async {
        let mine = bob_api.my_guilds().await?;
        match mine.iter().any(|g| g.id == guild.id) {
            true => Ok(()),
            false => Err(rookery_client::ClientError::Api {
                status: 404,
                code: 10004,
                message: "not joined yet".into(),
            }),
        }
    })
    .await;
    let mut ga = Gateway::connect(&format!("ws://{a}"), Encoding::Json)
        .await
        .unwrap();
    ga.identify(&alice.token).await.unwrap();
    let mut gb = Gateway::connect(&format!("ws://{b}"), bob_encoding)
        .await
        .unwrap();
    gb.identify(&bob.token).await.unwrap();
    Pair {
        bob,
        api_b,
        channel: guild.channels[0].id,
        ga,
        gb,
    }
}

/// [`rookery_testkit::until_found`] within `T`.
async fn until_found<V, F, Fut>(op: F) -> V
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<V, rookery_client::ClientError>>,
{
    rookery_testkit::until_found(T, op).await
}

/// Sends until acknowledged, as a client does: a SEND_ERROR (a store read
/// that hit the writer being stopped, say) is retried with the same nonce,
/// which the edge de-duplicates.
async fn send_until_acked(
    g: &mut Gateway,
    channel: ChannelId,
    nonce: &str,
    content: &str,
) -> gw::SendAck {
    for _ in 0..5 {
        g.send_message(channel, nonce, content).await.unwrap();
        let answered = |f: &rookery_client::ServerFrame| {
            f.header.op == op::SEND_ACK || f.header.op == op::SEND_ERROR
        };
        let f = g.next_matching("send answer", T, answered).await.unwrap();
        if f.header.op == op::SEND_ACK {
            return f.d().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{nonce} refused five times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_on_two_edges_chat_through_a_writer_handover() {
    let mock = kafka(3, 8, 3);
    let bus = format!("kafka://{}", mock.bootstrap_servers());
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&EmbeddedConfig::new(dir.path().join("store"))).unwrap());
    let w1 = writer(&bus, &dir.path().join("w1"), store.clone()).await;
    let w2 = writer(&bus, &dir.path().join("w2"), store.clone()).await;
    let a = edge(&bus, &dir.path().join("a"), 1, &[&w1, &w2]).await;
    let b = edge(&bus, &dir.path().join("b"), 2, &[&w1, &w2]).await;

    let Pair {
        bob,
        api_b,
        channel,
        mut ga,
        mut gb,
    } = pair_across(&a.addr.to_string(), &b.addr.to_string(), Encoding::MsgPack).await;

    let mut acked = Vec::new();
    let mut w1 = Some(w1);
    for i in 0..40 {
        let ack =
            send_until_acked(&mut ga, channel, &format!("n{i}"), &format!("message {i}")).await;
        acked.push(ack.id);
        if i == 15 {
            // Mid-stream: w1 commits what it applied and leaves the group.
            w1.take().unwrap().stop().await.unwrap();
        }
    }

    // Bob, on the other edge, sees every acked message; the handover may
    // replay some (at least once), so de-duplicate by id.
    let mut seen: Vec<MessageId> = Vec::new();
    let want: BTreeSet<MessageId> = acked.iter().copied().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !want.iter().all(|id| seen.contains(id)) {
        assert!(
            Instant::now() < deadline,
            "bob saw {} of {}",
            seen.len(),
            want.len()
        );
        let m: Message = gb.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
        if !seen.contains(&m.id) {
            seen.push(m.id);
        }
    }
    assert_eq!(seen, acked, "first sightings are in id order");

    // Bob drops and reconnects to the *other* edge holding message 20: he
    // gets 21..40 from the store after READY, then live ones. Like a real
    // client he drops ids he already holds: the handover may still be
    // redelivering older events (at least once).
    drop(gb);
    let mut gb = Gateway::connect(&format!("ws://{}", a.addr), Encoding::Json)
        .await
        .unwrap();
    let last = std::collections::BTreeMap::from([(channel, acked[19])]);
    gb.identify_after(&bob.token, last).await.unwrap();
    ga.send_message(channel, "live", "after the reconnect")
        .await
        .unwrap();
    let ack: gw::SendAck = ga.op(op::SEND_ACK, T).await.unwrap().d().unwrap();
    let mut held: BTreeSet<MessageId> = acked[..20].iter().copied().collect();
    let mut caught_up = Vec::new();
    while caught_up.last() != Some(&ack.id) {
        let m: Message = gb.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
        if held.insert(m.id) {
            caught_up.push(m.id);
        }
    }
    let mut expected = acked[20..].to_vec();
    expected.push(ack.id);
    assert_eq!(caught_up, expected, "missed ones in order, then live");
    acked.push(ack.id);

    // The stopped writer dropped its edges: reads go to the remaining one.
    let deadline = Instant::now() + T;
    while a.writers_connected() != 1 || b.writers_connected() != 1 {
        assert!(
            Instant::now() < deadline,
            "edges still linked to the stopped writer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // History, read through edge b (the store behind the remaining writer).
    let bob_api = api_b.with_token(&bob.token);
    let mut stored: Vec<MessageId> = bob_api
        .history(channel, "limit=100")
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    stored.reverse();
    assert_eq!(stored, acked);
    b.stop().await.unwrap();
    a.stop().await.unwrap();
    w2.stop().await.unwrap();
}

/// Channels that become wanted while sessions are connected (a guild
/// joined, a channel created) are routed to their edge at once: the first
/// message posted right after reaches the member on the other edge.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn joins_new_channels_dms_and_logouts_reach_sessions_on_every_edge() {
    let mock = kafka(1, 4, 1);
    let bus = format!("kafka://{}", mock.bootstrap_servers());
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&EmbeddedConfig::new(dir.path().join("store"))).unwrap());
    let w = writer(&bus, &dir.path().join("w"), store).await;
    let a = edge(&bus, &dir.path().join("a"), 1, &[&w]).await;
    let b = edge(&bus, &dir.path().join("b"), 2, &[&w]).await;
    let Pair {
        bob,
        api_b,
        mut ga,
        mut gb,
        ..
    } = pair_across(&a.addr.to_string(), &b.addr.to_string(), Encoding::Json).await;
    let owner_api = Api::new(format!("http://{}", a.addr));
    let owner = owner_api.login("alice", "long-enough").await.unwrap();
    let owner = owner_api.with_token(&owner.token);

    // Bob, connected to edge b, joins a second guild; Alice posts at once.
    let second = owner.create_guild("second").await.unwrap();
    let code = owner.create_invite(second.id).await.unwrap();
    api_b
        .with_token(&bob.token)
        .accept_invite(&code)
        .await
        .unwrap();
    let joined: rookery_proto::model::GuildState =
        gb.dispatch("GUILD_CREATE", T).await.unwrap().d().unwrap();
    assert_eq!(joined.id, second.id);
    let first_post =
        send_until_acked(&mut ga, second.channels[0].id, "g2", "in the new guild").await;
    let m: Message = gb.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
    assert_eq!(m.id, first_post.id);

    // A channel created in a shared guild: the first message reaches Bob.
    let created = owner.create_channel(second.id, "fresh").await.unwrap();
    let c: rookery_proto::model::Channel =
        gb.dispatch("CHANNEL_CREATE", T).await.unwrap().d().unwrap();
    assert_eq!(c.id, created.id);
    let post = send_until_acked(&mut ga, created.id, "c1", "in the new channel").await;
    let m: Message = gb.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
    assert_eq!((m.id, m.channel_id), (post.id, created.id));

    // A DM opened on edge a reaches Bob on edge b, and so do its messages.
    let body = serde_json::json!({"recipient_id": bob.user.id});
    let (status, dm) = owner
        .raw(reqwest::Method::POST, "/users/@me/channels", Some(body))
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 200, "{dm}");
    let opened: rookery_proto::model::Channel =
        gb.dispatch("CHANNEL_CREATE", T).await.unwrap().d().unwrap();
    assert_eq!(serde_json::json!(opened.id.to_string()), dm["id"]);
    let post = send_until_acked(&mut ga, opened.id, "dm1", "just us").await;
    let m: Message = gb.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
    assert_eq!((m.id, m.channel_id), (post.id, opened.id));

    // Bob logs out everywhere through edge a: edge b hears it, closes his
    // session there with 4004 and refuses his token.
    let bob_on_a = owner_api.with_token(&bob.token);
    let (status, _) = bob_on_a
        .raw(reqwest::Method::POST, "/auth/logout-everywhere", None)
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 204);
    let closed = rookery_testkit::close_code(&mut gb, T).await;
    assert_eq!(closed, gw::CloseCode::AuthenticationFailed.code());
    let refused = api_b.with_token(&bob.token).my_guilds().await.unwrap_err();
    assert!(
        matches!(
            refused,
            rookery_client::ClientError::Api { status: 401, .. }
        ),
        "{refused}"
    );

    b.stop().await.unwrap();
    a.stop().await.unwrap();
    w.stop().await.unwrap();
}

/// Typing and presence cross edges through the ephemeral topic, read by
/// the owner of each partition (two writers share them); an edge that dies
/// without a word takes its users offline when their lease runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn typing_and_presence_cross_edges_and_a_dead_edges_users_go_offline() {
    let mock = kafka(1, 4, 1);
    let bus = format!("kafka://{}", mock.bootstrap_servers());
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&EmbeddedConfig::new(dir.path().join("store"))).unwrap());
    let w1 = writer(&bus, &dir.path().join("w1"), store.clone()).await;
    let w2 = writer(&bus, &dir.path().join("w2"), store).await;
    let fast = |c: &mut ServeConfig| c.presence_refresh_secs = 1;
    let a = edge_with(&bus, &dir.path().join("a"), 1, &[&w1, &w2], fast).await;
    let b = edge(&bus, &dir.path().join("b"), 2, &[&w1, &w2]).await;
    let Pair {
        bob,
        channel,
        mut ga,
        mut gb,
        ..
    } = pair_across(&a.addr.to_string(), &b.addr.to_string(), Encoding::Json).await;
    let alice_api = Api::new(format!("http://{}", a.addr));
    let alice = alice_api.login("alice", "long-enough").await.unwrap();

    // Alice's and Bob's first (online) presences may come first.
    let dnd = PresenceSet {
        status: Status::Dnd,
        ..Default::default()
    };
    ga.set_presence(&dnd).await.unwrap();
    presence_of(&mut gb, alice.user.id, Some(Status::Dnd)).await;
    let idle = PresenceSet {
        status: Status::Idle,
        ..Default::default()
    };
    gb.set_presence(&idle).await.unwrap();
    presence_of(&mut ga, bob.user.id, Some(Status::Idle)).await;

    let (status, _) = alice_api
        .with_token(&alice.token)
        .raw(
            reqwest::Method::POST,
            &format!("/channels/{channel}/typing"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 204);
    let t: TypingStart = gb.dispatch("TYPING_START", T).await.unwrap().d().unwrap();
    assert_eq!((t.channel_id, t.user_id), (channel, alice.user.id));

    // Edge a stops without publishing Alice's offline (its ticks stop with
    // it); edge b drops her view when its 3 s lease ends.
    let stopped = Instant::now();
    a.stop().await.unwrap();
    presence_of(&mut gb, alice.user.id, Some(Status::Offline)).await;
    assert!(
        stopped.elapsed() >= Duration::from_secs(1),
        "the lease was kept"
    );
    drop(ga);
    b.stop().await.unwrap();
    w1.stop().await.unwrap();
    w2.stop().await.unwrap();
}

#[tokio::test]
async fn roles_refuse_the_embedded_bus_and_an_edge_needs_a_shared_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = WriterRoleConfig {
        node: ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.path()),
        internal_listen: "127.0.0.1:0".parse().unwrap(),
        link_secret: LINK_SECRET.to_owned(),
        link_calls_per_edge: 256,
        link_handshakes: 64,
    };
    let err = rookery::start_writer(config).await.err().unwrap();
    assert!(err.to_string().contains("needs --bus kafka://"), "{err}");

    let mock = kafka(1, 2, 1);
    let mut node = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    node.bus = format!("kafka://{}", mock.bootstrap_servers());
    let config = EdgeRoleConfig {
        node: node.clone(),
        writers: vec!["127.0.0.1:1".into()],
        link_secret: LINK_SECRET.to_owned(),
    };
    let err = rookery::start_edge(config).await.err().unwrap();
    assert!(err.to_string().contains("needs --jwt-secret"), "{err}");

    node.jwt_secret = Some(SECRET.to_owned());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = EdgeRoleConfig {
        node,
        writers: vec![closed.to_string()],
        link_secret: LINK_SECRET.to_owned(),
    };
    let err = rookery::start_edge(config).await.err().unwrap();
    assert!(err.to_string().contains("no writer reachable"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_on_the_embedded_store_is_refused_at_startup() {
    let mock = kafka(1, 2, 1);
    let bus = format!("kafka://{}", mock.bootstrap_servers());
    let dir = tempfile::tempdir().unwrap();
    let config = |worker_id, sub: &str| WriterRoleConfig {
        node: node(&bus, &dir.path().join(sub), worker_id),
        internal_listen: "127.0.0.1:0".parse().unwrap(),
        link_secret: LINK_SECRET.to_owned(),
        link_calls_per_edge: 256,
        link_handshakes: 64,
    };
    let first = rookery::start_writer(config(1, "w1")).await.unwrap();
    let err = rookery::start_writer(config(2, "w2")).await.err().unwrap();
    let err = format!("{err:#}");
    assert!(
        err.contains("writer 1 already hosts the embedded store"),
        "{err}"
    );
    assert!(
        !dir.path().join("w2").join("store").exists(),
        "the refused writer touched nothing"
    );
    // The same writer restarting is its own successor.
    first.stop().await.unwrap();
    let again = rookery::start_writer(config(1, "w1")).await.unwrap();
    again.stop().await.unwrap();
}

/// The real binary as 1 writer + 3 edges, talking to the mock broker over
/// TCP: a client on each of two edges chats, and the third edge, with no
/// sessions, receives none of the messages (fan-out routed by interest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_as_a_writer_and_two_edges() {
    use rookery_testkit::ChildServer;
    const BIN: &str = env!("CARGO_BIN_EXE_rookery");
    let mock = kafka(1, 4, 1);
    let bus = format!("kafka://{}", mock.bootstrap_servers());
    let dir = tempfile::tempdir().unwrap();
    let common = [
        "--bus",
        &bus,
        "--jwt-secret",
        SECRET,
        "--link-secret",
        LINK_SECRET,
        "--frames-per-minute",
        "100000",
        "--channel-messages-per-5s",
        "0",
    ];
    let writer_args: Vec<&str> = common
        .iter()
        .copied()
        .chain(["--internal-listen", "127.0.0.1:0"])
        .collect();
    let writer = ChildServer::role(BIN, "writer", &dir.path().join("w"), &writer_args);
    let internal = writer.field("internal").expect("internal address");
    let edge_args: Vec<&str> = common
        .iter()
        .copied()
        .chain(["--writers", &internal])
        .collect();
    let a = ChildServer::role(
        BIN,
        "edge",
        &dir.path().join("a"),
        &[&edge_args[..], &["--worker-id", "1"]].concat(),
    );
    let b = ChildServer::role(
        BIN,
        "edge",
        &dir.path().join("b"),
        &[&edge_args[..], &["--worker-id", "2"]].concat(),
    );
    // An edge without sessions: fan-out is routed by interest, so it gets
    // the guild's changes but none of its messages.
    let idle = ChildServer::role(
        BIN,
        "edge",
        &dir.path().join("c"),
        &[&edge_args[..], &["--worker-id", "3"]].concat(),
    );

    let Pair {
        channel,
        mut ga,
        mut gb,
        ..
    } = pair_across(&a.addr, &b.addr, Encoding::Json).await;

    ga.send_message(channel, "a1", "hello from edge a")
        .await
        .unwrap();
    let m: Message = gb.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
    assert_eq!(m.content, "hello from edge a");
    gb.send_message(channel, "b1", "hello back from edge b")
        .await
        .unwrap();
    let m: Message = ga.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
    // Alice also sees her own message first.
    let m = if m.content == "hello from edge a" {
        ga.dispatch("MESSAGE_CREATE", T)
            .await
            .unwrap()
            .d::<Message>()
            .unwrap()
    } else {
        m
    };
    assert_eq!(m.content, "hello back from edge b");
    let metrics = |addr: String| async move {
        let url = format!("http://{addr}/metrics");
        reqwest::get(url).await.unwrap().text().await.unwrap()
    };
    let writer_metrics = metrics(writer.addr.clone()).await;
    assert!(
        writer_metrics.contains("rookery_link_edges 3"),
        "{writer_metrics}"
    );
    let received = |text: &str, scope: &str| -> u64 {
        let series = format!("rookery_link_events_received_total{{scope=\"{scope}\"}} ");
        let line = text.lines().find(|l| l.starts_with(&series));
        line.and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in {text}"))
    };
    let (on_a, on_idle) = (metrics(a.ops_addr()).await, metrics(idle.ops_addr()).await);
    assert_eq!(received(&on_a, "channel"), 2, "both messages reach edge a");
    assert_eq!(
        received(&on_idle, "channel"),
        0,
        "no message reaches the idle edge"
    );
    assert!(
        received(&on_idle, "other") >= 3,
        "guild changes reach every edge: {on_idle}"
    );
    // Alice's session went live once the writer confirmed its routing, not
    // after the 5 s bound.
    assert!(
        on_a.contains("rookery_kafka_interest_wait_timeouts_total 0"),
        "{on_a}"
    );
    let confirmed = on_a
        .lines()
        .find_map(|l| l.strip_prefix("rookery_kafka_interest_wait_seconds_count "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(confirmed >= Some(1), "{on_a}");

    // Both chatting edges stop: they withdraw their interest, and the
    // writer routes nothing to them any more.
    assert!(
        writer_metrics.contains("rookery_kafka_interest_keys 1"),
        "{writer_metrics}"
    );
    let (mut a, mut b) = (a, b);
    for edge in [&mut a, &mut b] {
        edge.signal("TERM");
        assert!(edge.wait_exit(T).expect("edge exits").success());
    }
    let deadline = Instant::now() + T;
    while !metrics(writer.addr.clone())
        .await
        .contains("rookery_kafka_interest_keys 0")
    {
        assert!(Instant::now() < deadline, "interest not withdrawn");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ends the process (failing the test run) unless the returned sender is
/// dropped within `limit`. A thread of its own: a deadlock that blocks the
/// runtime's workers stops its timers too.
fn watchdog(what: &'static str, limit: Duration) -> std::sync::mpsc::Sender<()> {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            eprintln!("watchdog: {what} did not finish in {limit:?}: a deadlock");
            std::process::exit(101);
        }
    });
    done
}

/// The cluster edge's deadlock (issue 16): one user in ten guilds looping
/// IDENTIFY → READY → close from a dozen connections at once wedged an edge
/// within seconds. A watchdog fails the test if any identify, or the edge's
/// health and REST afterwards, takes longer than it should.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_identify_storm_never_wedges_a_cluster_edge() {
    let _watchdog = watchdog("the identify storm", Duration::from_secs(90));
    let mock = kafka(1, 8, 1);
    let bus = format!("kafka://{}", mock.bootstrap_servers());
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&EmbeddedConfig::new(dir.path().join("store"))).unwrap());
    let w = writer(&bus, &dir.path().join("w"), store).await;
    // The storm is about locks, not the session limits it would hit.
    let e = edge_with(&bus, &dir.path().join("e"), 1, &[&w], |c| {
        c.identifies_per_day = 1_000_000;
        c.max_sessions_per_user = 1_000;
    })
    .await;
    let base = format!("http://{}", e.addr);
    let api = Api::new(&base);
    let user = api.register("stormy", "long-enough").await.unwrap();
    let owner = api.with_token(&user.token);
    for i in 0..10 {
        owner.create_guild(&format!("guild {i}")).await.unwrap();
    }
    let watchdog = Duration::from_secs(15);
    let storm = (0..12).map(|_| {
        let (ws, token) = (format!("ws://{}", e.addr), user.token.clone());
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(6);
            let mut cycles = 0;
            while Instant::now() < deadline {
                let cycle = async {
                    let mut g = Gateway::connect(&ws, Encoding::Json).await.unwrap();
                    g.identify(&token).await.unwrap();
                    g.close(1000).await.unwrap();
                };
                tokio::time::timeout(watchdog, cycle)
                    .await
                    .expect("an IDENTIFY hung: the edge is wedged");
                cycles += 1;
            }
            cycles
        })
    });
    let cycles: usize = futures_util::future::join_all(storm)
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    println!("identify storm: {cycles} IDENTIFY → READY → close cycles in 6 s over 12 connections");
    let health = reqwest::get(format!("http://{}/healthz", e.ops_addr));
    let health = tokio::time::timeout(Duration::from_secs(5), health).await;
    assert_eq!(health.expect("health answered").unwrap().status(), 200);
    let guilds = tokio::time::timeout(Duration::from_secs(5), owner.my_guilds()).await;
    assert_eq!(guilds.expect("REST answered").unwrap().len(), 10);
    e.stop().await.unwrap();
    w.stop().await.unwrap();
}
