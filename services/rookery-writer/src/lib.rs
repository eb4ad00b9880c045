//! The writer role.
//!
//! A writer consumes the partitions it owns, turns each event into store
//! mutations, applies them, and pushes the applied events to the edges
//! through the [`EdgeLink`]. Every `sync_interval` (and before stopping) it
//! makes the store durable and only then commits the offsets applied so far:
//! at least once end to end, with no fsync on the path of each message.
//! Store writes are idempotent (keys contain the ids), so a redelivered batch
//! changes nothing, and clients drop duplicate ids. Each event is written at
//! the time its partition's write clock gives it ([`clock`]), the same for
//! any writer, so a partition changing owners cannot reorder its writes.

mod apply;
pub mod clock;
pub mod metrics;
mod relay;

pub use apply::{mutations, mutations_uncounted};
pub use relay::EphemeralRelay;

use crate::clock::WriteClocks;
use crate::metrics as m;
use rookery_bus::{Batch, Bus, BusError, Checkpoint, Consumer, EdgeLink, FanoutBatch};
use rookery_proto::event::Envelope;
use rookery_store::{Mutation, Store, StoreError, WriteTime};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Errors that stop a writer.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The store failed and the writer was asked to stop while retrying.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writer settings.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Consumer group.
    pub group: String,
    /// Most records taken per poll (and so per store batch).
    pub max_batch: usize,
    /// How often applied batches are synced and their offsets committed.
    pub sync_interval: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            group: "rookery-writer".into(),
            max_batch: 4096,
            sync_interval: Duration::from_millis(50),
        }
    }
}

/// A running writer's parts.
pub struct Writer {
    store: Arc<dyn Store>,
    link: Arc<dyn EdgeLink>,
    consumer: Box<dyn Consumer>,
    max_batch: usize,
    sync_interval: Duration,
    /// Next offset per partition applied but not yet synced and committed.
    unsynced: HashMap<u32, u64>,
    clocks: WriteClocks,
    last_sync: Instant,
}

impl Writer {
    /// Joins the consumer group.
    pub async fn new(
        bus: &dyn Bus,
        store: Arc<dyn Store>,
        link: Arc<dyn EdgeLink>,
        config: &WriterConfig,
    ) -> Result<Self, WriterError> {
        let consumer = bus.consumer(&config.group).await?;
        Ok(Self {
            store,
            link,
            consumer,
            max_batch: config.max_batch,
            sync_interval: config.sync_interval,
            unsynced: HashMap::new(),
            clocks: WriteClocks::default(),
            last_sync: Instant::now(),
        })
    }

    /// Applies everything already on the bus; returns the records processed.
    /// Run before serving so reads after a restart see every acked write.
    pub async fn catch_up(&mut self) -> Result<u64, WriterError> {
        let mut total = 0;
        loop {
            let batches = self.consumer.try_poll(self.max_batch).await?;
            if batches.is_empty() {
                self.checkpoint().await?;
                return Ok(total);
            }
            total += self.process(batches).await? as u64;
        }
    }

    /// Consumes until `shutdown` resolves. A batch in progress is finished,
    /// and everything applied is synced and committed before returning.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), WriterError> {
        tokio::pin!(shutdown);
        loop {
            let due = tokio::time::Instant::from_std(self.last_sync + self.sync_interval);
            tokio::select! {
                biased;
                () = &mut shutdown => return self.checkpoint().await,
                () = tokio::time::sleep_until(due), if !self.unsynced.is_empty() => self.checkpoint().await?,
                polled = self.consumer.poll(self.max_batch) => {
                    self.process(polled?).await?;
                }
            }
        }
    }

    /// Makes the store durable, then commits the offsets it covers.
    async fn checkpoint(&mut self) -> Result<(), WriterError> {
        self.last_sync = Instant::now();
        if self.unsynced.is_empty() {
            return Ok(());
        }
        self.retry("store sync", || self.store.sync()).await?;
        let checkpoints: Vec<Checkpoint> = self
            .unsynced
            .drain()
            .map(|(partition, offset)| Checkpoint {
                partition,
                offset,
                clock: self.clocks.last(partition) as u64,
            })
            .collect();
        self.consumer.commit(&checkpoints).await?;
        Ok(())
    }

    async fn process(&mut self, batches: Vec<Batch>) -> Result<usize, WriterError> {
        let started = Instant::now();
        let records = batches.iter().map(|b| b.records.len()).sum();
        let mut decoded: Vec<(u32, Vec<Stamped>)> = Vec::new();
        for b in &batches {
            self.start_clock(b).await?;
            decoded.push((b.partition, stamp(b, &mut self.clocks)));
        }
        self.write_store(&decoded).await?;
        let applied_at_ms = rookery_bus::now_ms();
        // One push per partition: edges check each against its owner.
        for (partition, events) in decoded.into_iter().filter(|(_, e)| !e.is_empty()) {
            let events = events.into_iter().map(|(_, e)| e).collect();
            let fanout = FanoutBatch {
                partition: Some(partition),
                events,
                applied_at_ms,
            };
            if let Err(e) = self.link.push(fanout).await {
                // Edges recover missed events from the store (resume/history).
                tracing::warn!(error = %e, "fan-out push failed");
                ::metrics::counter!(m::PUSH_ERRORS).increment(1);
            }
        }
        for next in batches.iter().filter_map(Batch::next_position) {
            self.unsynced.insert(next.partition, next.offset);
        }
        ::metrics::histogram!(m::BATCH_RECORDS).record(records as f64);
        ::metrics::histogram!(m::BATCH_DURATION).record(started.elapsed());
        Ok(records)
    }

    /// Applies the events' mutations, retrying until the store takes them.
    /// A retry builds the batch again rather than every attempt taking a
    /// clone.
    async fn write_store(&self, decoded: &[(u32, Vec<Stamped>)]) -> Result<(), WriterError> {
        let build = |mutations: fn(&Envelope) -> Vec<Mutation>| -> Vec<_> {
            let events = decoded.iter().flat_map(|(_, events)| events.iter());
            let timed = events.flat_map(|(at, e)| mutations(e).into_iter().map(|m| (*at, m)));
            timed.collect()
        };
        let batch = build(mutations);
        if batch.is_empty() {
            return Ok(());
        }
        let first = std::sync::Mutex::new(Some(batch));
        let attempt = || {
            let taken = first.lock().unwrap_or_else(|p| p.into_inner()).take();
            let batch = taken.unwrap_or_else(|| build(mutations_uncounted));
            self.store.apply_at(batch)
        };
        self.retry("store write", attempt).await
    }

    /// Continues the batch's partition clock, or starts it from the
    /// group's checkpoint when the batch begins where that was committed (a
    /// new owner, a restart). Anywhere else (nothing committed yet: the log's
    /// start) it starts from zero, which any other writer starting there
    /// does too.
    async fn start_clock(&mut self, batch: &Batch) -> Result<(), WriterError> {
        let Some(first) = batch.records.first().map(|r| r.offset) else {
            return Ok(());
        };
        if self.clocks.continues(batch.partition, first) {
            return Ok(());
        }
        let mut delay = Duration::from_millis(50);
        let committed = loop {
            match self.consumer.committed(batch.partition).await {
                Ok(found) => break found,
                Err(e) => {
                    tracing::warn!(error = %e, partition = batch.partition, retry_in_ms = delay.as_millis() as u64, "cannot read the committed checkpoint");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        };
        let last = match committed {
            Some(c) if c.offset == first => c.clock as i64,
            _ => 0,
        };
        tracing::debug!(
            partition = batch.partition,
            offset = first,
            clock = last,
            "write clock started"
        );
        self.clocks.start(batch.partition, first, last);
        Ok(())
    }

    /// Store failures are retried with backoff, never skipped: offsets are
    /// not committed past an event that is not stored.
    async fn retry<F, Fut>(&self, what: &'static str, op: F) -> Result<(), WriterError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(), StoreError>>,
    {
        let mut delay = Duration::from_millis(50);
        loop {
            match op().await {
                Ok(()) => return Ok(()),
                Err(e @ (StoreError::Config(_) | StoreError::Locked(_))) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, what, retry_in_ms = delay.as_millis() as u64, "store operation failed");
                    ::metrics::counter!(m::STORE_RETRIES).increment(1);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// An event and its write time.
type Stamped = (WriteTime, Arc<Envelope>);

/// Each decodable record with its write time (undecodable ones still tick
/// the clock, so every writer's chain stays the same).
pub(crate) fn stamp(batch: &Batch, clocks: &mut WriteClocks) -> Vec<Stamped> {
    let mut out = Vec::with_capacity(batch.records.len());
    for r in &batch.records {
        let decoded = decode_record(batch.partition, r);
        let event_ms = decoded.as_ref().map(|env| env.id.unix_ms());
        let at = clocks.tick(batch.partition, r.offset, event_ms);
        out.extend(decoded.map(|env| (at, env)));
    }
    out
}

/// The batch's decodable records.
pub(crate) fn decode(batch: &Batch) -> Vec<Arc<Envelope>> {
    let records = batch.records.iter();
    records
        .filter_map(|r| decode_record(batch.partition, r))
        .collect()
}

/// Undecodable records are logged, counted and skipped: one poisoned record
/// must not stall its partition forever.
fn decode_record(partition: u32, record: &rookery_bus::Consumed) -> Option<Arc<Envelope>> {
    match Envelope::from_bytes(&record.payload) {
        Ok(env) => Some(Arc::new(env)),
        Err(e) => {
            tracing::error!(partition, offset = record.offset, error = %e, "skipping undecodable event");
            ::metrics::counter!(m::UNDECODABLE).increment(1);
            None
        }
    }
}

#[cfg(test)]
mod tests;
