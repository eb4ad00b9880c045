//! Connection settings, parsed from one `scylla://` URL so a deployment
//! configures the store with a single value (`--store` / `ROOKERY_STORE`):
//!
//! ```text
//! scylla://[user:password@]host:port[,host:port...][/keyspace][?option=value&...]
//! ```
//!
//! Options: `consistency` (default `local_quorum`), `dc` (the local
//! datacenter, preferred by the load balancer), `timeout_ms` (per request,
//! default 2000), `speculative_ms` (delay before a speculative retry of an
//! idempotent request, default 100, `0` disables), `write_concurrency`
//! (in-flight writes per batch, default 64), `batch_rows` (most rows of
//! one partition written in one request, default 64; 1 sends each row
//! alone), `connect_timeout_ms` (default
//! 5000), `schema_timeout_ms` (per request of `rookery migrate`, whose
//! schema changes wait for every node; default 60000).

use rookery_store::StoreError;
use scylla::statement::Consistency;
use std::time::Duration;

/// Settings of a ScyllaDB store.
#[derive(Clone, PartialEq, Eq)]
pub struct ScyllaConfig {
    /// Contact points, `host:port`.
    pub nodes: Vec<String>,
    /// Keyspace holding the tables (`schema/`).
    pub keyspace: String,
    /// Consistency of every read and write (LWTs use LOCAL_SERIAL).
    pub consistency: Consistency,
    /// Datacenter to prefer; without it every node is a candidate.
    pub local_dc: Option<String>,
    /// Client-side timeout of one request, retries included.
    pub request_timeout: Duration,
    /// Delay before a speculative execution of an idempotent request.
    pub speculative_delay: Option<Duration>,
    /// Writes of one batch in flight at once.
    pub write_concurrency: usize,
    /// Most new-message rows of one partition in one request.
    pub batch_rows: usize,
    /// Bound on establishing the session.
    pub connect_timeout: Duration,
    /// Client-side timeout of each request of `rookery migrate`: a schema
    /// change takes seconds where a read takes milliseconds.
    pub schema_timeout: Duration,
    /// Username and password for PasswordAuthenticator.
    pub credentials: Option<(String, String)>,
    /// Message bucket width; pinned in the keyspace on first use.
    pub bucket_ms: u64,
}

impl std::fmt::Debug for ScyllaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScyllaConfig")
            .field("nodes", &self.nodes)
            .field("keyspace", &self.keyspace)
            .field("consistency", &self.consistency)
            .field("local_dc", &self.local_dc)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

/// Default keyspace name.
pub const DEFAULT_KEYSPACE: &str = "rookery";

fn invalid(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Config(format!("invalid scylla URL: {detail}"))
}

impl ScyllaConfig {
    /// Parses a `scylla://` URL (see the module docs).
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let rest = url
            .strip_prefix("scylla://")
            .ok_or_else(|| invalid("it must start with scylla://"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, keyspace) = rest.split_once('/').unwrap_or((rest, DEFAULT_KEYSPACE));
        let (credentials, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => {
                let (user, pass) = userinfo
                    .split_once(':')
                    .ok_or_else(|| invalid("credentials must be user:password"))?;
                (Some((user.to_owned(), pass.to_owned())), hosts)
            }
            None => (None, authority),
        };
        let nodes = hosts
            .split(',')
            .map(|h| parse_node(h.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let keyspace = if keyspace.is_empty() {
            DEFAULT_KEYSPACE
        } else {
            keyspace
        };
        let mut config = Self {
            nodes,
            keyspace: valid_keyspace(keyspace)?.to_owned(),
            consistency: Consistency::LocalQuorum,
            local_dc: None,
            request_timeout: Duration::from_millis(2000),
            speculative_delay: Some(Duration::from_millis(100)),
            write_concurrency: 64,
            batch_rows: 64,
            connect_timeout: Duration::from_millis(5000),
            schema_timeout: Duration::from_secs(60),
            credentials,
            bucket_ms: rookery_store::DEFAULT_BUCKET_MS,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| invalid(format!("option {pair:?} has no value")))?;
            config.set(k, v)?;
        }
        Ok(config)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let ms = |v: &str| {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| invalid(format!("{key}={v:?} is not a number of milliseconds")))
        };
        match key {
            "consistency" => self.consistency = parse_consistency(value)?,
            "dc" => self.local_dc = Some(value.to_owned()),
            "timeout_ms" => self.request_timeout = ms(value)?,
            "connect_timeout_ms" => self.connect_timeout = ms(value)?,
            "schema_timeout_ms" => self.schema_timeout = ms(value)?,
            "speculative_ms" => {
                self.speculative_delay = Some(ms(value)?).filter(|d| !d.is_zero());
            }
            "write_concurrency" => {
                self.write_concurrency = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid(format!("write_concurrency={value:?}")))?;
            }
            "batch_rows" => {
                self.batch_rows = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| invalid(format!("batch_rows={value:?} (1 to 1024)")))?;
            }
            other => return Err(invalid(format!("unknown option {other:?}"))),
        }
        Ok(())
    }
}

fn parse_node(host: &str) -> Result<String, StoreError> {
    let (name, port) = host
        .rsplit_once(':')
        .ok_or_else(|| invalid(format!("node {host:?} needs host:port")))?;
    if name.is_empty() || port.parse::<u16>().is_err() {
        return Err(invalid(format!("node {host:?} needs host:port")));
    }
    Ok(host.to_owned())
}

/// Keyspace names are interpolated into DDL, so only CQL's unquoted
/// identifier form is accepted.
pub(crate) fn valid_keyspace(name: &str) -> Result<&str, StoreError> {
    let ok = (1..=48).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(invalid(format!(
            "keyspace {name:?} must be 1-48 of [a-z0-9_], starting with a letter"
        )))
    }
}

fn parse_consistency(value: &str) -> Result<Consistency, StoreError> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "one" => Consistency::One,
        "two" => Consistency::Two,
        "three" => Consistency::Three,
        "quorum" => Consistency::Quorum,
        "all" => Consistency::All,
        "local_quorum" => Consistency::LocalQuorum,
        "each_quorum" => Consistency::EachQuorum,
        "local_one" => Consistency::LocalOne,
        _ => return Err(invalid(format!("unknown consistency {value:?}"))),
    })
}

/// Keyspace replication for `rookery migrate --replication`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// `simple:N`: SimpleStrategy, for development and single-DC tests.
    Simple(u8),
    /// `dc1:3,dc2:3`: NetworkTopologyStrategy, for production.
    NetworkTopology(Vec<(String, u8)>),
}

impl std::str::FromStr for Replication {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        let bad = || {
            StoreError::Config(format!(
                "invalid replication {s:?}: use simple:N or dc1:N,dc2:N"
            ))
        };
        let factor = |v: &str| v.parse::<u8>().ok().filter(|n| *n > 0).ok_or_else(bad);
        if let Some(n) = s.strip_prefix("simple:") {
            return Ok(Self::Simple(factor(n)?));
        }
        let dcs = s
            .split(',')
            .map(|pair| {
                let (dc, n) = pair.split_once(':').ok_or_else(bad)?;
                let named = !dc.is_empty()
                    && dc
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
                if !named {
                    return Err(bad());
                }
                Ok((dc.to_owned(), factor(n)?))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::NetworkTopology(dcs))
    }
}

impl Replication {
    /// The CQL map literal for `WITH replication = ...`.
    pub fn to_cql(&self) -> String {
        match self {
            Self::Simple(n) => {
                format!("{{'class': 'SimpleStrategy', 'replication_factor': '{n}'}}")
            }
            Self::NetworkTopology(dcs) => {
                let mut out = String::from("{'class': 'NetworkTopologyStrategy'");
                for (dc, n) in dcs {
                    out.push_str(&format!(", '{dc}': '{n}'"));
                }
                out.push('}');
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_sets_every_field() {
        let c = ScyllaConfig::from_url(
            "scylla://app:s3cret@10.0.0.1:9042,10.0.0.2:9042/chat?consistency=quorum&dc=eu1\
             &timeout_ms=500&speculative_ms=0&write_concurrency=8&batch_rows=16&connect_timeout_ms=900\
             &schema_timeout_ms=30000",
        )
        .unwrap();
        assert_eq!(c.nodes, ["10.0.0.1:9042", "10.0.0.2:9042"]);
        assert_eq!(c.keyspace, "chat");
        assert_eq!(c.consistency, Consistency::Quorum);
        assert_eq!(c.local_dc.as_deref(), Some("eu1"));
        assert_eq!(c.request_timeout, Duration::from_millis(500));
        assert_eq!(c.speculative_delay, None);
        assert_eq!(c.write_concurrency, 8);
        assert_eq!(c.batch_rows, 16);
        assert_eq!(c.connect_timeout, Duration::from_millis(900));
        assert_eq!(c.schema_timeout, Duration::from_secs(30));
        assert_eq!(c.credentials, Some(("app".into(), "s3cret".into())));
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "debug hides the password"
        );
    }

    #[test]
    fn defaults_are_local_quorum_on_the_rookery_keyspace() {
        let c = ScyllaConfig::from_url("scylla://localhost:9042").unwrap();
        assert_eq!(c.keyspace, DEFAULT_KEYSPACE);
        assert_eq!(c.consistency, Consistency::LocalQuorum);
        assert_eq!(c.speculative_delay, Some(Duration::from_millis(100)));
        assert_eq!(c.credentials, None);
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        for (url, needle) in [
            ("cassandra://h:9042", "scylla://"),
            ("scylla://h", "host:port"),
            ("scylla://h:notaport", "host:port"),
            ("scylla://h:9042/Bad-Name", "keyspace"),
            ("scylla://h:9042/x;DROP", "keyspace"),
            ("scylla://h:9042?consistency=most", "consistency"),
            ("scylla://h:9042?colour=blue", "unknown option"),
            ("scylla://h:9042?timeout_ms=soon", "milliseconds"),
            ("scylla://h:9042?write_concurrency=0", "write_concurrency"),
            ("scylla://h:9042?batch_rows=0", "batch_rows"),
            ("scylla://h:9042?batch_rows=5000", "batch_rows"),
            ("scylla://user@h:9042", "user:password"),
        ] {
            let err = ScyllaConfig::from_url(url).unwrap_err().to_string();
            assert!(err.contains(needle), "{url}: {err}");
        }
    }

    #[test]
    fn replication_renders_both_strategies_and_refuses_junk() {
        let simple: Replication = "simple:1".parse().unwrap();
        assert_eq!(
            simple.to_cql(),
            "{'class': 'SimpleStrategy', 'replication_factor': '1'}"
        );
        let nts: Replication = "eu1:3,us-east:2".parse().unwrap();
        assert_eq!(
            nts.to_cql(),
            "{'class': 'NetworkTopologyStrategy', 'eu1': '3', 'us-east': '2'}"
        );
        for junk in ["simple:0", "simple:x", "eu1", "eu'1:3", ":3", "eu1:300"] {
            assert!(junk.parse::<Replication>().is_err(), "{junk}");
        }
    }
}
