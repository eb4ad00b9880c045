//! `rookery migrate`: applies the numbered files of `schema/` (compiled into
//! the binary) and records each in `schema_migrations`.
//!
//! Safe to run twice: every statement is `IF NOT EXISTS` (or an
//! `ALTER TABLE ... ADD` whose "column exists" answer counts as done), applied versions
//! are skipped, and an applied file whose text changed since is refused
//! (fix forward with a new file). Safe from two processes at once: after the
//! idempotent bootstrap, a migrator takes a lightweight-transaction lock
//! (with a TTL, so a crashed holder frees it) and waits for the schema to
//! agree across the cluster after each statement.

use crate::cql;
use crate::session::{backend, connect};
use crate::{Replication, ScyllaConfig};
use rookery_store::StoreError;
use scylla::client::session::Session;
use scylla::value::{CqlTimestamp, CqlValue};
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
];

/// How long a migrator waits for another one's lock.
const LOCK_WAIT: Duration = Duration::from_secs(600);

impl Migration {
    /// The file's statements, with the keyspace file's placeholders filled.
    pub fn statements(&self, keyspace: &str, replication: &Replication) -> Vec<String> {
        let text = self
            .text
            .replace("${keyspace}", keyspace)
            .replace("${replication}", &replication.to_cql());
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
    let session = connect(config, None).await?;
    let (first, rest) = MIGRATIONS
        .split_first()
        .expect("at least the keyspace file");
    // The keyspace must exist before anything can live in it; its file is
    // idempotent, so it runs before the lock, like the bootstrap tables.
    run_file(&session, first, &config.keyspace, replication).await?;
    session
        .use_keyspace(&config.keyspace, false)
        .await
        .map_err(backend)?;
    for ddl in cql::BOOTSTRAP {
        ddl_statement(&session, ddl).await?;
    }
    let owner = format!("{}-{}", std::process::id(), now_ms());
    acquire_lock(&session, &owner).await?;
    let result = apply_pending(&session, first, rest, &config.keyspace, replication).await;
    if let Err(e) = release_lock(&session, &owner).await {
        tracing::warn!(error = %e, "cannot release the migration lock; it expires by TTL");
    }
    result
}

async fn apply_pending(
    session: &Session,
    first: &Migration,
    rest: &[Migration],
    keyspace: &str,
    replication: &Replication,
) -> Result<MigrateReport, StoreError> {
    let applied = applied_versions(session).await?;
    let mut report = MigrateReport::default();
    for m in std::iter::once(first).chain(rest) {
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
        if m.version != first.version {
            run_file(session, m, keyspace, replication).await?;
        }
        record(session, m).await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        report.applied.push(m.version);
    }
    Ok(report)
}

async fn run_file(
    session: &Session,
    m: &Migration,
    keyspace: &str,
    replication: &Replication,
) -> Result<(), StoreError> {
    for statement in m.statements(keyspace, replication) {
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

async fn acquire_lock(session: &Session, owner: &str) -> Result<(), StoreError> {
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        let result = session
            .query_unpaged(cql::ACQUIRE_LOCK, (owner,))
            .await
            .map_err(backend)?;
        let (applied, holder) = lwt_outcome(result)?;
        if applied {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Locked(format!(
                "schema_lock held by {}",
                holder.unwrap_or_default()
            )));
        }
        tracing::info!(holder, "another migrator holds the lock; waiting");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn release_lock(session: &Session, owner: &str) -> Result<(), StoreError> {
    session
        .query_unpaged(cql::RELEASE_LOCK, (owner,))
        .await
        .map_err(backend)?;
    Ok(())
}

/// `[applied]` and, when not applied, the text value of the existing row's
/// last column (the lock owner, or a pinned setting).
pub(crate) fn lwt_outcome(
    result: scylla::response::query_result::QueryResult,
) -> Result<(bool, Option<String>), StoreError> {
    let rows = result.into_rows_result().map_err(backend)?;
    let row = rows
        .maybe_first_row::<scylla::value::Row>()
        .map_err(backend)?
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
        let s = m.statements("chat_test", &Replication::Simple(3));
        assert_eq!(
            s,
            [
                "CREATE KEYSPACE IF NOT EXISTS chat_test WITH replication = \
              {'class': 'SimpleStrategy', 'replication_factor': '3'}"
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
