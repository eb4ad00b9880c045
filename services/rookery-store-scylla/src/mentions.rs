//! The mention index on ScyllaDB (`schema/012_mention_index.cql`), which
//! read states count from: `user_mentions` for each user a message names,
//! `broadcast_mentions` for each message that mentions @everyone or a role.
//! Rows are written with their message and deleted before it (a crash in
//! between leaves the message, and the replayed delete finds it again).

use crate::store::{Inner, id, key};
use rookery_proto::MessageId;
use rookery_proto::model::Message;
use rookery_proto::{ChannelId, RoleId, UserId};
use rookery_store::mention_index::{broadcast_reaches, merged};
use rookery_store::{StoreError, WriteTime};

impl Inner {
    /// Writes (`add`) or deletes the index rows of `msg`'s mentions.
    pub(crate) async fn index_mentions(
        &self,
        at: WriteTime,
        msg: &Message,
        add: bool,
    ) -> Result<(), StoreError> {
        let s = &self.s;
        let (channel, bucket, message) = (
            key(msg.channel_id),
            i64::from(msg.id.bucket(self.bucket_ms)),
            key(msg.id),
        );
        let named = msg.mentions.iter().filter(|u| u.id != msg.author.id);
        let users = named.map(|u| async move {
            let row = (channel, key(u.id), bucket, message);
            match add {
                true => self.exec(at, &s.insert_user_mention, row).await,
                false => self.exec(at, &s.delete_user_mention, row).await,
            }
        });
        let broadcast = async {
            if !msg.mention_everyone && msg.mention_roles.is_empty() {
                return Ok(());
            }
            if !add {
                let row = (channel, bucket, message);
                return self.exec(at, &s.delete_broadcast_mention, row).await;
            }
            let roles: Vec<i64> = msg.mention_roles.iter().copied().map(key).collect();
            let row = (
                channel,
                bucket,
                message,
                key(msg.author.id),
                msg.mention_everyone,
                roles,
            );
            self.exec(at, &s.insert_broadcast_mention, row).await
        };
        futures_util::try_join!(futures_util::future::try_join_all(users), broadcast)?;
        Ok(())
    }

    /// See [`rookery_store::Store::mentions`]: the channel's non-empty
    /// buckets from the mark's, oldest first, each read from the mark.
    pub(crate) async fn mentions(
        &self,
        (channel, user): (ChannelId, UserId),
        roles: &[RoleId],
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError> {
        let s = &self.s;
        let first = i64::from(after.bucket(self.bucket_ms));
        let buckets = self
            .all::<(i64,)>(&s.buckets_up, (key(channel), first))
            .await?;
        let after = i64::try_from(after.0).unwrap_or(i64::MAX);
        let mut found = Vec::new();
        for (bucket,) in buckets {
            let named = (key(channel), key(user), bucket, after);
            let broadcast = (key(channel), bucket, after);
            type Broadcast = (i64, i64, bool, Option<Vec<i64>>);
            let (named, broadcast) = futures_util::try_join!(
                self.all::<(i64,)>(&s.select_user_mentions, named),
                self.all::<Broadcast>(&s.select_broadcast_mentions, broadcast),
            )?;
            found.extend(named.into_iter().map(|(m,)| id::<MessageId>(m)));
            let reaches = |(_, author, everyone, mentioned): &Broadcast| {
                let mentioned: Vec<RoleId> = mentioned.iter().flatten().map(|&r| id(r)).collect();
                broadcast_reaches((id(*author), *everyone, &mentioned), user, roles)
            };
            found.extend(
                broadcast
                    .iter()
                    .filter(|b| reaches(b))
                    .map(|b| id::<MessageId>(b.0)),
            );
            if found.len() >= limit {
                break;
            }
        }
        Ok(merged(found, limit))
    }
}
