//! The send path's nonce cache, and the hit/miss counter every cache of
//! the edge reports to (permissions are in [`crate::perms`]).
//!
//! Nonces map `(user, nonce)` to the message they created and coalesce
//! concurrent retries of the same send into one publish.

use crate::metrics as m;
use moka::future::Cache;
use rookery_proto::Id;
use rookery_proto::model::Message;
use std::sync::Arc;
use std::time::Duration;

pub struct Caches {
    pub nonces: Cache<(Id, String), Arc<Message>>,
}

impl Caches {
    pub fn new() -> Self {
        Self {
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
