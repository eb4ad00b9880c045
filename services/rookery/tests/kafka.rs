//! `rookery serve --bus kafka://...` against librdkafka's mock cluster (a
//! Kafka-protocol broker in-process): the whole path — gateway SEND, the
//! idempotent producer, the writer's consumer group, the store, fan-out —
//! over Kafka.

use rdkafka::mocking::MockCluster;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_testkit::TestServer;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test]
async fn chat_over_kafka_end_to_end() {
    let mock = MockCluster::new(3).unwrap();
    mock.create_topic("rookery.events", 8, 3).unwrap();
    let url = format!("kafka://{}", mock.bootstrap_servers());
    let server = TestServer::start_with(|c| c.bus = url).await;
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
