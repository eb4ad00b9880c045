//! The write path of the ScyllaDB store: each mutation at its write time.
//!
//! Every write names its timestamp (`USING TIMESTAMP`, set on the request):
//! the writer's [`WriteTime`], which follows the event's place on its bus
//! partition, so a former partition owner's late write of an earlier event
//! never wins over a later event's write or delete (which a client
//! timestamp taken by each process from its own clock could). Writes made
//! without one (tests, the edge's account creation) take [`LocalClock`]'s.

use crate::store::{Inner, key};
use rookery_store::{Mutation, StoreError, WriteTime};
use std::sync::atomic::{AtomicI64, Ordering};

/// Write times for writes that come with none: microseconds of this
/// process's clock, strictly increasing.
#[derive(Debug, Default)]
pub(crate) struct LocalClock(AtomicI64);

impl LocalClock {
    /// The next time.
    pub(crate) fn now(&self) -> WriteTime {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let previous = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(wall.max(last + 1))
            })
            .unwrap_or_default();
        WriteTime(wall.max(previous + 1))
    }
}

impl Inner {
    /// Every mutation, `write_concurrency` at a time. New messages (all of
    /// a batch, usually) commute; any other change may be about the same
    /// row as another in the batch (an edit after its message, a role
    /// deleted after an update), so a batch holding one is written in
    /// order.
    pub(crate) async fn write_all(
        &self,
        batch: &[(WriteTime, Mutation)],
    ) -> Result<(), StoreError> {
        if !batch.iter().all(|(_, m)| matches!(m, Mutation::Message(_))) {
            for (at, mutation) in batch {
                self.write(*at, mutation).await?;
            }
            return Ok(());
        }
        self.write_messages(batch).await
    }

    async fn write(&self, at: WriteTime, mutation: &Mutation) -> Result<(), StoreError> {
        let s = &self.s;
        match mutation {
            Mutation::User(u) => {
                self.exec(at, &s.insert_user, (key(u.id), &u.username))
                    .await
            }
            Mutation::Guild(g) => {
                let values = (key(g.id), &g.name, key(g.owner_id));
                self.exec(at, &s.insert_guild, values).await
            }
            Mutation::Channel(c) => self.write_channel(at, c).await,
            Mutation::PrivateChannel { channel, joined_at } => {
                self.open_private(at, channel, joined_at).await
            }
            Mutation::ChannelDelete {
                guild_id,
                channel_id,
            } => {
                let by_guild = (key(*guild_id), key(*channel_id));
                futures_util::try_join!(
                    self.exec(at, &s.delete_channel, (key(*channel_id),)),
                    self.exec(at, &s.delete_guild_channel, by_guild),
                )?;
                Ok(())
            }
            Mutation::Recipient {
                channel_id,
                user,
                add,
            } => self.write_recipient(at, *channel_id, user, *add).await,
            Mutation::Member(mb) => self.write_member(at, mb).await,
            Mutation::MemberDelete { guild_id, user_id } => {
                self.delete_member(at, *guild_id, *user_id).await
            }
            Mutation::Role { guild_id, role } => self.write_role(at, *guild_id, role).await,
            Mutation::RoleDelete { guild_id, role_id } => {
                self.delete_role(at, *guild_id, *role_id).await
            }
            Mutation::Invite(i) => self.write_invite(at, i).await,
            Mutation::GuildDelete { guild_id } => self.delete_guild(at, *guild_id).await,
            Mutation::InviteDelete { guild_id, code } => {
                self.delete_invite(at, *guild_id, code).await
            }
            Mutation::InviteUsed { code } => self.count_invite_use(at, code).await,
            Mutation::Message(msg) => self.write_message(at, msg).await,
            Mutation::MessageEdit(msg) => self.edit_message(at, msg).await,
            Mutation::MessageDelete {
                channel_id,
                message_id,
            } => self.delete_message(at, *channel_id, *message_id).await,
            Mutation::Pin {
                channel_id,
                message_id,
                pinned,
            } => self.pin(at, *channel_id, *message_id, *pinned).await,
            Mutation::Reaction(r) => self.react(at, r).await,
            Mutation::ReactionsClear {
                channel_id,
                message_id,
                emoji,
            } => {
                let message = (*channel_id, *message_id);
                self.clear_reactions(at, message, emoji.as_deref()).await
            }
            Mutation::Ban { .. }
            | Mutation::Unban { .. }
            | Mutation::ReadState { .. }
            | Mutation::Audit(_) => self.write_record(at, mutation).await,
        }
    }
}
