//! Webhooks on the embedded store: each under its guild and channel (so a
//! guild's or a channel's are one prefix read) and its id (so execution
//! finds it in one read). Both keys are written in one fsynced batch.

use super::{Inner, backend, decode, encode, keys};
use crate::StoreError;
use rookery_proto::Id;
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId};

impl Inner {
    pub(super) fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        let place = keys::triple(hook.guild_id, hook.channel_id, hook.id);
        let mut b = self.db.batch();
        b.insert(&self.t.webhooks, place, encode(hook));
        b.insert(&self.t.webhooks_by_id, keys::id(hook.id), place);
        b.commit().map_err(backend)?;
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .map_err(backend)
    }

    pub(super) fn webhook(&self, id: Id) -> Result<Option<Webhook>, StoreError> {
        let Some(place) = self.t.webhooks_by_id.get(keys::id(id)).map_err(backend)? else {
            return Ok(None);
        };
        let found = self.t.webhooks.get(place).map_err(backend)?;
        found.map(|v| decode("webhooks", &v)).transpose()
    }

    pub(super) fn webhooks(
        &self,
        guild: GuildId,
        channel: Option<ChannelId>,
    ) -> Result<Vec<Webhook>, StoreError> {
        let prefix = match channel {
            Some(c) => keys::pair(guild, c).to_vec(),
            None => keys::id(guild).to_vec(),
        };
        self.t
            .webhooks
            .prefix(prefix)
            .map(|g| decode("webhooks", &g.value().map_err(backend)?))
            .collect()
    }

    pub(super) fn delete_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        let mut b = self.db.batch();
        let place = keys::triple(hook.guild_id, hook.channel_id, hook.id);
        b.remove(&self.t.webhooks, place);
        b.remove(&self.t.webhooks_by_id, keys::id(hook.id));
        b.commit().map_err(backend)?;
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .map_err(backend)
    }
}
