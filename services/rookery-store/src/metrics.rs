//! Store metrics: declared and described here, recorded by implementations.

use metrics::{Unit, describe_counter, describe_histogram};

/// Seconds to apply one batch (readable, not yet synced).
pub const WRITE_DURATION: &str = "rookery_store_write_duration_seconds";
/// Seconds to make applied batches durable.
pub const SYNC_DURATION: &str = "rookery_store_sync_duration_seconds";
/// Mutations applied.
pub const MUTATIONS: &str = "rookery_store_mutations_total";
/// Seconds to read one history page.
pub const HISTORY_READ_DURATION: &str = "rookery_store_history_read_duration_seconds";

/// Registers descriptions with the installed recorder.
pub fn describe() {
    describe_histogram!(
        WRITE_DURATION,
        Unit::Seconds,
        "Time to apply one mutation batch (readable; durable after a sync)."
    );
    describe_histogram!(
        SYNC_DURATION,
        Unit::Seconds,
        "Time to make the batches applied so far durable."
    );
    describe_counter!(MUTATIONS, Unit::Count, "Mutations applied to the store.");
    describe_histogram!(
        HISTORY_READ_DURATION,
        Unit::Seconds,
        "Time to read one page of channel history."
    );
}
