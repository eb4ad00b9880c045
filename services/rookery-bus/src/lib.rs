//! Rookery's transport seams.
//!
//! - [`Bus`]: publish keyed records durably; consume owned partitions in order;
//!   commit progress. Records with the same key land in the same partition and
//!   are consumed in publish order. Delivery is at least once: a consumer that
//!   restarts resumes from its last commit.
//! - [`EdgeLink`]: the writer's push of applied events to the edges.
//! - [`interest`]: which edges want which channels, in a cluster.
//!
//! [`EmbeddedBus`] is the single-node implementation: a durable, partitioned
//! log in fjall with group commit. The Kafka bus implements the same traits.

mod embedded;
mod ephemeral;
pub mod interest;
pub mod metrics;
mod partitioner;

pub use embedded::{DEFAULT_COMMIT_LINGER, DEFAULT_SEGMENT_BYTES, EmbeddedBus, EmbeddedBusConfig};
pub use interest::{EdgeId, Interest, InterestAcks, InterestTable, LocalInterest};
pub use partitioner::partition_for;

use async_trait::async_trait;
use rookery_proto::event::Envelope;
use std::sync::Arc;

/// Errors at the bus boundary.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus has shut down.
    #[error("bus is closed")]
    Closed,
    /// The bus directory is held by another process.
    #[error("bus at {0} is locked by another process")]
    Locked(String),
    /// Invalid use or configuration.
    #[error("bus configuration: {0}")]
    Config(String),
    /// An I/O or broker failure; the operation may be retried.
    #[error("bus backend: {0}")]
    Backend(String),
}

/// A record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Partitioning key (a channel, guild or user id).
    pub key: u64,
    /// Encoded event.
    pub payload: Vec<u8>,
}

/// Where a record sits, or (in a commit) the next offset to consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Partition number.
    pub partition: u32,
    /// Offset inside the partition.
    pub offset: u64,
}

/// A consumer group's progress on one partition: the next offset to
/// consume, and the writer's clock at that point (the write time of the
/// record before it, see `rookery-writer`'s `WriteClocks`). Committed
/// together, so whichever writer owns the partition next continues the
/// same clock from the same offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Partition number.
    pub partition: u32,
    /// The next offset to consume.
    pub offset: u64,
    /// Opaque to the bus: stored and returned as given.
    pub clock: u64,
}

/// A consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// Offset inside its partition.
    pub offset: u64,
    /// Partitioning key.
    pub key: u64,
    /// Encoded event.
    pub payload: Vec<u8>,
}

/// Consecutive records of one partition, in offset order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Partition number.
    pub partition: u32,
    /// Records, in offset order.
    pub records: Vec<Consumed>,
}

impl Batch {
    /// The commit position after processing this batch.
    pub fn next_position(&self) -> Option<Position> {
        self.records.last().map(|r| Position {
            partition: self.partition,
            offset: r.offset + 1,
        })
    }
}

/// A partitioned, durable log.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Number of partitions.
    fn partitions(&self) -> u32;

    /// Appends a record; returns once it is durable (the broker acknowledged
    /// it), with its position.
    async fn publish(&self, record: Record) -> Result<Position, BusError>;

    /// A consumer in `group` for the partitions this process owns.
    async fn consumer(&self, group: &str) -> Result<Box<dyn Consumer>, BusError>;

    /// Publishes an ephemeral record (typing, presence): delivered at most
    /// once, never stored. Returns once the bus has it; a record the bus
    /// cannot take is dropped and counted, not retried.
    async fn publish_ephemeral(&self, record: Record) -> Result<(), BusError>;

    /// The ephemeral records of the partitions this process's
    /// [`Bus::consumer`] owns, from now on; commits are ignored. One per
    /// process, taken by the writer's relay.
    async fn ephemeral_consumer(&self) -> Result<Box<dyn Consumer>, BusError>;
}

/// A consumer of owned partitions.
#[async_trait]
pub trait Consumer: Send + Sync {
    /// Waits until records are available and returns up to `max` of them,
    /// grouped by partition. Cancel-safe: nothing is consumed by a poll that
    /// is dropped before it returns.
    async fn poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError>;

    /// Like [`Consumer::poll`] but returns at once, possibly empty.
    async fn try_poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError>;

    /// Records progress: each checkpoint's offset is the next one to consume
    /// in its partition. Call only after the records below it are fully
    /// processed.
    async fn commit(&mut self, checkpoints: &[Checkpoint]) -> Result<(), BusError>;

    /// The group's last committed checkpoint of `partition`, if any (the
    /// place a new owner of the partition starts from). Consumers that do
    /// not commit (ephemeral ones) have none.
    async fn committed(&mut self, _partition: u32) -> Result<Option<Checkpoint>, BusError> {
        Ok(None)
    }
}

/// Errors pushing to an edge.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The edge could not be reached.
    #[error("edge unreachable: {0}")]
    Unreachable(String),
}

/// Applied events on their way to the edges.
#[derive(Debug, Clone, Default)]
pub struct FanoutBatch {
    /// The bus partition they were consumed from (edges use it to ignore a
    /// writer that lost the partition), if known.
    pub partition: Option<u32>,
    /// Events in apply order.
    pub events: Vec<Arc<Envelope>>,
    /// When the store had them (milliseconds since the Unix epoch; 0 if
    /// unknown), for the persisted → delivered latency.
    pub applied_at_ms: u64,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The writer's push of applied events to the edges that want them.
#[async_trait]
pub trait EdgeLink: Send + Sync + 'static {
    /// Delivers a batch; returns when the edges have taken it.
    async fn push(&self, batch: FanoutBatch) -> Result<(), LinkError>;
}
