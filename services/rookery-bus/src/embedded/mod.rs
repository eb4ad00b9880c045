//! The embedded bus: a partitioned log in fjall, durable before it acks.
//!
//! Publishes go to one committer thread that takes every record waiting,
//! writes them in one atomic batch and fsyncs the journal once (group commit),
//! then acknowledges them all. Under load it first lingers briefly, so each
//! fsync carries more records (see [`DEFAULT_COMMIT_LINGER`]). Consumers
//! read committed-to-disk records by offset and are woken when the high
//! watermark moves. A consumer group's commit and the trimming
//! of records every group has consumed are one atomic batch.
//!
//! Every group's committed offsets are also kept in memory, read from disk
//! at open: trimming needs the slowest group's, and reading them from the
//! offsets keyspace on each commit walked every version the memtable kept
//! of those keys (each commit adds one), so a commit's cost grew with the
//! time since the last flush (server CPU 59 % → 86 % over 150 s of steady
//! load).

mod consumer;
mod tail;

use crate::ephemeral::EphemeralQueue;
use crate::metrics as m;
use crate::{Bus, BusError, Consumed, Consumer, Position, Record, partition_for};
use async_trait::async_trait;
use consumer::EmbeddedConsumer;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
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
}

impl EmbeddedBusConfig {
    /// Defaults for a log under `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            partitions: 16,
            max_batch: 8192,
            commit_linger: DEFAULT_COMMIT_LINGER,
        }
    }
}

struct Shared {
    db: Database,
    log: Keyspace,
    offsets: Keyspace,
    partitions: u32,
    /// Next offset per partition that is durable (the high watermark).
    high: Vec<AtomicU64>,
    notify: Notify,
    groups: Mutex<HashSet<String>>,
    /// Per partition, every group's committed offset as on disk. Held
    /// across a commit (what it trims is below every other group's offset)
    /// and across a new group's registration, so no trim passes a group
    /// while it starts. Taken before `tail`'s lock, never after.
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

fn log_key(partition: u32, offset: u64) -> [u8; 12] {
    let mut k = [0; 12];
    k[..4].copy_from_slice(&partition.to_be_bytes());
    k[4..].copy_from_slice(&offset.to_be_bytes());
    k
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
        let log = db
            .keyspace("log", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let offsets = db
            .keyspace("offsets", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let high = (0..config.partitions)
            .map(|p| recover_high(&log, &offsets, p).map(AtomicU64::new))
            .collect::<Result<_, _>>()?;
        let committed = Mutex::new(load_committed(&offsets, config.partitions.max(1))?);
        let shared = Arc::new(Shared {
            db,
            log,
            offsets,
            partitions: config.partitions.max(1),
            high,
            notify: Notify::new(),
            groups: Mutex::new(HashSet::new()),
            committed,
            tail: Tail::new(config.partitions.max(1)),
        });
        let (tx, rx) = mpsc::channel(config.max_batch * 2);
        let (committer, max_batch) = (shared.clone(), config.max_batch.max(1));
        let linger = config.commit_linger;
        std::thread::Builder::new()
            .name("bus-committer".into())
            .spawn(move || committer.run_committer(rx, max_batch, linger))
            .map_err(backend)?;
        let ephemeral = Arc::new(EphemeralQueue::new(
            config.max_batch,
            config.partitions.max(1),
        ));
        Ok(Self {
            shared,
            tx,
            ephemeral,
        })
    }
}

/// The high watermark survives trimming: it is the larger of the last record
/// kept and the furthest any group committed.
fn recover_high(log: &Keyspace, offsets: &Keyspace, p: u32) -> Result<u64, BusError> {
    let last = match log.prefix(p.to_be_bytes()).next_back() {
        Some(g) => be_u64(&g.key().map_err(backend)?).map_or(0, |o| o + 1),
        None => 0,
    };
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

    fn run_committer(&self, mut rx: mpsc::Receiver<Pending>, max_batch: usize, linger: Duration) {
        let mut pending = Vec::with_capacity(max_batch);
        let mut last_group = 0;
        while let Some(first) = rx.blocking_recv() {
            pending.push(first);
            gather(&mut rx, &mut pending, (max_batch, linger), last_group);
            last_group = pending.len();
            self.commit_group(&mut pending);
        }
    }

    fn commit_group(&self, pending: &mut Vec<Pending>) {
        let started = Instant::now();
        let mut next: Vec<u64> = self
            .high
            .iter()
            .map(|h| h.load(Ordering::Acquire))
            .collect();
        let mut batch = self.db.batch();
        let positions: Vec<Position> = pending
            .iter()
            .map(|p| {
                let partition = partition_for(p.record.key, self.partitions);
                let offset = next[partition as usize];
                next[partition as usize] += 1;
                let mut value = Vec::with_capacity(8 + p.record.payload.len());
                value.extend_from_slice(&p.record.key.to_be_bytes());
                value.extend_from_slice(&p.record.payload);
                batch.insert(&self.log, log_key(partition, offset), value);
                Position { partition, offset }
            })
            .collect();
        let result = batch
            .commit()
            .and_then(|()| self.db.persist(PersistMode::SyncData));
        metrics::histogram!(m::COMMIT_DURATION).record(started.elapsed());
        metrics::histogram!(m::COMMIT_BATCH).record(pending.len() as f64);
        match result {
            Ok(()) => {
                // The tail first: a consumer that sees the new watermark
                // finds the records there (or in the log).
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
                for (h, n) in self.high.iter().zip(&next) {
                    h.store(*n, Ordering::Release);
                }
                self.notify.notify_waiters();
                for (reply, position) in replies {
                    let _ = reply.send(Ok(position));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, records = pending.len(), "group commit failed");
                for p in pending.drain(..) {
                    let _ = p.reply.send(Err(backend(&e)));
                }
            }
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
                        .log
                        .prefix(p.to_be_bytes())
                        .next()
                        .map_or(Ok(None), |g| g.key().map(|k| be_u64(&k)));
                    let start = start
                        .map_err(backend)?
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
mod tests;
