//! Which CQL engine `rookery migrate` talks to, and what that changes in
//! the keyspace it creates.
//!
//! ScyllaDB 6 and later give new NetworkTopologyStrategy keyspaces tablets
//! by default, and a keyspace with tablets refuses lightweight
//! transactions, which the store needs (username and DM-pair claims, the
//! pinned bucket width, the migration lock). So on a ScyllaDB that knows
//! tablets the keyspace is created with `tablets = {'enabled': false}`
//! (vnodes); Apache Cassandra has no such option, and it is left out. A
//! ScyllaDB that enforces tablets for new keyspaces is refused with the
//! setting to change.

use crate::session::{backend, first_row};
use rookery_store::StoreError;
use scylla::client::session::Session;

/// What a ScyllaDB node does about tablets for a new keyspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tablets {
    /// The node predates tablets (no `tablets` keyspace option).
    Unknown,
    /// Known, off unless a keyspace asks for them.
    OffByDefault,
    /// On unless a keyspace turns them off.
    OnByDefault,
    /// Every new keyspace has them (`tablets_mode_for_new_keyspaces: enforced`).
    Enforced,
}

/// The engine behind a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// Apache Cassandra, with its release version.
    Cassandra {
        /// `system.local`'s `release_version`.
        version: String,
    },
    /// ScyllaDB, with its own version (not the Cassandra one it reports in
    /// `system.local`) and its tablets default.
    Scylla {
        /// `system.versions`' `version`.
        version: String,
        /// Its tablets default for new keyspaces.
        tablets: Tablets,
    },
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cassandra { version } => write!(f, "Apache Cassandra {version}"),
            Self::Scylla { version, tablets } => {
                write!(f, "ScyllaDB {version} (tablets: {tablets:?})")
            }
        }
    }
}

impl Engine {
    /// What follows `WITH replication = {...}` in the keyspace's creation.
    pub fn keyspace_options(&self) -> Result<&'static str, StoreError> {
        match self {
            Self::Cassandra { .. }
            | Self::Scylla {
                tablets: Tablets::Unknown,
                ..
            } => Ok(""),
            Self::Scylla {
                tablets: Tablets::OffByDefault | Tablets::OnByDefault,
                ..
            } => Ok(" AND tablets = {'enabled': false}"),
            Self::Scylla {
                tablets: Tablets::Enforced,
                ..
            } => Err(StoreError::Config(format!(
                "{self} enforces tablets for new keyspaces, and tablets refuse the lightweight \
                 transactions Rookery's store needs: set tablets_mode_for_new_keyspaces to \
                 'enabled' or 'disabled', or create the keyspace with vnodes yourself"
            ))),
        }
    }
}

/// Asks the node: `system.versions` exists only on ScyllaDB.
pub(crate) async fn detect(session: &Session) -> Result<Engine, StoreError> {
    let scylla = session
        .query_unpaged("SELECT version FROM system.versions", ())
        .await;
    let Ok(result) = scylla else {
        let version = first_text(session, "SELECT release_version FROM system.local").await?;
        return Ok(Engine::Cassandra { version });
    };
    let version = first_row::<(Option<String>,)>(result)?
        .and_then(|(v,)| v)
        .unwrap_or_default();
    let tablets = scylla_tablets(session).await?;
    Ok(Engine::Scylla { version, tablets })
}

async fn first_text(session: &Session, query: &str) -> Result<String, StoreError> {
    let result = session.query_unpaged(query, ()).await.map_err(backend)?;
    let row = first_row::<(Option<String>,)>(result)?;
    Ok(row.and_then(|(v,)| v).unwrap_or_default())
}

/// From `system.config`: `tablets_mode_for_new_keyspaces` (2025.1 on), else
/// `enable_tablets` (6.x), else none (older).
async fn scylla_tablets(session: &Session) -> Result<Tablets, StoreError> {
    let rows = session
        .query_unpaged("SELECT name, value FROM system.config", ())
        .await
        .map_err(backend)?
        .into_rows_result()
        .map_err(backend)?;
    let mut settings = Vec::new();
    for row in rows.rows::<(String, Option<String>)>().map_err(backend)? {
        let (name, value) = row.map_err(backend)?;
        settings.push((name, value.unwrap_or_default()));
    }
    Ok(tablets_from_config(&settings))
}

/// The tablets default that a node's configuration gives (values as
/// `system.config` shows them: JSON, so strings are quoted).
pub(crate) fn tablets_from_config(settings: &[(String, String)]) -> Tablets {
    let value = |name: &str| {
        settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase())
    };
    if let Some(mode) = value("tablets_mode_for_new_keyspaces") {
        return match mode.as_str() {
            "enforced" => Tablets::Enforced,
            "enabled" => Tablets::OnByDefault,
            _ => Tablets::OffByDefault,
        };
    }
    match value("enable_tablets").as_deref() {
        Some("true") => Tablets::OnByDefault,
        Some(_) => Tablets::OffByDefault,
        None => Tablets::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tablets_default_comes_from_the_newest_setting_the_node_has() {
        let mode = |v| {
            config(&[
                ("tablets_mode_for_new_keyspaces", v),
                ("enable_tablets", "false"),
            ])
        };
        assert_eq!(
            tablets_from_config(&mode("\"enforced\"")),
            Tablets::Enforced
        );
        assert_eq!(
            tablets_from_config(&mode("\"enabled\"")),
            Tablets::OnByDefault
        );
        assert_eq!(
            tablets_from_config(&mode("\"disabled\"")),
            Tablets::OffByDefault
        );
        let six = config(&[("enable_tablets", "true")]);
        assert_eq!(tablets_from_config(&six), Tablets::OnByDefault);
        let five = config(&[("enable_ipv6_dns_lookup", "false")]);
        assert_eq!(tablets_from_config(&five), Tablets::Unknown);
    }

    #[test]
    fn only_a_scylla_that_knows_tablets_gets_them_turned_off() {
        let cassandra = Engine::Cassandra {
            version: "5.0.8".into(),
        };
        assert_eq!(cassandra.keyspace_options().unwrap(), "");
        let scylla = |tablets| Engine::Scylla {
            version: "2025.1.0".into(),
            tablets,
        };
        assert_eq!(scylla(Tablets::Unknown).keyspace_options().unwrap(), "");
        for known in [Tablets::OffByDefault, Tablets::OnByDefault] {
            let options = scylla(known).keyspace_options().unwrap();
            assert_eq!(options, " AND tablets = {'enabled': false}");
        }
        let refused = scylla(Tablets::Enforced).keyspace_options().unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("tablets_mode_for_new_keyspaces")
        );
    }
}
