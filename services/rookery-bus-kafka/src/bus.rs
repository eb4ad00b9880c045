//! [`KafkaBus`]: publishes with an idempotent producer (acks=all, a short
//! linger so concurrent sends share a request, lz4), each record keyed and
//! partitioned by [`partition_for`] so the embedded bus, Kafka and analytics
//! consumers agree on where a channel's events live.

use crate::KafkaConfig;
use crate::consumer::KafkaConsumer;
use crate::ephemeral::EphemeralConsumer;
use async_trait::async_trait;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rookery_bus::metrics as m;
use rookery_bus::{Bus, BusError, Consumer, Position, Record, partition_for};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Work to finish when a consumer's assignment changes, before it hands out
/// records of the new assignment (the writer rebuilds interest here).
#[async_trait]
pub trait AssignmentHook: Send + Sync + 'static {
    /// The consumer now owns exactly `partitions`.
    async fn assigned(&self, partitions: Vec<u32>);
}

/// Producer settings under the URL's overrides.
const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    // No duplicates or reordering from retries within a partition.
    ("enable.idempotence", "true"),
    ("acks", "all"),
    // Small enough for chat latency, long enough to batch a burst.
    ("linger.ms", "5"),
    ("compression.type", "lz4"),
    // A send is acknowledged or fails (SEND_ERROR) within this bound.
    ("message.timeout.ms", "10000"),
    // A topic auto-created by a publish would get the broker's default
    // partition count; topics come from `rookery topics ensure` only.
    ("allow.auto.create.topics", "false"),
];

/// Attempts to reach the cluster at startup before giving up (about 10 s
/// in all with the backoff).
const CONNECT_ATTEMPTS: u32 = 3;

/// The Kafka bus.
pub struct KafkaBus {
    config: KafkaConfig,
    producer: FutureProducer,
    partitions: u32,
    on_assign: OnceLock<Arc<dyn AssignmentHook>>,
    /// The partitions this process's group consumer owns; the ephemeral
    /// consumer follows them.
    owned: Arc<watch::Sender<Vec<u32>>>,
}

pub(crate) fn backend(e: impl std::fmt::Display) -> BusError {
    BusError::Backend(e.to_string())
}

impl KafkaBus {
    /// Connects and reads the topic's partition count. Retries a few times
    /// with backoff, then fails naming the brokers and the reason; a missing
    /// topic fails at once, pointing at `rookery topics ensure`.
    pub async fn connect(config: KafkaConfig) -> Result<Self, BusError> {
        let producer: FutureProducer = config
            .client(PRODUCER_DEFAULTS)
            .create()
            .map_err(|e| BusError::Config(format!("kafka producer: {e}")))?;
        let partitions = topic_partitions(&producer, &config, &config.topic).await?;
        tracing::info!(brokers = %config.brokers, topic = %config.topic, partitions, "kafka bus connected");
        Ok(Self {
            config,
            producer,
            partitions,
            on_assign: OnceLock::new(),
            owned: Arc::new(watch::channel(Vec::new()).0),
        })
    }

    /// The settings it was built with.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    pub(crate) fn producer(&self) -> &FutureProducer {
        &self.producer
    }

    /// Checks that the interest topic exists and is co-partitioned with the
    /// events topic (the same partition count).
    pub async fn check_interest_topic(&self) -> Result<(), BusError> {
        self.check_co_partitioned(&self.config.interest_topic).await
    }

    /// Checks the ephemeral topic likewise: a channel's typing must land in
    /// the partition whose owner knows the channel's interest.
    pub async fn check_ephemeral_topic(&self) -> Result<(), BusError> {
        self.check_co_partitioned(&self.config.ephemeral_topic)
            .await
    }

    async fn check_co_partitioned(&self, topic: &str) -> Result<(), BusError> {
        let count = topic_partitions(&self.producer, &self.config, topic).await?;
        if count != self.partitions {
            return Err(BusError::Config(format!(
                "topic {topic} has {count} partitions but {} has {}; they must match (co-partitioned)",
                self.config.topic, self.partitions
            )));
        }
        Ok(())
    }

    /// Sends `record` to `topic`, in the partition [`partition_for`] picks.
    async fn send(&self, topic: &str, record: &Record) -> Result<Position, BusError> {
        let partition = partition_for(record.key, self.partitions);
        let key = record.key.to_be_bytes();
        let kafka_record = FutureRecord::to(topic)
            .partition(partition as i32)
            .key(&key[..])
            .payload(&record.payload);
        match self
            .producer
            .send(kafka_record, Timeout::After(Duration::from_secs(5)))
            .await
        {
            Ok(delivery) => Ok(Position {
                partition: delivery.partition as u32,
                offset: delivery.offset as u64,
            }),
            Err((e, _)) => Err(BusError::Backend(format!("kafka publish failed: {e}"))),
        }
    }

    /// Runs `hook` whenever consumers created after this call get a new
    /// assignment, before they return records of it. Set once.
    pub fn set_assignment_hook(&self, hook: Arc<dyn AssignmentHook>) {
        let _ = self.on_assign.set(hook);
    }
}

async fn topic_partitions(
    producer: &FutureProducer,
    config: &KafkaConfig,
    topic: &str,
) -> Result<u32, BusError> {
    let mut last = String::new();
    for attempt in 1..=CONNECT_ATTEMPTS {
        let producer = producer.clone();
        let wanted = topic.to_owned();
        let fetched = tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(&wanted), Duration::from_secs(2))
        })
        .await
        .map_err(backend)?;
        match fetched {
            Ok(metadata) => {
                let count = metadata
                    .topics()
                    .iter()
                    .find(|t| t.name() == topic)
                    .map_or(0, |t| t.partitions().len());
                if count == 0 {
                    return Err(BusError::Config(format!(
                        "topic {topic} does not exist on {} (create it with `rookery topics ensure`)",
                        config.brokers
                    )));
                }
                return Ok(count as u32);
            }
            Err(e) => last = e.to_string(),
        }
        tracing::warn!(attempt, brokers = %config.brokers, error = %last, "kafka not reachable; retrying");
        if attempt < CONNECT_ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
    }
    Err(BusError::Backend(format!(
        "cannot reach kafka at {} after {CONNECT_ATTEMPTS} attempts: {last}",
        config.brokers
    )))
}

#[async_trait]
impl Bus for KafkaBus {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    async fn publish(&self, record: Record) -> Result<Position, BusError> {
        let started = Instant::now();
        let sent = self.send(&self.config.topic, &record).await;
        match &sent {
            Ok(_) => {
                metrics::histogram!(m::PUBLISH_DURATION).record(started.elapsed());
                metrics::counter!(m::PUBLISHED).increment(1);
            }
            Err(_) => metrics::counter!(m::PUBLISH_ERRORS).increment(1),
        }
        sent
    }

    async fn consumer(&self, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        let hook = self.on_assign.get().cloned();
        let owned = self.owned.clone();
        Ok(Box::new(KafkaConsumer::new(
            &self.config,
            group,
            hook,
            owned,
        )?))
    }

    async fn publish_ephemeral(&self, record: Record) -> Result<(), BusError> {
        match self.send(&self.config.ephemeral_topic, &record).await {
            Ok(_) => {
                metrics::counter!(m::EPHEMERAL_PUBLISHED).increment(1);
                Ok(())
            }
            Err(e) => {
                metrics::counter!(m::EPHEMERAL_DROPPED).increment(1);
                Err(e)
            }
        }
    }

    async fn ephemeral_consumer(&self) -> Result<Box<dyn Consumer>, BusError> {
        self.check_ephemeral_topic().await?;
        let owned = self.owned.subscribe();
        Ok(Box::new(EphemeralConsumer::new(&self.config, owned)?))
    }
}
