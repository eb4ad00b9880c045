//! The real engines some tests run against: a CQL cluster (Apache Cassandra
//! or ScyllaDB) named by `ROOKERY_TEST_SCYLLA=host:port` and a Kafka
//! cluster named by `ROOKERY_TEST_KAFKA=host:port`, both started by
//! `engines/run start` for development and by `.ci/run` in CI.
//!
//! Without the variable a test says it is skipped and returns, so the
//! README's `cargo test` passes on a machine without Java; with
//! `ROOKERY_REQUIRE_ENGINES=1` (set by `.ci/run`) a missing engine fails.
//!
//! Only `std` here: the store and bus crates include this file with
//! `#[path]` rather than depending on the testkit (which depends on them).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether a missing engine fails the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("ROOKERY_REQUIRE_ENGINES").is_ok_and(|v| v == "1")
}

fn engine(variable: &str, what: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(address) if !address.is_empty() => Some(address),
        _ => {
            assert!(
                !required(),
                "{what} is required here: set {variable} (.ci/run starts it with engines/run)"
            );
            eprintln!("SKIPPED: {what} not configured; run `engines/run start` and set {variable}");
            None
        }
    }
}

/// The CQL cluster's contact point, or `None` (skipped).
pub fn cassandra() -> Option<String> {
    engine("ROOKERY_TEST_SCYLLA", "a Cassandra or ScyllaDB node")
}

/// The Kafka cluster's bootstrap address, or `None` (skipped).
pub fn kafka() -> Option<String> {
    engine("ROOKERY_TEST_KAFKA", "a Kafka broker")
}

/// `engines/run` of this repository.
pub fn script() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../engines/run"))
}

/// Runs `engines/run <command> <engine>` with this process's environment
/// (so the same run folder and ports) and panics with its output on failure.
pub fn run(command: &str, engine: &str) {
    let output = Command::new(script())
        .args([command, engine])
        .output()
        .expect("engines/run can be executed");
    assert!(
        output.status.success(),
        "engines/run {command} {engine} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether `engines/run` started the engine (so a test may restart it).
pub fn managed(engine: &str) -> bool {
    Command::new(script())
        .args(["status", engine])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("running"))
}

/// A name no other test or run uses: `prefix_<ms>_<pid>_<n>` (keyspaces,
/// topics and groups of a shared engine must not collide).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{}_{n}", unix_ms(), std::process::id())
}

/// Milliseconds since 1970.
pub fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}
