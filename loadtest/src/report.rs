//! Results: what each part (process) measures, how parts merge, and the
//! final JSON report.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latency histogram in microseconds, mergeable across processes.
///
/// Allocated on first use (one per connection would otherwise cost every
/// idle connection tens of KiB) with 2 significant digits (1 % precision).
#[derive(Debug, Clone, Default)]
pub struct Latency(Option<Box<Histogram<u64>>>);

impl Latency {
    fn histogram(&mut self) -> &mut Histogram<u64> {
        // 1 µs .. 60 s.
        self.0.get_or_insert_with(|| {
            Box::new(Histogram::new_with_bounds(1, 60_000_000, 2).expect("valid bounds"))
        })
    }

    /// Records one sample.
    pub fn record(&mut self, d: std::time::Duration) {
        let us = d.as_micros().clamp(1, 60_000_000) as u64;
        self.histogram().saturating_record(us);
    }

    fn record_n(&mut self, us: u64, n: u64) {
        self.histogram()
            .saturating_record_n(us.clamp(1, 60_000_000), n);
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Latency) {
        if let Some(o) = &other.0 {
            self.histogram().add(o.as_ref()).expect("same bounds");
        }
    }

    /// Percentiles in milliseconds.
    pub fn summary(&self) -> Percentiles {
        let Some(h) = &self.0 else {
            return Percentiles::default();
        };
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50: ms(0.5),
            p90: ms(0.9),
            p99: ms(0.99),
            p999: ms(0.999),
            max: h.max() as f64 / 1000.0,
        }
    }
}

/// `(value, count)` pairs, so parts can ship histograms as JSON.
impl Serialize for Latency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(u64, u64)> = match &self.0 {
            Some(h) => h
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
            None => Vec::new(),
        };
        pairs.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut h = Latency::default();
        for (value, count) in Vec::<(u64, u64)>::deserialize(d)? {
            h.record_n(value, count);
        }
        Ok(h)
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
}

/// What one part measured. Parts own disjoint channels, so every count
/// (including "missing") is complete within a part and parts just add up.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartReport {
    /// Gateway connections identified.
    pub connections: u64,
    /// Connections that failed to connect or identify.
    pub connect_errors: u64,
    /// Messages sent.
    pub sent: u64,
    /// Messages acknowledged (SEND_ACK).
    pub acked: u64,
    /// Sends refused (SEND_ERROR) or lost with their connection.
    pub send_errors: u64,
    /// MESSAGE_CREATE dispatches received (distinct per receiver).
    pub delivered: u64,
    /// Deliveries an acked message should have produced.
    pub expected: u64,
    /// Expected deliveries that never arrived.
    pub missing: u64,
    /// Dispatches of an id a receiver already had.
    pub duplicates: u64,
    /// History reads (chat).
    pub history_reads: u64,
    /// Resumes that ended in RESUMED (chat).
    pub resumes: u64,
    /// Resumes answered with INVALID_SESSION or failing (chat).
    pub resume_failures: u64,
    /// Reconnections by IDENTIFY with the last message ids held (storm).
    #[serde(default)]
    pub reidentifies: u64,
    /// Send → receive, every delivery.
    pub delivery_latency: Latency,
    /// Send → receive at the channel's last member, per message.
    #[serde(default)]
    pub last_delivery_latency: Latency,
    /// Send → SEND_ACK.
    pub ack_latency: Latency,
    /// REST history reads.
    pub history_latency: Latency,
    /// Disconnect → RESUMED (chat), or drop → RESUMED or READY (storm).
    pub resume_latency: Latency,
}

impl PartReport {
    /// Adds another part's results.
    pub fn merge(&mut self, o: &PartReport) {
        self.connections += o.connections;
        self.connect_errors += o.connect_errors;
        self.sent += o.sent;
        self.acked += o.acked;
        self.send_errors += o.send_errors;
        self.delivered += o.delivered;
        self.expected += o.expected;
        self.missing += o.missing;
        self.duplicates += o.duplicates;
        self.history_reads += o.history_reads;
        self.resumes += o.resumes;
        self.resume_failures += o.resume_failures;
        self.reidentifies += o.reidentifies;
        self.delivery_latency.merge(&o.delivery_latency);
        self.last_delivery_latency.merge(&o.last_delivery_latency);
        self.ack_latency.merge(&o.ack_latency);
        self.history_latency.merge(&o.history_latency);
        self.resume_latency.merge(&o.resume_latency);
    }
}

/// Server-side resource use, from /proc of the server's pid.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerUsage {
    /// RSS before the connections opened, KiB.
    pub rss_before_kib: u64,
    /// RSS with every connection identified, KiB.
    pub rss_loaded_kib: u64,
    /// Highest RSS sampled (every 100 ms) during the measured phase, KiB.
    #[serde(default)]
    pub rss_peak_kib: u64,
    /// (loaded − before) / connections, bytes.
    pub rss_per_connection_bytes: u64,
    /// CPU used during the measured phase, percent of one core.
    pub cpu_percent: f64,
    /// Bytes the server sent to storage during the measured phase, per
    /// acked message.
    #[serde(default)]
    pub disk_bytes_per_acked: f64,
    /// Its fsyncs, when `--server-metrics` was given.
    #[serde(default)]
    pub write_path: Option<crate::scrape::WritePath>,
}

/// The final report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// The command line's parameters.
    pub params: serde_json::Value,
    /// Seconds of the measured phase.
    pub measured_secs: f64,
    /// Delivered dispatches per second over the measured phase.
    pub deliveries_per_sec: f64,
    /// Acked messages per second over the measured phase.
    pub acked_per_sec: f64,
    /// Summaries.
    pub delivery_latency_ms: Percentiles,
    /// Per message, send → receive at the last member to get it.
    #[serde(default)]
    pub last_delivery_latency_ms: Percentiles,
    /// Summaries.
    pub ack_latency_ms: Percentiles,
    /// Summaries.
    pub history_latency_ms: Percentiles,
    /// Summaries.
    pub resume_latency_ms: Percentiles,
    /// Server resources, when its pid was given.
    pub server: Option<ServerUsage>,
    /// CPU of the other processes named with `--cpu-of`, % of one core.
    #[serde(default)]
    pub process_cpu_percent: std::collections::BTreeMap<String, f64>,
    /// Raw counters and histograms.
    pub totals: PartReport,
}

impl Report {
    /// Builds the final report from merged totals.
    pub fn new(
        scenario: &str,
        params: serde_json::Value,
        measured_secs: f64,
        totals: PartReport,
        server: Option<ServerUsage>,
    ) -> Self {
        let per_sec = |n: u64| {
            if measured_secs > 0.0 {
                n as f64 / measured_secs
            } else {
                0.0
            }
        };
        Self {
            scenario: scenario.into(),
            params,
            measured_secs,
            deliveries_per_sec: per_sec(totals.delivered),
            acked_per_sec: per_sec(totals.acked),
            delivery_latency_ms: totals.delivery_latency.summary(),
            last_delivery_latency_ms: totals.last_delivery_latency.summary(),
            ack_latency_ms: totals.ack_latency.summary(),
            history_latency_ms: totals.history_latency.summary(),
            resume_latency_ms: totals.resume_latency.summary(),
            server,
            process_cpu_percent: Default::default(),
            totals,
        }
    }

    /// True when no acknowledged message went undelivered.
    pub fn complete(&self) -> bool {
        self.totals.missing == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn histograms_survive_json_and_merge() {
        let mut a = PartReport::default();
        for ms in 1..=100 {
            a.delivery_latency.record(Duration::from_millis(ms));
        }
        a.delivered = 100;
        let mut b: PartReport = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        b.merge(&a);
        let s = b.delivery_latency.summary();
        assert_eq!((s.count, b.delivered), (200, 200));
        assert!((49.0..=51.0).contains(&s.p50), "{s:?}");
        assert!((98.0..=101.0).contains(&s.p99), "{s:?}");
        assert!((99.0..=101.0).contains(&s.max), "1 % precision: {s:?}");
    }
}
