//! The topic definitions (`kafka/topics.json`, compiled in) and `rookery
//! topics ensure`: creates missing topics through the admin API and checks
//! existing ones — partition count (co-partitioned topics must agree) and
//! every configured property — reporting each difference.

use crate::KafkaConfig;
use crate::bus::backend;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rookery_bus::BusError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// `kafka/topics.json`.
pub const DEFINITIONS: &str = include_str!("../../../kafka/topics.json");

/// One topic's definition.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// What it carries and who reads it.
    pub description: String,
    /// What the record key is.
    pub key: String,
    /// Partition count.
    pub partitions: u32,
    /// Replicas per partition.
    pub replication_factor: u32,
    /// Topic-level properties.
    pub config: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Definitions {
    topics: Vec<TopicSpec>,
}

/// The compiled-in definitions.
pub fn definitions() -> Vec<TopicSpec> {
    serde_json::from_str::<Definitions>(DEFINITIONS)
        .expect("kafka/topics.json is checked by a unit test")
        .topics
}

/// The definitions under the names `config` gives the three topics (its
/// URL's `topic=`, `interest_topic=` and `ephemeral_topic=`), so `ensure`
/// creates and checks the topics the bus will use.
pub fn definitions_for(config: &KafkaConfig) -> Vec<TopicSpec> {
    definitions()
        .into_iter()
        .map(|mut spec| {
            spec.name = match spec.name.as_str() {
                crate::config::DEFAULT_TOPIC => config.topic.clone(),
                crate::config::DEFAULT_INTEREST_TOPIC => config.interest_topic.clone(),
                crate::config::DEFAULT_EPHEMERAL_TOPIC => config.ephemeral_topic.clone(),
                other => other.to_owned(),
            };
            spec
        })
        .collect()
}

/// What `ensure` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EnsureReport {
    /// Topics created.
    pub created: Vec<String>,
    /// Topics that existed and match.
    pub matching: Vec<String>,
    /// Differences between existing topics and their definitions.
    pub problems: Vec<String>,
}

/// Adjusts definitions for a smaller cluster (development: one broker).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// Replication factor for every topic (and `min.insync.replicas` capped
    /// below it).
    pub replication_factor: Option<u32>,
    /// Partitions for every topic.
    pub partitions: Option<u32>,
}

impl Overrides {
    /// `spec` with the overrides applied.
    pub fn apply(&self, mut spec: TopicSpec) -> TopicSpec {
        if let Some(rf) = self.replication_factor {
            spec.replication_factor = rf;
            if let Some(isr) = spec.config.get_mut("min.insync.replicas") {
                let capped = isr
                    .parse::<u32>()
                    .unwrap_or(1)
                    .min(rf.saturating_sub(1).max(1));
                *isr = capped.to_string();
            }
        }
        if let Some(p) = self.partitions {
            spec.partitions = p;
        }
        spec
    }
}

/// What to do about each topic, given the partition counts that exist.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Topics to create.
    pub create: Vec<&'a TopicSpec>,
    /// Existing topics whose configuration to check.
    pub check: Vec<&'a TopicSpec>,
    /// Differences found already (partition counts).
    pub problems: Vec<String>,
}

/// Sorts `specs` into topics to create and topics to check; a partition
/// count that differs is a problem (co-partitioned topics must agree, and
/// Kafka cannot shrink a topic).
pub fn plan<'a>(specs: &'a [TopicSpec], existing: &BTreeMap<String, u32>) -> Plan<'a> {
    let mut plan = Plan::default();
    for spec in specs {
        match existing.get(&spec.name) {
            None => plan.create.push(spec),
            Some(&actual) => {
                if actual != spec.partitions {
                    plan.problems.push(format!(
                        "{}: has {actual} partitions, the definition says {}",
                        spec.name, spec.partitions
                    ));
                }
                plan.check.push(spec);
            }
        }
    }
    plan
}

/// Creates missing topics and checks existing ones against `specs`.
pub async fn ensure(config: &KafkaConfig, specs: &[TopicSpec]) -> Result<EnsureReport, BusError> {
    let admin: Arc<AdminClient<DefaultClientContext>> = Arc::new(
        config
            .client(&[])
            .create()
            .map_err(|e| BusError::Config(format!("kafka admin: {e}")))?,
    );
    let existing = existing_partitions(&admin, config).await?;
    let plan = plan(specs, &existing);
    let opts = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(30)))
        .request_timeout(Some(Duration::from_secs(40)));
    let mut report = EnsureReport {
        problems: plan.problems,
        ..EnsureReport::default()
    };
    if !plan.create.is_empty() {
        let new_topics: Vec<NewTopic<'_>> = plan.create.iter().map(|s| new_topic(s)).collect();
        for result in admin
            .create_topics(&new_topics, &opts)
            .await
            .map_err(backend)?
        {
            match result {
                Ok(name) => report.created.push(name),
                Err((name, code)) => report
                    .problems
                    .push(format!("{name}: cannot create: {code}")),
            }
        }
    }
    for spec in plan.check {
        let before = report.problems.len();
        check_config(&admin, &opts, spec, &mut report.problems).await?;
        let partitions_ok = !report
            .problems
            .iter()
            .any(|p| p.starts_with(&format!("{}:", spec.name)));
        if report.problems.len() == before && partitions_ok {
            report.matching.push(spec.name.clone());
        }
    }
    Ok(report)
}

fn new_topic(spec: &TopicSpec) -> NewTopic<'_> {
    let mut topic = NewTopic::new(
        &spec.name,
        spec.partitions as i32,
        TopicReplication::Fixed(spec.replication_factor as i32),
    );
    for (k, v) in &spec.config {
        topic = topic.set(k, v);
    }
    topic
}

/// Partition counts of the topics that exist, from cluster metadata.
pub async fn existing(config: &KafkaConfig) -> Result<BTreeMap<String, u32>, BusError> {
    let admin: Arc<AdminClient<DefaultClientContext>> = Arc::new(
        config
            .client(&[])
            .create()
            .map_err(|e| BusError::Config(format!("kafka admin: {e}")))?,
    );
    existing_partitions(&admin, config).await
}

async fn existing_partitions(
    admin: &Arc<AdminClient<DefaultClientContext>>,
    config: &KafkaConfig,
) -> Result<BTreeMap<String, u32>, BusError> {
    let admin = admin.clone();
    let metadata = tokio::task::spawn_blocking(move || {
        admin.inner().fetch_metadata(None, Duration::from_secs(10))
    })
    .await
    .map_err(backend)?
    .map_err(|e| BusError::Backend(format!("cannot reach kafka at {}: {e}", config.brokers)))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| (t.name().to_owned(), t.partitions().len() as u32))
        .collect())
}

async fn check_config(
    admin: &AdminClient<DefaultClientContext>,
    opts: &AdminOptions,
    spec: &TopicSpec,
    problems: &mut Vec<String>,
) -> Result<(), BusError> {
    let resource = [ResourceSpecifier::Topic(&spec.name)];
    let described = admin
        .describe_configs(&resource, opts)
        .await
        .map_err(backend)?;
    let Some(Ok(actual)) = described.into_iter().next() else {
        problems.push(format!("{}: cannot read its configuration", spec.name));
        return Ok(());
    };
    for (key, want) in &spec.config {
        let have = actual.get(key).and_then(|e| e.value.clone());
        if have.as_deref() != Some(want.as_str()) {
            problems.push(format!(
                "{}: {key} is {}, the definition says {want}",
                spec.name,
                have.as_deref().unwrap_or("unset")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definitions_parse_and_interest_is_co_partitioned() {
        let specs = definitions();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["rookery.events", "rookery.interest", "rookery.ephemeral"]
        );
        assert_eq!(specs[0].partitions, specs[1].partitions, "co-partitioned");
        assert_eq!(specs[1].config["cleanup.policy"], "compact");
        for s in &specs {
            assert!(!s.description.is_empty() && !s.key.is_empty(), "{}", s.name);
        }
    }

    #[test]
    fn the_plan_creates_missing_topics_and_flags_partition_differences() {
        let specs = definitions();
        let existing = BTreeMap::from([
            ("rookery.events".to_owned(), 32),
            ("rookery.ephemeral".to_owned(), 8),
            ("unrelated".to_owned(), 1),
        ]);
        let plan = plan(&specs, &existing);
        let names = |v: &[&TopicSpec]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&plan.create), ["rookery.interest"]);
        assert_eq!(names(&plan.check), ["rookery.events", "rookery.ephemeral"]);
        assert_eq!(
            plan.problems,
            ["rookery.ephemeral: has 8 partitions, the definition says 32"]
        );
    }

    #[test]
    fn the_definitions_take_the_topic_names_of_the_url() {
        let url = "kafka://k:9092?topic=a.events&interest_topic=a.interest";
        let config = KafkaConfig::from_url(url).unwrap();
        let names: Vec<String> = definitions_for(&config)
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a.events", "a.interest", "rookery.ephemeral"]);
    }

    #[test]
    fn overrides_shrink_replication_and_cap_min_isr() {
        let events = definitions().remove(0);
        let dev = Overrides {
            replication_factor: Some(1),
            partitions: Some(4),
        }
        .apply(events.clone());
        assert_eq!((dev.replication_factor, dev.partitions), (1, 4));
        assert_eq!(dev.config["min.insync.replicas"], "1");
        let three = Overrides {
            replication_factor: Some(3),
            ..Overrides::default()
        }
        .apply(events);
        assert_eq!(three.config["min.insync.replicas"], "2");
    }
}
