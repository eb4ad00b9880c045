//! The store conformance suite (`rookery_store::conformance`) on a real
//! ScyllaDB cluster. No ScyllaDB can run on the build machines, so these
//! tests are ignored by default; run them against a cluster with
//!
//! ```sh
//! ROOKERY_TEST_SCYLLA=127.0.0.1:9042 cargo test -p rookery-store-scylla \
//!     --test conformance -- --ignored --test-threads 1
//! ```
//!
//! Each run migrates a fresh keyspace (`rookery_test_<pid>_<ms>`), runs every
//! check and the migrator's own checks in it, and drops it afterwards,
//! whether or not the checks passed.

use futures_util::FutureExt;
use rookery_store::conformance as c;
use rookery_store_scylla::{MIGRATIONS, Replication, ScyllaConfig, ScyllaStore, migrate};
use std::panic::AssertUnwindSafe;
use std::time::{SystemTime, UNIX_EPOCH};

const BUCKET_MS: u64 = 60_000;

fn cluster() -> String {
    std::env::var("ROOKERY_TEST_SCYLLA")
        .expect("set ROOKERY_TEST_SCYLLA=host:port to run the ScyllaDB conformance suite")
}

fn fresh_config() -> ScyllaConfig {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let url = format!(
        "scylla://{}/rookery_test_{}_{ms}",
        cluster(),
        std::process::id()
    );
    ScyllaConfig {
        bucket_ms: BUCKET_MS,
        ..ScyllaConfig::from_url(&url).expect("valid ROOKERY_TEST_SCYLLA")
    }
}

async fn drop_keyspace(config: &ScyllaConfig) {
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_nodes(&config.nodes)
        .build()
        .await
        .expect("connect to drop the test keyspace");
    let ddl = format!("DROP KEYSPACE IF EXISTS {}", config.keyspace);
    session.query_unpaged(ddl, ()).await.expect("drop keyspace");
}

/// Runs `checks` in a migrated, fresh keyspace and drops it afterwards.
async fn in_fresh_keyspace<F, Fut>(checks: F)
where
    F: FnOnce(ScyllaConfig) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let config = fresh_config();
    let outcome = AssertUnwindSafe(async {
        let report = migrate(&config, &Replication::Simple(1)).await.unwrap();
        assert_eq!(report.applied.len(), MIGRATIONS.len());
        checks(config.clone()).await;
    })
    .catch_unwind()
    .await;
    drop_keyspace(&config).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test]
#[ignore = "needs ScyllaDB: set ROOKERY_TEST_SCYLLA=host:port and pass --ignored"]
async fn the_store_conformance_suite_passes_on_scylla() {
    in_fresh_keyspace(|config| async move {
        let store = ScyllaStore::connect(&config).await.unwrap();
        c::all(&store, BUCKET_MS).await;
    })
    .await;
}

#[tokio::test]
#[ignore = "needs ScyllaDB: set ROOKERY_TEST_SCYLLA=host:port and pass --ignored"]
async fn migrate_is_idempotent_concurrent_and_pins_the_bucket_width() {
    in_fresh_keyspace(|config| async move {
        let replication = Replication::Simple(1);
        let (a, b) = tokio::join!(
            migrate(&config, &replication),
            migrate(&config, &replication)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.applied.is_empty() && b.applied.is_empty(), "{a:?} {b:?}");
        assert_eq!(a.skipped.len(), MIGRATIONS.len());
        let _store = ScyllaStore::connect(&config).await.unwrap();
        let other = ScyllaConfig {
            bucket_ms: BUCKET_MS * 2,
            ..config.clone()
        };
        let refused = ScyllaStore::connect(&other).await.unwrap_err();
        assert!(refused.to_string().contains("ms buckets"), "{refused}");
    })
    .await;
}
