//! The [`Store`](rookery_store::Store) on ScyllaDB, for the cluster shape.
//!
//! - [`migrate()`] applies the numbered CQL files of `schema/` and records
//!   them (`rookery migrate`);
//! - [`ScyllaStore`] implements the store on the `scylla` driver with
//!   prepared statements only ([`cql`] lists every one; CI checks them
//!   against the schema with an independent CQL parser);
//! - [`ScyllaConfig`] is parsed from one `scylla://` URL.
//!
//! No ScyllaDB runs on the build machines: the conformance suite runs here
//! only when `ROOKERY_TEST_SCYLLA=host:port` names a cluster
//! (`tests/conformance.rs`).

mod config;
pub mod cql;
mod edits;
mod engine;
mod guild;
mod guild_delete;
mod history;
mod invites;
mod member_counts;
mod mentions;
pub mod metrics;
mod migrate;
mod moderation;
mod new_messages;
mod schema_lock;
mod session;
mod store;
mod webhooks;
mod write;

pub use config::{DEFAULT_KEYSPACE, Replication, ScyllaConfig};
pub use engine::{Engine, Tablets};
pub use migrate::{
    MIGRATIONS, MigrateOptions, MigrateReport, Migration, Placeholders, migrate, migrate_with,
    split_statements,
};
pub use schema_lock::SchemaLock;
pub use store::ScyllaStore;
