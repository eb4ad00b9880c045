//! `rookery serve --bus kafka://...` against librdkafka's mock cluster (a
//! Kafka-protocol broker in-process) and, where `ROOKERY_TEST_KAFKA` names
//! one, the real broker: the whole path — gateway SEND, the idempotent
//! producer, the writer's consumer group, the store, fan-out — over Kafka,
//! and the analytics contract read back by an independent client.

#[path = "../../rookery-bus-kafka/tests/common/mod.rs"]
mod common;

use common::TestCluster;
use rdkafka::mocking::MockCluster;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_testkit::TestServer;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

both!(
    chat_over_kafka_end_to_end,
    an_independent_client_decodes_the_topic_against_the_documented_schema,
);

/// The events and ephemeral topics with `partitions` each, and the URL.
async fn topics(c: &TestCluster, partitions: i32) -> String {
    c.create_topic("events", partitions).await;
    c.create_topic("ephemeral", partitions).await;
    c.url("")
}

async fn chat_over_kafka_end_to_end(c: TestCluster) {
    let url = topics(&c, 8).await;
    let server = TestServer::start_with(|config| {
        config.bus = url;
        config.channel_messages_per_5s = 0;
    })
    .await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let channel = server.guild(&[&alice, &bob]).await.channels[0].id;
    let mut a = server.gateway(&alice, Encoding::Json).await;
    let mut b = server.gateway(&bob, Encoding::MsgPack).await;

    let mut acked = Vec::new();
    for i in 0..20 {
        a.send_message(channel, &format!("k{i}"), &format!("over kafka {i}"))
            .await
            .unwrap();
        let ack: gw::SendAck = a.op(op::SEND_ACK, T).await.unwrap().d().unwrap();
        acked.push(ack.id);
    }
    let mut seen = Vec::new();
    while seen.len() < acked.len() {
        let m: rookery_proto::model::Message =
            b.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
        seen.push(m.id);
    }
    assert_eq!(seen, acked, "bob sees every acked message, in order");
    let history = bob.api.history(channel, "limit=50").await.unwrap();
    let mut stored: Vec<_> = history.iter().map(|m| m.id).collect();
    stored.reverse();
    assert_eq!(stored, acked);
    server.stop().await;
}

#[tokio::test]
async fn serving_with_a_missing_topic_fails_with_the_reason() {
    let mock = MockCluster::new(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = rookery::ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.bus = format!("kafka://{}?topic=absent", mock.bootstrap_servers());
    let err = rookery::start(config).await.err().expect("refused");
    let text = format!("{err:#}");
    assert!(
        text.contains("cannot open the bus") && text.contains("rookery topics ensure"),
        "{text}"
    );
}

/// Total records on `topic`, from the partitions' high watermarks.
fn records_on(bootstrap: &str, topic: &str, partitions: i32) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    (0..partitions)
        .map(|p| {
            c.fetch_watermarks(topic, p, Duration::from_secs(5))
                .unwrap()
                .1
        })
        .sum()
}

/// Alice (on `g`) turns dnd and types while Bob watches: three presences
/// (Alice's and Bob's first, Alice's dnd) and one typing on the ephemeral
/// topic. Bob's connection is returned, to stay up until they are counted.
async fn typing_and_presence(
    server: &TestServer,
    (alice, g): (&rookery_testkit::TestUser, &mut rookery_client::Gateway),
    bob: &rookery_testkit::TestUser,
    guild: &rookery_proto::model::GuildState,
) -> rookery_client::Gateway {
    use rookery_proto::presence::{PresenceSet, Status};
    let mut bob_gw = server.gateway(bob, Encoding::Json).await;
    let dnd = PresenceSet {
        status: Status::Dnd,
        ..Default::default()
    };
    g.set_presence(&dnd).await.unwrap();
    rookery_testkit::presence_of(&mut bob_gw, alice.user.id, Some(Status::Dnd)).await;
    let typing = format!("/channels/{}/typing", guild.channels[0].id);
    alice.no_content(reqwest::Method::POST, &typing, None).await;
    bob_gw.dispatch("TYPING_START", T).await.unwrap();
    bob_gw
}

fn check_events(bootstrap: &str, topic: &str, count: i64) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../kafka/check_events.py");
    let out = std::process::Command::new("python3")
        .args([script, bootstrap, topic, &count.to_string()])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The analytics contract: the topic, read by confluent-kafka (Python) and
/// decoded by msgpack, matches kafka/events.schema.json and the documented
/// keys; and the checker does refuse a record that breaks the contract.
/// One of each guild and message change, through REST.
async fn guild_and_message_changes(
    alice: &rookery_testkit::TestUser,
    bob: &rookery_testkit::TestUser,
    guild: &rookery_proto::model::GuildState,
    sent: &[rookery_proto::MessageId],
) {
    use reqwest::Method;
    use serde_json::json;
    let (g, c) = (guild.id, guild.channels[0].id);
    let ok = |(status, body): (reqwest::StatusCode, serde_json::Value)| {
        assert!(status.is_success(), "{status}: {body}");
        body
    };
    let call = |method: Method, path: String, body: Option<serde_json::Value>| {
        let api = alice.api.clone();
        async move { ok(api.raw(method, &path, body).await.unwrap()) }
    };
    let role = call(
        Method::POST,
        format!("/guilds/{g}/roles"),
        Some(json!({"name": "r"})),
    )
    .await;
    let r = role["id"].as_str().unwrap().to_owned();
    call(
        Method::PATCH,
        format!("/guilds/{g}/roles/{r}"),
        Some(json!({"hoist": true})),
    )
    .await;
    call(
        Method::PUT,
        format!("/guilds/{g}/members/{}/roles/{r}", bob.user.id),
        None,
    )
    .await;
    let overwrite = json!({"type": 0, "deny": "2048"});
    call(
        Method::PUT,
        format!("/channels/{c}/permissions/{r}"),
        Some(overwrite),
    )
    .await;
    let edit = json!({"content": "edited for analytics"});
    call(
        Method::PATCH,
        format!("/channels/{c}/messages/{}", sent[0]),
        Some(edit),
    )
    .await;
    let reply = json!({
        "content": format!("<@{}> see above", bob.user.id),
        "message_reference": {"message_id": sent[0]},
    });
    call(Method::POST, format!("/channels/{c}/messages"), Some(reply)).await;
    call(Method::PUT, format!("/channels/{c}/pins/{}", sent[0]), None).await;
    let reaction = format!("/channels/{c}/messages/{}/reactions/🎉/@me", sent[0]);
    call(Method::PUT, reaction.clone(), None).await;
    call(Method::DELETE, reaction.clone(), None).await;
    let reactions = format!("/channels/{c}/messages/{}/reactions", sent[0]);
    call(Method::PUT, reaction.clone(), None).await;
    call(Method::DELETE, format!("{reactions}/🎉"), None).await;
    call(Method::PUT, reaction, None).await;
    call(Method::DELETE, reactions, None).await;
    let doomed = alice.api.create_guild("doomed").await.unwrap();
    call(Method::DELETE, format!("/guilds/{}", doomed.id), None).await;
    let rename = json!({"name": "renamed for analytics"});
    call(Method::PATCH, format!("/guilds/{g}"), Some(rename)).await;
    let invite = json!({"max_age": 60, "max_uses": 1});
    let made = call(Method::POST, format!("/channels/{c}/invites"), Some(invite)).await;
    let code = made["code"].as_str().unwrap().to_owned();
    call(Method::DELETE, format!("/invites/{code}"), None).await;
    let ack = format!("/channels/{c}/messages/{}/ack", sent[0]);
    call(Method::POST, ack, None).await;
    call(
        Method::DELETE,
        format!("/channels/{c}/messages/{}", sent[1]),
        None,
    )
    .await;
    let bulk = json!({"messages": [sent[2], sent[3]]});
    call(
        Method::POST,
        format!("/channels/{c}/messages/bulk-delete"),
        Some(bulk),
    )
    .await;
    call(Method::DELETE, format!("/guilds/{g}/roles/{r}"), None).await;
    call(
        Method::DELETE,
        format!("/guilds/{g}/members/{}", bob.user.id),
        None,
    )
    .await;
    let ban = format!("/guilds/{g}/bans/{}", bob.user.id);
    call(Method::PUT, ban.clone(), None).await;
    call(Method::DELETE, ban, None).await;
}

/// A DM opened, and a group DM's life: opened, a message, a recipient
/// added and removed.
async fn private_changes(alice: &rookery_testkit::TestUser, others: [rookery_proto::UserId; 2]) {
    use reqwest::Method;
    use serde_json::json;
    let path = "/users/@me/channels";
    let body = json!({"recipient_id": others[0]});
    let _: rookery_proto::model::Channel = alice.ok(Method::POST, path, Some(body)).await;
    let body = json!({"recipients": [others[0]], "name": "analytics"});
    let group: rookery_proto::model::Channel = alice.ok(Method::POST, path, Some(body)).await;
    alice
        .api
        .post_message(group.id, "in private", None)
        .await
        .unwrap();
    let recipient = format!("/channels/{}/recipients/{}", group.id, others[1]);
    alice.no_content(Method::PUT, &recipient, None).await;
    alice.no_content(Method::DELETE, &recipient, None).await;
}

async fn an_independent_client_decodes_the_topic_against_the_documented_schema(c: TestCluster) {
    if !rookery_testkit::tools::python_modules(&["confluent_kafka", "msgpack", "jsonschema"]) {
        return;
    }
    let url = topics(&c, 4).await;
    let bootstrap = c.bootstrap();
    let (events, ephemeral_topic) = (c.name("events"), c.name("ephemeral"));
    // No presence refresh or offline within the test: exact counts.
    let server = TestServer::start_with(|config| {
        config.bus = url;
        config.presence_refresh_secs = 3600;
        config.presence_grace_ms = 3_600_000;
        config.channel_messages_per_5s = 0;
    })
    .await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let guild = server.guild(&[&alice, &bob]).await;
    let random = alice.api.create_channel(guild.id, "random").await.unwrap();
    let mut g = server.gateway(&alice, Encoding::MsgPack).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        g.send_message(guild.channels[0].id, &format!("a{i}"), "for analytics")
            .await
            .unwrap();
        let ack: gw::SendAck = g.op(op::SEND_ACK, T).await.unwrap().d().unwrap();
        sent.push(ack.id);
    }
    let ephemeral = typing_and_presence(&server, (&alice, &mut g), &bob, &guild).await;
    guild_and_message_changes(&alice, &bob, &guild, &sent).await;
    let carol = server.user("carol").await;
    private_changes(&alice, [bob.user.id, carol.user.id]).await;
    let path = format!("/channels/{}", random.id);
    let _: rookery_proto::model::Channel = alice.ok(reqwest::Method::DELETE, &path, None).await;
    let (ok, report) = check_events(&bootstrap, &ephemeral_topic, 4);
    assert!(ok, "{report}");
    for expected in ["\"TYPING_START\": 1", "\"PRESENCE_UPDATE\": 3"] {
        assert!(report.contains(expected), "{expected} in {report}");
    }
    drop(ephemeral);
    let total = records_on(&bootstrap, &events, 4);
    let (ok, report) = check_events(&bootstrap, &events, total);
    assert!(ok, "{report}");
    for expected in [
        "\"USER_CREATE\": 3",
        "\"GUILD_CREATE\": 2",
        "\"GUILD_UPDATE\": 1",
        "\"GUILD_DELETE\": 1",
        "\"CHANNEL_CREATE\": 3",
        "\"INVITE_CREATE\": 2",
        "\"INVITE_DELETE\": 1",
        "\"GUILD_MEMBER_ADD\": 1",
        "\"MESSAGE_CREATE\": 7",
        "\"CHANNEL_PINS_UPDATE\": 1",
        "\"MESSAGE_REACTION_ADD\": 3",
        "\"MESSAGE_REACTION_REMOVE_EMOJI\": 1",
        "\"MESSAGE_REACTION_REMOVE_ALL\": 1",
        "\"MESSAGE_REACTION_REMOVE\": 1",
        "\"GUILD_ROLE_CREATE\": 1",
        "\"GUILD_ROLE_UPDATE\": 1",
        "\"GUILD_ROLE_DELETE\": 1",
        "\"GUILD_MEMBER_UPDATE\": 1",
        "\"CHANNEL_UPDATE\": 1",
        "\"MESSAGE_UPDATE\": 1",
        "\"MESSAGE_DELETE\": 1",
        "\"MESSAGE_DELETE_BULK\": 1",
        "\"GUILD_MEMBER_REMOVE\": 1",
        "\"GUILD_BAN_ADD\": 1",
        "\"GUILD_BAN_REMOVE\": 1",
        "\"MESSAGE_ACK\": 1",
        "\"CHANNEL_RECIPIENT_ADD\": 1",
        "\"CHANNEL_RECIPIENT_REMOVE\": 1",
        "\"CHANNEL_DELETE\": 1",
    ] {
        assert!(report.contains(expected), "{expected} in {report}");
    }
    server.stop().await;

    // A record missing its envelope fields, under a key of the wrong size.
    c.create_topic("broken", 1).await;
    let broken = c.name("broken");
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let record = rdkafka::producer::FutureRecord::to(&broken)
        .key(&b"k"[..])
        .payload(&[0x81, 0xa1, b'v', 0x01][..]);
    producer.send(record, Duration::from_secs(5)).await.unwrap();
    let (ok, report) = check_events(&bootstrap, &broken, 1);
    assert!(!ok, "a broken record must fail the check: {report}");
    assert!(report.contains("'ts' is a required property"), "{report}");
}

/// Broker down: a SEND fails with a clear SEND_ERROR within the producer's
/// timeout instead of hanging; when the broker is back, sends are acked
/// again, and history holds exactly the acked messages.
#[tokio::test]
async fn sends_fail_cleanly_while_kafka_is_down_and_nothing_acked_is_lost() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("rookery.events", 2, 1).unwrap();
    mock.create_topic("rookery.ephemeral", 2, 1).unwrap();
    let url = format!(
        "kafka://{}?message.timeout.ms=1500",
        mock.bootstrap_servers()
    );
    let server = TestServer::start_with(|c| c.bus = url).await;
    let alice = server.user("alice").await;
    let channel = server.guild(&[&alice]).await.channels[0].id;
    let mut g = server.gateway(&alice, Encoding::Json).await;
    let mut acked = Vec::new();
    let send = async |g: &mut rookery_client::Gateway, nonce: String| {
        g.send_message(channel, &nonce, "kept").await.unwrap();
        g.next_matching("SEND_ACK or SEND_ERROR", T, |f| {
            [op::SEND_ACK, op::SEND_ERROR].contains(&f.header.op)
        })
        .await
        .unwrap()
    };
    for i in 0..3 {
        let f = send(&mut g, format!("before{i}")).await;
        acked.push(f.d::<gw::SendAck>().unwrap().id);
    }
    mock.broker_down(1).unwrap();
    let f = send(&mut g, "while-down".into()).await;
    assert_eq!(f.header.op, op::SEND_ERROR, "refused, not hanging");
    let err: gw::SendError = f.d().unwrap();
    assert_eq!(err.nonce, "while-down");
    assert!(err.message.contains("bus"), "{}", err.message);
    mock.broker_up(1).unwrap();
    // Until the producer has reconnected, SEND_ERROR again; the client
    // retries with the same nonce, which cannot create a duplicate.
    for i in 0..3 {
        let deadline = std::time::Instant::now() + T;
        loop {
            let f = send(&mut g, format!("after{i}")).await;
            if f.header.op == op::SEND_ACK {
                acked.push(f.d::<gw::SendAck>().unwrap().id);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "never acked again");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let deadline = std::time::Instant::now() + T;
    loop {
        let history = alice.api.history(channel, "limit=50").await.unwrap();
        let mut stored: Vec<_> = history.iter().map(|m| m.id).collect();
        stored.reverse();
        if stored == acked {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "history {stored:?} != acked {acked:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await;
}
