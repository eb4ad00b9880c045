//! The embedded bus's segment files: recycling once every group has
//! consumed them, recovery after a torn write, a log written by fjall moved
//! over, and a failed write refusing every later publish.

use super::tests::drain;
use super::*;
use crate::Checkpoint;
use std::path::Path;

const SEGMENT: u64 = 1 << 20;

fn open_small(dir: &Path) -> EmbeddedBus {
    EmbeddedBus::open(&EmbeddedBusConfig {
        partitions: 2,
        segment_bytes: SEGMENT,
        ..EmbeddedBusConfig::new(dir)
    })
    .unwrap()
}

/// A record of 64 KiB: 16 fill a segment.
fn big(key: u64, n: u32) -> Record {
    let mut payload = n.to_be_bytes().to_vec();
    payload.resize(64 << 10, 0xab);
    Record { key, payload }
}

/// Segment files and spares in the log's directory.
fn files(dir: &Path) -> (usize, usize) {
    let (mut segments, mut spares) = (0, 0);
    for entry in std::fs::read_dir(dir.join("segments")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        match name.starts_with("spare-") {
            true => spares += 1,
            false => segments += 1,
        }
    }
    (segments, spares)
}

/// Waits (up to 5 s) for the log's directory to hold `expected`
/// (segments, spares).
async fn settled(dir: &Path, expected: (usize, usize)) {
    for _ in 0..500 {
        if files(dir) == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(files(dir), expected);
}

/// Every record a fresh poll returns: (offset, first payload word).
async fn read_all(c: &mut Box<dyn Consumer>) -> Vec<(u64, u32)> {
    let mut seen = Vec::new();
    loop {
        let got = c.try_poll(1000).await.unwrap();
        if got.is_empty() {
            return seen;
        }
        for r in got.iter().flat_map(|b| &b.records) {
            let word = u32::from_be_bytes(r.payload[..4].try_into().unwrap());
            seen.push((r.offset, word));
        }
    }
}

async fn commit_to(c: &mut Box<dyn Consumer>, pos: Position) {
    let next = Checkpoint {
        partition: pos.partition,
        offset: pos.offset + 1,
        clock: 0,
    };
    c.commit(&[next]).await.unwrap();
}

#[tokio::test]
async fn segments_are_recycled_only_once_every_group_has_consumed_them() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open_small(dir.path());
    let mut a = bus.consumer("a").await.unwrap();
    let mut b = bus.consumer("b").await.unwrap();
    let mut last = None;
    for n in 0..60 {
        last = Some(bus.publish(big(5, n)).await.unwrap());
    }
    let last = last.unwrap();
    let (written, _) = files(dir.path());
    assert!(
        written >= 4,
        "60 records of 64 KiB fill several 1 MiB segments"
    );

    assert_eq!(read_all(&mut a).await.len(), 60);
    commit_to(&mut a, last).await;
    bus.publish(big(5, 60)).await.unwrap();
    // That record started a segment; none went: b has not consumed them.
    assert_eq!(files(dir.path()), (written + 1, 0));

    assert_eq!(read_all(&mut b).await.len(), 61);
    commit_to(&mut b, last).await;
    bus.publish(big(5, 61)).await.unwrap();
    // The committer recycles after it has acknowledged the group.
    // Only the segment being written is left; two are kept for reuse, the
    // rest deleted.
    settled(dir.path(), (1, 2)).await;

    // Spares are reused: writing as much again creates no new file.
    for n in 62..90 {
        bus.publish(big(5, n)).await.unwrap();
    }
    let (segments, spares) = files(dir.path());
    assert_eq!(segments + spares, 3);
    drop((a, b));
    drop(bus);

    // Reopened: the records every group consumed are gone, the rest read
    // from disk, in order.
    let bus = open_small(dir.path());
    let mut a = bus.consumer("a").await.unwrap();
    let seen = read_all(&mut a).await;
    let offsets: Vec<u64> = seen.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (last.offset + 1..90).collect::<Vec<_>>());
    assert!(seen.iter().all(|(o, n)| u64::from(*n) == *o));
}

#[tokio::test]
async fn a_torn_record_ends_the_log_and_writing_goes_on_in_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let partition = {
        let bus = open_small(dir.path());
        let _group = bus.consumer("g").await.unwrap();
        let mut p = 0;
        for n in 0..5 {
            p = bus.publish(big(8, n)).await.unwrap().partition;
        }
        p
    };
    // Tear the last record: a byte of its payload never reached the disk.
    let segment = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| segments::parse_name(&p.file_name().unwrap().to_string_lossy()) == Some(0))
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let record = segments::HEADER + (64 << 10);
    bytes[4 * record + segments::HEADER + 100] ^= 0xff;
    std::fs::write(&segment, &bytes).unwrap();

    {
        let bus = open_small(dir.path());
        let mut g = bus.consumer("g").await.unwrap();
        let words: Vec<u32> = read_all(&mut g).await.iter().map(|(_, n)| *n).collect();
        assert_eq!(words, vec![0, 1, 2, 3]);
        let again = bus.publish(big(8, 40)).await.unwrap();
        assert_eq!((again.partition, again.offset), (partition, 4));
    }
    // The torn bytes stay where they were; the new record is not after them.
    let bus = open_small(dir.path());
    let mut g = bus.consumer("g").await.unwrap();
    let seen = read_all(&mut g).await;
    assert_eq!(seen, vec![(0, 0), (1, 1), (2, 2), (3, 3), (4, 40)]);
}

#[tokio::test]
async fn a_log_written_by_fjall_is_moved_into_segments() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::builder(dir.path()).open().unwrap();
        let log = db.keyspace("log", KeyspaceCreateOptions::default).unwrap();
        for (partition, offset) in [(0u32, 3u64), (0, 4), (1, 0)] {
            let mut key = partition.to_be_bytes().to_vec();
            key.extend_from_slice(&offset.to_be_bytes());
            let mut value = 77u64.to_be_bytes().to_vec();
            value.extend_from_slice(&(offset as u32 + 10 * partition).to_be_bytes());
            log.insert(key, value).unwrap();
        }
        db.persist(PersistMode::SyncAll).unwrap();
    }
    let bus = open_small(dir.path());
    let mut c = bus.consumer("writer").await.unwrap();
    let mut seen = Vec::new();
    for b in drain(&mut c).await {
        for r in b.records {
            let word = u32::from_be_bytes(r.payload[..4].try_into().unwrap());
            seen.push((b.partition, r.offset, r.key, word));
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![(0, 3, 77, 3), (0, 4, 77, 4), (1, 0, 77, 10)]);
    assert!(!bus.shared.db.keyspace_exists("log"));
    // Offsets go on from the moved records.
    let next = bus
        .publish(Record {
            key: (0..).find(|k| partition_for(*k, 2) == 0).unwrap(),
            payload: vec![1],
        })
        .await
        .unwrap();
    assert_eq!((next.partition, next.offset), (0, 5));
}

#[tokio::test]
async fn after_a_failed_write_every_publish_fails_until_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open_small(dir.path());
    bus.publish(big(1, 0)).await.unwrap();
    // The directory goes away: the next segment cannot be created.
    std::fs::remove_dir_all(dir.path().join("segments")).unwrap();
    let mut first_failure = None;
    for n in 1..40 {
        if let Err(e) = bus.publish(big(1, n)).await {
            first_failure = Some(n);
            assert!(e.to_string().contains("restart"), "{e}");
            break;
        }
    }
    assert!(first_failure.is_some(), "a segment fills within 16 records");
    std::fs::create_dir_all(dir.path().join("segments")).unwrap();
    let later = bus.publish(Record {
        key: 1,
        payload: vec![0],
    });
    assert!(later.await.is_err(), "the log stays refused");
}
