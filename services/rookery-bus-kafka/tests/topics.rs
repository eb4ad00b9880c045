//! `rookery topics ensure`: the metadata it plans from against
//! librdkafka's mock cluster, and the whole command (CreateTopics and
//! DescribeConfigs, which the mock does not implement) against a real
//! broker when `ROOKERY_TEST_KAFKA` names one.

use rdkafka::mocking::MockCluster;
use rookery_bus_kafka::KafkaConfig;
use rookery_bus_kafka::topics::{definitions, existing, plan};

#[tokio::test]
async fn existing_topics_and_partition_counts_come_from_the_cluster() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("rookery.events", 32, 1).unwrap();
    mock.create_topic("rookery.ephemeral", 3, 1).unwrap();
    let config = KafkaConfig::from_url(&format!("kafka://{}", mock.bootstrap_servers())).unwrap();
    let found = existing(&config).await.unwrap();
    assert_eq!(found.get("rookery.events"), Some(&32));
    assert_eq!(found.get("rookery.ephemeral"), Some(&3));
    assert!(!found.contains_key("rookery.interest"));
    let specs = definitions();
    let plan = plan(&specs, &found);
    assert_eq!(plan.create.len(), 1);
    assert_eq!(
        plan.problems,
        ["rookery.ephemeral: has 3 partitions, the definition says 32"]
    );
}

#[path = "common/mod.rs"]
mod common;

/// `ensure` on a real broker, through the admin API the mock lacks: it
/// creates the three topics (under the URL's names), finds them matching
/// on a second run, and refuses a topic that differs from its definition
/// in partitions or in configuration.
#[tokio::test]
async fn ensure_creates_the_topics_and_refuses_a_mismatched_one_on_a_real_broker() {
    use rookery_bus_kafka::topics::{Overrides, definitions_for, ensure};
    let Some(c) = common::TestCluster::real() else {
        return;
    };
    let config = c.config("");
    let dev = |partitions| Overrides {
        replication_factor: Some(1),
        partitions: Some(partitions),
    };
    let specs = |partitions| -> Vec<_> {
        let overrides = dev(partitions);
        definitions_for(&config)
            .into_iter()
            .map(|s| overrides.apply(s))
            .collect()
    };
    let created = ensure(&config, &specs(4)).await.unwrap();
    let mut names = vec![c.name("events"), c.name("interest"), c.name("ephemeral")];
    let mut got = created.created.clone();
    names.sort();
    got.sort();
    assert_eq!(got, names, "{created:?}");
    assert!(created.problems.is_empty(), "{created:?}");
    let found = existing(&config).await.unwrap();
    assert!(names.iter().all(|n| found.get(n) == Some(&4)), "{found:?}");

    let again = ensure(&config, &specs(4)).await.unwrap();
    assert!(
        again.created.is_empty() && again.problems.is_empty(),
        "{again:?}"
    );
    assert_eq!(again.matching.len(), 3, "{again:?}");

    let wider = ensure(&config, &specs(8)).await.unwrap();
    assert_eq!(wider.problems.len(), 3, "{wider:?}");
    assert!(wider.problems[0].contains("has 4 partitions"), "{wider:?}");

    let mut retention = specs(4);
    retention[0]
        .config
        .insert("retention.ms".into(), "1000".into());
    let differs = ensure(&config, &retention).await.unwrap();
    let expected = format!(
        "{}: retention.ms is 604800000, the definition says 1000",
        c.name("events")
    );
    assert_eq!(differs.problems, [expected]);
}
