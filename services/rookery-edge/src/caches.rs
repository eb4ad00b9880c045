//! moka caches for the hot reads of the write path.
//!
//! Only facts that cannot turn false in this version are cached: positive
//! memberships (nobody can leave a guild yet) and channels (immutable), so no
//! stale grant can survive. Nonces map `(user, nonce)` to the message they
//! created and coalesce concurrent retries of the same send into one publish.

use crate::metrics as m;
use moka::future::Cache;
use rookery_proto::Id;
use rookery_proto::model::{Channel, Message};
use std::sync::Arc;
use std::time::Duration;

pub struct Caches {
    pub members: Cache<(Id, Id), ()>,
    pub channels: Cache<Id, Channel>,
    pub nonces: Cache<(Id, String), Arc<Message>>,
}

impl Caches {
    pub fn new() -> Self {
        Self {
            members: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            channels: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            nonces: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }
}

/// Counts a lookup in `cache`.
pub fn record(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!(m::CACHE_REQUESTS, "cache" => cache, "result" => result).increment(1);
}
