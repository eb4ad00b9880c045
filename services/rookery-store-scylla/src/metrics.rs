//! ScyllaDB driver metrics, declared and described here. The driver keeps
//! its own counters and latency histogram; a task copies them into the
//! process's recorder every few seconds. Store-level timings use the
//! `rookery_store_*` names with `store="scylla"`.

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use scylla::client::session::Session;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Requests sent by the driver (unpaged, paged and each page of iterators).
pub const REQUESTS: &str = "rookery_scylla_requests_total";
/// Requests that ended in an error after retries.
pub const ERRORS: &str = "rookery_scylla_request_errors_total";
/// Retries the retry policy made.
pub const RETRIES: &str = "rookery_scylla_retries_total";
/// Requests that hit the client-side timeout.
pub const TIMEOUTS: &str = "rookery_scylla_request_timeouts_total";
/// Open connections to the cluster.
pub const CONNECTIONS: &str = "rookery_scylla_connections";
/// Message rows left out of reads because they lack the creation's columns.
pub const PARTIAL_ROWS: &str = "rookery_scylla_partial_rows_total";
/// Rows per write request of new messages (a partition's batch, or one).
pub const BATCH_ROWS: &str = "rookery_scylla_batch_rows";
/// Request latency percentiles from the driver's histogram.
pub const LATENCY: &str = "rookery_scylla_request_latency_seconds";

const EVERY: Duration = Duration::from_secs(5);

/// Registers descriptions with the installed recorder.
pub fn describe() {
    describe_counter!(REQUESTS, Unit::Count, "Requests sent to ScyllaDB.");
    describe_histogram!(
        BATCH_ROWS,
        Unit::Count,
        "Rows per write request of new messages (one partition's batch)."
    );
    describe_counter!(
        PARTIAL_ROWS,
        Unit::Count,
        "Message rows without their creation's columns, left out of reads."
    );
    describe_counter!(
        ERRORS,
        Unit::Count,
        "ScyllaDB requests that failed after retries."
    );
    describe_counter!(
        RETRIES,
        Unit::Count,
        "ScyllaDB requests retried by the retry policy."
    );
    describe_counter!(
        TIMEOUTS,
        Unit::Count,
        "ScyllaDB requests that timed out client-side."
    );
    describe_gauge!(
        CONNECTIONS,
        Unit::Count,
        "Open connections to ScyllaDB nodes."
    );
    describe_gauge!(
        LATENCY,
        Unit::Seconds,
        "ScyllaDB request latency by quantile, from the driver's histogram."
    );
}

/// The export task; stops when dropped or when the session is gone.
pub(crate) struct DriverMetrics(JoinHandle<()>);

impl DriverMetrics {
    pub(crate) fn spawn(session: &Arc<Session>) -> Self {
        let session = Arc::downgrade(session);
        Self(tokio::spawn(export(session)))
    }
}

impl Drop for DriverMetrics {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn export(session: Weak<Session>) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        let Some(session) = session.upgrade() else {
            return;
        };
        let m = session.get_metrics();
        counter!(REQUESTS).absolute(
            m.get_requests_unpaged_num()
                + m.get_requests_manually_paged_num()
                + m.get_requests_automatically_paged_num(),
        );
        counter!(ERRORS).absolute(
            m.get_errors_unpaged_num()
                + m.get_errors_manually_paged_num()
                + m.get_errors_automatically_paged_num(),
        );
        counter!(RETRIES).absolute(m.get_retries_num());
        counter!(TIMEOUTS).absolute(m.get_request_timeouts());
        gauge!(CONNECTIONS).set(m.get_total_connections() as f64);
        if let Ok(snap) = m.get_snapshot() {
            for (q, ms) in [
                ("0.5", snap.median),
                ("0.99", snap.percentile_99),
                ("0.999", snap.percentile_99_9),
            ] {
                gauge!(LATENCY, "quantile" => q).set(ms as f64 / 1000.0);
            }
        }
    }
}
