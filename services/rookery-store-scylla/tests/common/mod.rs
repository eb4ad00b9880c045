//! A real CQL node for the tests (`ROOKERY_TEST_SCYLLA`): fresh migrated
//! keyspaces on it, and a raw session to look at what the store wrote.

#![allow(dead_code)]

#[path = "../../../rookery-testkit/src/engines.rs"]
pub mod engines;

use rookery_store_scylla::{MIGRATIONS, Replication, ScyllaConfig, migrate};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use tokio::sync::OnceCell;

pub const BUCKET_MS: u64 = 60_000;

pub fn config_for(node: &str, keyspace: &str) -> ScyllaConfig {
    let url = format!("scylla://{node}/{keyspace}");
    ScyllaConfig {
        bucket_ms: BUCKET_MS,
        ..ScyllaConfig::from_url(&url).expect("valid ROOKERY_TEST_SCYLLA")
    }
}

pub async fn session(node: &str) -> Session {
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
pub async fn fresh_keyspace(node: &str) -> ScyllaConfig {
    let config = config_for(node, &engines::unique("rookery_test"));
    let report = migrate(&config, &Replication::Simple(1)).await.unwrap();
    assert_eq!(report.applied.len(), MIGRATIONS.len());
    config
}

/// The keyspace this run's checks share, migrated by the first to ask.
pub async fn shared_keyspace(node: &str) -> &'static ScyllaConfig {
    static SHARED: OnceCell<ScyllaConfig> = OnceCell::const_new();
    SHARED
        .get_or_init(|| async {
            drop_stale_keyspaces(node).await;
            fresh_keyspace(node).await
        })
        .await
}
