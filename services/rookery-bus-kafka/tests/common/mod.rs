//! A Kafka cluster for the bus tests: librdkafka's in-process mock (fault
//! injection) or the real broker `engines/run start kafka` runs, named by
//! `ROOKERY_TEST_KAFKA`. On the real broker, which outlives the tests, each
//! test gets its own topics and groups (a unique prefix).
//!
//! `both!` turns `async fn name(c: TestCluster)` into a test per cluster:
//! `mock::name` and `real::name` (skipped without the variable).

#![allow(dead_code)]

#[path = "../../../rookery-testkit/src/engines.rs"]
pub mod engines;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rookery_bus::{Batch, Consumer};
use rookery_bus_kafka::{KafkaBus, KafkaConfig};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where the test's topics live.
pub enum Cluster {
    /// The mock, three brokers in-process.
    Mock(MockCluster<'static, DefaultProducerContext>),
    /// A real cluster's bootstrap address.
    Real(String),
}

/// A cluster and the names this test uses on it.
pub struct TestCluster {
    pub cluster: Cluster,
    prefix: String,
}

impl TestCluster {
    /// A fresh mock cluster.
    pub fn mock() -> Self {
        Self {
            cluster: Cluster::Mock(MockCluster::new(3).expect("mock cluster")),
            prefix: "t".into(),
        }
    }

    /// The real broker, or `None` (skipped) without `ROOKERY_TEST_KAFKA`.
    pub fn real() -> Option<Self> {
        let brokers = engines::kafka()?;
        Some(Self {
            cluster: Cluster::Real(brokers),
            prefix: engines::unique("t"),
        })
    }

    /// Whether this is the real broker.
    pub fn is_real(&self) -> bool {
        matches!(self.cluster, Cluster::Real(_))
    }

    /// `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        match &self.cluster {
            Cluster::Mock(mock) => mock.bootstrap_servers(),
            Cluster::Real(brokers) => brokers.clone(),
        }
    }

    /// This test's name for a topic or group (`events`, `interest`,
    /// `ephemeral`, `writers`...).
    pub fn name(&self, base: &str) -> String {
        format!("{}.{base}", self.prefix)
    }

    /// The bus URL: this test's three topics, then `extra` options
    /// (`&key=value...`).
    pub fn url(&self, extra: &str) -> String {
        format!(
            "kafka://{}?topic={}&interest_topic={}&ephemeral_topic={}{extra}",
            self.bootstrap(),
            self.name("events"),
            self.name("interest"),
            self.name("ephemeral")
        )
    }

    /// The bus URL's configuration.
    pub fn config(&self, extra: &str) -> KafkaConfig {
        KafkaConfig::from_url(&self.url(extra)).expect("a valid URL")
    }

    /// A connected bus.
    pub async fn bus(&self, extra: &str) -> KafkaBus {
        KafkaBus::connect(self.config(extra))
            .await
            .expect("bus connects")
    }

    /// Creates `base` (this test's name for it) with `partitions`.
    pub async fn create_topic(&self, base: &str, partitions: i32) {
        let name = self.name(base);
        match &self.cluster {
            Cluster::Mock(mock) => mock.create_topic(&name, partitions, 3).expect("mock topic"),
            Cluster::Real(brokers) => create_real_topic(brokers, &name, partitions).await,
        }
    }
}

async fn create_real_topic(brokers: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&[topic], &options)
        .await
        .expect("create topics");
    for result in results {
        result.unwrap_or_else(|(name, e)| panic!("create {name}: {e}"));
    }
}

/// Polls until `n` records arrived (or 30 s passed).
pub async fn take(consumer: &mut Box<dyn Consumer>, n: usize) -> Vec<Batch> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    let mut got = 0;
    while got < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let batches = tokio::time::timeout(left, consumer.poll(64))
            .await
            .unwrap_or_else(|_| panic!("only {got} of {n} records arrived"))
            .unwrap();
        got += batches.iter().map(|b| b.records.len()).sum::<usize>();
        out.extend(batches);
    }
    out
}

/// `partition -> [(offset, payload, key)]`.
pub fn by_partition(batches: &[Batch]) -> BTreeMap<u32, Vec<(u64, Vec<u8>, u64)>> {
    let mut out: BTreeMap<u32, Vec<_>> = BTreeMap::new();
    for b in batches {
        for r in &b.records {
            out.entry(b.partition)
                .or_default()
                .push((r.offset, r.payload.clone(), r.key));
        }
    }
    out
}

/// Waits until `check` holds, up to 20 s.
pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One test per cluster for each `async fn name(c: TestCluster)` listed.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod mock {
            $(#[tokio::test]
            async fn $name() {
                super::$name($crate::common::TestCluster::mock()).await;
            })*
        }
        mod real {
            $(#[tokio::test]
            async fn $name() {
                if let Some(cluster) = $crate::common::TestCluster::real() {
                    super::$name(cluster).await;
                }
            })*
        }
    };
}
