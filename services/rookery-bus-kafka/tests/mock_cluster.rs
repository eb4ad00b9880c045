//! The Kafka bus against librdkafka's mock cluster (a Kafka-protocol broker
//! in-process): keyed partitioning, ordered consumption, at-least-once
//! commits, injected broker errors, and the failures a caller must see.

use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rookery_bus::{Batch, Bus, Consumer, Position, Record, partition_for};
use rookery_bus_kafka::{KafkaBus, KafkaConfig};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TOPIC: &str = "rookery.events";

fn cluster(partitions: i32) -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let mock = MockCluster::new(3).unwrap();
    mock.create_topic(TOPIC, partitions, 3).unwrap();
    mock
}

async fn bus(
    mock: &MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    extra: &str,
) -> KafkaBus {
    let url = format!("kafka://{}{extra}", mock.bootstrap_servers());
    KafkaBus::connect(KafkaConfig::from_url(&url).unwrap())
        .await
        .unwrap()
}

/// Polls until `n` records arrived (or 20 s passed).
async fn take(consumer: &mut Box<dyn Consumer>, n: usize) -> Vec<Batch> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    let mut got = 0;
    while got < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let batches = tokio::time::timeout(left, consumer.poll(64))
            .await
            .unwrap_or_else(|_| panic!("only {got} of {n} records arrived"))
            .unwrap();
        got += batches.iter().map(|b| b.records.len()).sum::<usize>();
        out.extend(batches);
    }
    out
}

fn by_partition(batches: &[Batch]) -> BTreeMap<u32, Vec<(u64, Vec<u8>, u64)>> {
    let mut out: BTreeMap<u32, Vec<_>> = BTreeMap::new();
    for b in batches {
        for r in &b.records {
            out.entry(b.partition)
                .or_default()
                .push((r.offset, r.payload.clone(), r.key));
        }
    }
    out
}

#[tokio::test]
async fn records_land_in_their_keys_partition_and_come_back_in_order() {
    let mock = cluster(4);
    let bus = bus(&mock, "").await;
    assert_eq!(bus.partitions(), 4);
    for i in 0..40u64 {
        let key = 1000 + i % 10;
        let payload = format!("{key}:{i}").into_bytes();
        let pos = bus.publish(Record { key, payload }).await.unwrap();
        assert_eq!(pos.partition, partition_for(key, 4), "key {key}");
    }
    let mut consumer = bus.consumer("writers").await.unwrap();
    let got = by_partition(&take(&mut consumer, 40).await);
    for (partition, records) in &got {
        let offsets: Vec<u64> = records.iter().map(|r| r.0).collect();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "p{partition}: {offsets:?}"
        );
        for (_, payload, key) in records {
            assert_eq!(partition_for(*key, 4), *partition);
            assert!(String::from_utf8_lossy(payload).starts_with(&format!("{key}:")));
        }
    }
    // Per key, publish order is kept.
    let mut per_key: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (_, payload, key) in got.values().flatten() {
        let i: u64 = String::from_utf8_lossy(payload)
            .split(':')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        per_key.entry(*key).or_default().push(i);
    }
    assert_eq!(per_key.len(), 10);
    assert!(per_key.values().all(|v| v.windows(2).all(|w| w[0] < w[1])));
}

#[tokio::test]
async fn a_restarted_member_resumes_after_the_commit_and_gets_the_rest_again() {
    let mock = cluster(2);
    let bus = bus(&mock, "").await;
    for i in 0..20u64 {
        bus.publish(Record {
            key: i,
            payload: vec![i as u8],
        })
        .await
        .unwrap();
    }
    let mut first = bus.consumer("writers").await.unwrap();
    let all = by_partition(&take(&mut first, 20).await);
    // Commit the first half of each partition only ("applied and synced").
    let commits: Vec<Position> = all
        .iter()
        .map(|(p, recs)| Position {
            partition: *p,
            offset: recs[recs.len() / 2].0,
        })
        .collect();
    first.commit(&commits).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(first);

    let mut second = bus.consumer("writers").await.unwrap();
    let expected: usize = all.values().map(|r| r.len() - r.len() / 2).sum();
    let again = by_partition(&take(&mut second, expected).await);
    for (p, recs) in &all {
        let want: Vec<u64> = recs[recs.len() / 2..].iter().map(|r| r.0).collect();
        let got: Vec<u64> = again
            .get(p)
            .map(|r| r.iter().map(|x| x.0).collect())
            .unwrap_or_default();
        assert_eq!(got, want, "partition {p}: from the committed offset on");
    }
}

#[tokio::test]
async fn retriable_broker_errors_are_retried_without_duplicates() {
    let mock = cluster(1);
    let bus = bus(&mock, "").await;
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 3],
    );
    for i in 0..5u64 {
        bus.publish(Record {
            key: 7,
            payload: vec![i as u8],
        })
        .await
        .unwrap();
    }
    let mut consumer = bus.consumer("writers").await.unwrap();
    let got = by_partition(&take(&mut consumer, 5).await);
    let payloads: Vec<u8> = got[&0].iter().map(|r| r.1[0]).collect();
    assert_eq!(payloads, [0, 1, 2, 3, 4], "each once, in order");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        consumer.try_poll(10).await.unwrap().is_empty(),
        "no duplicates"
    );
}

#[tokio::test]
async fn publishing_to_a_dead_cluster_fails_within_the_message_timeout() {
    let mock = cluster(1);
    let bus = bus(&mock, "?message.timeout.ms=1500").await;
    for broker in 1..=3 {
        mock.broker_down(broker).unwrap();
    }
    let started = Instant::now();
    let err = bus
        .publish(Record {
            key: 1,
            payload: b"x".to_vec(),
        })
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(err.to_string().contains("kafka publish failed"), "{err}");
}

#[tokio::test]
async fn a_missing_topic_or_an_unreachable_cluster_is_refused_with_the_reason() {
    let mock = cluster(1);
    let url = format!("kafka://{}?topic=nope", mock.bootstrap_servers());
    let err = KafkaBus::connect(KafkaConfig::from_url(&url).unwrap())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("rookery topics ensure"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("kafka://{closed}");
    let started = Instant::now();
    let err = KafkaBus::connect(KafkaConfig::from_url(&url).unwrap())
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains(&format!("cannot reach kafka at {closed}")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded retries"
    );
}
