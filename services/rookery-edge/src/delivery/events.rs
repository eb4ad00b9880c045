//! What an applied event becomes for the sessions of its scope (a guild,
//! or a DM or group DM): the dispatch they are sent, and the channel whose
//! viewers alone may get it.

use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::event::{Envelope, Event, MemberRemove};
use rookery_proto::gateway::event_name as ev;

/// The channel an event is about, if only the sessions that can see that
/// channel may receive it.
pub(crate) fn seen_in(event: &Event) -> Option<ChannelId> {
    match event {
        Event::ChannelCreate(c) | Event::ChannelUpdate(c) => Some(c.id),
        other => other.channel(),
    }
}

/// The dispatch an event makes to every session of its scope (its guild,
/// or a private channel itself), if any.
pub(crate) fn guild_dispatch(env: &Envelope) -> Option<(Id, Dispatch)> {
    use DispatchData as D;
    let (t, d) = match &env.event {
        Event::MessageCreate(m) => (ev::MESSAGE_CREATE, D::Message(m.clone())),
        Event::MessageUpdate(m) => (ev::MESSAGE_UPDATE, D::Message(m.clone())),
        Event::MessageDelete(d) => (ev::MESSAGE_DELETE, D::MessageDelete(d.clone())),
        Event::MessageDeleteBulk(d) => (ev::MESSAGE_DELETE_BULK, D::MessageDeleteBulk(d.clone())),
        Event::ChannelPinsUpdate(p) => (ev::CHANNEL_PINS_UPDATE, D::PinsUpdate(p.clone())),
        Event::MessageReactionAdd(r) => (ev::MESSAGE_REACTION_ADD, D::Reaction(r.clone())),
        Event::MessageReactionRemove(r) => (ev::MESSAGE_REACTION_REMOVE, D::Reaction(r.clone())),
        Event::MessageReactionRemoveAll(r) => (
            ev::MESSAGE_REACTION_REMOVE_ALL,
            D::ReactionsRemoved(r.clone()),
        ),
        Event::MessageReactionRemoveEmoji(r) => (
            ev::MESSAGE_REACTION_REMOVE_EMOJI,
            D::ReactionsRemoved(r.clone()),
        ),
        // A private channel is shown per recipient, and a deleted one to
        // those who could see it (see the hub).
        Event::ChannelCreate(c) if c.is_private() => return None,
        Event::ChannelDelete(_) => return None,
        Event::ChannelCreate(c) => (ev::CHANNEL_CREATE, D::Channel(c.clone())),
        Event::ChannelUpdate(c) => (ev::CHANNEL_UPDATE, D::Channel(c.clone())),
        Event::ChannelRecipientAdd(r) => (ev::CHANNEL_RECIPIENT_ADD, D::Recipient(r.clone())),
        Event::ChannelRecipientRemove(r) => (ev::CHANNEL_RECIPIENT_REMOVE, D::Recipient(r.clone())),
        Event::GuildUpdate(g) => (ev::GUILD_UPDATE, D::GuildUpdate(g.clone())),
        Event::GuildRoleCreate(r) => (ev::GUILD_ROLE_CREATE, D::Role(r.clone())),
        Event::GuildRoleUpdate(r) => (ev::GUILD_ROLE_UPDATE, D::Role(r.clone())),
        Event::GuildRoleDelete(r) => (ev::GUILD_ROLE_DELETE, D::RoleDelete(r.clone())),
        Event::GuildMemberUpdate(m) => (ev::GUILD_MEMBER_UPDATE, D::Member(m.clone())),
        // A ban is a removal for the guild's sessions; the ban itself is
        // for moderators, who list bans over REST.
        Event::GuildMemberRemove(_) | Event::GuildBanAdd(_) => {
            let (guild_id, user) = env.event.removed_member()?;
            let removal = MemberRemove {
                guild_id,
                user: user.clone(),
            };
            (ev::GUILD_MEMBER_REMOVE, D::MemberRemove(removal))
        }
        Event::TypingStart(t) => (ev::TYPING_START, D::Typing(t.clone())),
        // For the reader's own sessions only, and per guild (see the hub).
        Event::GuildBanRemove(_) | Event::MessageAck(_) | Event::PresenceUpdate(_) => return None,
        Event::GuildMemberAdd(add) => {
            let member = add.member(env.id.timestamp());
            (ev::GUILD_MEMBER_ADD, D::Member(member))
        }
        // Invites are for those who manage them, who list them over REST
        // (docs/protocol.md): no INVITE_CREATE or INVITE_DELETE dispatch.
        Event::InviteCreate(_) | Event::InviteDelete(_) => return None,
        // Each member's sessions get GUILD_DELETE from the hub.
        Event::GuildDelete(_) => return None,
        Event::UserCreate(_) | Event::GuildCreate(_) => return None,
        // Ends the account's sessions (see the hub); never dispatched.
        Event::TokensRevoked(_) => return None,
    };
    Some((env.event.scope()?, Dispatch::new(t, d)))
}
