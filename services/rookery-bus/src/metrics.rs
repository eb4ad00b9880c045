//! Bus metrics, declared and described in one place.

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram};

/// Seconds from publish to durable acknowledgement.
pub const PUBLISH_DURATION: &str = "rookery_bus_publish_duration_seconds";
/// Records acknowledged by the bus.
pub const PUBLISHED: &str = "rookery_bus_published_records_total";
/// Publishes that failed.
pub const PUBLISH_ERRORS: &str = "rookery_bus_publish_errors_total";
/// Records per group commit of the embedded log.
pub const COMMIT_BATCH: &str = "rookery_bus_group_commit_records";
/// Seconds per group commit (write + fsync) of the embedded log.
pub const COMMIT_DURATION: &str = "rookery_bus_group_commit_duration_seconds";
/// Ephemeral records (typing, presence) handed to the bus.
pub const EPHEMERAL_PUBLISHED: &str = "rookery_bus_ephemeral_published_records_total";
/// Ephemeral records dropped: the embedded queue was full, or the broker
/// refused them.
pub const EPHEMERAL_DROPPED: &str = "rookery_bus_ephemeral_dropped_records_total";
/// Records consumers read, by `source`: `tail` (handed over in memory by
/// the committer) or `log` (read back from disk: after a restart, or a
/// consumer further behind than the tail holds).
pub const CONSUMER_READS: &str = "rookery_bus_consumer_read_records_total";
/// Segment files of the embedded log on disk (the active one included).
pub const LOG_SEGMENTS: &str = "rookery_bus_log_segments";
/// Records published but not yet committed by the consumer group, per partition.
pub const CONSUMER_LAG: &str = "rookery_bus_consumer_lag_records";

/// Registers descriptions with the installed recorder and creates the
/// counters at zero.
pub fn describe() {
    counter!(PUBLISHED).absolute(0);
    counter!(PUBLISH_ERRORS).absolute(0);
    counter!(EPHEMERAL_PUBLISHED).absolute(0);
    counter!(EPHEMERAL_DROPPED).absolute(0);
    for source in ["tail", "log"] {
        counter!(CONSUMER_READS, "source" => source).absolute(0);
    }
    describe_counter!(
        CONSUMER_READS,
        Unit::Count,
        "Records consumers read, by source: tail (in memory) or log (disk)."
    );
    describe_counter!(
        EPHEMERAL_PUBLISHED,
        Unit::Count,
        "Ephemeral records (typing, presence) handed to the bus."
    );
    describe_counter!(
        EPHEMERAL_DROPPED,
        Unit::Count,
        "Ephemeral records dropped (queue full or broker refusal)."
    );
    describe_histogram!(
        PUBLISH_DURATION,
        Unit::Seconds,
        "Time from publish to durable acknowledgement."
    );
    describe_counter!(PUBLISHED, Unit::Count, "Records acknowledged by the bus.");
    describe_counter!(PUBLISH_ERRORS, Unit::Count, "Publishes that failed.");
    describe_histogram!(
        COMMIT_BATCH,
        Unit::Count,
        "Records per group commit of the embedded log."
    );
    describe_histogram!(
        COMMIT_DURATION,
        Unit::Seconds,
        "Time per group commit (write and fsync) of the embedded log."
    );
    describe_gauge!(
        LOG_SEGMENTS,
        Unit::Count,
        "Segment files of the embedded log on disk."
    );
    describe_gauge!(
        CONSUMER_LAG,
        Unit::Count,
        "Records not yet committed by the consumer group, by partition."
    );
}
