//! Channels on the embedded store. A guild channel is listed under its
//! guild; a DM's or group DM's recipients are rows of their own (a
//! recipient change is one row, never a rewrite of the channel that a
//! concurrent change could undo), so its channel row is stored without
//! them and read back with them.

use super::{Inner, backend, decode, encode, keys};
use crate::StoreError;
use rookery_proto::Id;
use rookery_proto::model::{Channel, User};

impl Inner {
    pub(super) fn upsert_channel(&self, b: &mut fjall::OwnedWriteBatch, c: &Channel) {
        let t = &self.t;
        if c.is_private() {
            for user in &c.recipients {
                self.recipient(b, c.id, user, true);
            }
            let bare = Channel {
                recipients: Vec::new(),
                ..c.clone()
            };
            b.insert(&t.channels, keys::id(c.id), encode(&bare));
        } else {
            b.insert(&t.channels, keys::id(c.id), encode(c));
            b.insert(&t.channels_by_guild, keys::pair(c.guild_id, c.id), []);
        }
    }

    pub(super) fn recipient(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        channel: Id,
        user: &User,
        add: bool,
    ) {
        let key = keys::pair(channel, user.id);
        match add {
            true => b.insert(&self.t.recipients, key, encode(user)),
            false => b.remove(&self.t.recipients, key),
        }
    }

    pub(super) fn channel(&self, id: Id) -> Result<Option<Channel>, StoreError> {
        let t = &self.t;
        let Some(row) = t.channels.get(keys::id(id)).map_err(backend)? else {
            return Ok(None);
        };
        let mut c: Channel = decode("channels", &row)?;
        if c.is_private() {
            for row in t.recipients.prefix(keys::id(id)) {
                let user = decode("recipients", &row.value().map_err(backend)?)?;
                c.recipients.push(user);
            }
        }
        Ok(Some(c))
    }
}
