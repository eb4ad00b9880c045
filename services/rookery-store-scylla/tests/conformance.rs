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

#[path = "../../rookery-testkit/src/engines.rs"]
mod engines;

use rookery_store_scylla::{MIGRATIONS, Replication, ScyllaConfig, ScyllaStore, migrate};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use tokio::sync::OnceCell;

const BUCKET_MS: u64 = 60_000;

fn config_for(node: &str, keyspace: &str) -> ScyllaConfig {
    let url = format!("scylla://{node}/{keyspace}");
    ScyllaConfig {
        bucket_ms: BUCKET_MS,
        ..ScyllaConfig::from_url(&url).expect("valid ROOKERY_TEST_SCYLLA")
    }
}

async fn session(node: &str) -> Session {
    SessionBuilder::new()
        .known_nodes([node])
        .build()
        .await
        .expect("connect to the test node")
}

/// Drops the test keyspaces of runs that started over an hour ago (their
/// names carry the start time), so a development node does not fill up.
async fn drop_stale_keyspaces(node: &str) {
    let session = session(node).await;
    let rows = session
        .query_unpaged("SELECT keyspace_name FROM system_schema.keyspaces", ())
        .await
        .expect("list keyspaces")
        .into_rows_result()
        .expect("rows");
    let hour_ago = engines::unix_ms().saturating_sub(3_600_000);
    for row in rows.rows::<(String,)>().expect("text") {
        let (name,) = row.expect("a name");
        let started = name
            .strip_prefix("rookery_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|ms| ms.parse::<u128>().ok());
        if started.is_some_and(|ms| ms < hour_ago) {
            let ddl = format!("DROP KEYSPACE IF EXISTS {name}");
            session.query_unpaged(ddl, ()).await.expect("drop keyspace");
        }
    }
}

/// A fresh, migrated keyspace on the test node.
async fn fresh_keyspace(node: &str) -> ScyllaConfig {
    let config = config_for(node, &engines::unique("rookery_test"));
    let report = migrate(&config, &Replication::Simple(1)).await.unwrap();
    assert_eq!(report.applied.len(), MIGRATIONS.len());
    config
}

/// The keyspace this run's checks share, migrated by the first to ask.
async fn shared_keyspace(node: &str) -> &'static ScyllaConfig {
    static SHARED: OnceCell<ScyllaConfig> = OnceCell::const_new();
    SHARED
        .get_or_init(|| async {
            drop_stale_keyspaces(node).await;
            fresh_keyspace(node).await
        })
        .await
}

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
