//! Rookery's load generator, built only on the wire contract
//! (`rookery-proto`, through `rookery-client`): it never links server code.
//!
//! A run is split into parts — one per process, each with its own source
//! addresses and its own disjoint set of channels — so a part can check on
//! its own that every acknowledged message reached every subscriber, and
//! parts' reports simply add up. See `loadtest/README.md`.

mod conn;
pub mod procfs;
pub mod report;
mod scenarios;
pub mod scrape;
mod setup;

pub use scenarios::{Barrier, Scenario, Step, run_part};

use rookery_client::Api;
use rookery_proto::codec::Encoding;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::AtomicU64;

/// The server under load and this part's place in the run.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port`.
    pub http: String,
    /// Gateway encoding.
    pub encoding: Encoding,
    /// Ask for `compress=zlib-stream` (Discord's transport compression).
    pub zlib: bool,
    /// Source addresses per part (127.0.0.x).
    pub sources: u8,
    /// This part's index.
    pub part: u32,
    /// Number of parts.
    pub parts: u32,
    /// Distinguishes this run's usernames from earlier runs'.
    pub run_id: String,
    /// Gateway intents every connection identifies with (`None`: all).
    pub intents: Option<u64>,
    /// How long receivers keep reading after senders stop.
    pub drain: std::time::Duration,
}

impl Target {
    /// IDENTIFY with this target's intents and wait for READY.
    pub async fn identify(
        &self,
        g: &mut rookery_client::Gateway,
        token: &str,
    ) -> rookery_client::Result<rookery_proto::gateway::Ready> {
        self.identify_after(g, token, Default::default()).await
    }

    /// IDENTIFY asking for what was posted after `last_message_ids` (by
    /// channel), with this target's intents; waits for READY.
    pub async fn identify_after(
        &self,
        g: &mut rookery_client::Gateway,
        token: &str,
        last_message_ids: std::collections::BTreeMap<
            rookery_proto::ChannelId,
            rookery_proto::MessageId,
        >,
    ) -> rookery_client::Result<rookery_proto::gateway::Ready> {
        let identify = rookery_proto::gateway::Identify {
            token: token.into(),
            last_message_ids,
            presence: None,
            intents: self.intents.map(rookery_proto::intents::Intents),
        };
        g.identify_with(&identify).await
    }

    /// `ws://host:port`.
    pub fn ws(&self) -> String {
        self.http.replacen("http", "ws", 1)
    }

    /// The source address of this part's connection `i`: parts use disjoint
    /// ranges of 127.0.0.2..=127.0.0.254.
    pub fn source(&self, i: usize) -> IpAddr {
        let n = usize::from(self.sources.max(1));
        let host = 2 + (self.part as usize * n + i % n) % 253;
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, host as u8))
    }

    /// An unauthenticated REST client.
    pub fn api(&self) -> Api {
        Api::new(self.http.clone())
    }

    /// This part's share of `total` items (the first parts take the rest).
    pub fn share(&self, total: usize) -> usize {
        let parts = self.parts.max(1) as usize;
        total / parts + usize::from((self.part as usize) < total % parts)
    }
}

/// Phases every connection follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected and heartbeating; nothing sent yet.
    Setup,
    /// The measured phase: senders send.
    Go,
    /// Sending stopped; still receiving.
    Drain,
    /// Close everything and report.
    Stop,
}

/// Live counters for progress lines.
#[derive(Debug, Default)]
pub struct Progress {
    /// Connections identified.
    pub connected: AtomicU64,
    /// Messages sent.
    pub sent: AtomicU64,
    /// Messages acknowledged.
    pub acked: AtomicU64,
    /// Deliveries received.
    pub delivered: AtomicU64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(part: u32, parts: u32) -> Target {
        Target {
            http: "http://127.0.0.1:1".into(),
            encoding: Encoding::Json,
            zlib: false,
            sources: 4,
            part,
            parts,
            run_id: "t".into(),
            intents: None,
            drain: std::time::Duration::from_secs(3),
        }
    }

    #[test]
    fn parts_share_work_and_use_disjoint_sources() {
        let shares: Vec<usize> = (0..3).map(|p| target(p, 3).share(10)).collect();
        assert_eq!(shares, vec![4, 3, 3]);
        let a: Vec<IpAddr> = (0..8).map(|i| target(0, 2).source(i)).collect();
        let b: Vec<IpAddr> = (0..8).map(|i| target(1, 2).source(i)).collect();
        assert!(a.iter().all(|ip| !b.contains(ip)));
        assert_eq!(a[0], IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(a[4], a[0], "connections cycle over the part's sources");
        assert_eq!(target(0, 1).ws(), "ws://127.0.0.1:1");
    }
}
