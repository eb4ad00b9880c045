//! How each event is routed and classified: its partition key, its scope,
//! whether it is ephemeral, the membership it ends, the channel it is about.
//! Every match here names every variant, so a new event cannot slip past a
//! routing or invalidation decision by falling into a catch-all.

use super::Event;
use crate::Id;
use crate::model::User;
use crate::{ChannelId, GuildId};

impl Event {
    /// Partition key: the channel for channel-scoped events, the guild for
    /// guild-scoped ones, the user for account events. Events with the same key
    /// are delivered in publish order: every change to a guild's roles,
    /// overwrites and member roles is applied in the order it was made.
    pub fn key(&self) -> u64 {
        match self {
            Event::UserCreate(u) => u.id.0,
            Event::GuildCreate(g) => g.guild.id.0,
            Event::GuildUpdate(g) => g.id.0,
            Event::GuildDelete(g) => g.guild_id.0,
            // Every opening of a DM between the same two users is on one
            // partition, so the store keeps the first (see `dm_pair`).
            Event::ChannelCreate(c) if c.dm_pair().is_some() => {
                c.dm_pair().map_or(c.id.0, |(low, _)| low.0)
            }
            Event::ChannelCreate(c) | Event::ChannelUpdate(c) | Event::ChannelDelete(c) => {
                c.scope().0
            }
            Event::InviteCreate(i) => i.guild_id.0,
            Event::InviteDelete(i) => i.guild_id.0,
            Event::GuildMemberAdd(m) => m.guild_id.0,
            Event::MessageCreate(m) => m.channel_id.0,
            Event::GuildRoleCreate(r) | Event::GuildRoleUpdate(r) => r.guild_id.0,
            Event::GuildRoleDelete(r) => r.guild_id.0,
            Event::GuildMemberUpdate(m) => m.guild_id.0,
            Event::GuildMemberRemove(m) => m.guild_id.0,
            Event::MessageUpdate(m) => m.channel_id.0,
            Event::MessageDelete(d) => d.channel_id.0,
            Event::MessageDeleteBulk(d) => d.channel_id.0,
            Event::ChannelPinsUpdate(p) => p.channel_id.0,
            Event::MessageReactionAdd(r) | Event::MessageReactionRemove(r) => r.channel_id.0,
            Event::MessageReactionRemoveAll(r) | Event::MessageReactionRemoveEmoji(r) => {
                r.channel_id.0
            }
            Event::GuildBanAdd(b) | Event::GuildBanRemove(b) => b.guild_id.0,
            Event::MessageAck(a) => a.channel_id.0,
            Event::TypingStart(t) => t.channel_id.0,
            Event::PresenceUpdate(p) => p.user_id.0,
            Event::ChannelRecipientAdd(r) | Event::ChannelRecipientRemove(r) => r.channel_id.0,
            Event::TokensRevoked(r) => r.user_id.0,
        }
    }
}

impl Event {
    /// The scope an event belongs to: its guild, or the private channel
    /// itself for a DM's or group DM's events (see
    /// [`crate::model::Channel::scope`]); none for account events.
    pub fn scope(&self) -> Option<Id> {
        Some(match self {
            Event::UserCreate(_) => return None,
            Event::GuildCreate(g) => g.guild.id.raw(),
            Event::GuildUpdate(g) => g.id.raw(),
            Event::GuildDelete(g) => g.guild_id.raw(),
            Event::ChannelCreate(c) | Event::ChannelUpdate(c) | Event::ChannelDelete(c) => {
                c.scope()
            }
            Event::InviteCreate(i) => i.guild_id.raw(),
            Event::InviteDelete(i) => i.guild_id.raw(),
            Event::GuildMemberAdd(m) => m.guild_id.raw(),
            Event::MessageCreate(m) | Event::MessageUpdate(m) => m.scope(),
            Event::GuildRoleCreate(r) | Event::GuildRoleUpdate(r) => r.guild_id.raw(),
            Event::GuildRoleDelete(r) => r.guild_id.raw(),
            Event::GuildMemberUpdate(m) => m.guild_id.raw(),
            Event::GuildMemberRemove(m) => m.guild_id.raw(),
            Event::MessageDelete(d) => d.guild_id.or_private(d.channel_id),
            Event::MessageDeleteBulk(d) => d.guild_id.or_private(d.channel_id),
            Event::ChannelPinsUpdate(p) => p.guild_id.or_private(p.channel_id),
            Event::MessageReactionAdd(r) | Event::MessageReactionRemove(r) => {
                r.guild_id.or_private(r.channel_id)
            }
            Event::MessageReactionRemoveAll(r) | Event::MessageReactionRemoveEmoji(r) => {
                r.guild_id.or_private(r.channel_id)
            }
            Event::GuildBanAdd(b) | Event::GuildBanRemove(b) => b.guild_id.raw(),
            Event::MessageAck(a) => a.guild_id.or_private(a.channel_id),
            Event::TypingStart(t) => t.guild_id.or_private(t.channel_id),
            Event::PresenceUpdate(_) => return None,
            Event::ChannelRecipientAdd(r) | Event::ChannelRecipientRemove(r) => r.channel_id.raw(),
            Event::TokensRevoked(_) => return None,
        })
    }

    /// Whether the event is ephemeral: published on `rookery.ephemeral`,
    /// fanned out once and never stored.
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral_kind().is_some()
    }

    /// An ephemeral event's kind (a bounded metric label); `None` for
    /// every event that is stored.
    pub fn ephemeral_kind(&self) -> Option<&'static str> {
        match self {
            Event::TypingStart(_) => Some("typing_start"),
            Event::PresenceUpdate(_) => Some("presence_update"),
            Event::UserCreate(_)
            | Event::GuildCreate(_)
            | Event::GuildUpdate(_)
            | Event::GuildDelete(_)
            | Event::ChannelCreate(_)
            | Event::ChannelUpdate(_)
            | Event::ChannelDelete(_)
            | Event::InviteCreate(_)
            | Event::InviteDelete(_)
            | Event::GuildMemberAdd(_)
            | Event::GuildMemberUpdate(_)
            | Event::GuildMemberRemove(_)
            | Event::GuildRoleCreate(_)
            | Event::GuildRoleUpdate(_)
            | Event::GuildRoleDelete(_)
            | Event::MessageCreate(_)
            | Event::MessageUpdate(_)
            | Event::MessageDelete(_)
            | Event::MessageDeleteBulk(_)
            | Event::ChannelPinsUpdate(_)
            | Event::MessageReactionAdd(_)
            | Event::MessageReactionRemove(_)
            | Event::MessageReactionRemoveAll(_)
            | Event::MessageReactionRemoveEmoji(_)
            | Event::GuildBanAdd(_)
            | Event::GuildBanRemove(_)
            | Event::MessageAck(_)
            | Event::ChannelRecipientAdd(_)
            | Event::ChannelRecipientRemove(_)
            | Event::TokensRevoked(_) => None,
        }
    }

    /// The membership an event ends: a leave, a kick or a ban.
    pub fn removed_member(&self) -> Option<(GuildId, &User)> {
        match self {
            Event::GuildMemberRemove(m) => Some((m.guild_id, &m.user)),
            Event::GuildBanAdd(b) => Some((b.guild_id, &b.user)),
            Event::UserCreate(_)
            | Event::GuildCreate(_)
            | Event::GuildUpdate(_)
            | Event::GuildDelete(_)
            | Event::ChannelCreate(_)
            | Event::ChannelUpdate(_)
            | Event::ChannelDelete(_)
            | Event::InviteCreate(_)
            | Event::InviteDelete(_)
            | Event::GuildMemberAdd(_)
            | Event::GuildMemberUpdate(_)
            | Event::GuildRoleCreate(_)
            | Event::GuildRoleUpdate(_)
            | Event::GuildRoleDelete(_)
            | Event::MessageCreate(_)
            | Event::MessageUpdate(_)
            | Event::MessageDelete(_)
            | Event::MessageDeleteBulk(_)
            | Event::ChannelPinsUpdate(_)
            | Event::MessageReactionAdd(_)
            | Event::MessageReactionRemove(_)
            | Event::MessageReactionRemoveAll(_)
            | Event::MessageReactionRemoveEmoji(_)
            | Event::GuildBanRemove(_)
            | Event::MessageAck(_)
            | Event::TypingStart(_)
            | Event::PresenceUpdate(_)
            | Event::ChannelRecipientAdd(_)
            | Event::ChannelRecipientRemove(_)
            | Event::TokensRevoked(_) => None,
        }
    }

    /// The channel of a channel-scoped event. These are routed only to the
    /// edges with interest in the channel; every other event is rare (guild,
    /// membership and account changes) and goes to every edge.
    pub fn channel(&self) -> Option<ChannelId> {
        match self {
            Event::MessageCreate(m) | Event::MessageUpdate(m) => Some(m.channel_id),
            Event::MessageDelete(d) => Some(d.channel_id),
            Event::MessageDeleteBulk(d) => Some(d.channel_id),
            Event::ChannelPinsUpdate(p) => Some(p.channel_id),
            Event::MessageReactionAdd(r) | Event::MessageReactionRemove(r) => Some(r.channel_id),
            Event::MessageReactionRemoveAll(r) | Event::MessageReactionRemoveEmoji(r) => {
                Some(r.channel_id)
            }
            Event::MessageAck(a) => Some(a.channel_id),
            Event::TypingStart(t) => Some(t.channel_id),
            // Guild, channel, membership and account changes: rare, and
            // they change who may see what, so every edge hears them.
            Event::UserCreate(_)
            | Event::GuildCreate(_)
            | Event::GuildUpdate(_)
            | Event::GuildDelete(_)
            | Event::ChannelCreate(_)
            | Event::ChannelUpdate(_)
            | Event::ChannelDelete(_)
            | Event::InviteCreate(_)
            | Event::InviteDelete(_)
            | Event::GuildMemberAdd(_)
            | Event::GuildMemberUpdate(_)
            | Event::GuildMemberRemove(_)
            | Event::GuildRoleCreate(_)
            | Event::GuildRoleUpdate(_)
            | Event::GuildRoleDelete(_)
            | Event::GuildBanAdd(_)
            | Event::GuildBanRemove(_)
            | Event::PresenceUpdate(_)
            | Event::ChannelRecipientAdd(_)
            | Event::ChannelRecipientRemove(_)
            | Event::TokensRevoked(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, MemberRemove, TypingStart};
    use crate::model::{Message, User};
    use crate::{ChannelId, GuildId, MessageId, UserId};

    fn user() -> User {
        User {
            id: UserId(6),
            username: "bo".into(),
        }
    }

    #[test]
    fn only_typing_and_presence_are_ephemeral_and_each_has_its_label() {
        let typing = Event::TypingStart(TypingStart {
            channel_id: ChannelId(3),
            guild_id: GuildId(2),
            user_id: UserId(6),
            timestamp: 1,
        });
        assert_eq!(typing.ephemeral_kind(), Some("typing_start"));
        let message = Event::MessageCreate(Message::new(
            MessageId(9),
            (GuildId(2), ChannelId(3)),
            user(),
            "m".into(),
        ));
        assert_eq!(message.ephemeral_kind(), None);
        assert!(typing.is_ephemeral() && !message.is_ephemeral());
        // Both are about channel 3, and are routed by it.
        assert_eq!(
            (typing.channel(), message.channel()),
            (Some(ChannelId(3)), Some(ChannelId(3)))
        );
    }

    #[test]
    fn a_removal_names_the_membership_it_ends_and_reaches_every_edge() {
        let removal = Event::GuildMemberRemove(MemberRemove {
            guild_id: GuildId(2),
            user: user(),
        });
        assert_eq!(removal.removed_member(), Some((GuildId(2), &user())));
        assert_eq!(
            removal.channel(),
            None,
            "membership changes go to every edge"
        );
        assert_eq!(Event::UserCreate(user()).removed_member(), None);
    }
}
