//! What the embedded store's single writer knows without reading: the
//! `channel_buckets` rows it has written, and each channel's newest
//! message id. They spare the insert path a write and a read per message:
//! a bucket row already written is not written again (it is never
//! deleted), and a message whose id is above every id its channel holds
//! cannot have a row yet, so the read that keeps a replayed message's
//! reaction counts is skipped for it.
//!
//! Both may be forgotten at any time (a forgotten fact costs one write or
//! read again), never believed wrongly: a bucket is noted only after the
//! batch that wrote it committed, and a newest id may be too high (an
//! insert noted before its batch failed), which only costs a read.

use super::{Tables, backend, keys};
use crate::StoreError;
use rookery_proto::{ChannelId, MessageId};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Channels (and bucket rows) remembered before both are forgotten and
/// learned again: at most ~20 MB.
pub const KNOWN_CHANNELS: usize = 256 * 1024;

#[derive(Default)]
pub(super) struct Known {
    inner: Mutex<Facts>,
}

#[derive(Default)]
struct Facts {
    buckets: HashSet<[u8; 12]>,
    /// Per channel, an id at or above every message id it holds.
    newest: HashMap<ChannelId, MessageId>,
}

impl Known {
    fn facts(&self) -> std::sync::MutexGuard<'_, Facts> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the bucket row is known to be written.
    pub(super) fn has_bucket(&self, key: &[u8; 12]) -> bool {
        self.facts().buckets.contains(key)
    }

    /// Notes bucket rows a committed batch wrote.
    pub(super) fn add_buckets(&self, written: impl IntoIterator<Item = [u8; 12]>) {
        let mut facts = self.facts();
        if facts.buckets.len() >= KNOWN_CHANNELS {
            facts.buckets.clear();
        }
        facts.buckets.extend(written);
    }

    /// Whether `message` is above every id `channel` holds, so has no row;
    /// either way it is noted as the channel's newest if it is. A channel
    /// seen for the first time is looked up on disk once.
    pub(super) fn is_new(
        &self,
        t: &Tables,
        channel: ChannelId,
        message: MessageId,
    ) -> Result<bool, StoreError> {
        if let Some(newest) = self.facts().newest.get_mut(&channel) {
            let new = message > *newest;
            *newest = (*newest).max(message);
            return Ok(new);
        }
        let on_disk = newest_on_disk(t, channel)?;
        let mut facts = self.facts();
        if facts.newest.len() >= KNOWN_CHANNELS {
            facts.newest.clear();
        }
        let newest = facts.newest.entry(channel).or_insert(on_disk);
        let new = message > *newest;
        *newest = (*newest).max(message);
        Ok(new)
    }
}

/// The channel's highest stored message id (`Id(0)` if none): its last
/// `messages` key, as keys run channel, bucket, message.
fn newest_on_disk(t: &Tables, channel: ChannelId) -> Result<MessageId, StoreError> {
    match t.messages.prefix(channel.0.to_be_bytes()).next_back() {
        Some(row) => {
            Ok(keys::trailing_id(&row.key().map_err(backend)?).unwrap_or(MessageId(u64::MAX)))
        }
        None => Ok(MessageId(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EmbeddedConfig, EmbeddedStore};
    use crate::{Cursor, Mutation, Reaction, Store};
    use rookery_proto::model::{Message, User};
    use rookery_proto::{ChannelId, GuildId};
    use rookery_proto::{MessageId, UserId};

    fn open(dir: &std::path::Path) -> EmbeddedStore {
        EmbeddedStore::open(&EmbeddedConfig::new(dir)).unwrap()
    }

    /// After a restart nothing is known and it is learned from disk: a
    /// message replayed keeps the reaction counts it gained, one older than
    /// the channel's newest is checked too, and history lists both.
    #[tokio::test]
    async fn what_is_known_is_learned_again_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (guild, channel) = (GuildId(1), ChannelId(9));
        let author = User {
            id: UserId(5),
            username: "x".into(),
        };
        let post = |id: u64| {
            Message::new(
                MessageId(id << 22),
                (guild, channel),
                author.clone(),
                "c".into(),
            )
        };
        let (older, newest) = (post(3), post(5));
        {
            let store = open(dir.path());
            let reacted = Mutation::Reaction(Reaction {
                channel_id: channel,
                message_id: newest.id,
                emoji: "👍".into(),
                user_id: UserId(7),
                add: true,
            });
            store
                .apply(vec![Mutation::Message(newest.clone()), reacted])
                .await
                .unwrap();
            store.sync().await.unwrap();
        }
        let store = open(dir.path());
        let replay = vec![
            Mutation::Message(older.clone()),
            Mutation::Message(newest.clone()),
        ];
        store.apply(replay).await.unwrap();
        let stored = store.message(channel, newest.id).await.unwrap().unwrap();
        let counts: Vec<_> = stored
            .reactions
            .iter()
            .map(|r| (r.emoji.name.as_str(), r.count))
            .collect();
        assert_eq!(counts, [("👍", 1)]);
        let page = store.messages(channel, Cursor::Latest, 10).await.unwrap();
        let ids: Vec<MessageId> = page.iter().map(|m| m.id).collect();
        assert_eq!(ids, [newest.id, older.id]);
    }
}
