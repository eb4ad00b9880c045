//! Changes to existing messages on ScyllaDB: edits, pins, reactions and
//! deletes, and the reads of one message, a channel's pins and a message's
//! reactions.
//!
//! An edit, a pin or a reaction writes only after reading that the message
//! is there (a reaction reads its counts, which only an existing message
//! has a row for): the writer applies a channel's events in order, so one
//! that follows the delete finds nothing and writes nothing (an upsert
//! would bring the message back). Edits and pins name only their own columns, so
//! neither undoes the other.

use crate::history::{self, Counts};
use crate::session::backend;
use crate::store::{Inner, id, key, unless};
use futures_util::{StreamExt, TryStreamExt};
use rookery_proto::id::parse_timestamp;
use rookery_proto::model::Message;
use rookery_proto::{ChannelId, MessageId, UserId};
use rookery_store::{Reaction, StoreError, WriteTime};
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::CqlTimestamp;

impl Inner {
    fn row_key(&self, channel: ChannelId, message: MessageId) -> (i64, i64, i64) {
        let bucket = i64::from(message.bucket(self.bucket_ms));
        (key(channel), bucket, key(message))
    }

    async fn exists(&self, channel: ChannelId, message: MessageId) -> Result<bool, StoreError> {
        let row = self.row_key(channel, message);
        let found = self.one::<(i64,)>(&self.s.select_message_id, row).await?;
        Ok(found.is_some())
    }

    /// Rewrites the text of a message that still exists.
    pub(crate) async fn edit_message(
        &self,
        at: WriteTime,
        msg: &Message,
    ) -> Result<(), StoreError> {
        if !self.exists(msg.channel_id, msg.id).await? {
            return Ok(());
        }
        let (channel, bucket, id) = self.row_key(msg.channel_id, msg.id);
        let edited = msg.edited_timestamp.as_deref().and_then(parse_timestamp);
        let edited = edited.map(|ms| CqlTimestamp(ms as i64));
        let row = (
            channel,
            bucket,
            id,
            &msg.content,
            unless(edited.is_none(), edited),
        );
        self.exec(at, &self.s.edit_message, row).await
    }

    /// Pins or unpins a message that still exists.
    pub(crate) async fn pin(
        &self,
        at: WriteTime,
        channel: ChannelId,
        message: MessageId,
        pinned: bool,
    ) -> Result<(), StoreError> {
        if !self.exists(channel, message).await? {
            return Ok(());
        }
        let (c, bucket, m) = self.row_key(channel, message);
        self.exec(at, &self.s.pin_message, (c, bucket, m, pinned))
            .await?;
        match pinned {
            true => self.exec(at, &self.s.insert_pin, (c, m)).await,
            false => self.exec(at, &self.s.delete_pin, (c, m)).await,
        }
    }

    /// Adds a reaction to a message that still exists, or removes one, and
    /// counts it, unless that changes nothing (a replay, or a message
    /// deleted meanwhile). The reaction row, its index row and the new
    /// counts go in one logged batch: a crash leaves all or none, so a
    /// replay's read sees the counts that match the rows.
    pub(crate) async fn react(&self, at: WriteTime, r: &Reaction) -> Result<(), StoreError> {
        let s = &self.s;
        let (c, bucket, m) = self.row_key(r.channel_id, r.message_id);
        let row = (c, m, &r.emoji, key(r.user_id));
        let (counts, present) = futures_util::try_join!(
            self.one::<(Option<Counts>,)>(&s.select_reaction_counts, (c, bucket, m)),
            self.one::<(i64,)>(&s.select_reaction, row),
        )?;
        let Some((counts,)) = counts else {
            return Ok(());
        };
        if present.is_some() == r.add {
            return Ok(());
        }
        let mut counts = counts.unwrap_or_default();
        let n = counts.get(&r.emoji).copied().unwrap_or(0) + if r.add { 1 } else { -1 };
        match n > 0 {
            true => counts.insert(r.emoji.clone(), n),
            false => counts.remove(&r.emoji),
        };
        let index = (c, key(r.user_id), bucket, m, &r.emoji);
        let mut batch = Batch::new(BatchType::Logged);
        batch.set_timestamp(Some(at.0));
        let (reaction, indexed) = match r.add {
            true => (&s.insert_reaction, &s.insert_user_reaction),
            false => (&s.delete_reaction, &s.delete_user_reaction),
        };
        for stmt in [reaction, indexed, &s.set_reaction_counts] {
            batch.append_statement(stmt.clone());
        }
        let values = (row, index, (c, bucket, m, counts));
        self.session.batch(&batch, values).await.map_err(backend)?;
        Ok(())
    }

    /// Deletes a message's row, its pin and its reactions, with their
    /// readers' index rows: the reactions are read a page at a time and
    /// unindexed `write_concurrency` at a time, so a message with a million
    /// reactions costs bounded memory and bounded requests in flight.
    pub(crate) async fn delete_message(
        &self,
        at: WriteTime,
        channel: ChannelId,
        message: MessageId,
    ) -> Result<(), StoreError> {
        let s = &self.s;
        // The mentions first: they are found through the message's row.
        if let Some(msg) = self.message(channel, message).await? {
            self.index_mentions(at, &msg, false).await?;
        }
        let pair = (key(channel), key(message));
        let (_, bucket, _) = self.row_key(channel, message);
        let reactors = self
            .session
            .execute_iter(s.select_message_reactions.clone(), pair)
            .await
            .map_err(backend)?
            .rows_stream::<(String, i64)>()
            .map_err(backend)?
            .map_err(backend);
        let unindexed = reactors
            .map_ok(|(emoji, user)| {
                let row = (pair.0, user, bucket, pair.1, emoji);
                async move { self.exec(at, &s.delete_user_reaction, row).await }
            })
            .try_buffer_unordered(self.write_concurrency)
            .try_collect::<()>();
        futures_util::try_join!(
            self.exec(at, &s.delete_message, self.row_key(channel, message)),
            self.exec(at, &s.delete_pin, pair),
            unindexed,
        )?;
        // Last: a crash before this leaves the reactions to be read again
        // when the delete is replayed.
        self.exec(at, &s.delete_reactions, pair).await
    }

    /// Removes a message's reactions, or one emoji's, with their readers'
    /// index rows, then their counts; nothing if the message is gone. All:
    /// one partition tombstone; one emoji: a row tombstone per reaction
    /// (the schema check allows no range tombstones). The counts go last,
    /// so a crash midway leaves the rest to be read again on the replay.
    pub(crate) async fn clear_reactions(
        &self,
        at: WriteTime,
        (channel, message): (ChannelId, MessageId),
        emoji: Option<&str>,
    ) -> Result<(), StoreError> {
        let s = &self.s;
        let (c, bucket, m) = self.row_key(channel, message);
        let counts = self.one::<(Option<Counts>,)>(&s.select_reaction_counts, (c, bucket, m));
        let Some((counts,)) = counts.await? else {
            return Ok(());
        };
        let reactors = match emoji {
            Some(e) => {
                self.session
                    .execute_iter(s.select_emoji_reactions.clone(), (c, m, e))
                    .await
            }
            None => {
                let stmt = s.select_message_reactions.clone();
                self.session.execute_iter(stmt, (c, m)).await
            }
        };
        reactors
            .map_err(backend)?
            .rows_stream::<(String, i64)>()
            .map_err(backend)?
            .map_err(backend)
            .map_ok(|(emoji_of, user)| async move {
                let index = (c, user, bucket, m, &emoji_of);
                self.exec(at, &s.delete_user_reaction, index).await?;
                match emoji {
                    Some(_) => {
                        self.exec(at, &s.delete_reaction, (c, m, &emoji_of, user))
                            .await
                    }
                    None => Ok(()),
                }
            })
            .try_buffer_unordered(self.write_concurrency)
            .try_collect::<()>()
            .await?;
        if emoji.is_none() {
            self.exec(at, &s.delete_reactions, (c, m)).await?;
        }
        let mut counts = counts.unwrap_or_default();
        match emoji {
            Some(e) => drop(counts.remove(e)),
            None => counts.clear(),
        }
        self.exec(at, &s.set_reaction_counts, (c, bucket, m, counts))
            .await
    }

    /// A user's reactions on a channel's messages `first..=last`: one
    /// range read per non-empty bucket the range spans (a page of history
    /// spans one or two).
    pub(crate) async fn user_reactions(
        &self,
        (channel, user): (ChannelId, UserId),
        (first, last): (MessageId, MessageId),
    ) -> Result<Vec<(MessageId, String)>, StoreError> {
        let bound = |id: MessageId| i64::try_from(id.0).unwrap_or(i64::MAX);
        let buckets = (
            key(channel),
            i64::from(first.bucket(self.bucket_ms)),
            i64::from(last.bucket(self.bucket_ms)),
        );
        let buckets = self.all::<(i64,)>(&self.s.buckets_between, buckets).await?;
        let mut out = Vec::new();
        for (bucket,) in buckets {
            let values = (key(channel), key(user), bucket, bound(first), bound(last));
            let rows = self
                .all::<(i64, String)>(&self.s.select_user_reactions, values)
                .await?;
            out.extend(rows.into_iter().map(|(m, e)| (id(m), e)));
        }
        out.sort();
        Ok(out)
    }

    /// One message, if it exists.
    pub(crate) async fn message(
        &self,
        channel: ChannelId,
        message: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let row = self.row_key(channel, message);
        let found = self
            .one::<history::Row>(&self.s.select_message, row)
            .await?;
        Ok(found.and_then(|row| history::message(channel, row)))
    }

    /// A channel's pinned messages, newest first.
    pub(crate) async fn pins(&self, channel: ChannelId) -> Result<Vec<Message>, StoreError> {
        let ids = self
            .all::<(i64,)>(&self.s.select_pins, (key(channel),))
            .await?;
        let reads = ids.into_iter().map(|(m,)| self.message(channel, id(m)));
        let found = futures_util::future::try_join_all(reads).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Users who reacted with `emoji`, ascending above `after`.
    pub(crate) async fn reactions(
        &self,
        (channel, message): (ChannelId, MessageId),
        emoji: &str,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        let after = i64::try_from(after.0).unwrap_or(i64::MAX);
        let values = (key(channel), key(message), emoji, after);
        let mut stmt = self.s.select_reactions.clone();
        stmt.set_page_size(limit.clamp(1, 100) as i32);
        let rows = self
            .session
            .execute_iter(stmt, values)
            .await
            .map_err(backend)?
            .rows_stream::<(i64,)>()
            .map_err(backend)?;
        let users: Vec<(i64,)> = rows.take(limit).try_collect().await.map_err(backend)?;
        Ok(users.into_iter().map(|(u,)| id(u)).collect())
    }
}
