//! A Kafka-protocol broker for development and load runs without a Kafka
//! installation: librdkafka's mock cluster, with the events topic created.
//! Prints the bootstrap address and runs until killed.
//!
//! ```sh
//! cargo run --release -p rookery-bus-kafka --example mock_broker -- [PARTITIONS]
//! ```
//!
//! Not for production: the mock keeps everything in memory and implements
//! only the client-facing APIs (no admin API, so `topics ensure` does not
//! work against it).

use rdkafka::mocking::MockCluster;

fn main() {
    let partitions: i32 = std::env::args()
        .nth(1)
        .map_or(16, |p| p.parse().expect("PARTITIONS is a number"));
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic(rookery_bus_kafka::DEFAULT_TOPIC, partitions, 1)
        .expect("events topic");
    mock.create_topic(rookery_bus_kafka::DEFAULT_INTEREST_TOPIC, partitions, 1)
        .expect("interest topic");
    mock.create_topic(rookery_bus_kafka::DEFAULT_EPHEMERAL_TOPIC, partitions, 1)
        .expect("ephemeral topic");
    println!("{}", mock.bootstrap_servers());
    loop {
        std::thread::park();
    }
}
