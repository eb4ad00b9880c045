//! The idempotent producer across a restart of the real broker: records
//! published while the broker stops and starts again are delivered once
//! each, in order, when it is back (librdkafka retries them within the
//! message timeout; the broker drops the retried batches it already had).
//!
//! It restarts the broker `engines/run` started (`ROOKERY_ENGINES_DIR`,
//! `KAFKA_PORT`), so it is the only test in its binary: cargo runs test
//! binaries one at a time, and no other test sees the broker go away.

mod common;

use common::{TestCluster, by_partition, engines, take};
use rookery_bus::{Bus, Record};
use std::time::Duration;

#[tokio::test]
async fn records_published_across_a_broker_restart_arrive_once_each_in_order() {
    let Some(c) = TestCluster::real() else {
        return;
    };
    if !engines::managed("kafka") {
        assert!(
            !engines::required(),
            "the broker must be engines/run's to be restarted"
        );
        eprintln!(
            "SKIPPED: the broker at {} is not engines/run's",
            c.bootstrap()
        );
        return;
    }
    c.create_topic("events", 1).await;
    let bus = std::sync::Arc::new(c.bus("&message.timeout.ms=90000").await);
    let publish = |n: u32| {
        let bus = bus.clone();
        async move {
            let payload = n.to_be_bytes().to_vec();
            bus.publish(Record { key: 7, payload }).await
        }
    };
    for n in 0..50 {
        publish(n).await.expect("published before the restart");
    }
    // Records sent while the broker is down wait in the producer.
    let stopped = tokio::task::spawn_blocking(|| engines::run("stop", "kafka"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during: Vec<_> = (50..100).map(|n| tokio::spawn(publish(n))).collect();
    stopped.await.unwrap();
    tokio::task::spawn_blocking(|| engines::run("start", "kafka"))
        .await
        .unwrap();
    for (i, sent) in during.into_iter().enumerate() {
        let result = tokio::time::timeout(Duration::from_secs(120), sent).await;
        result
            .expect("bounded")
            .unwrap()
            .unwrap_or_else(|e| panic!("record {}: {e}", 50 + i));
    }
    for n in 100..150 {
        publish(n).await.expect("published after the restart");
    }

    let mut consumer = bus.consumer(&c.name("check")).await.unwrap();
    let got = by_partition(&take(&mut consumer, 150).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let extra = consumer.try_poll(1000).await.unwrap();
    assert!(extra.is_empty(), "no duplicates: {} more", extra.len());
    let numbers: Vec<u32> = got[&0]
        .iter()
        .map(|(_, payload, _)| u32::from_be_bytes(payload[..4].try_into().unwrap()))
        .collect();
    let before_and_after: Vec<u32> = numbers
        .iter()
        .copied()
        .filter(|n| !(50..100).contains(n))
        .collect();
    assert_eq!(
        before_and_after,
        (0..50).chain(100..150).collect::<Vec<_>>()
    );
    let mut during: Vec<u32> = numbers
        .into_iter()
        .filter(|n| (50..100).contains(n))
        .collect();
    during.sort();
    assert_eq!(during, (50..100).collect::<Vec<_>>(), "each once");
}
