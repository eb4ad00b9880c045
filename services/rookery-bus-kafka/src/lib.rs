//! The [`Bus`](rookery_bus::Bus) on Apache Kafka, through rdkafka.
//!
//! - [`KafkaBus`]: idempotent producer keyed by channel, consumer groups with
//!   manual, after-apply commits ([`KafkaConsumer`]);
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
pub mod metrics;
pub mod topics;

pub use bus::KafkaBus;
pub use config::{DEFAULT_TOPIC, KafkaConfig};
pub use consumer::{GroupContext, KafkaConsumer};
