//! Token revocation: the token generation each account is at, as this edge
//! knows it. A token carries the generation it was issued under
//! ([`crate::access::auth`]); it is refused once the account's has moved past it.
//!
//! Generations only grow, so what the cache holds is merged with `max`:
//! a store read that started before a revocation and lands after the
//! revocation's event cannot put the old generation back. A token's own
//! generation is genuine (it is signed), so a token newer than the cache
//! teaches the cache too. Entries expire after [`MAX_ENTRY_AGE`], which
//! bounds how long an edge that missed a revocation event (it cannot,
//! short of a bug) would keep admitting old tokens.

use crate::EdgeError;
use crate::access::caches::record;
use moka::ops::compute::Op;
use moka::sync::Cache;
use rookery_proto::UserId;
use rookery_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// How long a known generation is trusted without a store read.
pub const MAX_ENTRY_AGE: Duration = Duration::from_secs(600);

/// The token generations this edge knows, loaded from the store on a miss.
pub struct Generations {
    store: Arc<dyn Store>,
    known: Cache<UserId, u64>,
}

impl Generations {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            known: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(MAX_ENTRY_AGE)
                .build(),
        }
    }

    /// Whether a token of `user` issued under `generation` is still good.
    pub async fn admits(&self, user: UserId, generation: u64) -> Result<bool, EdgeError> {
        let cached = self.known.get(&user);
        record("token_generations", cached.is_some());
        let known = match cached {
            Some(known) => known,
            None => self.load(user).await?,
        };
        if generation > known {
            self.learn(user, generation);
        }
        Ok(generation >= known)
    }

    /// The account's generation as the store has it now (to issue a token
    /// under: a login must not mint a token an unheard-of revocation has
    /// already made stale).
    pub async fn load(&self, user: UserId) -> Result<u64, EdgeError> {
        let stored = self.store.token_generation(user).await?;
        Ok(self.learn(user, stored))
    }

    /// Merges a generation heard of (a revocation's event, a store read, a
    /// token); returns the newest known.
    pub fn learn(&self, user: UserId, generation: u64) -> u64 {
        let merged = self.known.entry(user).and_compute_with(|old| {
            let newest = old.map_or(generation, |o| o.into_value().max(generation));
            Op::Put(newest)
        });
        merged.into_entry().map_or(generation, |e| e.into_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::UserId;
    use rookery_proto::model::User;
    use rookery_store::{EmbeddedConfig, EmbeddedStore};

    async fn store_with_user() -> (tempfile::TempDir, Arc<dyn Store>, UserId) {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&EmbeddedConfig::new(dir.path())).unwrap();
        let user = User {
            id: UserId(7),
            username: "ada".into(),
        };
        store.create_account(&user, "hash").await.unwrap();
        (dir, Arc::new(store), user.id)
    }

    #[tokio::test]
    async fn a_revocation_refuses_older_tokens_and_a_stale_read_cannot_undo_it() {
        let (_dir, store, user) = store_with_user().await;
        let generations = Generations::new(store.clone());
        assert!(generations.admits(user, 0).await.unwrap());
        let revoked = store.revoke_tokens(user, None).await.unwrap();
        generations.learn(user, revoked);
        assert!(!generations.admits(user, 0).await.unwrap(), "old token");
        assert!(
            generations.admits(user, revoked).await.unwrap(),
            "new token"
        );
        // A load that read the store before the revocation lands late.
        generations.learn(user, 0);
        assert!(!generations.admits(user, 0).await.unwrap(), "max merge");
    }

    #[tokio::test]
    async fn a_cold_cache_reads_the_store_and_newer_tokens_teach_it() {
        let (_dir, store, user) = store_with_user().await;
        let revoked = store.revoke_tokens(user, Some("new hash")).await.unwrap();
        let cold = Generations::new(store.clone());
        assert!(!cold.admits(user, 0).await.unwrap(), "read from the store");
        let warm = Generations::new(store.clone());
        warm.learn(user, 0);
        assert!(warm.admits(user, revoked).await.unwrap());
        assert!(
            !warm.admits(user, 0).await.unwrap(),
            "learned from the token"
        );
    }
}
