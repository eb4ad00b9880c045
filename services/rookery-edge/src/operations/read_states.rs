//! Read states: how far each user has read each channel, and what READY
//! (and `GET /users/@me/read-states`) says about it.
//!
//! An ack is a MESSAGE_ACK event on the channel's partition; the writer
//! stores `(user, channel) → last message read` and the user's sessions
//! get MESSAGE_ACK. No counter is stored: `mention_count` is counted from
//! the store's mention index (each message's mentions, written and deleted
//! with it) after the last message read, and `unread` is whether one
//! message follows it, whenever they are asked for. So they are exact (a
//! stored counter drifts when messages are deleted or roles change), and a
//! channel costs two short reads whatever its traffic: READY is O(channels)
//! plus the mentions it reports, never O(messages). A channel never acked
//! counts from the user's join. Past [`MENTION_COUNT_LIMIT`] mentions in a
//! channel, `mention_count` is that limit (a floor).

use crate::delivery::hub::Scope;
use crate::{Applied, Edge, EdgeError};
use futures_util::{StreamExt, TryStreamExt};
use rookery_proto::GuildId;
use rookery_proto::Id;
use rookery_proto::event::{Event, MessageAck};
use rookery_proto::id::parse_timestamp;
use rookery_proto::model::{Channel, GuildState, Member, ReadState, User};
use rookery_proto::{ChannelId, MessageId};
use rookery_store::Cursor;
use std::collections::HashMap;

/// Channels counted at once for one READY.
const READ_CONCURRENCY: usize = 8;

/// Mentions counted per channel at most.
pub const MENTION_COUNT_LIMIT: usize = 10_000;

impl Edge {
    /// Marks a channel the user can see read up to `message`.
    pub async fn ack(
        &self,
        user: &User,
        channel: ChannelId,
        message: MessageId,
    ) -> Result<Applied, EdgeError> {
        let (c, _) = self.visible_channel(user.id, channel).await?;
        let ack = MessageAck {
            user_id: user.id,
            channel_id: channel,
            guild_id: c.guild_id,
            message_id: message,
        };
        self.publish(Event::MessageAck(ack), true).await
    }

    /// The user's read state in every channel of `shown`: each scope (a
    /// guild, or a private channel itself) with the channels shown of it.
    pub async fn read_states(
        &self,
        user: &User,
        shown: Vec<(GuildId, Vec<ChannelId>)>,
    ) -> Result<Vec<ReadState>, EdgeError> {
        let marks: HashMap<ChannelId, MessageId> =
            self.store.read_states(user.id).await?.into_iter().collect();
        let mut wanted = Vec::new();
        for (scope, channels) in shown {
            let Some(member) = self.hub.perms().member(scope, user.id).await? else {
                continue;
            };
            for channel in channels {
                let last = marks.get(&channel).copied();
                wanted.push((
                    member.clone(),
                    channel,
                    last.unwrap_or_else(|| joined(&member)),
                ));
            }
        }
        // A few channels at a time, in order: READY waits on these reads.
        let mut counts = Vec::with_capacity(wanted.len());
        for (member, channel, last) in &wanted {
            counts.push(self.read_state(member, *channel, *last));
        }
        futures_util::stream::iter(counts)
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await
    }

    /// The user's read states over REST: every guild's visible channels,
    /// and every DM and group DM.
    pub async fn my_read_states(&self, user: &User) -> Result<Vec<ReadState>, EdgeError> {
        let (mut guilds, mut private) = (Vec::new(), Vec::new());
        for id in self.store.user_guilds(user.id).await? {
            match self.hub.scope_state(id).await {
                Some(Scope::Guild(state)) => {
                    guilds.push(self.hub.visible_state(user.id, &state).await)
                }
                Some(Scope::Private(c)) => private.push(c),
                None => {}
            }
        }
        self.read_states(user, shown(&guilds, &private)).await
    }

    async fn read_state(
        &self,
        member: &Member,
        channel: ChannelId,
        last: MessageId,
    ) -> Result<ReadState, EdgeError> {
        let (me, roles) = (member.user.id, &member.roles);
        let (mentions, next) = futures_util::try_join!(
            self.store
                .mentions(channel, me, roles, last, MENTION_COUNT_LIMIT),
            self.store.messages(channel, Cursor::After(last), 1),
        )?;
        Ok(ReadState {
            id: channel,
            last_message_id: last,
            mention_count: mentions.len() as u32,
            unread: !next.is_empty(),
        })
    }
}

/// Each scope shown to a user with its channels: every guild's, and each
/// private channel as its own scope.
pub(crate) fn shown(guilds: &[GuildState], private: &[Channel]) -> Vec<(GuildId, Vec<ChannelId>)> {
    let guilds = guilds
        .iter()
        .map(|g| (g.id, g.channels.iter().map(|c| c.id).collect()));
    guilds
        .chain(private.iter().map(|c| (c.id.as_scope(), vec![c.id])))
        .collect()
}

/// The last id before the member joined: what a channel never acked counts
/// from.
fn joined(member: &Member) -> MessageId {
    let ms = parse_timestamp(&member.joined_at).unwrap_or(0);
    MessageId(Id::floor_of_ms(ms).0.saturating_sub(1))
}
