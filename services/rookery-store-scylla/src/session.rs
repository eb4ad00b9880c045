//! Building the driver session from [`ScyllaConfig`]: token- and shard-aware
//! routing (the driver's default policy, with prepared statements carrying
//! their partition key), the configured consistency, client-side timeouts,
//! the default retry policy, speculative execution for idempotent requests,
//! and monotonic client timestamps (for the writes that carry none of their
//! own: lightweight transactions and schema changes).
//!
//! Lightweight transactions run at SERIAL, not LOCAL_SERIAL: they are the
//! uniqueness claims (usernames, DM pairs, the pinned bucket width, the
//! migration lock), and LOCAL_SERIAL would make a name unique only within
//! one datacenter. A claim pays a cross-datacenter round trip; a
//! registration can afford it.

use crate::ScyllaConfig;
use rookery_store::StoreError;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::policies::retry::DefaultRetryPolicy;
use scylla::policies::speculative_execution::SimpleSpeculativeExecutionPolicy;
use scylla::policies::timestamp_generator::MonotonicTimestampGenerator;
use scylla::statement::SerialConsistency;
use std::sync::Arc;

/// Driver errors become [`StoreError::Backend`]: retryable by the writer.
pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A result's first row, deserialised; `None` when it has none.
pub(crate) fn first_row<R>(
    result: scylla::response::query_result::QueryResult,
) -> Result<Option<R>, StoreError>
where
    R: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm>,
{
    let rows = result.into_rows_result().map_err(backend)?;
    rows.maybe_first_row::<R>().map_err(backend)
}

/// The execution profile of the store's requests.
pub(crate) fn profile(config: &ScyllaConfig) -> ExecutionProfile {
    profile_with_timeout(config, config.request_timeout)
}

/// The profile of `rookery migrate`: the store's, with the schema timeout.
pub(crate) fn schema_profile(config: &ScyllaConfig) -> ExecutionProfile {
    profile_with_timeout(config, config.schema_timeout)
}

fn profile_with_timeout(config: &ScyllaConfig, timeout: std::time::Duration) -> ExecutionProfile {
    let mut routing = DefaultPolicy::builder().token_aware(true);
    if let Some(dc) = &config.local_dc {
        routing = routing
            .prefer_datacenter(dc.clone())
            .permit_dc_failover(false);
    }
    let speculative = config.speculative_delay.map(|delay| {
        Arc::new(SimpleSpeculativeExecutionPolicy {
            max_retry_count: 2,
            retry_interval: delay,
        }) as _
    });
    ExecutionProfile::builder()
        .consistency(config.consistency)
        .serial_consistency(Some(SerialConsistency::Serial))
        .request_timeout(Some(timeout))
        .load_balancing_policy(routing.build())
        .retry_policy(Arc::new(DefaultRetryPolicy::new()))
        .speculative_execution_policy(speculative)
        .build()
}

/// Connects within `connect_timeout`, with `profile` for every request.
pub(crate) async fn connect(
    config: &ScyllaConfig,
    profile: ExecutionProfile,
) -> Result<Session, StoreError> {
    let mut builder = SessionBuilder::new()
        .known_nodes(&config.nodes)
        .connection_timeout(config.connect_timeout)
        .default_execution_profile_handle(profile.into_handle())
        // Writes of one batch run concurrently; client timestamps taken in
        // issue order keep the last-issued write of a row the winner.
        .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()))
        .tcp_nodelay(true);
    if let Some((user, password)) = &config.credentials {
        builder = builder.user(user, password);
    }
    let nodes = config.nodes.join(",");
    match tokio::time::timeout(config.connect_timeout, builder.build()).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(e)) => Err(StoreError::Backend(format!(
            "cannot connect to ScyllaDB at {nodes}: {e}"
        ))),
        Err(_) => Err(StoreError::Backend(format!(
            "cannot connect to ScyllaDB at {nodes}: no answer within {:?}",
            config.connect_timeout
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn claims_are_serial_and_schema_changes_get_their_own_timeout() {
        let config = ScyllaConfig::from_url("scylla://h:9042?timeout_ms=2000").unwrap();
        let store = profile(&config);
        assert_eq!(
            store.get_serial_consistency(),
            Some(SerialConsistency::Serial)
        );
        assert_eq!(store.get_request_timeout(), Some(Duration::from_secs(2)));
        let schema = schema_profile(&config);
        assert_eq!(schema.get_request_timeout(), Some(config.schema_timeout));
        assert!(config.schema_timeout >= Duration::from_secs(30));
    }
}
