//! Building the driver session from [`ScyllaConfig`]: token- and shard-aware
//! routing (the driver's default policy, with prepared statements carrying
//! their partition key), the configured consistency, client-side timeouts,
//! the default retry policy, speculative execution for idempotent requests,
//! and monotonic client timestamps.

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

/// The execution profile every request uses.
pub(crate) fn profile(config: &ScyllaConfig) -> ExecutionProfile {
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
        .serial_consistency(Some(SerialConsistency::LocalSerial))
        .request_timeout(Some(config.request_timeout))
        .load_balancing_policy(routing.build())
        .retry_policy(Arc::new(DefaultRetryPolicy::new()))
        .speculative_execution_policy(speculative)
        .build()
}

/// Connects within `connect_timeout`, optionally in `keyspace`.
pub(crate) async fn connect(
    config: &ScyllaConfig,
    keyspace: Option<&str>,
) -> Result<Session, StoreError> {
    let mut builder = SessionBuilder::new()
        .known_nodes(&config.nodes)
        .connection_timeout(config.connect_timeout)
        .default_execution_profile_handle(profile(config).into_handle())
        // Writes of one batch run concurrently; client timestamps taken in
        // issue order keep the last-issued write of a row the winner.
        .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()))
        .tcp_nodelay(true);
    if let Some((user, password)) = &config.credentials {
        builder = builder.user(user, password);
    }
    if let Some(ks) = keyspace {
        builder = builder.use_keyspace(ks, false);
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
