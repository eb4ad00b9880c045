//! The Kafka bus against librdkafka's mock cluster (a Kafka-protocol broker
//! in-process, for fault injection) and, where `ROOKERY_TEST_KAFKA` names
//! one, a real Apache Kafka broker (`engines/run start kafka`): keyed
//! partitioning and order, at-least-once commits with their write clock,
//! a rebalance between two group members, the failures a caller must see,
//! the interest registry, the embedded store's single writer, and the
//! ephemeral consumer. `both!` runs each scenario on each cluster.

mod common;

use common::{TestCluster, by_partition, eventually, take};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rookery_bus::{
    Bus, Checkpoint, EdgeId, Interest, InterestAcks, InterestTable, Record, partition_for,
};
use rookery_bus_kafka::{
    AppliedNotify, AssignmentHook, InterestFollower, KafkaBus, KafkaConfig, KafkaInterest,
    claim_embedded_store,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

both!(
    records_land_in_their_keys_partition_and_come_back_in_order,
    a_restarted_member_resumes_after_the_commit_with_its_clock,
    two_members_of_a_group_share_the_partitions_and_hand_them_over,
    a_missing_topic_is_refused_with_the_reason,
    interest_is_registered_confirmed_withdrawn_and_rebuilt_by_a_new_owner,
    a_second_writer_on_the_embedded_store_is_refused,
    a_missing_or_differently_partitioned_interest_topic_is_refused,
    the_ephemeral_consumer_follows_the_group_consumers_partitions,
    the_ephemeral_consumer_needs_a_co_partitioned_topic,
);

async fn events(c: &TestCluster, partitions: i32) -> KafkaBus {
    c.create_topic("events", partitions).await;
    c.bus("").await
}

async fn records_land_in_their_keys_partition_and_come_back_in_order(c: TestCluster) {
    let bus = events(&c, 4).await;
    assert_eq!(bus.partitions(), 4);
    for i in 0..40u64 {
        let key = 1000 + i % 10;
        let payload = format!("{key}:{i}").into_bytes();
        let pos = bus.publish(Record { key, payload }).await.unwrap();
        assert_eq!(pos.partition, partition_for(key, 4), "key {key}");
    }
    let mut consumer = bus.consumer(&c.name("writers")).await.unwrap();
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

/// A commit carries the writer's clock, and the next member of the group
/// finds it at the offset it starts from.
async fn a_restarted_member_resumes_after_the_commit_with_its_clock(c: TestCluster) {
    let bus = events(&c, 2).await;
    for i in 0..20u64 {
        bus.publish(Record {
            key: i,
            payload: vec![i as u8],
        })
        .await
        .unwrap();
    }
    let group = c.name("writers");
    let mut first = bus.consumer(&group).await.unwrap();
    let all = by_partition(&take(&mut first, 20).await);
    // Commit the first half of each partition only ("applied and synced").
    let commits: Vec<Checkpoint> = all
        .iter()
        .map(|(p, recs)| Checkpoint {
            partition: *p,
            offset: recs[recs.len() / 2].0,
            clock: 1_700_000_000_000_000 + u64::from(*p),
        })
        .collect();
    first.commit(&commits).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(first);

    let mut second = bus.consumer(&group).await.unwrap();
    for commit in &commits {
        let found = second.committed(commit.partition).await.unwrap();
        assert_eq!(found, Some(*commit), "the checkpoint, clock included");
    }
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

/// Two members of one group own disjoint partitions covering the topic;
/// when one leaves, the other takes its partitions over from its commits.
async fn two_members_of_a_group_share_the_partitions_and_hand_them_over(c: TestCluster) {
    let bus = events(&c, 4).await;
    let group = c.name("writers");
    let mut a = bus.consumer(&group).await.unwrap();
    let mut b = bus.consumer(&group).await.unwrap();
    let (mut seen_a, mut seen_b) = (BTreeSet::new(), BTreeSet::new());
    let mut next = 0u64;
    // Publish until both members have records in one round: the group has
    // rebalanced. (A member that joined first may own every partition for
    // a while, so only a round's partitions are compared.)
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen_a.is_empty() || seen_b.is_empty() {
        assert!(Instant::now() < deadline, "a={seen_a:?} b={seen_b:?}");
        (seen_a, seen_b) = (BTreeSet::new(), BTreeSet::new());
        for key in next..next + 8 {
            let payload = key.to_be_bytes().to_vec();
            bus.publish(Record { key, payload }).await.unwrap();
        }
        next += 8;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for (consumer, seen) in [(&mut a, &mut seen_a), (&mut b, &mut seen_b)] {
            for batch in consumer.try_poll(256).await.unwrap() {
                seen.insert(batch.partition);
                let commit = batch.next_position().map(|p| Checkpoint {
                    partition: p.partition,
                    offset: p.offset,
                    clock: 0,
                });
                consumer
                    .commit(&commit.into_iter().collect::<Vec<_>>())
                    .await
                    .unwrap();
            }
        }
    }
    assert!(seen_a.is_disjoint(&seen_b), "a={seen_a:?} b={seen_b:?}");
    drop(a);
    // `b` now owns every partition: a record for each key lands there.
    for key in 0..32u64 {
        let payload = format!("after {key}").into_bytes();
        bus.publish(Record { key, payload }).await.unwrap();
    }
    let mut after: BTreeSet<u32> = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while after.len() < 4 {
        assert!(Instant::now() < deadline, "b took over only {after:?}");
        let batches = tokio::time::timeout(Duration::from_secs(5), b.poll(256)).await;
        for batch in batches.into_iter().flatten().flatten() {
            let late = batch
                .records
                .iter()
                .any(|r| r.payload.starts_with(b"after"));
            if late {
                after.insert(batch.partition);
            }
        }
    }
}

/// Injected broker errors are the mock's: the real broker has no knob.
#[tokio::test]
async fn retriable_broker_errors_are_retried_without_duplicates() {
    let c = TestCluster::mock();
    let bus = events(&c, 1).await;
    let common::Cluster::Mock(mock) = &c.cluster else {
        unreachable!("a mock cluster")
    };
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
    let mut consumer = bus.consumer(&c.name("writers")).await.unwrap();
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
    let c = TestCluster::mock();
    c.create_topic("events", 1).await;
    let bus = c.bus("&message.timeout.ms=1500").await;
    let common::Cluster::Mock(mock) = &c.cluster else {
        unreachable!("a mock cluster")
    };
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

async fn a_missing_topic_is_refused_with_the_reason(c: TestCluster) {
    let err = KafkaBus::connect(c.config("")).await.err().unwrap();
    assert!(err.to_string().contains("rookery topics ensure"), "{err}");
}

#[tokio::test]
async fn an_unreachable_cluster_is_refused_with_the_reason() {
    // Bound but not listening: connections are refused, and the port stays
    // taken for the whole test. (A listener dropped at once freed it, and
    // CI once saw another test's mock broker take it in between.)
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = reserved.local_addr().unwrap();
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

/// Co-partitioned events and interest topics, and a bus on them.
async fn interest_cluster(c: &TestCluster) -> KafkaBus {
    c.create_topic("interest", 4).await;
    events(c, 4).await
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

async fn interest_is_registered_confirmed_withdrawn_and_rebuilt_by_a_new_owner(c: TestCluster) {
    let bus = interest_cluster(&c).await;
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

async fn a_second_writer_on_the_embedded_store_is_refused(c: TestCluster) {
    let bus = interest_cluster(&c).await;
    claim_embedded_store(&bus, 1).await.unwrap();
    // The same writer restarting keeps its claim.
    claim_embedded_store(&bus, 1).await.unwrap();
    let err = claim_embedded_store(&bus, 2).await.unwrap_err().to_string();
    assert!(
        err.contains("writer 1 already hosts the embedded store"),
        "{err}"
    );
}

async fn a_missing_or_differently_partitioned_interest_topic_is_refused(c: TestCluster) {
    let bus = events(&c, 4).await;
    let me = EdgeId { node: 1, epoch: 1 };
    let acks = Arc::new(InterestAcks::default());
    let err = KafkaInterest::new(&bus, me, acks.clone())
        .await
        .err()
        .unwrap();
    let missing = format!("{} does not exist", c.name("interest"));
    assert!(err.to_string().contains(&missing), "{err}");
    c.create_topic("interest", 2).await;
    let err = KafkaInterest::new(&bus, me, acks).await.err().unwrap();
    assert!(err.to_string().contains("must match"), "{err}");
}

/// The ephemeral consumer reads the partitions the group consumer owns,
/// from a tail of recent records: one published while nobody owned the
/// partition still arrives (and so does an old one: the writer's relay
/// drops events by age).
async fn the_ephemeral_consumer_follows_the_group_consumers_partitions(c: TestCluster) {
    c.create_topic("ephemeral", 4).await;
    let bus = events(&c, 4).await;
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", c.bootstrap())
        .create()
        .unwrap();
    let minute_ago = rookery_bus::now_ms() as i64 - 60_000;
    let key = 1u64.to_be_bytes();
    let ephemeral_topic = c.name("ephemeral");
    let stale = rdkafka::producer::FutureRecord::to(&ephemeral_topic)
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
    let mut group = bus.consumer(&c.name("writers")).await.unwrap();
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

async fn the_ephemeral_consumer_needs_a_co_partitioned_topic(c: TestCluster) {
    let bus = events(&c, 4).await;
    let missing = bus.ephemeral_consumer().await.err().unwrap().to_string();
    assert!(missing.contains("rookery topics ensure"), "{missing}");
    c.create_topic("ephemeral", 2).await;
    let short = bus.ephemeral_consumer().await.err().unwrap().to_string();
    assert!(short.contains("co-partitioned"), "{short}");
}
