//! Versions of computed permissions: a global generation, and the
//! generation at which each guild was last invalidated. A computed entry
//! records the generation noted before it read anything, and counts only
//! if that is not older than its guild's last invalidation. This makes an
//! invalidation take effect the moment it returns, whatever the cache
//! does with removals in the background (moka applies predicate-based
//! removals lazily).
//!
//! Removing a cache's entries and moving the generation happen under this
//! lock's write side, and inserting a loaded value (after checking that
//! the generation has not moved) under its read side, so an insert can
//! never land between an invalidation's removal and its bump. Nothing
//! else is locked while it is held (moka's own locks aside).
//!
//! A guild's record is needed only as long as entries computed before it
//! can live ([`super::MAX_ENTRY_AGE`]); older records are pruned.

use rookery_proto::Id;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Pruning looks at the records at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub(super) struct Versions {
    state: RwLock<State>,
    max_age: Duration,
}

struct State {
    generation: u64,
    /// Guild → (generation of its last invalidation, when).
    invalidated: HashMap<Id, (u64, Instant)>,
    pruned: Instant,
}

impl Versions {
    pub(super) fn new(max_age: Duration) -> Self {
        Self {
            state: RwLock::new(State {
                generation: 0,
                invalidated: HashMap::new(),
                pruned: Instant::now(),
            }),
            max_age,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The generation now: note it before reading anything a cached value
    /// is computed from.
    pub(super) fn now(&self) -> u64 {
        self.read().generation
    }

    /// Runs `insert` if the generation is still `since`, atomically with
    /// respect to [`Versions::invalidate`].
    pub(super) fn if_unchanged(&self, since: u64, insert: impl FnOnce()) {
        let st = self.read();
        if st.generation == since {
            insert();
        }
    }

    /// Runs `remove` (dropping cached entries) and starts a new generation,
    /// recording `guild` as invalidated in it.
    pub(super) fn invalidate(&self, guild: Id, remove: impl FnOnce()) {
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        remove();
        st.generation += 1;
        let generation = st.generation;
        st.invalidated.insert(guild, (generation, Instant::now()));
        if st.pruned.elapsed() >= PRUNE_EVERY {
            let max_age = self.max_age;
            st.invalidated.retain(|_, (_, at)| at.elapsed() < max_age);
            st.pruned = Instant::now();
        }
    }

    /// Whether a value of `guild` computed from generation `since` is
    /// still current.
    pub(super) fn current(&self, guild: Id, since: u64) -> bool {
        self.read()
            .invalidated
            .get(&guild)
            .is_none_or(|(at, _)| since >= *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_computed_before_its_guilds_invalidation_is_not_current() {
        let v = Versions::new(Duration::from_secs(600));
        let (a, b) = (Id(1), Id(2));
        let before = v.now();
        let mut inserted = false;
        v.invalidate(a, || {});
        v.if_unchanged(before, || inserted = true);
        assert!(
            !inserted,
            "a load from before the invalidation is not cached"
        );
        assert!(!v.current(a, before));
        assert!(v.current(b, before), "another guild is unaffected");
        assert!(v.current(a, v.now()), "computed after it: current");
        v.invalidate(b, || {});
        assert!(v.current(a, v.now() - 1));
    }
}
