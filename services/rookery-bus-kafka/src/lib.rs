//! The [`Bus`](rookery_bus::Bus) on Apache Kafka, through rdkafka.
//!
//! - [`KafkaBus`]: idempotent producer keyed by channel, consumer groups with
//!   manual, after-apply commits ([`KafkaConsumer`]); the ephemeral topic
//!   read by the owner of each partition ([`EphemeralConsumer`]);
//! - [`KafkaInterest`] and [`InterestFollower`]: interest registry on the
//!   compacted interest topic (edges write it, partition owners follow it);
//! - [`topics`]: the topic definitions of `kafka/topics.json` and
//!   `rookery topics ensure`;
//! - [`KafkaConfig`]: one `kafka://` URL, every librdkafka property
//!   overridable.
//!
//! Tests run against `rdkafka::mocking::MockCluster`, librdkafka's
//! in-process Kafka-protocol broker.

mod bus;
mod config;
mod consumer;
mod ephemeral;
mod follower;
mod interest;
pub mod metrics;
pub mod topics;

pub use bus::{AssignmentHook, KafkaBus};
pub use config::{DEFAULT_EPHEMERAL_TOPIC, DEFAULT_INTEREST_TOPIC, DEFAULT_TOPIC, KafkaConfig};
pub use consumer::{GroupContext, KafkaConsumer};
pub use ephemeral::EphemeralConsumer;
pub use follower::{AppliedNotify, InterestFollower};
pub use interest::{KafkaInterest, claim_embedded_store};
