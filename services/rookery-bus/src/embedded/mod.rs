//! The embedded bus: a partitioned log in segment files, durable before it
//! acks.
//!
//! Publishes go to one committer thread that takes every record waiting,
//! appends them to the log in one write and fsyncs it once (group commit),
//! then acknowledges them all. Under load it first lingers briefly, so each
//! fsync carries more records (see [`DEFAULT_COMMIT_LINGER`]). Consumers
//! read committed-to-disk records by offset and are woken when the high
//! watermark moves. Groups' committed offsets are kept in fjall; a segment
//! every group has consumed is recycled (`journal.rs`).
//!
//! Every group's committed offsets are also kept in memory, read from disk
//! at open: trimming needs the slowest group's, and reading them from the
//! offsets keyspace on each commit walked every version the memtable kept
//! of those keys (each commit adds one), so a commit's cost grew with the
//! time since the last flush (server CPU 59 % → 86 % over 150 s of steady
//! load).

mod appender;
mod consumer;
mod journal;
mod legacy;
mod segments;
mod tail;

use crate::ephemeral::EphemeralQueue;
use crate::metrics as m;
use crate::{Bus, BusError, Consumed, Consumer, Position, Record, partition_for};
use appender::Appender;
pub use appender::DEFAULT_SEGMENT_BYTES;
use async_trait::async_trait;
use consumer::EmbeddedConsumer;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use journal::Journal;
use segments::Entry;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tail::Tail;
use tokio::sync::{Notify, mpsc, oneshot};

/// How long a group commit under load waits for more records by default:
/// at 10,000 msgs/s over 100 channels it cut fsyncs from ~1,840/s to
/// ~510/s and server CPU by 16 %, for ~1 ms more ack latency at the median
/// (loadtest/README.md, "The write path, first pass").
pub const DEFAULT_COMMIT_LINGER: Duration = Duration::from_millis(1);

/// Embedded bus settings.
#[derive(Debug, Clone)]
pub struct EmbeddedBusConfig {
    /// Directory of the log (created if missing).
    pub path: PathBuf,
    /// Partition count. Keep it fixed for a directory: keys would move.
    pub partitions: u32,
    /// Most records per group commit.
    pub max_batch: usize,
    /// How long a group commit waits for more records once the previous
    /// group showed load (more than one record); zero commits at once.
    pub commit_linger: Duration,
    /// Size of a log segment file.
    pub segment_bytes: u64,
}

impl EmbeddedBusConfig {
    /// Defaults for a log under `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            partitions: 16,
            max_batch: 8192,
            commit_linger: DEFAULT_COMMIT_LINGER,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
        }
    }
}

struct Shared {
    db: Database,
    /// The log's segment files and where each retained record lies.
    journal: Journal,
    offsets: Keyspace,
    partitions: u32,
    /// Next offset per partition that is durable (the high watermark).
    high: Vec<AtomicU64>,
    notify: Notify,
    groups: Mutex<HashSet<String>>,
    /// Per partition, every group's committed offset as on disk. Held
    /// across a commit (what it trims is below every other group's offset)
    /// and across a new group's registration, so no trim passes a group
    /// while it starts. Taken before `tail`'s and `journal`'s locks, never
    /// after.
    committed: Mutex<Vec<HashMap<String, u64>>>,
    /// Records just committed, which consumers read instead of the log.
    tail: Tail,
}

struct Pending {
    record: Record,
    reply: oneshot::Sender<Result<Position, BusError>>,
}

/// The embedded bus. Cheap to clone; the committer thread stops when the last
/// clone is dropped.
#[derive(Clone)]
pub struct EmbeddedBus {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Pending>,
    ephemeral: Arc<EphemeralQueue>,
}

fn backend(e: impl std::fmt::Display) -> BusError {
    BusError::Backend(e.to_string())
}

fn offset_key(partition: u32, group: &str) -> Vec<u8> {
    let mut k = partition.to_be_bytes().to_vec();
    k.extend_from_slice(group.as_bytes());
    k
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(
        bytes.get(bytes.len().checked_sub(8)?..)?.try_into().ok()?,
    ))
}

/// A group's committed value: the next offset, then the writer's clock
/// (absent in values written before clocks were committed).
fn committed_value(offset: u64, clock: u64) -> [u8; 16] {
    let mut value = [0; 16];
    value[..8].copy_from_slice(&offset.to_be_bytes());
    value[8..].copy_from_slice(&clock.to_be_bytes());
    value
}

/// The offset of a committed value.
fn committed_offset(value: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(value.get(..8)?.try_into().ok()?))
}

/// The clock of a committed value, if it has one.
fn committed_clock(value: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(value.get(8..16)?.try_into().ok()?))
}

impl EmbeddedBus {
    /// Opens (or creates) the log and starts its committer thread.
    pub fn open(config: &EmbeddedBusConfig) -> Result<Self, BusError> {
        std::fs::create_dir_all(&config.path).map_err(|e| {
            BusError::Config(format!("cannot create {}: {e}", config.path.display()))
        })?;
        let db = Database::builder(&config.path)
            .open()
            .map_err(|e| match e {
                fjall::Error::Locked => BusError::Locked(config.path.display().to_string()),
                other => backend(other),
            })?;
        let offsets = db
            .keyspace("offsets", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let partitions = config.partitions.max(1);
        let (journal, appender) = open_log(config, &db, partitions)?;
        let high = (0..partitions)
            .map(|p| recover_high(&journal, &offsets, p).map(AtomicU64::new))
            .collect::<Result<_, _>>()?;
        let committed = Mutex::new(load_committed(&offsets, partitions)?);
        let shared = Arc::new(Shared {
            db,
            journal,
            offsets,
            partitions,
            high,
            notify: Notify::new(),
            groups: Mutex::new(HashSet::new()),
            committed,
            tail: Tail::new(partitions),
        });
        shared.trim_consumed();
        let (tx, rx) = mpsc::channel(config.max_batch * 2);
        let (committer, max_batch) = (shared.clone(), config.max_batch.max(1));
        let linger = config.commit_linger;
        std::thread::Builder::new()
            .name("bus-committer".into())
            .spawn(move || committer.run_committer(rx, appender, (max_batch, linger)))
            .map_err(backend)?;
        let ephemeral = Arc::new(EphemeralQueue::new(config.max_batch, partitions));
        Ok(Self {
            shared,
            tx,
            ephemeral,
        })
    }
}

/// The log's segments under the bus directory, with a log fjall still
/// holds (from before the segments) moved in.
fn open_log(
    config: &EmbeddedBusConfig,
    db: &Database,
    partitions: u32,
) -> Result<(Journal, Appender), BusError> {
    if !(1 << 20..=1 << 30).contains(&config.segment_bytes) {
        return Err(BusError::Config(
            "segment size must be 1 to 1024 MiB".to_owned(),
        ));
    }
    let dir = config.path.join("segments");
    let (journal, mut appender) = Appender::open(&dir, config.segment_bytes, partitions)
        .map_err(|e| BusError::Backend(format!("cannot open the log in {}: {e}", dir.display())))?;
    legacy::import(db, &journal, &mut appender)?;
    Ok((journal, appender))
}

/// The high watermark survives trimming: it is the larger of the last record
/// kept and the furthest any group committed.
fn recover_high(journal: &Journal, offsets: &Keyspace, p: u32) -> Result<u64, BusError> {
    let last = journal.end(p).unwrap_or(0);
    let mut committed = 0;
    for g in offsets.prefix(p.to_be_bytes()) {
        committed = committed.max(committed_offset(&g.value().map_err(backend)?).unwrap_or(0));
    }
    Ok(last.max(committed))
}

/// Every group's committed offset per partition, from the offsets keyspace.
fn load_committed(
    offsets: &Keyspace,
    partitions: u32,
) -> Result<Vec<HashMap<String, u64>>, BusError> {
    let mut committed = vec![HashMap::new(); partitions as usize];
    for row in offsets.iter() {
        let (k, v) = row.into_inner().map_err(backend)?;
        let partition = k.get(..4).and_then(|p| p.try_into().ok());
        let Some(partition) = partition.map(u32::from_be_bytes) else {
            continue;
        };
        let group = String::from_utf8_lossy(&k[4..]).into_owned();
        if let (Some(groups), Some(offset)) =
            (committed.get_mut(partition as usize), committed_offset(&v))
        {
            groups.insert(group, offset);
        }
    }
    Ok(committed)
}

impl Shared {
    fn committed(&self) -> std::sync::MutexGuard<'_, Vec<HashMap<String, u64>>> {
        self.committed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Per partition, the lowest offset any group committed (`None`: no
    /// group yet, so nothing may go).
    fn consumed_below(&self) -> Vec<Option<u64>> {
        self.committed()
            .iter()
            .map(|groups| groups.values().copied().min())
            .collect()
    }

    /// Forgets the records, read at open, that every group has consumed.
    fn trim_consumed(&self) {
        for (p, below) in self.consumed_below().into_iter().enumerate() {
            if let Some(below) = below {
                self.journal.trim(p as u32, below);
            }
        }
    }

    fn run_committer(
        &self,
        mut rx: mpsc::Receiver<Pending>,
        mut appender: Appender,
        (max_batch, linger): (usize, Duration),
    ) {
        let mut pending = Vec::with_capacity(max_batch);
        let mut last_group = 0;
        while let Some(first) = rx.blocking_recv() {
            pending.push(first);
            gather(&mut rx, &mut pending, (max_batch, linger), last_group);
            last_group = pending.len();
            self.commit_group(&mut appender, &mut pending);
            if appender.has_sealed() {
                let persist = || self.db.persist(PersistMode::SyncAll).map_err(backend);
                appender.recycle(&self.journal, &self.consumed_below(), persist);
            }
        }
    }

    /// Where each pending record goes, and each partition's next offset
    /// after them.
    fn positions(&self, pending: &[Pending]) -> (Vec<Position>, Vec<u64>) {
        let mut next: Vec<u64> = self
            .high
            .iter()
            .map(|h| h.load(Ordering::Acquire))
            .collect();
        let positions = pending
            .iter()
            .map(|p| {
                let partition = partition_for(p.record.key, self.partitions);
                let offset = next[partition as usize];
                next[partition as usize] += 1;
                Position { partition, offset }
            })
            .collect();
        (positions, next)
    }

    fn commit_group(&self, appender: &mut Appender, pending: &mut Vec<Pending>) {
        let started = Instant::now();
        let (positions, next) = self.positions(pending);
        let entries: Vec<Entry<'_>> = pending
            .iter()
            .zip(&positions)
            .map(|(p, position)| Entry {
                partition: position.partition,
                offset: position.offset,
                key: p.record.key,
                payload: &p.record.payload,
            })
            .collect();
        let result = appender.append(&self.journal, &entries);
        drop(entries);
        metrics::histogram!(m::COMMIT_DURATION).record(started.elapsed());
        metrics::histogram!(m::COMMIT_BATCH).record(pending.len() as f64);
        match result {
            Ok(locs) => {
                self.journal.extend(
                    positions
                        .iter()
                        .zip(locs)
                        .map(|(at, loc)| (at.partition, at.offset, loc)),
                );
                self.publish_committed(pending, positions, &next);
            }
            Err(e) => {
                tracing::error!(error = %e, records = pending.len(), "group commit failed");
                for p in pending.drain(..) {
                    let _ = p.reply.send(Err(BusError::Backend(e.clone())));
                }
            }
        }
    }

    /// Hands a durable group to the consumers and acknowledges it.
    fn publish_committed(
        &self,
        pending: &mut Vec<Pending>,
        positions: Vec<Position>,
        next: &[u64],
    ) {
        // The tail first: a consumer that sees the new watermark finds the
        // records there (or in the log).
        let mut replies = Vec::with_capacity(pending.len());
        self.tail
            .extend(pending.drain(..).zip(positions).map(|(p, position)| {
                replies.push((p.reply, position));
                let record = Consumed {
                    offset: position.offset,
                    key: p.record.key,
                    payload: p.record.payload,
                };
                (position.partition, record)
            }));
        for (h, n) in self.high.iter().zip(next) {
            h.store(*n, Ordering::Release);
        }
        self.notify.notify_waiters();
        for (reply, position) in replies {
            let _ = reply.send(Ok(position));
        }
    }
}

/// Takes the records already waiting into the group, up to `max`. Under
/// load (the last group held more than one record) it then lingers and
/// takes what came meanwhile, so each fsync, whose cost hardly depends on
/// how many records it covers, carries more of them; a lone record on a
/// quiet bus is not held.
fn gather<T>(
    rx: &mut mpsc::Receiver<T>,
    group: &mut Vec<T>,
    (max, linger): (usize, Duration),
    last_group: usize,
) {
    let take = |rx: &mut mpsc::Receiver<T>, group: &mut Vec<T>| {
        while group.len() < max {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
    };
    take(rx, group);
    if last_group > 1 && !linger.is_zero() && group.len() < max {
        std::thread::sleep(linger);
        take(rx, group);
    }
}

#[async_trait]
impl Bus for EmbeddedBus {
    fn partitions(&self) -> u32 {
        self.shared.partitions
    }

    async fn publish(&self, record: Record) -> Result<Position, BusError> {
        let started = Instant::now();
        let (reply, rx) = oneshot::channel();
        let result = match self.tx.send(Pending { record, reply }).await {
            Ok(()) => rx.await.unwrap_or(Err(BusError::Closed)),
            Err(_) => Err(BusError::Closed),
        };
        match &result {
            Ok(_) => {
                metrics::histogram!(m::PUBLISH_DURATION, "bus" => "embedded")
                    .record(started.elapsed());
                metrics::counter!(m::PUBLISHED, "bus" => "embedded").increment(1);
            }
            Err(_) => metrics::counter!(m::PUBLISH_ERRORS, "bus" => "embedded").increment(1),
        }
        result
    }

    async fn consumer(&self, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        let s = &self.shared;
        if group.is_empty()
            || !s
                .groups
                .lock()
                .expect("groups lock")
                .insert(group.to_owned())
        {
            return Err(BusError::Config(format!(
                "group {group:?} is empty or already has a consumer"
            )));
        }
        // A new group records where it starts, so trimming waits for it even
        // before its first commit.
        let mut all = s.committed();
        let mut positions = Vec::with_capacity(s.partitions as usize);
        let mut batch = s.db.batch();
        for p in 0..s.partitions {
            let key = offset_key(p, group);
            match s
                .offsets
                .get(&key)
                .map_err(backend)?
                .and_then(|v| committed_offset(&v))
            {
                Some(committed) => positions.push(committed),
                None => {
                    let start = s
                        .journal
                        .first(p)
                        .unwrap_or(s.high[p as usize].load(Ordering::Acquire));
                    batch.insert(&s.offsets, key, start.to_be_bytes());
                    positions.push(start);
                }
            }
        }
        batch.commit().map_err(backend)?;
        for (groups, &offset) in all.iter_mut().zip(&positions) {
            groups.insert(group.to_owned(), offset);
        }
        drop(all);
        Ok(Box::new(EmbeddedConsumer::new(s.clone(), group, positions)))
    }

    async fn publish_ephemeral(&self, record: Record) -> Result<(), BusError> {
        self.ephemeral.publish(record);
        Ok(())
    }

    async fn ephemeral_consumer(&self) -> Result<Box<dyn Consumer>, BusError> {
        self.ephemeral.consumer()
    }
}

#[cfg(test)]
mod segment_tests;
#[cfg(test)]
mod tests;
