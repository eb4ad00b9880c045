//! Kafka-specific metrics, declared and described here. Publish and lag
//! metrics are the bus's own (`rookery_bus_*`), shared with the embedded bus.

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// Consumer-group rebalances seen by this process, by kind (assign, revoke).
pub const REBALANCES: &str = "rookery_kafka_rebalances_total";
/// Offset commits the broker refused (the records are redelivered).
pub const COMMIT_ERRORS: &str = "rookery_kafka_commit_errors_total";

/// Interest registrations the partition owners did not confirm in time
/// (the sessions went live anyway).
pub const INTEREST_TIMEOUTS: &str = "rookery_kafka_interest_wait_timeouts_total";
/// From publishing interest records to the owners' confirmation (the
/// routing part of a session's time to READY).
pub const INTEREST_WAIT: &str = "rookery_kafka_interest_wait_seconds";
/// Channel keys with interest in the partitions this writer owns.
pub const INTEREST_KEYS: &str = "rookery_kafka_interest_keys";

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
    describe_counter!(
        INTEREST_TIMEOUTS,
        Unit::Count,
        "Interest registrations not confirmed by the partition owners in time."
    );
    describe_histogram!(
        INTEREST_WAIT,
        Unit::Seconds,
        "From publishing interest records to the partition owners' confirmation."
    );
    describe_gauge!(
        INTEREST_KEYS,
        Unit::Count,
        "Channel keys with interest in the partitions this writer owns."
    );
    counter!(COMMIT_ERRORS).absolute(0);
    counter!(INTEREST_TIMEOUTS).absolute(0);
    gauge!(INTEREST_KEYS).set(0.0);
    // Registered, so the series exists (empty) before the first session.
    let _ = histogram!(INTEREST_WAIT);
}
