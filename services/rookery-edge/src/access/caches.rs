//! The send path's nonce cache, and the hit/miss counter every cache of
//! the edge reports to (permissions are in [`crate::access::perms`]).
//!
//! Nonces map `(user, nonce)` to the message they created and coalesce
//! concurrent retries of the same send into one publish. Slow mode maps
//! `(channel, user)` to when the member may send there again; each entry
//! expires at that time, so a present entry is a refusal.

use crate::metrics as m;
use moka::future::Cache;
use rookery_proto::Id;
use rookery_proto::model::Message;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Caches {
    pub nonces: Cache<(Id, String), Arc<Message>>,
    pub slow_mode: Cache<(Id, Id), Instant>,
}

/// A slow-mode entry lives until the member may send again.
struct UntilAllowed;

impl moka::Expiry<(Id, Id), Instant> for UntilAllowed {
    fn expire_after_create(&self, _: &(Id, Id), until: &Instant, now: Instant) -> Option<Duration> {
        Some(until.saturating_duration_since(now))
    }
}

/// What a nonce entry holds, in bytes (the message's text dominates).
fn nonce_weight((_, nonce): &(Id, String), m: &Arc<Message>) -> u32 {
    let size = 256 + nonce.len() + m.content.len();
    u32::try_from(size).unwrap_or(u32::MAX)
}

impl Caches {
    /// Caches whose nonce entries weigh at most `nonce_bytes` together.
    pub fn new(nonce_bytes: u64) -> Self {
        Self {
            nonces: Cache::builder()
                .max_capacity(nonce_bytes)
                .weigher(nonce_weight)
                .time_to_live(Duration::from_secs(600))
                .build(),
            slow_mode: Cache::builder()
                .max_capacity(1_000_000)
                .expire_after(UntilAllowed)
                .build(),
        }
    }
}

/// Counts a lookup in `cache`.
pub fn record(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!(m::CACHE_REQUESTS, "cache" => cache, "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::model::User;

    #[tokio::test]
    async fn nonce_entries_are_bounded_by_their_weight_not_their_count() {
        let caches = Caches::new(64 * 1024);
        let author = User {
            id: Id(1),
            username: "u".into(),
        };
        for i in 0..100 {
            let long = "x".repeat(2000);
            let m = Message::new(Id(i), (Id(1), Id(2)), author.clone(), long);
            caches
                .nonces
                .insert((Id(1), i.to_string()), Arc::new(m))
                .await;
        }
        caches.nonces.run_pending_tasks().await;
        let weight = caches.nonces.weighted_size();
        assert!(weight <= 64 * 1024, "{weight} bytes held");
        assert!(caches.nonces.entry_count() < 100);
    }
}
