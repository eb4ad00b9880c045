//! [`EphemeralConsumer`]: the writer's reader of the ephemeral topic
//! (typing, presence). It is assigned, not subscribed: it reads exactly the
//! partitions the writer's group consumer owns (the topics are
//! co-partitioned), so each record reaches the one writer that knows its
//! channel's interest. It commits nothing: each newly owned partition is
//! read from its last [`TAIL`] records, so what was published while the
//! partition moved still arrives (the relay drops what is too old).

use crate::KafkaConfig;
use crate::bus::backend;
use crate::consumer::drain;
use async_trait::async_trait;
use futures_util::FutureExt;
use rdkafka::consumer::{Consumer as _, DefaultConsumerContext, StreamConsumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rookery_bus::{Batch, BusError, Checkpoint, Consumer};
use tokio::sync::watch;

/// Consumer settings under the URL's overrides.
const EPHEMERAL_DEFAULTS: &[(&str, &str)] = &[
    // librdkafka wants a group id; this consumer never joins or commits.
    ("group.id", "rookery-ephemeral-relay"),
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("enable.partition.eof", "false"),
    // Typing can wait 50 ms; polling faster costs every idle writer CPU.
    ("fetch.wait.max.ms", "50"),
];

/// How many records back a newly owned partition is read.
const TAIL: i64 = 1024;

/// Reads the ephemeral topic's partitions that this process owns.
pub struct EphemeralConsumer {
    consumer: StreamConsumer<DefaultConsumerContext>,
    topic: String,
    owned: watch::Receiver<Vec<u32>>,
}

impl EphemeralConsumer {
    pub(crate) fn new(
        config: &KafkaConfig,
        mut owned: watch::Receiver<Vec<u32>>,
    ) -> Result<Self, BusError> {
        let consumer: StreamConsumer = config
            .client(EPHEMERAL_DEFAULTS)
            .create()
            .map_err(|e| BusError::Config(format!("kafka ephemeral consumer: {e}")))?;
        // The current assignment is applied by the first poll.
        owned.mark_changed();
        Ok(Self {
            consumer,
            topic: config.ephemeral_topic.clone(),
            owned,
        })
    }

    /// Follows the group consumer's assignment: every owned partition is
    /// (re)started [`TAIL`] records before its end. Starting at the end
    /// would lose what is published before the end is looked up.
    fn reassign(&mut self) -> Result<(), BusError> {
        let partitions = self.owned.borrow_and_update().clone();
        let mut list = TopicPartitionList::new();
        for p in &partitions {
            list.add_partition_offset(&self.topic, *p as i32, Offset::OffsetTail(TAIL))
                .map_err(backend)?;
        }
        self.consumer.assign(&list).map_err(backend)?;
        tracing::debug!(?partitions, "ephemeral partitions assigned");
        Ok(())
    }
}

#[async_trait]
impl Consumer for EphemeralConsumer {
    async fn poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        if self.owned.has_changed().map_err(|_| BusError::Closed)? {
            self.reassign()?;
        }
        loop {
            // Cancel-safe: `recv` takes a message only when it returns it;
            // `changed` marks the new assignment seen, so it is applied
            // right here.
            let moved = tokio::select! {
                changed = self.owned.changed() => changed.map_err(|_| BusError::Closed).map(|()| true)?,
                msg = self.consumer.recv() => match msg {
                    Ok(first) => return Ok(drain(&self.consumer, first, max.max(1))),
                    Err(e) => {
                        tracing::warn!(error = %e, "kafka ephemeral consume error");
                        false
                    }
                },
            };
            if moved {
                self.reassign()?;
            }
        }
    }

    async fn try_poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        if self.owned.has_changed().map_err(|_| BusError::Closed)? {
            self.reassign()?;
        }
        Ok(match self.consumer.recv().now_or_never() {
            Some(Ok(first)) => drain(&self.consumer, first, max.max(1)),
            _ => Vec::new(),
        })
    }

    async fn commit(&mut self, _: &[Checkpoint]) -> Result<(), BusError> {
        Ok(())
    }
}
