//! Changes to existing messages on ScyllaDB: edits, pins, reactions and
//! deletes, and the reads of one message, a channel's pins and a message's
//! reactions.
//!
//! An edit, a pin or a reaction writes only after reading that the message
//! is there: the writer applies a channel's events in order, so one that
//! follows the delete finds nothing and writes nothing (an upsert would
//! bring the message back). Edits and pins name only their own columns, so
//! neither undoes the other.

use crate::history;
use crate::session::backend;
use crate::store::{Inner, id, key};
use futures_util::{StreamExt, TryStreamExt};
use rookery_proto::Id;
use rookery_proto::id::parse_timestamp;
use rookery_proto::model::Message;
use rookery_store::{Reaction, StoreError};
use scylla::value::CqlTimestamp;

impl Inner {
    fn row_key(&self, channel: Id, message: Id) -> (i64, i64, i64) {
        let bucket = i64::from(message.bucket(self.bucket_ms));
        (key(channel), bucket, key(message))
    }

    async fn exists(&self, channel: Id, message: Id) -> Result<bool, StoreError> {
        let row = self.row_key(channel, message);
        let found = self.one::<(i64,)>(&self.s.select_message_id, row).await?;
        Ok(found.is_some())
    }

    /// Rewrites the text of a message that still exists.
    pub(crate) async fn edit_message(&self, msg: &Message) -> Result<(), StoreError> {
        if !self.exists(msg.channel_id, msg.id).await? {
            return Ok(());
        }
        let (channel, bucket, id) = self.row_key(msg.channel_id, msg.id);
        let edited = msg.edited_timestamp.as_deref().and_then(parse_timestamp);
        let edited = edited.map(|ms| CqlTimestamp(ms as i64));
        let row = (channel, bucket, id, &msg.content, edited);
        self.exec(&self.s.edit_message, row).await
    }

    /// Pins or unpins a message that still exists.
    pub(crate) async fn pin(
        &self,
        channel: Id,
        message: Id,
        pinned: bool,
    ) -> Result<(), StoreError> {
        if !self.exists(channel, message).await? {
            return Ok(());
        }
        let (c, bucket, m) = self.row_key(channel, message);
        self.exec(&self.s.pin_message, (c, bucket, m, pinned))
            .await?;
        match pinned {
            true => self.exec(&self.s.insert_pin, (c, m)).await,
            false => self.exec(&self.s.delete_pin, (c, m)).await,
        }
    }

    /// Adds a reaction to a message that still exists, or removes one.
    pub(crate) async fn react(&self, r: &Reaction) -> Result<(), StoreError> {
        let row = (
            key(r.channel_id),
            key(r.message_id),
            &r.emoji,
            key(r.user_id),
        );
        if !r.add {
            return self.exec(&self.s.delete_reaction, row).await;
        }
        if self.exists(r.channel_id, r.message_id).await? {
            self.exec(&self.s.insert_reaction, row).await?;
        }
        Ok(())
    }

    /// Deletes a message's row, its pin and its reactions.
    pub(crate) async fn delete_message(&self, channel: Id, message: Id) -> Result<(), StoreError> {
        let s = &self.s;
        let pair = (key(channel), key(message));
        futures_util::try_join!(
            self.exec(&s.delete_message, self.row_key(channel, message)),
            self.exec(&s.delete_pin, pair),
            self.exec(&s.delete_reactions, pair),
        )?;
        Ok(())
    }

    /// One message, if it exists.
    pub(crate) async fn message(
        &self,
        channel: Id,
        message: Id,
    ) -> Result<Option<Message>, StoreError> {
        let row = self.row_key(channel, message);
        let found = self
            .one::<history::Row>(&self.s.select_message, row)
            .await?;
        Ok(found.map(|row| history::message(channel, row)))
    }

    /// A channel's pinned messages, newest first.
    pub(crate) async fn pins(&self, channel: Id) -> Result<Vec<Message>, StoreError> {
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
        (channel, message): (Id, Id),
        emoji: &str,
        after: Id,
        limit: usize,
    ) -> Result<Vec<Id>, StoreError> {
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
