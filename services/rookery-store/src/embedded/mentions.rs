//! The mention index on the embedded store, which read states count from:
//! `mentions` holds `channel | user | message` for each user a message
//! names (a reply's ping included), and `broadcast_mentions` holds
//! `channel | message` → [`Broadcast`] for each message that mentions
//! @everyone or a role. Both follow their message: written with it,
//! removed with it (an edit keeps a message's mentions).

use super::messages::Pending;
use super::{Inner, backend, decode, encode, keys};
use crate::StoreError;
use crate::mention_index::{broadcast_reaches, merged};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
use rookery_proto::model::Message;
use rookery_proto::{RoleId, UserId};
use serde::{Deserialize, Serialize};

/// A message that mentions many at once.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Broadcast {
    author: UserId,
    everyone: bool,
    roles: Vec<RoleId>,
}

/// Set in `meta` once the index covers every stored message.
const INDEXED: &str = "mention_index";

/// Messages indexed per batch by the backfill.
const BACKFILL_BATCH: usize = 10_000;

impl Inner {
    /// Indexes (`add`) or unindexes `msg`'s mentions.
    pub(super) fn index_mentions(&self, b: &mut fjall::OwnedWriteBatch, msg: &Message, add: bool) {
        let named = msg.mentions.iter().filter(|u| u.id != msg.author.id);
        for user in named {
            let key = keys::triple(msg.channel_id, user.id, msg.id);
            match add {
                true => b.insert(&self.t.mentions, key, []),
                false => b.remove(&self.t.mentions, key),
            }
        }
        if msg.mention_everyone || !msg.mention_roles.is_empty() {
            let key = keys::pair(msg.channel_id, msg.id);
            let broadcast = Broadcast {
                author: msg.author.id,
                everyone: msg.mention_everyone,
                roles: msg.mention_roles.clone(),
            };
            match add {
                true => b.insert(&self.t.broadcast_mentions, key, encode(&broadcast)),
                false => b.remove(&self.t.broadcast_mentions, key),
            }
        }
    }

    pub(super) fn mentions(
        &self,
        (channel, user): (ChannelId, UserId),
        roles: &[RoleId],
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError> {
        let next = MessageId(after.0.saturating_add(1));
        let mut named = Vec::new();
        let prefix = keys::pair(channel, user);
        for row in self.t.mentions.range(keys::triple(channel, user, next)..) {
            let key = row.key().map_err(backend)?;
            if !key.starts_with(&prefix) || named.len() >= limit {
                break;
            }
            named.extend(keys::trailing_id::<MessageId>(&key));
        }
        let mut broadcast = Vec::new();
        let prefix = keys::id(channel);
        for row in self.t.broadcast_mentions.range(keys::pair(channel, next)..) {
            let (key, value) = row.into_inner().map_err(backend)?;
            if !key.starts_with(&prefix) || broadcast.len() >= limit {
                break;
            }
            let b: Broadcast = decode("broadcast_mentions", &value)?;
            if broadcast_reaches((b.author, b.everyone, &b.roles), user, roles) {
                broadcast.extend(keys::trailing_id::<MessageId>(&key));
            }
        }
        named.extend(broadcast);
        Ok(merged(named, limit))
    }

    /// A store written before the mention index existed is indexed on its
    /// first open, a batch at a time (inserts are idempotent, so a crash
    /// part way only means starting again), then marked done.
    pub(super) fn backfill_mention_index(&self) -> Result<(), StoreError> {
        if self.t.meta.contains_key(INDEXED).map_err(backend)? {
            return Ok(());
        }
        let mut b = self.db.batch();
        let mut in_batch = 0;
        for row in self.t.messages.iter() {
            let value = row.value().map_err(backend)?;
            let msg: Message = decode("messages", &value)?;
            self.index_mentions(&mut b, &msg, true);
            in_batch += 1;
            if in_batch == BACKFILL_BATCH {
                b.commit().map_err(backend)?;
                (b, in_batch) = (self.db.batch(), 0);
            }
        }
        b.insert(&self.t.meta, INDEXED, []);
        b.commit().map_err(backend)?;
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .map_err(backend)
    }

    /// Unindexes a message about to be deleted, as the batch so far has it.
    pub(super) fn unindex_deleted(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &Pending,
        key: [u8; 20],
    ) -> Result<(), StoreError> {
        if let Some(msg) = self.current(pending, key)? {
            self.index_mentions(b, &msg, false);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{EmbeddedConfig, EmbeddedStore, Mutation, Store};
    use rookery_proto::ChannelId;
    use rookery_proto::model::{Message, User};
    use rookery_proto::{GuildId, MessageId, UserId};

    fn open(dir: &std::path::Path) -> EmbeddedStore {
        EmbeddedStore::open(&EmbeddedConfig::new(dir)).unwrap()
    }

    /// A store written before the mention index existed (mentions in the
    /// messages, no index rows, no mark) is indexed on its next open.
    #[tokio::test]
    async fn messages_written_before_the_index_are_indexed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (channel, reader) = (ChannelId(7), UserId(3));
        let user = |id| User {
            id: UserId(id),
            username: format!("u{id}"),
        };
        let named = Message {
            mentions: vec![user(3)],
            ..Message::new(
                MessageId(9 << 22),
                (GuildId(1), channel),
                user(5),
                "hi".into(),
            )
        };
        let everyone = Message {
            mention_everyone: true,
            ..Message::new(
                MessageId(10 << 22),
                (GuildId(1), channel),
                user(5),
                "all".into(),
            )
        };
        {
            let store = open(dir.path());
            let batch = vec![Mutation::Message(named), Mutation::Message(everyone)];
            store.apply(batch).await.unwrap();
            let t = &store.0.t;
            for table in [&t.mentions, &t.broadcast_mentions] {
                for row in table.iter() {
                    table.remove(row.key().unwrap()).unwrap();
                }
            }
            t.meta.remove(super::INDEXED).unwrap();
            store.sync().await.unwrap();
            let none = store.mentions(channel, reader, &[], MessageId(0), 10).await;
            assert!(none.unwrap().is_empty(), "the old layout: no index");
        }
        let store = open(dir.path());
        let found = store.mentions(channel, reader, &[], MessageId(0), 10).await;
        assert_eq!(found.unwrap(), [MessageId(9 << 22), MessageId(10 << 22)]);
    }
}
