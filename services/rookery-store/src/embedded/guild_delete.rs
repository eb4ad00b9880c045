//! A guild's deletion on the embedded store, in the batch that carries it:
//! every row keyed under the guild (its channels, memberships, roles,
//! bans, invites, webhooks and member count) with the rows that point back
//! at them (a channel by id, a member's guild list, an invite by code, a
//! webhook by id). Memberships the same batch added are found through the
//! batch's own record of them.

use super::messages::Pending;
use super::{Inner, backend, decode, keys};
use crate::StoreError;
use fjall::{Keyspace, OwnedWriteBatch};
use rookery_proto::webhooks::Webhook;
use rookery_proto::{GuildId, UserId};

/// Every key under `prefix`.
fn keys_under(ks: &Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    ks.prefix(prefix)
        .map(|row| row.key().map(|k| k.to_vec()).map_err(backend))
        .collect()
}

/// The id in a key's last 8 bytes.
fn trailing(key: &[u8]) -> Option<UserId> {
    keys::trailing_id(key)
}

impl Inner {
    pub(super) fn delete_guild(
        &self,
        b: &mut OwnedWriteBatch,
        pending: &mut Pending,
        guild: GuildId,
    ) -> Result<(), StoreError> {
        let t = &self.t;
        let g = keys::id(guild);
        for key in keys_under(&t.channels_by_guild, &g)? {
            if let Some(channel) = trailing(&key) {
                b.remove(&t.channels, keys::id(channel));
            }
            b.remove(&t.channels_by_guild, key);
        }
        self.delete_members(b, pending, guild)?;
        for ks in [&t.roles, &t.bans] {
            for key in keys_under(ks, &g)? {
                b.remove(ks, key);
            }
        }
        for key in keys_under(&t.invites_by_guild, &g)? {
            if let Ok(code) = std::str::from_utf8(&key[8..]) {
                self.delete_invite(b, pending, (guild, code));
            }
        }
        for row in t.webhooks.prefix(g) {
            let (place, value) = row.into_inner().map_err(backend)?;
            let hook: Webhook = decode("webhooks", &value)?;
            b.remove(&t.webhooks_by_id, keys::id(hook.id));
            b.remove(&t.webhooks, place.to_vec());
        }
        b.remove(&t.member_counts, g);
        b.remove(&t.guilds, g);
        Ok(())
    }

    /// Every membership of the guild, stored or added by the batch so far.
    fn delete_members(
        &self,
        b: &mut OwnedWriteBatch,
        pending: &mut Pending,
        guild: GuildId,
    ) -> Result<(), StoreError> {
        let (t, g) = (&self.t, keys::id(guild));
        let stored = keys_under(&t.members, &g)?;
        let mut members: Vec<UserId> = stored.iter().filter_map(|k| trailing(k)).collect();
        let added = pending
            .members
            .iter()
            .filter(|(k, on)| **on && k.starts_with(&g));
        members.extend(added.filter_map(|(k, _)| trailing(k)));
        for user in members {
            self.count_member(b, pending, (guild, user), false)?;
            b.remove(&t.members, keys::pair(guild, user));
            b.remove(&t.guilds_by_user, keys::pair(user, guild));
        }
        Ok(())
    }
}
