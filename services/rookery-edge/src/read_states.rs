//! Read states: how far each user has read each channel, and what READY
//! (and `GET /users/@me/read-states`) says about it.
//!
//! An ack is a MESSAGE_ACK event on the channel's partition; the writer
//! stores `(user, channel) → last message read` and the user's sessions
//! get MESSAGE_ACK. Nothing else is stored: `unread` and `mention_count`
//! are counted from the history after the last message read whenever they
//! are asked for, so they are exact by construction (and cannot drift the
//! way a stored counter can when messages are edited or deleted). A channel
//! never acked counts from the user's join. Counting reads at most
//! [`MENTION_SCAN_LIMIT`] messages per channel; past that, `mention_count`
//! is what those messages hold (a floor).

use crate::hub::Scope;
use crate::{Applied, Edge, EdgeError};
use futures_util::{StreamExt, TryStreamExt};
use rookery_proto::Id;
use rookery_proto::event::{Event, MessageAck};
use rookery_proto::id::parse_timestamp;
use rookery_proto::model::{Channel, GuildState, Member, ReadState, User};
use rookery_store::Cursor;
use std::collections::HashMap;

/// Channels counted at once for one READY.
const READ_CONCURRENCY: usize = 8;

/// Messages read per channel to count mentions.
pub const MENTION_SCAN_LIMIT: usize = 10_000;

impl Edge {
    /// Marks a channel the user can see read up to `message`.
    pub async fn ack(&self, user: &User, channel: Id, message: Id) -> Result<Applied, EdgeError> {
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
        shown: Vec<(Id, Vec<Id>)>,
    ) -> Result<Vec<ReadState>, EdgeError> {
        let marks: HashMap<Id, Id> = self.store.read_states(user.id).await?.into_iter().collect();
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
        channel: Id,
        last: Id,
    ) -> Result<ReadState, EdgeError> {
        let me = member.user.id;
        let (mut mention_count, mut unread, mut cursor) = (0, false, Cursor::After(last));
        for _ in 0..MENTION_SCAN_LIMIT / 100 {
            let page = self.store.messages(channel, cursor, 100).await?;
            unread |= !page.is_empty();
            let mentions = page
                .iter()
                .filter(|m| m.author.id != me && m.mentions_user(me, &member.roles));
            mention_count += mentions.count() as u32;
            match page.last() {
                Some(newest) if page.len() == 100 => cursor = Cursor::After(newest.id),
                _ => break,
            }
        }
        Ok(ReadState {
            id: channel,
            last_message_id: last,
            mention_count,
            unread,
        })
    }
}

/// Each scope shown to a user with its channels: every guild's, and each
/// private channel as its own scope.
pub(crate) fn shown(guilds: &[GuildState], private: &[Channel]) -> Vec<(Id, Vec<Id>)> {
    let guilds = guilds
        .iter()
        .map(|g| (g.id, g.channels.iter().map(|c| c.id).collect()));
    guilds
        .chain(private.iter().map(|c| (c.id, vec![c.id])))
        .collect()
}

/// The last id before the member joined: what a channel never acked counts
/// from.
fn joined(member: &Member) -> Id {
    let ms = parse_timestamp(&member.joined_at).unwrap_or(0);
    Id(Id::floor_of_ms(ms).0.saturating_sub(1))
}
