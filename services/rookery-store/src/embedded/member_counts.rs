//! Members per guild on the embedded store, kept beside the memberships:
//! a membership that appears counts one in, one that goes counts one out
//! (an update of an existing member, a replay, or a removal of a
//! non-member changes nothing), in the batch that writes it. Stores
//! written before the counts are counted on their first open.

use super::messages::Pending;
use super::{EmbeddedStore, Inner, backend, keys};
use crate::StoreError;
use rookery_proto::GuildId;
use rookery_proto::UserId;
use std::collections::BTreeMap;

/// Set in `meta` once `member_counts` matches `members`.
const COUNTED: &str = "member_counts";

fn decode_count(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

impl Inner {
    /// Whether the membership exists as the batch so far leaves it.
    fn is_member(&self, pending: &Pending, key: [u8; 16]) -> Result<bool, StoreError> {
        match pending.members.get(&key) {
            Some(&present) => Ok(present),
            None => self.t.members.contains_key(key).map_err(backend),
        }
    }

    /// The guild's count as the batch so far leaves it.
    fn current_count(&self, pending: &Pending, guild: GuildId) -> Result<u64, StoreError> {
        if let Some(&n) = pending.member_counts.get(&guild) {
            return Ok(n);
        }
        let found = self.t.member_counts.get(keys::id(guild)).map_err(backend)?;
        Ok(found.map_or(0, |v| decode_count(&v)))
    }

    /// Notes that the membership `(guild, user)` is now `present`, and
    /// counts it if that is a change.
    pub(super) fn count_member(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        (guild, user): (GuildId, UserId),
        present: bool,
    ) -> Result<(), StoreError> {
        let key = keys::pair(guild, user);
        if self.is_member(pending, key)? == present {
            return Ok(());
        }
        pending.members.insert(key, present);
        let n = self.current_count(pending, guild)?;
        let n = if present { n + 1 } else { n.saturating_sub(1) };
        pending.member_counts.insert(guild, n);
        b.insert(&self.t.member_counts, keys::id(guild), n.to_be_bytes());
        Ok(())
    }

    /// Counts every guild's members once, for a store written before the
    /// counts (one atomic batch, then the mark).
    pub(super) fn backfill_member_counts(&self) -> Result<(), StoreError> {
        if self.t.meta.contains_key(COUNTED).map_err(backend)? {
            return Ok(());
        }
        let mut counts: BTreeMap<[u8; 8], u64> = BTreeMap::new();
        for row in self.t.members.iter() {
            let key = row.key().map_err(backend)?;
            if let Some(guild) = key.first_chunk::<8>() {
                *counts.entry(*guild).or_default() += 1;
            }
        }
        let mut b = self.db.batch();
        for (guild, n) in counts {
            b.insert(&self.t.member_counts, guild, n.to_be_bytes());
        }
        b.insert(&self.t.meta, COUNTED, []);
        b.commit().map_err(backend)?;
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .map_err(backend)
    }
}

impl EmbeddedStore {
    pub(super) fn members_in(&self, guild: GuildId) -> Result<u64, StoreError> {
        let found = self
            .0
            .t
            .member_counts
            .get(keys::id(guild))
            .map_err(backend)?;
        Ok(found.map_or(0, |v| decode_count(&v)))
    }
}

#[cfg(test)]
mod tests {
    use crate::{EmbeddedConfig, EmbeddedStore, Mutation, Store};
    use rookery_proto::model::{Member, User};
    use rookery_proto::{GuildId, UserId};

    fn member(guild: u64, user: u64) -> Mutation {
        let user = User {
            id: UserId(user),
            username: format!("u{user}"),
        };
        Mutation::Member(Member::joined(
            GuildId(guild),
            user,
            "2026-01-01T00:00:00.000Z".into(),
        ))
    }

    /// A store written before the counts counts its guilds on the next
    /// open.
    #[tokio::test]
    async fn members_written_before_the_counts_are_counted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let open = || EmbeddedStore::open(&EmbeddedConfig::new(dir.path())).unwrap();
        {
            let store = open();
            let batch = vec![member(1, 10), member(1, 11), member(2, 10)];
            store.apply(batch).await.unwrap();
            let t = &store.0.t;
            for row in t.member_counts.iter() {
                t.member_counts.remove(row.key().unwrap()).unwrap();
            }
            t.meta.remove(super::COUNTED).unwrap();
            store.sync().await.unwrap();
            assert_eq!(store.member_count(GuildId(1)).await.unwrap(), 0);
        }
        let store = open();
        assert_eq!(store.member_count(GuildId(1)).await.unwrap(), 2);
        assert_eq!(store.member_count(GuildId(2)).await.unwrap(), 1);
        assert_eq!(store.member_count(GuildId(3)).await.unwrap(), 0);
    }
}
