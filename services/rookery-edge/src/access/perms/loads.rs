//! Concurrent loads of one cache key, shared. After a role change every
//! session of the guild recomputes its view of each busy channel at once;
//! each computation misses the same guild and channel entries, and without
//! this each would read them from the store.
//!
//! A load is shared only among callers that noted the same generation
//! ([`super::versions`]): a caller that arrives after an invalidation must
//! not be handed what a load started before it read, so it starts its own.

use crate::EdgeError;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

type Load<V> = Shared<BoxFuture<'static, Result<Option<V>, EdgeError>>>;

/// The loads in flight of one cache.
pub(super) struct Loads<K, V> {
    in_flight: Mutex<HashMap<(K, u64), Load<V>>>,
}

impl<K, V> Loads<K, V>
where
    K: Hash + Eq + Clone,
    V: Clone,
{
    pub(super) fn new() -> Self {
        Self {
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The result of the load of `key` at generation `since`: one in
    /// flight, or `start()`ed here (and forgotten once it is done, or its
    /// starter gives up on it).
    pub(super) async fn load(
        &self,
        key: K,
        since: u64,
        start: impl FnOnce() -> BoxFuture<'static, Result<Option<V>, EdgeError>>,
    ) -> Result<Option<V>, EdgeError> {
        let slot = (key, since);
        let (load, _started) = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            match in_flight.get(&slot) {
                Some(load) => (load.clone(), None),
                None => {
                    let load = start().shared();
                    in_flight.insert(slot.clone(), load.clone());
                    (load, Some(Started { loads: self, slot }))
                }
            }
        };
        load.await
    }

    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

/// Forgets the load it started when dropped: done, failed or abandoned.
struct Started<'a, K: Hash + Eq, V> {
    loads: &'a Loads<K, V>,
    slot: (K, u64),
}

impl<K: Hash + Eq, V> Drop for Started<'_, K, V> {
    fn drop(&mut self) {
        let mut in_flight = self
            .loads
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        in_flight.remove(&self.slot);
    }
}
