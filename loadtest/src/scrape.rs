//! The server's own counters of the write path, scraped from its
//! Prometheus endpoint before and after the measured phase: group commits
//! of the bus (one fsync each), the records they carried, and the store's
//! syncs. What a run costs in fsyncs is the figure a write-heavy product is
//! judged by, and only the server knows it.

use serde::{Deserialize, Serialize};

/// Counter totals at one moment (each summed over its label sets).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    /// Bus group commits (`rookery_bus_group_commit_records_count`).
    pub bus_commits: f64,
    /// Records they carried (`rookery_bus_group_commit_records_sum`).
    pub bus_records: f64,
    /// Store syncs (`rookery_store_sync_duration_seconds_count`).
    pub store_syncs: f64,
}

/// What the measured phase cost in fsyncs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WritePath {
    /// Bus group commits (fsyncs) per second.
    pub bus_commits_per_sec: f64,
    /// Records per bus group commit.
    pub records_per_bus_commit: f64,
    /// Store syncs per second.
    pub store_syncs_per_sec: f64,
}

impl Counters {
    /// Totals read from a Prometheus text exposition.
    pub fn parse(text: &str) -> Self {
        let mut out = Self::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let name = series.split('{').next().unwrap_or(series);
            let slot = match name {
                "rookery_bus_group_commit_records_count" => &mut out.bus_commits,
                "rookery_bus_group_commit_records_sum" => &mut out.bus_records,
                "rookery_store_sync_duration_seconds_count" => &mut out.store_syncs,
                _ => continue,
            };
            *slot += value;
        }
        out
    }

    /// Fetches and parses `url`; `None` if it cannot be read.
    pub async fn scrape(url: &str) -> Option<Self> {
        let response = reqwest::get(url).await.ok()?.error_for_status().ok()?;
        Some(Self::parse(&response.text().await.ok()?))
    }

    /// The rates between `self` (start) and `end`, over `secs`.
    pub fn until(&self, end: &Self, secs: f64) -> WritePath {
        let commits = end.bus_commits - self.bus_commits;
        let records = end.bus_records - self.bus_records;
        WritePath {
            bus_commits_per_sec: commits / secs.max(f64::MIN_POSITIVE),
            records_per_bus_commit: if commits > 0.0 {
                records / commits
            } else {
                0.0
            },
            store_syncs_per_sec: (end.store_syncs - self.store_syncs) / secs.max(f64::MIN_POSITIVE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_label_sets_and_ignores_other_series() {
        let text = "# TYPE rookery_bus_group_commit_records summary\n\
            rookery_bus_group_commit_records_sum 120\n\
            rookery_bus_group_commit_records_count 10\n\
            rookery_store_sync_duration_seconds_count{store=\"embedded\"} 3\n\
            rookery_store_sync_duration_seconds_count{store=\"other\"} 2\n\
            rookery_store_sync_duration_seconds_sum{store=\"embedded\"} 0.5\n\
            rookery_bus_group_commit_records{quantile=\"0.5\"} 12\n\
            garbage line\n";
        let c = Counters::parse(text);
        let want = Counters {
            bus_commits: 10.0,
            bus_records: 120.0,
            store_syncs: 5.0,
        };
        assert_eq!(c, want);
        let later = Counters {
            bus_commits: 30.0,
            bus_records: 520.0,
            store_syncs: 9.0,
        };
        let rates = c.until(&later, 2.0);
        assert_eq!(rates.bus_commits_per_sec, 10.0);
        assert_eq!(rates.records_per_bus_commit, 20.0);
        assert_eq!(rates.store_syncs_per_sec, 2.0);
        assert_eq!(c.until(&c, 2.0).records_per_bus_commit, 0.0);
    }
}
