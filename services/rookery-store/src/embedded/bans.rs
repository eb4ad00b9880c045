//! Bans on the embedded store, and the guard that keeps a banned user's
//! membership from being written (a join or a role change racing the ban
//! is applied after it, and must not bring the member back).

use super::messages::Pending;
use super::{Inner, backend, encode, keys};
use crate::{BanRecord, StoreError};
use rookery_proto::{GuildId, UserId};

impl Inner {
    /// Whether the user is banned, as the batch so far leaves it.
    pub(super) fn banned(
        &self,
        pending: &Pending,
        guild: GuildId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let key = keys::pair(guild, user);
        match pending.bans.get(&key) {
            Some(banned) => Ok(*banned),
            None => self.t.bans.contains_key(key).map_err(backend),
        }
    }

    pub(super) fn ban(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        (guild, user): (GuildId, UserId),
        reason: &Option<String>,
    ) {
        let key = keys::pair(guild, user);
        let record = BanRecord {
            user_id: user,
            reason: reason.clone(),
        };
        b.insert(&self.t.bans, key, encode(&record));
        pending.bans.insert(key, true);
    }

    pub(super) fn unban(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        (guild, user): (GuildId, UserId),
    ) {
        let key = keys::pair(guild, user);
        b.remove(&self.t.bans, key);
        pending.bans.insert(key, false);
    }
}
