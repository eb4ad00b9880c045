//! CHANNEL_CREATE and CHANNEL_DELETE for a member who gains or loses sight
//! of a channel through a permission change (an overwrite, a role, the
//! member's roles), as Discord sends them.
//!
//! Before the change invalidates the permission caches, the hub notes what
//! each affected session could see, from the cached verdicts, and holds
//! the affected channels; afterwards it recomputes and tells each session
//! what changed. A verdict that was not cached is not guessed at: nothing
//! is sent for it (a member whose view of a channel was not cached, because
//! the edge delivered nothing of it to them for ten minutes, keeps a stale
//! entry or learns of the channel on its next READY).

use super::Hub;
use crate::delivery::session::Session;
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::event::Event;
use rookery_proto::gateway::event_name as ev;
use rookery_proto::{GuildId, UserId};
use std::sync::Arc;

/// Sessions a permission change may affect, each with the channels it
/// holds and what it could see of them before.
pub(super) struct Sight {
    before: Vec<(Arc<Session>, Vec<Verdict>)>,
}

/// A channel and whether the session could see it (`None`: not cached).
type Verdict = (ChannelId, Option<bool>);

/// The guild, the only member and the only channel a change can affect.
fn scope(event: &Event) -> Option<(Id, Option<UserId>, Option<ChannelId>)> {
    match event {
        Event::ChannelUpdate(c) => Some((c.scope(), None, Some(c.id))),
        // A new role has no members yet, so it changes no one's sight.
        Event::GuildRoleUpdate(r) => Some((r.guild_id.raw(), None, None)),
        Event::GuildRoleDelete(r) => Some((r.guild_id.raw(), None, None)),
        Event::GuildMemberUpdate(m) => Some((m.guild_id.raw(), Some(m.user.id), None)),
        // A deleted channel, a removed member or recipient and a deleted
        // guild are handled as such by the hub; a new role has no members and a new
        // channel is checked per session when it is announced; the rest
        // change no permission. Listed so that a new event must be placed.
        Event::GuildRoleCreate(_)
        | Event::ChannelDelete(_)
        | Event::ChannelCreate(_)
        | Event::GuildMemberRemove(_)
        | Event::GuildBanAdd(_)
        | Event::GuildDelete(_)
        | Event::ChannelRecipientAdd(_)
        | Event::ChannelRecipientRemove(_)
        | Event::UserCreate(_)
        | Event::GuildCreate(_)
        | Event::GuildUpdate(_)
        | Event::InviteCreate(_)
        | Event::InviteDelete(_)
        | Event::GuildMemberAdd(_)
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
        | Event::TokensRevoked(_) => None,
    }
}

impl Hub {
    /// Call before the caches forget `event`'s guild: notes what the
    /// affected sessions could see and holds those channels.
    pub(super) fn sight_before(&self, event: &Event) -> Option<Sight> {
        let (guild, user, channel) = scope(event)?;
        let channels: Vec<ChannelId> = match channel {
            Some(c) => vec![c],
            None => {
                let local = self.local.lock().expect("local");
                local
                    .get(&GuildId::from(guild))?
                    .channels
                    .iter()
                    .copied()
                    .collect()
            }
        };
        let sessions = self.sessions_of(&self.by_guild, guild);
        let mut before = Vec::new();
        for s in sessions
            .into_iter()
            .filter(|s| user.is_none_or(|u| s.user.id == u))
        {
            s.hold(&channels);
            let seen = channels.iter();
            let seen = seen.map(|&c| (c, self.perms.cached_view(s.user.id, c)));
            before.push((s.clone(), seen.collect()));
        }
        Some(Sight { before })
    }

    /// Call after the caches forgot the change: recomputes each held
    /// channel's verdict, sends CHANNEL_CREATE or CHANNEL_DELETE where it
    /// changed, and releases (or drops) what was held. Sessions are done
    /// concurrently, so a large guild's change holds no one for long.
    pub(super) fn sight_changed(&self, sight: Sight) {
        let Some(hub) = self.me.upgrade() else { return };
        for (s, channels) in sight.before {
            let hub = hub.clone();
            tokio::spawn(async move {
                for (channel, before) in channels {
                    hub.resolve_sight(&s, channel, before).await;
                }
            });
        }
    }

    async fn resolve_sight(&self, s: &Session, channel: ChannelId, before: Option<bool>) {
        let now = self.perms.can_view(s.user.id, channel).await;
        match (before, now) {
            (Some(false), true) => {
                if let Some(d) = self.channel_dispatch(ev::CHANNEL_CREATE, channel).await {
                    s.announce(&d);
                }
                s.release(&[channel], &[]);
            }
            (Some(true), false) => {
                s.deny(channel);
                if let Some(d) = self.channel_dispatch(ev::CHANNEL_DELETE, channel).await {
                    s.announce(&d);
                }
            }
            (_, true) => s.release(&[channel], &[]),
            (_, false) => s.deny(channel),
        }
    }

    async fn channel_dispatch(&self, t: &'static str, channel: ChannelId) -> Option<Arc<Dispatch>> {
        let c = self.perms.channel(channel).await.ok()?;
        let d = DispatchData::Channel((*c).clone());
        Some(Arc::new(Dispatch::new(t, d)))
    }
}
