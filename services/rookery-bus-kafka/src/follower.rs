//! [`InterestFollower`]: a writer's reader of the interest topic, for
//! exactly the partitions its consumer group member owns.
//!
//! On each new assignment (the [`AssignmentHook`] of the writer's consumer,
//! which runs before records of the new partitions are handed out) it reads
//! the new partitions from the beginning up to their current end, so the
//! table is whole before the first event is routed, then writes an
//! `owner:{p}` claim whose offset edges use to ignore a former owner. After
//! that it tails the topic, applying registrations as they come and telling
//! their edges ([`AppliedNotify`]) so a waiting session can go live.

use crate::bus::{AssignmentHook, KafkaBus, backend};
use crate::interest::{ClaimValue, InterestValue, RecordKey, delivered, send};
use crate::metrics as km;
use async_trait::async_trait;
use futures_util::FutureExt;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, Producer as _};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rookery_bus::{Bus as _, BusError, EdgeId, InterestTable};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How long a rebuild may take before the writer goes on without it.
const REBUILD_WAIT: Duration = Duration::from_secs(10);

/// Follower settings under the URL's overrides. It assigns partitions
/// itself and never commits; librdkafka still wants a group id, which is
/// never joined.
pub(crate) const FOLLOWER_DEFAULTS: &[(&str, &str)] = &[
    ("group.id", "rookery-interest-reader"),
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("enable.partition.eof", "false"),
    ("fetch.wait.max.ms", "10"),
];

/// Told when an edge's interest records are applied.
pub trait AppliedNotify: Send + Sync + 'static {
    /// `edge`'s records of `partition` below offset `next` are applied.
    fn applied(&self, edge: EdgeId, partition: u32, next: u64);
}

#[derive(Default)]
struct Progress {
    assigned: BTreeSet<u32>,
    /// Next offset to read per assigned partition.
    next: HashMap<u32, u64>,
}

/// Reads the owned partitions of the interest topic into an
/// [`InterestTable`].
pub struct InterestFollower {
    consumer: StreamConsumer,
    producer: FutureProducer,
    topic: String,
    me: EdgeId,
    table: Arc<InterestTable>,
    notify: Arc<dyn AppliedNotify>,
    progress: Mutex<Progress>,
    moved: watch::Sender<u64>,
    closed: watch::Sender<bool>,
}

impl InterestFollower {
    /// Starts following for writer `me`; becomes `bus`'s assignment hook.
    pub async fn start(
        bus: &KafkaBus,
        me: EdgeId,
        table: Arc<InterestTable>,
        notify: Arc<dyn AppliedNotify>,
    ) -> Result<Arc<Self>, BusError> {
        bus.check_interest_topic().await?;
        let consumer: StreamConsumer = bus
            .config()
            .client(FOLLOWER_DEFAULTS)
            .create()
            .map_err(|e| BusError::Config(format!("kafka interest consumer: {e}")))?;
        let follower = Arc::new(Self {
            consumer,
            producer: bus.producer().clone(),
            topic: bus.config().interest_topic.clone(),
            me,
            table,
            notify,
            progress: Mutex::default(),
            moved: watch::channel(0).0,
            closed: watch::channel(false).0,
        });
        if bus.partitions() != follower.table.partitions() {
            return Err(BusError::Config(format!(
                "interest table for {} partitions, bus has {}",
                follower.table.partitions(),
                bus.partitions()
            )));
        }
        tokio::spawn(follower.clone().run());
        bus.set_assignment_hook(follower.clone());
        Ok(follower)
    }

    /// Stops the reader.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    async fn run(self: Arc<Self>) {
        let mut closed = self.closed.subscribe();
        loop {
            let first = tokio::select! {
                _ = closed.wait_for(|c| *c) => return,
                msg = self.consumer.recv() => msg,
            };
            let mut acks = HashMap::new();
            match first {
                Ok(msg) => self.apply(&msg, &mut acks),
                Err(e) => tracing::warn!(error = %e, "interest consume error"),
            }
            // Whatever else is already fetched, without waiting.
            while let Some(Ok(msg)) = self.consumer.recv().now_or_never() {
                self.apply(&msg, &mut acks);
            }
            for ((edge, partition), next) in acks {
                self.notify.applied(edge, partition, next);
            }
            self.moved.send_modify(|v| *v += 1);
            metrics::gauge!(km::INTEREST_KEYS).set(self.table.len() as f64);
        }
    }

    fn apply(&self, msg: &BorrowedMessage<'_>, acks: &mut HashMap<(EdgeId, u32), u64>) {
        let (partition, next) = (msg.partition() as u32, msg.offset() as u64 + 1);
        {
            let mut progress = self.progress.lock().expect("progress");
            if !progress.assigned.contains(&partition) {
                return;
            }
            progress.next.insert(partition, next);
        }
        let Some(RecordKey::Interest { key, node }) = msg.key().and_then(RecordKey::parse) else {
            return;
        };
        let Some(payload) = msg.payload() else {
            self.table.apply(partition, key, node, None);
            return;
        };
        match rmp_serde::from_slice::<InterestValue>(payload) {
            Ok(v) => {
                let edge = EdgeId {
                    node: v.node,
                    epoch: v.epoch,
                };
                self.table.apply(partition, key, node, Some(edge));
                acks.insert((edge, partition), next);
            }
            Err(e) => {
                tracing::warn!(partition, offset = next - 1, error = %e, "skipping undecodable interest record")
            }
        }
    }

    /// Follows exactly `partitions`; returns the ones that are new.
    fn reassign(&self, partitions: &[u32]) -> Result<Vec<u32>, BusError> {
        let mut progress = self.progress.lock().expect("progress");
        let wanted: BTreeSet<u32> = partitions.iter().copied().collect();
        for gone in progress.assigned.difference(&wanted) {
            self.table.drop_partition(*gone);
        }
        let added: Vec<u32> = wanted.difference(&progress.assigned).copied().collect();
        progress.next.retain(|p, _| wanted.contains(p));
        let mut list = TopicPartitionList::new();
        for &p in &wanted {
            let offset = progress
                .next
                .get(&p)
                .map_or(Offset::Beginning, |&n| Offset::Offset(n as i64));
            list.add_partition_offset(&self.topic, p as i32, offset)
                .map_err(backend)?;
        }
        self.consumer.assign(&list).map_err(backend)?;
        progress.assigned = wanted;
        Ok(added)
    }

    /// The end of each partition now.
    async fn ends(&self, partitions: &[u32]) -> Result<Vec<(u32, u64)>, BusError> {
        let (producer, topic, partitions) = (
            self.producer.clone(),
            self.topic.clone(),
            partitions.to_vec(),
        );
        tokio::task::spawn_blocking(move || {
            let wait = Duration::from_secs(5);
            partitions
                .into_iter()
                .map(|p| {
                    let (_, high) = producer
                        .client()
                        .fetch_watermarks(&topic, p as i32, wait)
                        .map_err(backend)?;
                    Ok((p, high.max(0) as u64))
                })
                .collect()
        })
        .await
        .map_err(backend)?
    }

    /// Waits until every partition is read up to its end.
    async fn caught_up(&self, ends: &[(u32, u64)]) -> bool {
        let mut moved = self.moved.subscribe();
        let done = || {
            let progress = self.progress.lock().expect("progress");
            ends.iter()
                .all(|(p, end)| progress.next.get(p).copied().unwrap_or(0) >= *end)
        };
        tokio::time::timeout(REBUILD_WAIT, moved.wait_for(|_| done()))
            .await
            .is_ok()
    }

    async fn rebuild(&self, partitions: Vec<u32>) -> Result<(), BusError> {
        let added = self.reassign(&partitions)?;
        if added.is_empty() {
            return Ok(());
        }
        let ends = self.ends(&added).await?;
        if !self.caught_up(&ends).await {
            tracing::warn!(partitions = ?added, "interest rebuild timed out; routing with what was read");
        }
        let claim = ClaimValue::encode(self.me.node, self.me.epoch);
        for p in added.iter().copied() {
            let owner = RecordKey::Owner(p);
            let at = delivered(send(&self.producer, &self.topic, p, owner, Some(&claim))?).await?;
            self.table.set_claim(p, at.offset);
        }
        tracing::info!(partitions = ?added, keys = self.table.len(), "interest rebuilt");
        Ok(())
    }
}

#[async_trait]
impl AssignmentHook for InterestFollower {
    async fn assigned(&self, partitions: Vec<u32>) {
        if let Err(e) = self.rebuild(partitions).await {
            // Without a claim the writer's batches carry none, and edges
            // accept them; routing uses what was read.
            tracing::error!(error = %e, "interest rebuild failed");
        }
    }
}
