//! Invites on the embedded store: each under its code (joins find it in one
//! read) and indexed under its guild (`guild | code`, so a guild's list is
//! one prefix read). Uses are counted on the record itself: the writer that
//! applies a guild's events is the only one writing its invites.

use super::messages::Pending;
use super::{EmbeddedStore, Inner, backend, decode, encode, keys};
use crate::StoreError;
use rookery_proto::GuildId;
use rookery_proto::model::Invite;

/// Set in `meta` once every invite is in `invites_by_guild`.
const INDEXED: &str = "invites_by_guild";

/// `guild | code`.
fn guild_key(guild: GuildId, code: &str) -> Vec<u8> {
    let mut k = keys::id(guild).to_vec();
    k.extend_from_slice(code.as_bytes());
    k
}

impl Inner {
    /// The invite as the batch so far leaves it.
    fn current_invite(&self, pending: &Pending, code: &str) -> Result<Option<Invite>, StoreError> {
        if let Some(found) = pending.invites.get(code) {
            return Ok(found.clone());
        }
        let found = self.t.invites.get(code.as_bytes()).map_err(backend)?;
        found.map(|v| decode("invites", &v)).transpose()
    }

    fn put_invite(&self, b: &mut fjall::OwnedWriteBatch, pending: &mut Pending, invite: Invite) {
        b.insert(&self.t.invites, invite.code.as_bytes(), encode(&invite));
        b.insert(
            &self.t.invites_by_guild,
            guild_key(invite.guild_id, &invite.code),
            [],
        );
        pending.invites.insert(invite.code.clone(), Some(invite));
    }

    /// Upserts an invite, keeping the uses counted so far (a replayed
    /// creation does not reset them).
    pub(super) fn upsert_invite(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        invite: &Invite,
    ) -> Result<(), StoreError> {
        let mut invite = invite.clone();
        if let Some(stored) = self.current_invite(pending, &invite.code)? {
            invite.uses = invite.uses.max(stored.uses);
        }
        self.put_invite(b, pending, invite);
        Ok(())
    }

    pub(super) fn delete_invite(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        (guild, code): (GuildId, &str),
    ) {
        b.remove(&self.t.invites, code.as_bytes());
        b.remove(&self.t.invites_by_guild, guild_key(guild, code));
        pending.invites.insert(code.to_owned(), None);
    }

    pub(super) fn count_invite_use(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        code: &str,
    ) -> Result<(), StoreError> {
        if let Some(mut invite) = self.current_invite(pending, code)? {
            invite.uses = invite.uses.saturating_add(1);
            self.put_invite(b, pending, invite);
        }
        Ok(())
    }

    /// A store written before the guild index existed has invites it does
    /// not list: they are indexed on the first open, in one batch.
    pub(super) fn backfill_invite_index(&self) -> Result<(), StoreError> {
        if self.t.meta.contains_key(INDEXED).map_err(backend)? {
            return Ok(());
        }
        let mut b = self.db.batch();
        for row in self.t.invites.iter() {
            let invite: Invite = decode("invites", &row.value().map_err(backend)?)?;
            b.insert(
                &self.t.invites_by_guild,
                guild_key(invite.guild_id, &invite.code),
                [],
            );
        }
        b.insert(&self.t.meta, INDEXED, []);
        b.commit().map_err(backend)?;
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .map_err(backend)
    }
}

impl EmbeddedStore {
    pub(super) fn invites_of(&self, guild: GuildId) -> Result<Vec<Invite>, StoreError> {
        let prefix = keys::id(guild);
        let mut out = Vec::new();
        for row in self.0.t.invites_by_guild.prefix(prefix) {
            let key = row.key().map_err(backend)?;
            let code = std::str::from_utf8(&key[8..]).map_err(|_| StoreError::Corrupt {
                table: "invites_by_guild",
                detail: "code not UTF-8".into(),
            })?;
            out.extend(self.get::<Invite>("invites", &self.0.t.invites, code.as_bytes())?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::{EmbeddedConfig, EmbeddedStore, Store};
    use rookery_proto::{GuildId, UserId};

    /// An invite as stores wrote it before channel invites.
    #[derive(serde::Serialize)]
    struct OldInvite {
        code: &'static str,
        guild_id: GuildId,
        inviter_id: UserId,
    }

    /// A store written before the guild index (and before the channel
    /// invites' fields) lists its invites after the next open, read as
    /// guild invites without limits.
    #[tokio::test]
    async fn invites_written_before_the_index_are_indexed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let open = || EmbeddedStore::open(&EmbeddedConfig::new(dir.path())).unwrap();
        let old = OldInvite {
            code: "oldcode",
            guild_id: GuildId(3),
            inviter_id: UserId(4),
        };
        {
            let store = open();
            let t = &store.0.t;
            t.invites.insert(old.code, super::encode(&old)).unwrap();
            t.meta.remove(super::INDEXED).unwrap();
            store.sync().await.unwrap();
            assert!(store.guild_invites(GuildId(3)).await.unwrap().is_empty());
        }
        let listed = open().guild_invites(GuildId(3)).await.unwrap();
        assert_eq!(listed.len(), 1);
        let invite = &listed[0];
        assert_eq!(
            (invite.code.as_str(), invite.inviter_id),
            ("oldcode", UserId(4))
        );
        assert_eq!(
            (invite.channel_id, invite.max_age, invite.max_uses),
            (None, 0, 0)
        );
        assert!(invite.usable_at(i64::MAX));
    }
}
