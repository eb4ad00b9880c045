//! `rookery migrate`: applies the numbered files of `schema/` (compiled into
//! the binary) and records each in `schema_migrations`.
//!
//! Safe to run twice: every statement is `IF NOT EXISTS` (or an
//! `ALTER TABLE ... ADD` whose "column exists" answer counts as done), applied versions
//! are skipped, and an applied file whose text changed since is refused
//! (fix forward with a new file). Safe from two processes at once: a
//! migrator takes the [`SchemaLock`] before any schema change but the two
//! the lock itself needs (the keyspace and the lock's table, created only
//! when missing), and waits for the schema to agree across the cluster
//! after each statement. Every request runs under the schema timeout
//! (`schema_timeout_ms`), not the store's.

use crate::cql;
use crate::engine::{self, Engine};
use crate::schema_lock::SchemaLock;
use crate::session::{backend, connect, first_row, schema_profile};
use crate::{Replication, ScyllaConfig};
use rookery_store::StoreError;
use scylla::client::session::Session;
use scylla::value::{CqlTimestamp, CqlValue};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One schema file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number, from the file name.
    pub version: i32,
    /// The file name.
    pub name: &'static str,
    /// The file's text.
    pub text: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            text: include_str!(concat!("../../../schema/", $name)),
        }
    };
}

/// The files of `schema/`, in order. A test checks this list against the
/// directory, so a new file cannot be forgotten here.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "001_keyspace.cql"),
    migration!(2, "002_accounts.cql"),
    migration!(3, "003_guilds.cql"),
    migration!(4, "004_messages.cql"),
    migration!(5, "005_guild_features.cql"),
    migration!(6, "006_message_edits.cql"),
    migration!(7, "007_message_replies.cql"),
    migration!(8, "008_slow_mode.cql"),
    migration!(9, "009_private_channels.cql"),
    migration!(10, "010_reaction_counts.cql"),
    migration!(11, "011_token_generations.cql"),
    migration!(12, "012_mention_index.cql"),
    migration!(13, "013_applications.cql"),
    migration!(14, "014_webhooks.cql"),
    migration!(15, "015_invites.cql"),
    migration!(16, "016_member_counts.cql"),
    migration!(17, "017_bot_authors.cql"),
    migration!(18, "018_bot_members.cql"),
];

/// How a migrator takes the schema lock.
#[derive(Debug, Clone, Copy)]
pub struct MigrateOptions {
    /// The lock's lease: how soon a crashed migrator's lock frees itself
    /// (a live one renews it every third of the lease).
    pub lock_lease: Duration,
    /// How long to wait for another migrator's lock before giving up.
    pub lock_wait: Duration,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            lock_lease: Duration::from_secs(60),
            lock_wait: Duration::from_secs(600),
        }
    }
}

/// What the keyspace file's placeholders are filled with.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders<'a> {
    /// `${keyspace}`.
    pub keyspace: &'a str,
    /// `${replication}`.
    pub replication: &'a Replication,
    /// `${keyspace_options}` (see [`Engine::keyspace_options`]).
    pub keyspace_options: &'a str,
}

impl Migration {
    /// The file's statements, with the keyspace file's placeholders filled.
    pub fn statements(&self, fill: &Placeholders<'_>) -> Vec<String> {
        let text = self
            .text
            .replace("${keyspace}", fill.keyspace)
            .replace("${replication}", &fill.replication.to_cql())
            .replace("${keyspace_options}", fill.keyspace_options);
        split_statements(&text)
    }

    /// FNV-1a of the file: detects an applied file edited afterwards.
    pub fn checksum(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.text.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// Splits a CQL file into statements: `--` and `//` comments dropped,
/// split on `;`. Schema files keep semicolons out of string literals.
pub fn split_statements(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|line| {
            let cut = [line.find("--"), line.find("//")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(line.len());
            &line[..cut]
        })
        .collect::<Vec<_>>()
        .join("\n");
    code.split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

/// What a run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// The engine it found.
    pub engine: Option<Engine>,
    /// Versions applied by this run.
    pub applied: Vec<i32>,
    /// Versions found already applied.
    pub skipped: Vec<i32>,
}

/// Applies every pending migration to the configured cluster and keyspace.
pub async fn migrate(
    config: &ScyllaConfig,
    replication: &Replication,
) -> Result<MigrateReport, StoreError> {
    migrate_with(config, replication, &MigrateOptions::default()).await
}

/// [`migrate`] with explicit lock settings.
pub async fn migrate_with(
    config: &ScyllaConfig,
    replication: &Replication,
    options: &MigrateOptions,
) -> Result<MigrateReport, StoreError> {
    let session = Arc::new(connect(config, schema_profile(config)).await?);
    let engine = engine::detect(&session).await?;
    tracing::info!(%engine, keyspace = config.keyspace, "migrating");
    let fill = Placeholders {
        keyspace: &config.keyspace,
        replication,
        keyspace_options: engine.keyspace_options()?,
    };
    let (first, rest) = MIGRATIONS
        .split_first()
        .expect("at least the keyspace file");
    if !has_table(&session, &config.keyspace, "schema_lock").await? {
        run_file(&session, first, &fill).await?;
        session
            .query_unpaged(format!("USE {}", config.keyspace), ())
            .await
            .map_err(backend)?;
        ddl_statement(&session, cql::CREATE_LOCK).await?;
    }
    session
        .use_keyspace(&config.keyspace, false)
        .await
        .map_err(backend)?;
    let owner = format!("{}-{}", std::process::id(), now_ms());
    let lock = SchemaLock::acquire(
        session.clone(),
        &owner,
        options.lock_lease,
        options.lock_wait,
    );
    let lock = lock.await?;
    let result = async {
        ddl_statement(&session, cql::CREATE_MIGRATIONS).await?;
        apply_pending(&session, (first, rest), &fill, &lock).await
    }
    .await;
    if let Err(e) = lock.release().await {
        tracing::warn!(error = %e, "cannot release the migration lock; it expires by TTL");
    }
    let mut report = result?;
    report.engine = Some(engine);
    Ok(report)
}

/// Whether `keyspace` has `table` (the keyspace may not exist either).
async fn has_table(session: &Session, keyspace: &str, table: &str) -> Result<bool, StoreError> {
    let found = session
        .query_unpaged(cql::SELECT_TABLE, (keyspace, table))
        .await
        .map_err(backend)?;
    Ok(first_row::<(String,)>(found)?.is_some())
}

async fn apply_pending(
    session: &Session,
    (first, rest): (&Migration, &[Migration]),
    fill: &Placeholders<'_>,
    lock: &SchemaLock,
) -> Result<MigrateReport, StoreError> {
    let applied = applied_versions(session).await?;
    let mut report = MigrateReport::default();
    for m in std::iter::once(first).chain(rest) {
        lock.check()?;
        if let Some((name, sum)) = applied.iter().find(|(v, ..)| *v == m.version).map(|a| &a.1) {
            if *sum != m.checksum() {
                return Err(StoreError::Config(format!(
                    "migration {} ({name}) changed after it was applied; add a new file instead",
                    m.version
                )));
            }
            report.skipped.push(m.version);
            continue;
        }
        // The keyspace file runs whenever it is not recorded (so it can
        // be recorded once the lock is ours): CREATE ... IF NOT EXISTS.
        run_file(session, m, fill).await?;
        record(session, m).await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        report.applied.push(m.version);
    }
    Ok(report)
}

async fn run_file(
    session: &Session,
    m: &Migration,
    fill: &Placeholders<'_>,
) -> Result<(), StoreError> {
    for statement in m.statements(fill) {
        ddl_statement(session, &statement)
            .await
            .map_err(|e| StoreError::Config(format!("{}: {e}", m.name)))?;
    }
    Ok(())
}

async fn ddl_statement(session: &Session, statement: &str) -> Result<(), StoreError> {
    if let Err(e) = session.query_unpaged(statement, ()).await
        && !column_exists(statement, &e.to_string())
    {
        return Err(backend(e));
    }
    session.await_schema_agreement().await.map_err(backend)?;
    Ok(())
}

/// An `ALTER TABLE ... ADD` refused because the column exists: ScyllaDB
/// has no `ADD IF NOT EXISTS`, so this is how a re-run is idempotent.
fn column_exists(statement: &str, error: &str) -> bool {
    let alter_add = statement
        .trim_start()
        .to_uppercase()
        .starts_with("ALTER TABLE")
        && statement.to_uppercase().contains(" ADD ");
    let error = error.to_lowercase();
    alter_add
        && (error.contains("conflicts with an existing column") || error.contains("already exist"))
}

type Applied = Vec<(i32, (String, String))>;

async fn applied_versions(session: &Session) -> Result<Applied, StoreError> {
    let rows = session
        .query_unpaged(cql::SELECT_MIGRATIONS, ())
        .await
        .map_err(backend)?
        .into_rows_result()
        .map_err(backend)?;
    rows.rows::<(i32, String, String)>()
        .map_err(backend)?
        .map(|r| r.map(|(v, n, c)| (v, (n, c))).map_err(backend))
        .collect()
}

async fn record(session: &Session, m: &Migration) -> Result<(), StoreError> {
    let at = CqlTimestamp(now_ms() as i64);
    session
        .query_unpaged(cql::INSERT_MIGRATION, (m.version, m.name, m.checksum(), at))
        .await
        .map_err(backend)?;
    Ok(())
}

/// `[applied]` and, when not applied, the text value of the existing row's
/// last column (the lock owner, or a pinned setting).
pub(crate) fn lwt_outcome(
    result: scylla::response::query_result::QueryResult,
) -> Result<(bool, Option<String>), StoreError> {
    let row = first_row::<scylla::value::Row>(result)?
        .ok_or_else(|| StoreError::Backend("LWT returned no row".into()))?;
    let applied = matches!(row.columns.first(), Some(Some(CqlValue::Boolean(true))));
    let existing = row.columns.last().and_then(|c| match c {
        Some(CqlValue::Text(s)) => Some(s.clone()),
        _ => None,
    });
    Ok((applied, existing))
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_matches_the_schema_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".cql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(files, listed);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "versions are 1, 2, 3...");
            assert!(m.name.starts_with(&format!("{:03}_", m.version)));
        }
    }

    #[test]
    fn statements_drop_comments_and_fill_the_keyspace_placeholders() {
        let m = MIGRATIONS[0];
        let fill = Placeholders {
            keyspace: "chat_test",
            replication: &Replication::Simple(3),
            keyspace_options: " AND tablets = {'enabled': false}",
        };
        assert_eq!(
            m.statements(&fill),
            [
                "CREATE KEYSPACE IF NOT EXISTS chat_test WITH replication = \
              {'class': 'SimpleStrategy', 'replication_factor': '3'} \
              AND tablets = {'enabled': false}"
            ]
        );
        let split = split_statements("-- a; b\nSELECT 1; // c;\n\n  SELECT\n 2 ;;");
        assert_eq!(split, ["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn only_an_alter_add_of_an_existing_column_counts_as_applied() {
        let add = "ALTER TABLE messages ADD edited_at timestamp";
        let exists = "Invalid column name edited_at because it conflicts with an existing column";
        assert!(column_exists(add, exists));
        assert!(!column_exists(add, "Unknown table messages"));
        assert!(!column_exists("CREATE TABLE x (a int PRIMARY KEY)", exists));
    }

    #[test]
    fn the_checksum_changes_with_the_text() {
        let m = MIGRATIONS[1];
        let edited = Migration {
            text: "CREATE TABLE x (a int PRIMARY KEY)",
            ..m
        };
        assert_eq!(m.checksum(), MIGRATIONS[1].checksum(), "stable");
        assert_ne!(m.checksum(), edited.checksum());
        assert_eq!(m.checksum().len(), 16);
    }
}
