//! The store conformance suite (`rookery_store::conformance`) on a real CQL
//! node: Apache Cassandra 5 in CI (`engines/run start cassandra`), or a
//! ScyllaDB cluster. One test per check, so a failure names its check:
//!
//! ```sh
//! engines/run start cassandra
//! ROOKERY_TEST_SCYLLA=127.0.0.1:9042 cargo test -p rookery-store-scylla --test conformance
//! ```
//!
//! Without `ROOKERY_TEST_SCYLLA` every test says SKIPPED and passes
//! (`ROOKERY_REQUIRE_ENGINES=1`, set by `.ci/run`, makes that a failure).
//! A run migrates one fresh keyspace (`rookery_test_<ms>_<pid>_<n>`) that its
//! checks share (each isolates itself with fresh ids); keyspaces of runs
//! older than an hour are dropped on the way.

mod common;

use common::{BUCKET_MS, engines, fresh_keyspace, shared_keyspace};
use rookery_store_scylla::{MIGRATIONS, Replication, ScyllaConfig, ScyllaStore, migrate};

struct Rig {
    store: ScyllaStore,
}

/// A store on the shared keyspace, or `None` when no node is configured.
async fn rig() -> Option<Rig> {
    let node = engines::cassandra()?;
    let config = shared_keyspace(&node).await;
    let store = ScyllaStore::connect(config).await.unwrap();
    Some(Rig { store })
}

rookery_store::conformance_tests!(|rig| match rig().await {
    Some(rig) => rig,
    None => return,
} => &rig.store, BUCKET_MS);

#[tokio::test]
async fn migrate_is_idempotent_concurrent_and_pins_the_bucket_width() {
    let Some(node) = engines::cassandra() else {
        return;
    };
    let config = fresh_keyspace(&node).await;
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
}
