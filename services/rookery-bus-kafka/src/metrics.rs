//! Kafka-specific metrics, declared and described here. Publish and lag
//! metrics are the bus's own (`rookery_bus_*`), shared with the embedded bus.

use metrics::{Unit, counter, describe_counter};

/// Consumer-group rebalances seen by this process, by kind (assign, revoke).
pub const REBALANCES: &str = "rookery_kafka_rebalances_total";
/// Offset commits the broker refused (the records are redelivered).
pub const COMMIT_ERRORS: &str = "rookery_kafka_commit_errors_total";

/// Registers descriptions with the installed recorder.
pub fn describe() {
    describe_counter!(
        REBALANCES,
        Unit::Count,
        "Consumer-group rebalances, by kind."
    );
    describe_counter!(COMMIT_ERRORS, Unit::Count, "Offset commits that failed.");
    for kind in ["assign", "revoke"] {
        counter!(REBALANCES, "kind" => kind).absolute(0);
    }
    counter!(COMMIT_ERRORS).absolute(0);
}
