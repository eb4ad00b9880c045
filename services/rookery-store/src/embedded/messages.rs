//! Message rows on the embedded store: posts, edits, deletes, pins and
//! reactions, and the reads of one message, a channel's pins and a
//! message's reactions.
//!
//! A batch is applied in order as one fjall batch, so a mutation later in a
//! batch must see what earlier ones did: [`Pending`] holds each message row
//! the batch has written (or deleted) so far, and reads fall back to disk.

use super::{EmbeddedStore, Inner, backend, decode, encode, keys};
use crate::{Reaction, StoreError};
use rookery_proto::GuildId;
use rookery_proto::UserId;
use rookery_proto::model::Message;
use rookery_proto::{ChannelId, MessageId};
use std::collections::HashMap;

/// What earlier mutations of a batch did: message rows written (`Some`)
/// or deleted (`None`), reactions added (`true`) or removed, and bans added
/// (`true`) or lifted.
#[derive(Default)]
pub(super) struct Pending {
    rows: HashMap<[u8; 20], Option<Message>>,
    reactions: HashMap<Vec<u8>, bool>,
    pub(super) bans: HashMap<[u8; 16], bool>,
    /// DM pairs claimed by the batch so far.
    pub(super) dm_pairs: HashMap<[u8; 16], ChannelId>,
    /// Memberships added (true) or removed by the batch so far.
    pub(super) members: HashMap<[u8; 16], bool>,
    /// Member counts as the batch so far leaves them.
    pub(super) member_counts: HashMap<GuildId, u64>,
    /// Invites written (or deleted: none) by the batch so far.
    pub(super) invites: HashMap<String, Option<rookery_proto::model::Invite>>,
    /// `channel_buckets` rows the batch writes (noted once it commits).
    pub(super) buckets: Vec<[u8; 12]>,
}

impl Inner {
    pub(super) fn message_key(&self, channel: ChannelId, message: MessageId) -> [u8; 20] {
        keys::message(channel, message.bucket(self.bucket_ms), message)
    }

    /// The row as the batch so far leaves it.
    pub(super) fn current(
        &self,
        pending: &Pending,
        key: [u8; 20],
    ) -> Result<Option<Message>, StoreError> {
        if let Some(row) = pending.rows.get(&key) {
            return Ok(row.clone());
        }
        let row = self.t.messages.get(key).map_err(backend)?;
        row.map(|v| decode("messages", &v)).transpose()
    }

    fn put(&self, b: &mut fjall::OwnedWriteBatch, pending: &mut Pending, msg: Message) {
        let key = self.message_key(msg.channel_id, msg.id);
        b.insert(&self.t.messages, key, encode(&msg));
        pending.rows.insert(key, Some(msg));
    }

    /// Inserts a message. A replayed one keeps the reaction counts it has
    /// gained: the replayed reactions after it find their rows there and
    /// count nothing again (as on ScyllaDB, whose insert leaves the counts'
    /// column alone).
    pub(super) fn insert_message(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        msg: &Message,
    ) -> Result<(), StoreError> {
        let t = &self.t;
        let mut msg = msg.clone();
        // A message newer than all its channel holds has no row to keep
        // counts from (most inserts: the read is for replays).
        if !self.known.is_new(t, msg.channel_id, msg.id)?
            && let Some(stored) = self.current(pending, self.message_key(msg.channel_id, msg.id))?
        {
            msg.reactions = stored.reactions;
        }
        let bucket = keys::bucket(msg.channel_id, msg.id.bucket(self.bucket_ms));
        if !self.known.has_bucket(&bucket) {
            b.insert(&t.channel_buckets, bucket, []);
            pending.buckets.push(bucket);
        }
        if let Some(nonce) = &msg.nonce {
            let key = keys::user_nonce(msg.author.id, nonce);
            b.insert(&t.nonces, key, keys::id(msg.id));
        }
        self.index_mentions(b, &msg, true);
        self.put(b, pending, msg);
        Ok(())
    }

    pub(super) fn edit_message(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        edit: &Message,
    ) -> Result<(), StoreError> {
        let key = self.message_key(edit.channel_id, edit.id);
        if let Some(mut msg) = self.current(pending, key)? {
            msg.content.clone_from(&edit.content);
            msg.edited_timestamp.clone_from(&edit.edited_timestamp);
            self.put(b, pending, msg);
        }
        Ok(())
    }

    pub(super) fn delete_message(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        channel: ChannelId,
        message: MessageId,
    ) -> Result<(), StoreError> {
        let key = self.message_key(channel, message);
        self.unindex_deleted(b, pending, key)?;
        b.remove(&self.t.messages, key);
        pending.rows.insert(key, None);
        let pair = keys::pair(channel, message);
        b.remove(&self.t.pins, pair);
        self.remove_reactions(b, pending, (channel, message), &pair)
    }

    /// Removes every reaction whose key starts with `prefix` (a message's,
    /// or one emoji's on it), with their readers' index rows, as stored or
    /// added by the batch so far.
    fn remove_reactions(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        (channel, message): (ChannelId, MessageId),
        prefix: &[u8],
    ) -> Result<(), StoreError> {
        let mut gone = Vec::new();
        for row in self.t.reactions.prefix(prefix) {
            gone.push(row.key().map_err(backend)?.to_vec());
        }
        let added = pending
            .reactions
            .iter()
            .filter(|&(k, &on)| on && k.starts_with(prefix));
        gone.extend(added.map(|(k, _)| k.clone()));
        for key in gone {
            if let Some((emoji, user)) = keys::reaction_parts(&key) {
                let index = keys::user_reaction(channel, user, message, emoji);
                b.remove(&self.t.user_reactions, index);
            }
            pending.reactions.insert(key.clone(), false);
            b.remove(&self.t.reactions, key);
        }
        Ok(())
    }

    /// Removes a message's reactions (or one emoji's) and their counts;
    /// nothing if the message is gone (its delete took them).
    pub(super) fn clear_reactions(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        (channel, message): (ChannelId, MessageId),
        emoji: Option<&str>,
    ) -> Result<(), StoreError> {
        let row = self.message_key(channel, message);
        let Some(mut msg) = self.current(pending, row)? else {
            return Ok(());
        };
        let prefix = match emoji {
            Some(e) => keys::reaction_prefix(channel, message, e),
            None => keys::pair(channel, message).to_vec(),
        };
        self.remove_reactions(b, pending, (channel, message), &prefix)?;
        match emoji {
            Some(e) => msg.set_reaction_count(e, 0),
            None => msg.reactions.clear(),
        }
        self.put(b, pending, msg);
        Ok(())
    }

    pub(super) fn pin(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        (channel, message): (ChannelId, MessageId),
        pinned: bool,
    ) -> Result<(), StoreError> {
        let key = self.message_key(channel, message);
        let Some(mut msg) = self.current(pending, key)? else {
            return Ok(());
        };
        msg.pinned = pinned;
        self.put(b, pending, msg);
        let pin = keys::pair(channel, message);
        match pinned {
            true => b.insert(&self.t.pins, pin, []),
            false => b.remove(&self.t.pins, pin),
        }
        Ok(())
    }

    /// Adds or removes one reaction, and counts it on the message, unless
    /// that changes nothing (a replay, or a message deleted meanwhile).
    pub(super) fn react(
        &self,
        b: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        r: &Reaction,
    ) -> Result<(), StoreError> {
        let row = self.message_key(r.channel_id, r.message_id);
        let Some(mut msg) = self.current(pending, row)? else {
            return Ok(());
        };
        let key = keys::reaction(r.channel_id, r.message_id, &r.emoji, r.user_id);
        let present = match pending.reactions.get(&key) {
            Some(&on) => on,
            None => self.t.reactions.contains_key(&key).map_err(backend)?,
        };
        if present == r.add {
            return Ok(());
        }
        let index = keys::user_reaction(r.channel_id, r.user_id, r.message_id, &r.emoji);
        if r.add {
            b.insert(&self.t.reactions, key.clone(), []);
            b.insert(&self.t.user_reactions, index, []);
        } else {
            b.remove(&self.t.reactions, key.clone());
            b.remove(&self.t.user_reactions, index);
        }
        pending.reactions.insert(key, r.add);
        msg.count_reaction(&r.emoji, r.add);
        self.put(b, pending, msg);
        Ok(())
    }
}

/// Set in `meta` once reaction counts and the readers' index match the
/// reactions.
const COUNTED: &str = "reaction_counts";

impl Inner {
    /// A store written before reaction counts existed holds reactions with
    /// no counts on their messages and no readers' index: both are built
    /// from the reactions on the first open, in one atomic batch (a crash
    /// leaves the store as it was, to be counted again), then marked done.
    pub(super) fn backfill_reaction_counts(&self) -> Result<(), StoreError> {
        if self.t.meta.contains_key(COUNTED).map_err(backend)? {
            return Ok(());
        }
        let mut b = self.db.batch();
        let mut pending = Pending::default();
        for row in self.t.reactions.iter() {
            let key = row.key().map_err(backend)?;
            let (Some((emoji, user)), Some(message)) = (
                keys::reaction_parts(&key),
                key.get(8..16).and_then(keys::trailing_id),
            ) else {
                continue;
            };
            let channel = keys::trailing_id(&key[..8]).expect("8 bytes");
            let index = keys::user_reaction(channel, user, message, emoji);
            b.insert(&self.t.user_reactions, index, []);
            if let Some(mut msg) = self.current(&pending, self.message_key(channel, message))? {
                msg.count_reaction(emoji, true);
                self.put(&mut b, &mut pending, msg);
            }
        }
        b.insert(&self.t.meta, COUNTED, []);
        b.commit().map_err(backend)?;
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .map_err(backend)
    }
}

impl EmbeddedStore {
    pub(super) fn one_message(
        &self,
        channel: ChannelId,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let key = self.0.message_key(channel, id);
        self.get("messages", &self.0.t.messages, &key)
    }

    pub(super) fn pinned(&self, channel: ChannelId) -> Result<Vec<Message>, StoreError> {
        let mut out = Vec::new();
        for id in self
            .ids_under(&self.0.t.pins, &keys::id(channel))?
            .into_iter()
            .rev()
        {
            out.extend(self.one_message(channel, id)?);
        }
        Ok(out)
    }

    /// `(message, emoji)` of a user's reactions in a channel, for messages
    /// `first..=last`.
    pub(super) fn reactions_of(
        &self,
        (channel, user): (ChannelId, UserId),
        (first, last): (MessageId, MessageId),
    ) -> Result<Vec<(MessageId, String)>, StoreError> {
        let prefix = keys::pair(channel, user);
        let from = keys::user_reaction(channel, user, first, "");
        let mut out = Vec::new();
        for row in self.0.t.user_reactions.range(from..) {
            let key = row.key().map_err(backend)?;
            let Some(rest) = key.strip_prefix(&prefix) else {
                break;
            };
            let corrupt = |detail: &str| StoreError::Corrupt {
                table: "user_reactions",
                detail: detail.to_owned(),
            };
            let (id, emoji) = rest.split_first_chunk::<8>().ok_or(corrupt("short key"))?;
            let id = MessageId(u64::from_be_bytes(*id));
            if id > last {
                break;
            }
            let emoji = std::str::from_utf8(emoji).map_err(|_| corrupt("emoji not UTF-8"))?;
            out.push((id, emoji.to_owned()));
        }
        Ok(out)
    }

    pub(super) fn reacted(
        &self,
        (channel, message): (ChannelId, MessageId),
        emoji: &str,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        let prefix = keys::reaction_prefix(channel, message, emoji);
        let mut out = Vec::new();
        let from = keys::reaction(channel, message, emoji, after);
        for row in self.0.t.reactions.range(from..) {
            let key = row.key().map_err(backend)?;
            if !key.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.extend(keys::trailing_id::<UserId>(&key).filter(|&user| user > after));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::{EmbeddedConfig, EmbeddedStore, Mutation, Reaction, Store};
    use rookery_proto::ChannelId;
    use rookery_proto::UserId;
    use rookery_proto::model::{Message, User};
    use rookery_proto::{GuildId, MessageId};

    fn open(dir: &std::path::Path) -> EmbeddedStore {
        EmbeddedStore::open(&EmbeddedConfig::new(dir)).unwrap()
    }

    /// A store written before reaction counts existed (reactions, but no
    /// counts, readers' index or mark) is counted on its next open.
    #[tokio::test]
    async fn reactions_written_before_counts_are_counted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (channel, author) = (
            ChannelId(7),
            User {
                id: UserId(5),
                username: "x".into(),
            },
        );
        let m = Message::new(
            MessageId(9 << 22),
            (GuildId(1), channel),
            author,
            "hi".into(),
        );
        let react = |emoji: &str, user| {
            Mutation::Reaction(Reaction {
                channel_id: channel,
                message_id: m.id,
                emoji: emoji.into(),
                user_id: UserId(user),
                add: true,
            })
        };
        {
            let store = open(dir.path());
            let batch = vec![
                Mutation::Message(m.clone()),
                react("👍", 1),
                react("👍", 2),
                react("🎉", 2),
            ];
            store.apply(batch).await.unwrap();
            // Back to the old layout: the row without counts, no index, no mark.
            let t = &store.0.t;
            t.messages
                .insert(store.0.message_key(channel, m.id), super::encode(&m))
                .unwrap();
            for row in t.user_reactions.iter() {
                t.user_reactions.remove(row.key().unwrap()).unwrap();
            }
            t.meta.remove(super::COUNTED).unwrap();
            store.sync().await.unwrap();
            let stored = store.message(channel, m.id).await.unwrap().unwrap();
            assert!(stored.reactions.is_empty());
        }
        let store = open(dir.path());
        let stored = store.message(channel, m.id).await.unwrap().unwrap();
        let counts: Vec<_> = stored
            .reactions
            .iter()
            .map(|r| (r.emoji.name.as_str(), r.count))
            .collect();
        assert_eq!(counts, [("🎉", 1), ("👍", 2)]);
        let mine = store
            .user_reactions(channel, UserId(2), (m.id, m.id))
            .await
            .unwrap();
        assert_eq!(mine, [(m.id, "🎉".to_owned()), (m.id, "👍".to_owned())]);
        // Counted once: a later open changes nothing.
        drop(store);
        let again = open(dir.path())
            .message(channel, m.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again, stored);
    }
}
