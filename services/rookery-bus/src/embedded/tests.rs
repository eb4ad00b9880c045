//! Embedded bus tests: ordering, durability, trimming, locking.

use super::*;
use crate::{Batch, Checkpoint};
use std::collections::HashMap;
use std::time::Duration;

fn open(dir: &std::path::Path) -> EmbeddedBus {
    EmbeddedBus::open(&EmbeddedBusConfig {
        partitions: 4,
        ..EmbeddedBusConfig::new(dir)
    })
    .unwrap()
}

fn rec(key: u64, n: u32) -> Record {
    Record {
        key,
        payload: n.to_be_bytes().to_vec(),
    }
}

pub(super) async fn drain(c: &mut Box<dyn Consumer>) -> Vec<Batch> {
    let mut all = Vec::new();
    loop {
        let got = c.try_poll(1000).await.unwrap();
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

fn by_key(batches: &[Batch]) -> HashMap<u64, Vec<u32>> {
    let mut out: HashMap<u64, Vec<u32>> = HashMap::new();
    for r in batches.iter().flat_map(|b| &b.records) {
        out.entry(r.key)
            .or_default()
            .push(u32::from_be_bytes(r.payload[..4].try_into().unwrap()));
    }
    out
}

/// Whether the log still holds the record at `pos`.
fn retained(bus: &EmbeddedBus, pos: Position) -> bool {
    let journal = &bus.shared.journal;
    journal
        .first(pos.partition)
        .is_some_and(|f| f <= pos.offset)
        && journal.end(pos.partition).is_some_and(|e| pos.offset < e)
}

#[tokio::test]
async fn concurrent_publishes_are_all_acked_once_and_keep_per_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open(dir.path());
    let tasks: Vec<_> = (0..8u64)
        .map(|key| {
            let bus = bus.clone();
            tokio::spawn(async move {
                let mut positions = Vec::new();
                for n in 0..200 {
                    positions.push(bus.publish(rec(key, n)).await.unwrap());
                }
                positions
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for t in tasks {
        for pos in t.await.unwrap() {
            assert!(seen.insert(pos), "position {pos:?} acked twice");
        }
    }
    let mut consumer = bus.consumer("writer").await.unwrap();
    let keyed = by_key(&drain(&mut consumer).await);
    for key in 0..8 {
        assert_eq!(
            keyed[&key],
            (0..200).collect::<Vec<_>>(),
            "key {key} in publish order"
        );
    }
}

#[tokio::test]
async fn uncommitted_records_are_redelivered_after_reopen_and_committed_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    {
        let bus = open(dir.path());
        for n in 0..10 {
            bus.publish(rec(7, n)).await.unwrap();
        }
        let mut c = bus.consumer("writer").await.unwrap();
        let batches = drain(&mut c).await;
        assert_eq!(batches.len(), 1);
        let first_six = Checkpoint {
            partition: batches[0].partition,
            offset: batches[0].records[5].offset + 1,
            clock: 1_234_567,
        };
        c.commit(&[first_six]).await.unwrap();
    }
    let bus = open(dir.path());
    let mut c = bus.consumer("writer").await.unwrap();
    let partition = bus.partitions();
    let found = c.committed(partition_for(7, partition)).await.unwrap();
    assert_eq!(found.map(|c| (c.offset, c.clock)), Some((6, 1_234_567)));
    assert_eq!(by_key(&drain(&mut c).await)[&7], vec![6, 7, 8, 9]);
    // Offsets keep growing after trimming and reopening.
    let next = bus.publish(rec(7, 10)).await.unwrap();
    assert_eq!(next.offset, 10);
}

#[tokio::test]
async fn poll_waits_for_new_records() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open(dir.path());
    let mut c = bus.consumer("writer").await.unwrap();
    let waiting = tokio::spawn(async move { c.poll(10).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    bus.publish(rec(1, 1)).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got[0].records.len(), 1);
}

#[tokio::test]
async fn a_group_has_one_consumer_and_a_directory_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open(dir.path());
    let first = bus.consumer("writer").await.unwrap();
    assert!(matches!(
        bus.consumer("writer").await,
        Err(BusError::Config(_))
    ));
    drop(first);
    assert!(bus.consumer("writer").await.is_ok());
    let again = EmbeddedBus::open(&EmbeddedBusConfig::new(dir.path()));
    assert!(matches!(again, Err(BusError::Locked(_))));
}

#[tokio::test]
async fn trimming_waits_for_every_group() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open(dir.path());
    let mut a = bus.consumer("a").await.unwrap();
    let mut b = bus.consumer("b").await.unwrap();
    let pos = bus.publish(rec(3, 0)).await.unwrap();
    let next = Checkpoint {
        partition: pos.partition,
        offset: pos.offset + 1,
        clock: 0,
    };
    drain(&mut a).await;
    a.commit(&[next]).await.unwrap();
    assert!(retained(&bus, pos), "b has not consumed it");
    assert_eq!(drain(&mut b).await.len(), 1);
}

/// A data dir written before checkpoints carried a clock (8-byte values)
/// resumes at its commit, with no clock to continue.
#[tokio::test]
async fn a_commit_without_a_clock_still_resumes_there() {
    let dir = tempfile::tempdir().unwrap();
    let partition = {
        let bus = open(dir.path());
        for n in 0..4 {
            bus.publish(rec(9, n)).await.unwrap();
        }
        let p = partition_for(9, bus.partitions());
        let key = offset_key(p, "writer");
        bus.shared.offsets.insert(key, 2u64.to_be_bytes()).unwrap();
        p
    };
    let bus = open(dir.path());
    let mut c = bus.consumer("writer").await.unwrap();
    assert_eq!(c.committed(partition).await.unwrap(), None);
    assert_eq!(by_key(&drain(&mut c).await)[&9], vec![2, 3]);
}

/// What trimming waits for is read from disk at open: a group that
/// committed before a restart and has no consumer since still holds its
/// records, and they go once it has consumed them too.
#[tokio::test]
async fn after_a_restart_trimming_still_waits_for_a_group_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let pos = {
        let bus = open(dir.path());
        let _a = bus.consumer("a").await.unwrap();
        let _b = bus.consumer("b").await.unwrap();
        bus.publish(rec(3, 0)).await.unwrap()
    };
    let next = Checkpoint {
        partition: pos.partition,
        offset: pos.offset + 1,
        clock: 0,
    };
    let bus = open(dir.path());
    let mut a = bus.consumer("a").await.unwrap();
    assert_eq!(drain(&mut a).await.len(), 1);
    a.commit(&[next]).await.unwrap();
    assert!(retained(&bus, pos), "b, not running, has not consumed it");

    let mut b = bus.consumer("b").await.unwrap();
    assert_eq!(drain(&mut b).await.len(), 1);
    b.commit(&[next]).await.unwrap();
    assert!(!retained(&bus, pos), "every group has consumed it");
}

/// A consumer more than the in-memory tail behind reads the older records
/// from the log and the rest from the tail: all of them, once, in order,
/// with their keys and payloads.
#[tokio::test]
async fn a_consumer_behind_the_tail_reads_the_log_then_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open(dir.path());
    let mut consumer = bus.consumer("g").await.unwrap();
    let n = tail::TAIL_RECORDS as u32 + 300;
    for i in 0..n {
        bus.publish(rec(7, i)).await.unwrap();
    }
    let mut seen = Vec::new();
    loop {
        let got = consumer.try_poll(97).await.unwrap();
        if got.is_empty() {
            break;
        }
        seen.extend(got);
    }
    let offsets: Vec<u64> = seen
        .iter()
        .flat_map(|b| &b.records)
        .map(|r| r.offset)
        .collect();
    assert_eq!(offsets, (0..u64::from(n)).collect::<Vec<_>>());
    assert_eq!(by_key(&seen)[&7], (0..n).collect::<Vec<_>>());
    assert_eq!(by_key(&seen).len(), 1);
}

/// Under load (the last group held more than one record) a group waits
/// for what comes during the linger; after a lone record it does not wait.
#[test]
fn a_group_lingers_only_after_a_group_of_several() {
    let linger = Duration::from_millis(500);
    for (last_group, want) in [(2, vec![1, 2]), (1, vec![1]), (0, vec![1])] {
        let (tx, mut rx) = mpsc::channel(8);
        tx.try_send(1).unwrap();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let _ = tx.blocking_send(2);
        });
        let started = std::time::Instant::now();
        let mut group = Vec::new();
        gather(&mut rx, &mut group, (8, linger), last_group);
        assert_eq!(group, want, "after a group of {last_group}");
        if last_group <= 1 {
            assert!(started.elapsed() < linger, "a quiet bus held a record");
        }
        late.join().unwrap();
    }
}

/// A full group is committed at once, without lingering.
#[test]
fn a_full_group_does_not_linger() {
    let (tx, mut rx) = mpsc::channel(8);
    for n in 0..4 {
        tx.try_send(n).unwrap();
    }
    let started = std::time::Instant::now();
    let mut group = Vec::new();
    gather(&mut rx, &mut group, (3, Duration::from_secs(5)), 3);
    assert_eq!(group, [0, 1, 2]);
    assert!(started.elapsed() < Duration::from_secs(5));
}
