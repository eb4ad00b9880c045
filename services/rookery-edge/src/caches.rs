//! The send path's nonce cache, and the hit/miss counter every cache of
//! the edge reports to (permissions are in [`crate::perms`]).
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

impl Caches {
    pub fn new() -> Self {
        Self {
            nonces: Cache::builder()
                .max_capacity(200_000)
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
