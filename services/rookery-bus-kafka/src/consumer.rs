//! [`KafkaConsumer`]: the writer's consumer-group member. Offsets are never
//! committed automatically: the writer commits a position only after the
//! records below it are applied and synced (at least once). Rebalances are
//! handled in [`GroupContext`]: logged and counted, with per-partition lag
//! from librdkafka's statistics.

use crate::KafkaConfig;
use crate::bus::{AssignmentHook, backend};
use crate::metrics as km;
use async_trait::async_trait;
use futures_util::FutureExt;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rookery_bus::metrics as m;
use rookery_bus::{Batch, BusError, Checkpoint, Consumed, Consumer};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Consumer settings under the URL's overrides.
const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("auto.offset.reset", "earliest"),
    ("enable.partition.eof", "false"),
    // Fan-out latency: a fetch that finds nothing returns after this long.
    // With data flowing, brokers answer at once anyway; the cost is ~100
    // empty fetches a second per idle writer connection. (At librdkafka's
    // 500 ms default, a cluster run on the mock broker showed p50 282 ms.)
    ("fetch.wait.max.ms", "10"),
    // A dead writer's partitions move within seconds, not the 45 s default.
    ("session.timeout.ms", "10000"),
    ("heartbeat.interval.ms", "1000"),
    // Consumer lag per partition, exported from the statistics callback.
    ("statistics.interval.ms", "5000"),
];

/// Rebalance and commit callbacks of the writer's consumer.
pub struct GroupContext {
    topic: String,
    changed: Arc<Changed>,
}

/// Set by a rebalance, taken by the consumer to run its assignment hook.
#[derive(Default)]
struct Changed {
    flag: AtomicBool,
    notify: Notify,
}

impl Changed {
    fn set(&self) {
        self.flag.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

impl ClientContext for GroupContext {
    fn stats(&self, stats: Statistics) {
        let Some(topic) = stats.topics.get(&self.topic) else {
            return;
        };
        for (partition, p) in &topic.partitions {
            // -1 is librdkafka's "unknown" (not assigned, or not fetched yet).
            if *partition >= 0 && p.consumer_lag >= 0 {
                metrics::gauge!(m::CONSUMER_LAG, "partition" => partition.to_string())
                    .set(p.consumer_lag as f64);
            }
        }
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            // Records of these partitions already polled are still applied
            // and pushed; the next owner replays from the last commit, and
            // applying twice is harmless.
            let partitions = partitions_of(list);
            tracing::info!(?partitions, "partitions revoked");
            metrics::counter!(km::REBALANCES, "kind" => "revoke").increment(1);
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                tracing::info!(partitions = ?partitions_of(list), "partitions assigned");
                metrics::counter!(km::REBALANCES, "kind" => "assign").increment(1);
                self.changed.set();
            }
            Rebalance::Revoke(_) => self.changed.set(),
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(e) = result {
            // Uncommitted records are redelivered, never lost.
            tracing::warn!(error = %e, partitions = ?partitions_of(offsets), "failed to commit offsets");
            metrics::counter!(km::COMMIT_ERRORS).increment(1);
        }
    }
}

fn partitions_of(list: &TopicPartitionList) -> Vec<i32> {
    list.elements().iter().map(|e| e.partition()).collect()
}

/// A member of a consumer group on the events topic.
pub struct KafkaConsumer {
    consumer: Arc<StreamConsumer<GroupContext>>,
    topic: String,
    hook: Option<Arc<dyn AssignmentHook>>,
    changed: Arc<Changed>,
    /// The hook's run for the latest assignment; polls wait for it.
    rebuilding: Option<JoinHandle<()>>,
    /// Where the owned partitions are published for the ephemeral consumer.
    owned: Arc<tokio::sync::watch::Sender<Vec<u32>>>,
    /// The latest checkpoint committed (asynchronously) per partition,
    /// committed again synchronously on drop so a stopping writer's progress
    /// reaches the broker before it leaves the group.
    committed: HashMap<u32, Checkpoint>,
}

/// Longest wait for the final commit when a consumer is dropped.
const FINAL_COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Drop for KafkaConsumer {
    /// A synchronous commit has no timeout of its own and waits for a group
    /// coordinator for ever when the cluster is gone; it runs on its own
    /// thread, waited for at most [`FINAL_COMMIT_TIMEOUT`].
    fn drop(&mut self) {
        if self.committed.is_empty() {
            return;
        }
        let checkpoints = std::mem::take(&mut self.committed);
        let Ok(list) = self.offsets(checkpoints.values()) else {
            return;
        };
        let consumer = self.consumer.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(consumer.commit(&list, CommitMode::Sync));
        });
        match rx.recv_timeout(FINAL_COMMIT_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "final offset commit failed; the next owner replays more");
            }
            Err(_) => tracing::warn!("final offset commit timed out; the next owner replays more"),
        }
    }
}

impl KafkaConsumer {
    pub(crate) fn new(
        config: &KafkaConfig,
        group: &str,
        hook: Option<Arc<dyn AssignmentHook>>,
        owned: Arc<tokio::sync::watch::Sender<Vec<u32>>>,
    ) -> Result<Self, BusError> {
        let mut client = config.client(CONSUMER_DEFAULTS);
        client.set("group.id", group);
        let changed = Arc::new(Changed::default());
        let context = GroupContext {
            topic: config.topic.clone(),
            changed: changed.clone(),
        };
        let consumer: StreamConsumer<GroupContext> = client
            .create_with_context(context)
            .map_err(|e| BusError::Config(format!("kafka consumer: {e}")))?;
        consumer.subscribe(&[&config.topic]).map_err(backend)?;
        Ok(Self {
            consumer: Arc::new(consumer),
            topic: config.topic.clone(),
            hook,
            changed,
            rebuilding: None,
            owned,
            committed: HashMap::new(),
        })
    }

    /// Runs the assignment hook for every assignment change seen so far
    /// and waits for it. Cancel-safe: the hook runs in its own task, and a
    /// later call waits for the same run.
    async fn settle(&mut self) {
        loop {
            if let Some(run) = &mut self.rebuilding {
                let _ = run.await;
                self.rebuilding = None;
            }
            if !self.changed.flag.swap(false, Ordering::AcqRel) {
                return;
            }
            let partitions = self.assigned();
            self.owned.send_replace(partitions.clone());
            if let Some(hook) = self.hook.clone() {
                self.rebuilding =
                    Some(tokio::spawn(async move { hook.assigned(partitions).await }));
            }
        }
    }

    fn assigned(&self) -> Vec<u32> {
        let list = self.consumer.assignment().unwrap_or_default();
        list.elements()
            .iter()
            .filter(|e| e.topic() == self.topic)
            .map(|e| e.partition() as u32)
            .collect()
    }

    /// A commit list: each partition's next offset to consume, with the
    /// writer's clock as the offset's metadata (a decimal string).
    fn offsets<'a>(
        &self,
        checkpoints: impl IntoIterator<Item = &'a Checkpoint>,
    ) -> Result<TopicPartitionList, BusError> {
        let mut list = TopicPartitionList::new();
        for c in checkpoints {
            let offset = Offset::Offset(c.offset as i64);
            list.add_partition_offset(&self.topic, c.partition as i32, offset)
                .map_err(backend)?;
            if let Some(mut entry) = list.find_partition(&self.topic, c.partition as i32) {
                entry.set_metadata(c.clock.to_string());
            }
        }
        Ok(list)
    }
}

/// How long reading a group's committed offset from the coordinator may take.
const COMMITTED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes what `consumer` has already fetched, without waiting, after
/// `first`, grouped by partition.
pub(crate) fn drain<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    first: BorrowedMessage<'_>,
    max: usize,
) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    let mut push = |msg: &BorrowedMessage<'_>| {
        let partition = msg.partition() as u32;
        let record = consumed(msg);
        match batches.iter_mut().find(|b| b.partition == partition) {
            Some(b) => b.records.push(record),
            None => batches.push(Batch {
                partition,
                records: vec![record],
            }),
        }
    };
    push(&first);
    drop(first);
    for _ in 1..max {
        match consumer.recv().now_or_never() {
            Some(Ok(msg)) => push(&msg),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "kafka consume error");
                break;
            }
            None => break,
        }
    }
    batches
}

fn consumed(msg: &BorrowedMessage<'_>) -> Consumed {
    // Keys are 8 big-endian bytes; another producer's malformed key still
    // delivers the record (the writer decodes the payload, not the key).
    let key = msg
        .key()
        .and_then(|k| <[u8; 8]>::try_from(k).ok())
        .map_or(0, u64::from_be_bytes);
    Consumed {
        offset: msg.offset() as u64,
        key,
        payload: msg.payload().unwrap_or_default().to_vec(),
    }
}

#[async_trait]
impl Consumer for KafkaConsumer {
    async fn poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        loop {
            self.settle().await;
            let changed = self.changed.clone();
            // Cancel-safe: `recv` takes a message only when it returns it,
            // and the rest are taken without an await.
            let got = tokio::select! {
                biased;
                () = changed.notify.notified() => None,
                msg = self.consumer.recv() => Some(msg.map(|first| drain(&self.consumer, first, max.max(1)))),
            };
            match got {
                // Records of a new assignment wait for its hook.
                Some(Ok(batches)) => {
                    self.settle().await;
                    return Ok(batches);
                }
                // Transport errors are reported here and retried by
                // librdkafka; the writer keeps waiting.
                Some(Err(e)) => tracing::warn!(error = %e, "kafka consume error"),
                None => {}
            }
        }
    }

    async fn try_poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        let got = match self.consumer.recv().now_or_never() {
            Some(Ok(first)) => Ok(drain(&self.consumer, first, max.max(1))),
            Some(Err(e)) => Err(backend(e)),
            None => Ok(Vec::new()),
        };
        self.settle().await;
        got
    }

    async fn commit(&mut self, checkpoints: &[Checkpoint]) -> Result<(), BusError> {
        let list = self.offsets(checkpoints)?;
        self.consumer
            .commit(&list, CommitMode::Async)
            .map_err(backend)?;
        // The latest checkpoint per partition, for the drop-time commit.
        for c in checkpoints {
            self.committed.insert(c.partition, *c);
        }
        Ok(())
    }

    /// Asks the group coordinator (a blocking call, off the runtime). A
    /// commit without a clock (another tool's, or none) gives `None`.
    async fn committed(&mut self, partition: u32) -> Result<Option<Checkpoint>, BusError> {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.topic, partition as i32);
        let consumer = self.consumer.clone();
        let found = tokio::task::spawn_blocking(move || {
            consumer.committed_offsets(list, COMMITTED_TIMEOUT)
        })
        .await
        .map_err(backend)?
        .map_err(backend)?;
        let Some(entry) = found.elements().into_iter().next() else {
            return Ok(None);
        };
        let (Offset::Offset(offset), Ok(clock)) = (entry.offset(), entry.metadata().parse()) else {
            return Ok(None);
        };
        Ok(Some(Checkpoint {
            partition,
            offset: offset as u64,
            clock,
        }))
    }
}
