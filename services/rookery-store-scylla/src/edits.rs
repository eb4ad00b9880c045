//! Message edits and deletes on ScyllaDB. An edit rewrites the whole row,
//! but only after reading that the row is there: the writer applies a
//! channel's events in order, so an edit that follows a delete finds
//! nothing and writes nothing (an upsert would bring the message back).

use crate::store::{Inner, key};
use rookery_proto::Id;
use rookery_proto::id::parse_timestamp;
use rookery_proto::model::Message;
use rookery_store::StoreError;
use scylla::value::CqlTimestamp;

impl Inner {
    fn row_key(&self, channel: Id, message: Id) -> (i64, i64, i64) {
        let bucket = i64::from(message.bucket(self.bucket_ms));
        (key(channel), bucket, key(message))
    }

    /// Rewrites a message that still exists.
    pub(crate) async fn edit_message(&self, msg: &Message) -> Result<(), StoreError> {
        let (channel, bucket, id) = self.row_key(msg.channel_id, msg.id);
        let found = self
            .one::<(i64,)>(&self.s.select_message_id, (channel, bucket, id))
            .await?;
        if found.is_none() {
            return Ok(());
        }
        let edited = msg.edited_timestamp.as_deref().and_then(parse_timestamp);
        let row = (
            channel,
            bucket,
            id,
            key(msg.guild_id),
            key(msg.author.id),
            &msg.author.username,
            &msg.content,
            &msg.nonce,
            edited.map(|ms| CqlTimestamp(ms as i64)),
        );
        self.exec(&self.s.insert_edited_message, row).await
    }

    /// Deletes a message's row.
    pub(crate) async fn delete_message(&self, channel: Id, message: Id) -> Result<(), StoreError> {
        let values = self.row_key(channel, message);
        self.exec(&self.s.delete_message, values).await
    }
}
