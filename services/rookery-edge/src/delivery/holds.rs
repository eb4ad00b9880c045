//! A session's held channels: live messages wait while the session joins
//! a channel (until the messages posted before routing took effect have
//! been read from the store; they then follow those, none twice) or while
//! its permission to see the channel is being computed (they are then sent,
//! or dropped). A channel can be held for both at once: it flows again when
//! every holder has released it.
//!
//! Live copies of caught-up messages can also arrive after the catch-up (a
//! message stored before the read but pushed after it). Those ids are kept
//! per channel until the channel's first message that was not caught up:
//! a writer pushes a channel's messages in the order it stores them, so by
//! then every caught-up message has been pushed.

use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::{ChannelId, MessageId};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Held and recently caught-up messages, by channel. Empty almost always
/// (a session holds only while it joins a channel), so every session
/// carries one pointer rather than two maps.
#[derive(Debug, Default)]
pub(crate) struct Holds(Option<Box<Inner>>);

#[derive(Debug, Default)]
struct Inner {
    held: HashMap<ChannelId, Held>,
    caught_up: HashMap<ChannelId, HashSet<MessageId>>,
}

/// One held channel.
#[derive(Debug, Default)]
struct Held {
    holders: u32,
    /// Read from the store by a holder that released already.
    stored: Vec<Arc<Dispatch>>,
    live: Vec<Arc<Dispatch>>,
}

/// `(channel, id)` of a MESSAGE_CREATE; other events (edits and deletes
/// included) are never taken for duplicates. Those of a held channel are
/// held too, so they keep their order after the messages they are about.
fn message_key(d: &Dispatch) -> Option<(ChannelId, MessageId)> {
    let id = d.message_id()?;
    match d.data() {
        DispatchData::Message(m) => Some((m.channel_id, id)),
        _ => None,
    }
}

/// The channel of a dispatch about a channel's content, which waits while
/// that channel is held. Every variant is listed: a new one must be placed.
fn channel_of(d: &Dispatch) -> Option<ChannelId> {
    use DispatchData as D;
    match d.data() {
        D::Message(m) => Some(m.channel_id),
        D::MessageDelete(m) => Some(m.channel_id),
        D::MessageDeleteBulk(m) => Some(m.channel_id),
        D::Channel(c) => Some(c.id),
        D::PinsUpdate(p) => Some(p.channel_id),
        D::Reaction(r) => Some(r.channel_id),
        D::ReactionsRemoved(r) => Some(r.channel_id),
        D::Typing(t) => Some(t.channel_id),
        // About a channel, not its content: who is in a private channel,
        // and the reader's own read state.
        D::Recipient(_) | D::Ack(_) => None,
        // Not about one channel.
        D::Ready(_)
        | D::DiscordReady(_)
        | D::GuildCreate(_)
        | D::Resumed(_)
        | D::Guild(_)
        | D::Member(_)
        | D::Role(_)
        | D::RoleDelete(_)
        | D::MemberRemove(_)
        | D::GuildUpdate(_)
        | D::GuildDelete(_)
        | D::Presence(_)
        | D::MembersChunk(_) => None,
    }
}

impl Holds {
    /// Whether `d` goes out now; if not, it is held or was a duplicate.
    pub(crate) fn admit(&mut self, d: &Arc<Dispatch>) -> bool {
        let Some(inner) = &mut self.0 else {
            return true;
        };
        let admitted = inner.admit(d);
        self.tidy();
        admitted
    }

    /// Live messages held, over every channel.
    pub(crate) fn held_live(&self) -> usize {
        self.0.as_ref().map_or(0, |inner| inner.held_live())
    }

    /// Starts holding the live messages of `channels`.
    pub(crate) fn hold(&mut self, channels: &[ChannelId]) {
        self.0.get_or_insert_default().hold(channels);
    }

    /// One holder of `channels` is done: once a channel has no holder left,
    /// returns what the store had of it (`caught_up`, and what earlier
    /// holders read) followed by the held live messages it did not contain.
    pub(crate) fn release(
        &mut self,
        channels: &[ChannelId],
        caught_up: &[Arc<Dispatch>],
    ) -> Vec<Arc<Dispatch>> {
        let Some(inner) = &mut self.0 else {
            return Vec::new();
        };
        let out = inner.release(channels, caught_up);
        self.tidy();
        out
    }

    /// One holder of `channel` found the session may not see it: what was
    /// held is dropped.
    pub(crate) fn deny(&mut self, channel: ChannelId) {
        if let Some(inner) = &mut self.0 {
            inner.deny(channel);
            self.tidy();
        }
    }

    /// Drops the live copies of `sent` (messages read from the store) that
    /// are still to come.
    pub(crate) fn remember(&mut self, sent: &[Arc<Dispatch>]) {
        self.0.get_or_insert_default().remember(sent);
        self.tidy();
    }

    /// Frees the maps once nothing is held or remembered.
    fn tidy(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|i| i.held.is_empty() && i.caught_up.is_empty())
        {
            self.0 = None;
        }
    }
}

impl Inner {
    fn admit(&mut self, d: &Arc<Dispatch>) -> bool {
        if self.held.is_empty() && self.caught_up.is_empty() {
            return true;
        }
        let Some(channel) = channel_of(d) else {
            return true;
        };
        if let Some(held) = self.held.get_mut(&channel) {
            held.live.push(d.clone());
            return false;
        }
        let Some((_, id)) = message_key(d) else {
            return true;
        };
        if let Some(ids) = self.caught_up.get_mut(&channel) {
            if ids.remove(&id) {
                if ids.is_empty() {
                    self.caught_up.remove(&channel);
                }
                return false;
            }
            self.caught_up.remove(&channel);
        }
        true
    }

    fn held_live(&self) -> usize {
        self.held.values().map(|h| h.live.len()).sum()
    }

    fn hold(&mut self, channels: &[ChannelId]) {
        for &c in channels {
            self.held.entry(c).or_default().holders += 1;
        }
    }

    fn release(
        &mut self,
        channels: &[ChannelId],
        caught_up: &[Arc<Dispatch>],
    ) -> Vec<Arc<Dispatch>> {
        let mut out = Vec::new();
        for c in channels {
            let Some(held) = self.held.get_mut(c) else {
                continue;
            };
            let mine = caught_up
                .iter()
                .filter(|d| message_key(d).is_some_and(|k| k.0 == *c));
            held.stored.extend(mine.cloned());
            held.holders -= 1;
            if held.holders > 0 {
                continue;
            }
            let held = self.held.remove(c).expect("present");
            let mut stored = held.stored;
            stored.sort_by_key(|d| d.message_id());
            stored.dedup_by_key(|d| d.message_id());
            self.remember(&stored);
            out.extend(stored);
            out.extend(held.live.into_iter().filter(|d| self.admit(d)));
        }
        out
    }

    fn deny(&mut self, channel: ChannelId) {
        if let Some(held) = self.held.get_mut(&channel) {
            held.live.clear();
            held.stored.clear();
            held.holders -= 1;
            if held.holders == 0 {
                self.held.remove(&channel);
            }
        }
    }

    fn remember(&mut self, sent: &[Arc<Dispatch>]) {
        for (channel, id) in sent.iter().filter_map(|d| message_key(d)) {
            self.caught_up.entry(channel).or_default().insert(id);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rookery_proto::model::{Message, User};
    use rookery_proto::{GuildId, UserId};

    /// A MESSAGE_CREATE dispatch of message `id` in `channel`.
    pub(crate) fn message(channel: u64, id: u64) -> Arc<Dispatch> {
        let author = User {
            id: UserId(1),
            username: "u".into(),
        };
        let m = Message::new(
            MessageId(id),
            (GuildId(1), ChannelId(channel)),
            author,
            "c".into(),
        );
        Arc::new(Dispatch::new("MESSAGE_CREATE", DispatchData::Message(m)))
    }

    fn ids(ds: &[Arc<Dispatch>]) -> Vec<u64> {
        ds.iter().map(|d| d.message_id().unwrap().0).collect()
    }

    #[test]
    fn held_channels_wait_and_follow_the_catch_up_without_duplicates() {
        let mut h = Holds::default();
        h.hold(&[ChannelId(5)]);
        assert!(h.admit(&message(6, 1)), "other channels flow");
        assert!(!h.admit(&message(5, 11)));
        assert!(!h.admit(&message(5, 12)));
        let out = h.release(&[ChannelId(5)], &[message(5, 10), message(5, 11)]);
        assert_eq!(ids(&out), [10, 11, 12]);
        assert!(h.admit(&message(5, 13)));
        assert!(
            h.0.is_none(),
            "nothing held or remembered: the maps are freed"
        );
    }

    #[test]
    fn a_channel_held_twice_flows_after_both_release_and_a_denial_drops_it() {
        let mut h = Holds::default();
        h.hold(&[ChannelId(5)]);
        h.hold(&[ChannelId(5)]);
        assert!(!h.admit(&message(5, 11)));
        assert!(
            h.release(&[ChannelId(5)], &[message(5, 10)]).is_empty(),
            "still held"
        );
        assert!(!h.admit(&message(5, 12)));
        assert_eq!(ids(&h.release(&[ChannelId(5)], &[])), [10, 11, 12]);

        h.hold(&[ChannelId(5)]);
        assert!(!h.admit(&message(5, 13)));
        h.deny(ChannelId(5));
        assert!(h.0.is_none());
        assert!(
            h.admit(&message(5, 14)),
            "a later verdict decides the next ones"
        );
    }

    /// Every channel-scoped dispatch waits with its channel, so a denial
    /// drops a typing indicator, a pin or a reaction too, not only messages.
    #[test]
    fn every_channel_scoped_dispatch_is_held_with_its_channel() {
        use rookery_proto::event::{PinsUpdate, ReactionChange, TypingStart};
        let typing = DispatchData::Typing(TypingStart {
            channel_id: ChannelId(5),
            guild_id: GuildId(1),
            user_id: UserId(2),
            timestamp: 0,
        });
        let pin = DispatchData::PinsUpdate(PinsUpdate {
            guild_id: GuildId(1),
            channel_id: ChannelId(5),
            message_id: MessageId(9),
            pinned: true,
            last_pin_timestamp: None,
        });
        let reaction = DispatchData::Reaction(ReactionChange {
            user_id: UserId(2),
            channel_id: ChannelId(5),
            message_id: MessageId(9),
            guild_id: GuildId(1),
            emoji: rookery_proto::event::Emoji {
                id: None,
                name: "x".into(),
            },
            kind: 0,
            burst: false,
        });
        let mut h = Holds::default();
        h.hold(&[ChannelId(5)]);
        for d in [typing, pin, reaction] {
            assert!(!h.admit(&Arc::new(Dispatch::new("T", d))));
        }
        h.deny(ChannelId(5));
        assert!(h.0.is_none());
    }

    #[test]
    fn live_copies_after_the_catch_up_are_dropped_until_a_new_message() {
        let mut h = Holds::default();
        h.hold(&[ChannelId(5)]);
        let out = h.release(&[ChannelId(5)], &[message(5, 10), message(5, 11)]);
        assert_eq!(ids(&out), [10, 11]);
        assert!(
            !h.admit(&message(5, 10)),
            "stored before the read, pushed after"
        );
        assert!(h.admit(&message(5, 12)));
        // Every caught-up message was pushed before 12: 11 is not expected.
        assert!(h.0.is_none());
    }
}
