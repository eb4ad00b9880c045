//! The interest registry on the compacted interest topic
//! (`rookery.interest`), co-partitioned with the events topic: the interest
//! in channel `c` lives in partition `partition_for(c)`, so the writer that
//! owns a channel's events also reads who wants them.
//!
//! Records (keys are UTF-8; values named-field MessagePack):
//!
//! | key | value | meaning |
//! |---|---|---|
//! | `c:{channel}:{edge}` | `{v, key, node, epoch}` | edge instance wants the channel |
//! | `c:{channel}:{edge}` | tombstone | it no longer does |
//! | `owner:{partition}` | `{v, node, epoch}` | a writer took the partition; the offset is its claim |
//! | `store:{writer}` | `{v, node, epoch}` | that writer hosts the embedded store |
//!
//! Compaction keeps the latest record per key, so the topic stays as large
//! as the live interest. [`KafkaInterest`] is the edge's writer of it;
//! [`InterestFollower`](crate::InterestFollower) the partition owner's reader.

use crate::bus::{KafkaBus, backend};
use crate::metrics as km;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rookery_bus::interest::Registered;
use rookery_bus::{BusError, EdgeId, Interest, InterestAcks, Position, partition_for};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// How long a registration waits for the owners to confirm it.
const ACK_WAIT: Duration = Duration::from_secs(5);
/// Version of the record values.
const RECORD_VERSION: u16 = 1;

/// An interest record's value.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InterestValue {
    pub v: u16,
    pub key: u64,
    pub node: u16,
    pub epoch: u64,
}

/// An ownership or store claim's value.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ClaimValue {
    pub v: u16,
    pub node: u16,
    pub epoch: u64,
}

impl ClaimValue {
    pub(crate) fn encode(node: u16, epoch: u64) -> Vec<u8> {
        let value = Self {
            v: RECORD_VERSION,
            node,
            epoch,
        };
        rmp_serde::to_vec_named(&value).expect("claims encode")
    }
}

/// A record's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordKey {
    Interest { key: u64, node: u16 },
    Owner(u32),
    Store(u16),
}

impl RecordKey {
    pub(crate) fn encode(self) -> String {
        match self {
            Self::Interest { key, node } => format!("c:{key}:{node}"),
            Self::Owner(p) => format!("owner:{p}"),
            Self::Store(node) => format!("store:{node}"),
        }
    }

    pub(crate) fn parse(raw: &[u8]) -> Option<Self> {
        let (kind, rest) = std::str::from_utf8(raw).ok()?.split_once(':')?;
        match kind {
            "c" => {
                let (key, node) = rest.split_once(':')?;
                Some(Self::Interest {
                    key: key.parse().ok()?,
                    node: node.parse().ok()?,
                })
            }
            "owner" => Some(Self::Owner(rest.parse().ok()?)),
            "store" => Some(Self::Store(rest.parse().ok()?)),
            _ => None,
        }
    }
}

/// Enqueues a record (a tombstone without `value`) now; the future
/// resolves when the broker has it.
pub(crate) fn send(
    producer: &FutureProducer,
    topic: &str,
    partition: u32,
    key: RecordKey,
    value: Option<&[u8]>,
) -> Result<DeliveryFuture, BusError> {
    let key = key.encode();
    let record = FutureRecord::<str, [u8]>::to(topic)
        .partition(partition as i32)
        .key(&key);
    let record = match value {
        Some(v) => record.payload(v),
        None => record,
    };
    producer
        .send_result(record)
        .map_err(|(e, _)| BusError::Backend(format!("interest publish: {e}")))
}

/// Where a sent record landed.
pub(crate) async fn delivered(f: DeliveryFuture) -> Result<Position, BusError> {
    match f.await {
        Ok(Ok(d)) => Ok(Position {
            partition: d.partition as u32,
            offset: d.offset as u64,
        }),
        Ok(Err((e, _))) => Err(BusError::Backend(format!("interest publish: {e}"))),
        Err(_) => Err(BusError::Closed),
    }
}

/// The edge's interest, recorded on the interest topic.
pub struct KafkaInterest {
    producer: FutureProducer,
    topic: String,
    partitions: u32,
    me: EdgeId,
    acks: Arc<InterestAcks>,
}

impl KafkaInterest {
    /// Interest of edge `me`; the writers' confirmations arrive in `acks`
    /// (over the internal link). Fails if the interest topic is missing or
    /// not co-partitioned with the events topic.
    pub async fn new(
        bus: &KafkaBus,
        me: EdgeId,
        acks: Arc<InterestAcks>,
    ) -> Result<Self, BusError> {
        use rookery_bus::Bus as _;
        bus.check_interest_topic().await?;
        Ok(Self {
            producer: bus.producer().clone(),
            topic: bus.config().interest_topic.clone(),
            partitions: bus.partitions(),
            me,
            acks,
        })
    }

    fn record(&self, key: u64, value: Option<&[u8]>) -> Result<DeliveryFuture, BusError> {
        let partition = partition_for(key, self.partitions);
        let node = self.me.node;
        send(
            &self.producer,
            &self.topic,
            partition,
            RecordKey::Interest { key, node },
            value,
        )
    }
}

impl Interest for KafkaInterest {
    fn register(&self, keys: &[u64]) -> Registered {
        let sent: Vec<_> = keys
            .iter()
            .map(|&key| {
                let value = InterestValue {
                    v: RECORD_VERSION,
                    key,
                    node: self.me.node,
                    epoch: self.me.epoch,
                };
                let bytes = rmp_serde::to_vec_named(&value).expect("interest encodes");
                self.record(key, Some(&bytes))
            })
            .collect();
        let acks = self.acks.clone();
        let started = std::time::Instant::now();
        Box::pin(async move {
            let mut positions = Vec::with_capacity(sent.len());
            for f in sent {
                positions.push(delivered(f?).await?);
            }
            let confirmed = acks.wait(&positions, ACK_WAIT).await;
            metrics::histogram!(km::INTEREST_WAIT).record(started.elapsed());
            if !confirmed {
                // Live delivery may lag until the owner catches up; clients
                // recover anything missed from history.
                tracing::warn!(
                    keys = positions.len(),
                    "interest not confirmed by the partition owners in time"
                );
                metrics::counter!(km::INTEREST_TIMEOUTS).increment(1);
            }
            Ok(())
        })
    }

    fn withdraw(&self, keys: &[u64]) -> Registered {
        let sent: Vec<_> = keys.iter().map(|&key| self.record(key, None)).collect();
        Box::pin(async move {
            for f in sent {
                delivered(f?).await?;
            }
            Ok(())
        })
    }
}

/// Makes sure writer `node` is the one that hosts the embedded store:
/// the earliest `store:` claim on the interest topic wins. A writer with no
/// claim yet records one; a second writer (another node id) is refused.
pub async fn claim_embedded_store(bus: &KafkaBus, node: u16) -> Result<(), BusError> {
    bus.check_interest_topic().await?;
    let mut holder = store_holder(bus).await?;
    if holder.is_none() {
        let value = ClaimValue::encode(node, rookery_bus::now_ms());
        let topic = &bus.config().interest_topic;
        delivered(send(
            bus.producer(),
            topic,
            0,
            RecordKey::Store(node),
            Some(&value),
        )?)
        .await?;
        holder = store_holder(bus).await?;
    }
    match holder {
        Some(h) if h == node => Ok(()),
        Some(h) => Err(BusError::Config(format!(
            "writer {h} already hosts the embedded store of this cluster; the embedded store \
             supports exactly one writer (run more writers on ScyllaDB: --store scylla://...)"
        ))),
        None => Err(BusError::Backend(
            "the embedded-store claim was written but cannot be read back".into(),
        )),
    }
}

/// The node of the earliest store claim in partition 0, if any.
async fn store_holder(bus: &KafkaBus) -> Result<Option<u16>, BusError> {
    let client = bus.config().client(crate::follower::FOLLOWER_DEFAULTS);
    let topic = bus.config().interest_topic.clone();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = client.create().map_err(backend)?;
        let wait = Duration::from_secs(5);
        let (_, high) = consumer
            .fetch_watermarks(&topic, 0, wait)
            .map_err(backend)?;
        if high <= 0 {
            return Ok(None);
        }
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(&topic, 0, Offset::Beginning)
            .map_err(backend)?;
        consumer.assign(&list).map_err(backend)?;
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline {
            let Some(msg) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let msg = msg.map_err(backend)?;
            if let Some(RecordKey::Store(node)) = msg.key().and_then(RecordKey::parse)
                && msg.payload().is_some()
            {
                return Ok(Some(node));
            }
            if msg.offset() + 1 >= high {
                return Ok(None);
            }
        }
        Err(BusError::Backend(format!("timed out reading {topic}")))
    })
    .await
    .map_err(backend)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_round_trip_and_junk_is_ignored() {
        for key in [
            RecordKey::Interest { key: 42, node: 7 },
            RecordKey::Owner(3),
            RecordKey::Store(1),
        ] {
            assert_eq!(RecordKey::parse(key.encode().as_bytes()), Some(key));
        }
        for junk in ["", "c:1", "c:x:1", "owner:", "other:1", "c:1:70000"] {
            assert_eq!(RecordKey::parse(junk.as_bytes()), None, "{junk}");
        }
    }
}
