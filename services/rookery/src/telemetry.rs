//! Logging (tracing to stderr) and the process-wide Prometheus recorder.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::io::IsTerminal;
use std::sync::OnceLock;

/// Latency buckets (seconds) shared by every `_seconds` histogram.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Size buckets for `_records` histograms.
const RECORDS: &[f64] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0];

/// Logs to stderr; `ROOKERY_LOG` (or `RUST_LOG`) sets the filter, default `info`.
pub fn init_logging() {
    let filter = std::env::var("ROOKERY_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,fjall=warn,lsm_tree=warn".into());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

/// The process-wide recorder, installed on first use. Every crate's metrics
/// are described once here.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("_records".into()), RECORDS)
                });
            let handle = builder.and_then(|b| b.install_recorder()).inspect_err(|e| {
                tracing::warn!(error = %e, "metrics recorder not installed");
            });
            let handle = handle.ok()?;
            // Histograms keep raw samples until upkeep folds them in; without
            // it an unscraped process would grow by every recorded sample.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            rookery_store::metrics::describe();
            rookery_store_scylla::metrics::describe();
            rookery_bus::metrics::describe();
            rookery_bus_kafka::metrics::describe();
            rookery_writer::metrics::describe();
            rookery_edge::metrics::describe();
            rookery_link::metrics::describe();
            metrics_process::Collector::default().describe();
            Some(handle)
        })
        .clone()
}
