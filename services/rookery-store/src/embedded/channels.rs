//! Channels on the embedded store. A guild channel is listed under its
//! guild; a DM's or group DM's recipients are rows of their own (a
//! recipient change is one row, never a rewrite of the channel that a
//! concurrent change could undo), so its channel row is stored without
//! them and read back with them.

use super::messages::Pending;
use super::{Inner, backend, decode, encode, keys};
use crate::StoreError;
use rookery_proto::ChannelId;
use rookery_proto::UserId;
use rookery_proto::model::{Channel, Member, User};

impl Inner {
    /// Opens a private channel with its recipients' memberships, unless
    /// it is a DM whose pair already has another (the first opened wins).
    pub(super) fn open_private(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        c: &Channel,
        joined_at: &str,
    ) -> Result<(), StoreError> {
        if let Some((low, high)) = c.dm_pair() {
            let key = keys::pair(low, high);
            let holder = match pending.dm_pairs.get(&key) {
                Some(id) => Some(*id),
                None => self.dm_channel(low, high)?,
            };
            match holder {
                Some(other) if other != c.id => return Ok(()),
                Some(_) => {}
                None => {
                    b.insert(&self.t.dm_pairs, key, keys::id(c.id));
                    pending.dm_pairs.insert(key, c.id);
                }
            }
        }
        self.upsert_channel(b, c);
        for user in &c.recipients {
            let member = Member::joined(c.id.as_scope(), user.clone(), joined_at.to_owned());
            b.insert(&self.t.members, keys::pair(c.id, user.id), encode(&member));
            b.insert(&self.t.guilds_by_user, keys::pair(user.id, c.id), []);
        }
        Ok(())
    }

    /// The DM of a pair of users, lower id first.
    pub(super) fn dm_channel(
        &self,
        low: UserId,
        high: UserId,
    ) -> Result<Option<ChannelId>, StoreError> {
        let found = self
            .t
            .dm_pairs
            .get(keys::pair(low, high))
            .map_err(backend)?;
        Ok(found.and_then(|v| keys::trailing_id(&v)))
    }

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
        channel: ChannelId,
        user: &User,
        add: bool,
    ) {
        let key = keys::pair(channel, user.id);
        match add {
            true => b.insert(&self.t.recipients, key, encode(user)),
            false => b.remove(&self.t.recipients, key),
        }
    }

    pub(super) fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
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
