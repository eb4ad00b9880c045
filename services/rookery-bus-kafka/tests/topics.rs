//! Topic metadata against librdkafka's mock cluster. The mock does not
//! implement the admin API (CreateTopics and DescribeConfigs time out), so
//! `ensure`'s create and config calls are not exercised here; its plan is
//! unit-tested in `src/topics.rs`, and this checks the metadata it plans
//! from.

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
