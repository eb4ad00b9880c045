//! The Kafka bus against librdkafka's mock cluster (a Kafka-protocol broker
//! in-process): keyed partitioning, ordered consumption, at-least-once
//! commits, injected broker errors, and the failures a caller must see;
//! the interest registry on the interest topic.

use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rookery_bus::{
    Batch, Bus, Consumer, EdgeId, Interest, InterestAcks, InterestTable, Position, Record,
    partition_for,
};
use rookery_bus_kafka::{
    AppliedNotify, AssignmentHook, InterestFollower, KafkaBus, KafkaConfig, KafkaInterest,
    claim_embedded_store,
};
use std::collections::BTreeMap;
use std::sync::Arc;
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

/// A cluster with co-partitioned events and interest topics.
fn interest_cluster() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let mock = cluster(4);
    mock.create_topic("rookery.interest", 4, 3).unwrap();
    mock
}

/// Hands a writer's acknowledgements straight to the edge (the internal
/// link's job in a cluster).
struct Loopback(Arc<InterestAcks>);

impl AppliedNotify for Loopback {
    fn applied(&self, _: EdgeId, partition: u32, next: u64) {
        self.0.applied(partition, next);
    }
}

async fn owner(
    bus: &KafkaBus,
    acks: &Arc<InterestAcks>,
    node: u16,
) -> (Arc<InterestFollower>, Arc<InterestTable>) {
    let table = Arc::new(InterestTable::new(4));
    let me = EdgeId { node, epoch: 1 };
    let notify = Arc::new(Loopback(acks.clone()));
    let follower = InterestFollower::start(bus, me, table.clone(), notify)
        .await
        .unwrap();
    follower.assigned(vec![0, 1, 2, 3]).await;
    (follower, table)
}

/// Waits until `check` holds, up to 10 s.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn interest_is_registered_confirmed_withdrawn_and_rebuilt_by_a_new_owner() {
    let mock = interest_cluster();
    let bus = bus(&mock, "").await;
    let acks = Arc::new(InterestAcks::default());
    let (first, table) = owner(&bus, &acks, 1).await;
    let edge = EdgeId {
        node: 7,
        epoch: 100,
    };
    let interest = KafkaInterest::new(&bus, edge, acks.clone()).await.unwrap();

    // Confirmed well within the 5 s bound: the owner applied the records.
    let started = Instant::now();
    interest.register(&[100, 200]).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(table.edges_for(100), [edge]);
    assert_eq!(table.edges_for(200), [edge]);
    assert!(table.edges_for(300).is_empty());

    interest.withdraw(&[100]).await.unwrap();
    eventually("the withdrawal", || table.edges_for(100).is_empty()).await;

    // A new owner rebuilds from the compacted topic, and its claims are
    // newer than the first owner's.
    let p = partition_for(200, 4);
    let old_claim = table.claim(p).expect("the first owner claimed");
    first.close();
    let (_second, rebuilt) = owner(&bus, &acks, 2).await;
    assert_eq!(rebuilt.edges_for(200), [edge]);
    assert!(rebuilt.edges_for(100).is_empty());
    assert!(rebuilt.claim(p).unwrap() > old_claim);

    // The edge restarts: its new epoch supersedes the old records.
    let restarted = EdgeId {
        node: 7,
        epoch: 200,
    };
    let again = KafkaInterest::new(&bus, restarted, acks).await.unwrap();
    again.register(&[300]).await.unwrap();
    assert_eq!(rebuilt.edges_for(300), [restarted]);
    assert!(rebuilt.edges_for(200).is_empty(), "dead epoch dropped");
}

#[tokio::test]
async fn a_second_writer_on_the_embedded_store_is_refused() {
    let mock = interest_cluster();
    let bus = bus(&mock, "").await;
    claim_embedded_store(&bus, 1).await.unwrap();
    // The same writer restarting keeps its claim.
    claim_embedded_store(&bus, 1).await.unwrap();
    let err = claim_embedded_store(&bus, 2).await.unwrap_err().to_string();
    assert!(
        err.contains("writer 1 already hosts the embedded store"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_or_differently_partitioned_interest_topic_is_refused() {
    let mock = cluster(4);
    let bus = bus(&mock, "").await;
    let me = EdgeId { node: 1, epoch: 1 };
    let acks = Arc::new(InterestAcks::default());
    let err = KafkaInterest::new(&bus, me, acks.clone())
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("rookery.interest does not exist"),
        "{err}"
    );
    mock.create_topic("rookery.interest", 2, 3).unwrap();
    let err = KafkaInterest::new(&bus, me, acks).await.err().unwrap();
    assert!(err.to_string().contains("must match"), "{err}");
}

/// The ephemeral consumer reads the partitions the group consumer owns,
/// from a tail of recent records: one published while nobody owned the
/// partition still arrives (and so does an old one: the writer's relay
/// drops events by age).
#[tokio::test]
async fn the_ephemeral_consumer_follows_the_group_consumers_partitions() {
    let mock = cluster(4);
    mock.create_topic("rookery.ephemeral", 4, 3).unwrap();
    let bus = bus(&mock, "").await;
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .create()
        .unwrap();
    let minute_ago = rookery_bus::now_ms() as i64 - 60_000;
    let key = 1u64.to_be_bytes();
    let stale = rdkafka::producer::FutureRecord::to("rookery.ephemeral")
        .key(&key[..])
        .payload(&b"stale"[..])
        .partition(partition_for(1, 4) as i32)
        .timestamp(minute_ago);
    producer.send(stale, Duration::from_secs(5)).await.unwrap();
    let early = Record {
        key: 1,
        payload: b"early".to_vec(),
    };
    bus.publish_ephemeral(early).await.unwrap();
    let mut ephemeral = bus.ephemeral_consumer().await.unwrap();
    let mut group = bus.consumer("writers").await.unwrap();
    // The group consumer learns its assignment while polling.
    bus.publish(Record {
        key: 2,
        payload: b"event".to_vec(),
    })
    .await
    .unwrap();
    take(&mut group, 1).await;
    for key in 10..13u64 {
        let payload = format!("typing {key}").into_bytes();
        bus.publish_ephemeral(Record { key, payload })
            .await
            .unwrap();
    }
    let got = by_partition(&take(&mut ephemeral, 5).await);
    let mut payloads: Vec<String> = got
        .values()
        .flatten()
        .map(|r| String::from_utf8_lossy(&r.1).into_owned())
        .collect();
    payloads.sort();
    assert_eq!(
        payloads,
        ["early", "stale", "typing 10", "typing 11", "typing 12"]
    );
    for (partition, records) in &got {
        assert!(records.iter().all(|r| partition_for(r.2, 4) == *partition));
    }
}

#[tokio::test]
async fn the_ephemeral_consumer_needs_a_co_partitioned_topic() {
    let mock = cluster(4);
    let bus = bus(&mock, "").await;
    let missing = bus.ephemeral_consumer().await.err().unwrap().to_string();
    assert!(missing.contains("rookery topics ensure"), "{missing}");
    mock.create_topic("rookery.ephemeral", 2, 3).unwrap();
    let short = bus.ephemeral_consumer().await.err().unwrap().to_string();
    assert!(short.contains("co-partitioned"), "{short}");
}
