//! DMs and group DMs in the hub. A private channel is a scope of its own
//! (its id): its recipients' sessions subscribe to it as to a guild, and
//! every message, reaction, pin and typing event of it takes the guild
//! path unchanged. What differs is shown here: a recipient is sent
//! CHANNEL_CREATE (listing the other recipients) when the channel opens or
//! they are added, CHANNEL_DELETE when they leave or are removed, and the
//! channel's scope shares no presence.

use super::{Hub, Live};
use crate::delivery::session::Session;
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::MessageId;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::event::RecipientChange;
use rookery_proto::gateway::event_name as ev;
use rookery_proto::model::{Channel, GuildState};
use rookery_proto::{GuildId, UserId};
use std::sync::Arc;

/// What a scope id a user belongs to names.
pub enum Scope {
    /// A guild, with its channels and roles.
    Guild(GuildState),
    /// A DM or group DM, with its recipients.
    Private(Channel),
}

/// A session's scopes as IDENTIFY subscribed it to them.
pub struct Subscribed {
    /// Its guilds, as the user may see them.
    pub guilds: Vec<GuildState>,
    /// Its DMs and group DMs, as the user is shown them.
    pub private: Vec<Channel>,
    /// Resolves once every channel of them is routed to this edge.
    pub routed: Vec<Live>,
}

/// A private channel as the one-channel scope interest is registered for.
fn as_scope(c: &Channel) -> GuildState {
    GuildState {
        id: c.id.as_scope(),
        name: String::new(),
        owner_id: UserId::NONE,
        channels: vec![c.clone()],
        roles: Vec::new(),
    }
}

impl Hub {
    /// The guild or private channel `id` names, from the store.
    pub async fn scope_state(&self, id: Id) -> Option<Scope> {
        if let Some(guild) = self.guild_state(GuildId::from(id)).await {
            return Some(Scope::Guild(guild));
        }
        let channel = self.store.channel(ChannelId::from(id)).await.ok()??;
        channel.is_private().then_some(Scope::Private(channel))
    }

    /// Subscribes a new session to each of `scopes` (its user's), then
    /// reads it: subscribed first, so nothing applied meanwhile is missed.
    pub async fn subscribe_scopes(&self, s: &Arc<Session>, scopes: Vec<Id>) -> Subscribed {
        let mut out = Subscribed {
            guilds: Vec::new(),
            private: Vec::new(),
            routed: Vec::with_capacity(scopes.len()),
        };
        for id in scopes {
            // Until read, a scope is taken for a guild.
            self.subscribe(s, GuildId::from(id));
            match self.scope_state(id).await {
                // Every channel is routed here; the session is sent the
                // ones it may see, and only their messages.
                Some(Scope::Guild(state)) => {
                    out.routed.push(self.want(&state));
                    out.guilds.push(self.visible_state(s.user.id, &state).await);
                }
                Some(Scope::Private(c)) => {
                    s.remove_guild(c.id.as_scope());
                    s.add_private(c.id);
                    out.routed.push(self.want(&as_scope(&c)));
                    out.private.push(c.seen_by(s.user.id));
                }
                None => {}
            }
        }
        out
    }

    /// A private channel was opened: each recipient's sessions here join
    /// it, once the store confirms it (a DM opened after another of the
    /// same pair wrote nothing; read off the delivery path).
    pub(super) fn opened(&self, c: &Channel, since: MessageId) {
        let Some(hub) = self.me.upgrade() else { return };
        let c = c.clone();
        tokio::spawn(async move {
            match hub.store.channel(c.id).await {
                Ok(Some(_)) => c
                    .recipients
                    .iter()
                    .for_each(|u| hub.open_for(u.id, &c, since)),
                Ok(None) => tracing::debug!(channel = %c.id, "dm opening lost to an earlier one"),
                Err(e) => {
                    tracing::warn!(channel = %c.id, error = %e, "private channel read failed")
                }
            }
        });
    }

    /// Subscribes `user`'s sessions to private channel `c`, sends them
    /// CHANNEL_CREATE, then the messages after `since` they would miss.
    fn open_for(&self, user: UserId, c: &Channel, since: MessageId) {
        let sessions: Vec<Arc<Session>> = self
            .sessions_of(&self.by_user, user)
            .into_iter()
            .filter(|s| s.add_private(c.id))
            .collect();
        if sessions.is_empty() {
            return;
        }
        let d = Arc::new(Dispatch::new(
            ev::CHANNEL_CREATE,
            DispatchData::Channel(c.seen_by(user)),
        ));
        for s in &sessions {
            s.hold(&[c.id]);
            self.enter(c.id.raw(), s);
            s.announce(&d);
        }
        let live = self.want(&as_scope(c));
        let Some(hub) = self.me.upgrade() else { return };
        let channel = c.id;
        tokio::spawn(async move { hub.catch_up(sessions, vec![channel], since, live).await });
    }

    /// A user was added to a group DM: their sessions here join it (read
    /// from the store, off the delivery path).
    pub(super) fn recipient_added(&self, r: &RecipientChange, since: MessageId) {
        if !self.has_sessions(r.user.id) {
            return;
        }
        let Some(hub) = self.me.upgrade() else { return };
        let (channel, user) = (r.channel_id, r.user.id);
        tokio::spawn(async move {
            match hub.store.channel(channel).await {
                Ok(Some(c)) => hub.open_for(user, &c, since),
                Ok(None) => tracing::warn!(%channel, "group dm not found in store"),
                Err(e) => tracing::warn!(%channel, error = %e, "group dm read failed"),
            }
        });
    }

    /// A user left or was removed from a group DM: their sessions get
    /// CHANNEL_DELETE (with the channel's id and type) and nothing more of
    /// it. Runs before the other recipients are told.
    pub(super) fn recipient_removed(&self, r: &RecipientChange) {
        let gone = Channel {
            id: r.channel_id,
            guild_id: GuildId::NONE,
            name: String::new(),
            kind: rookery_proto::model::CHANNEL_GROUP_DM,
            position: 0,
            permission_overwrites: Vec::new(),
            rate_limit_per_user: 0,
            recipients: Vec::new(),
            owner_id: None,
        };
        let d = Arc::new(Dispatch::new(
            ev::CHANNEL_DELETE,
            DispatchData::Channel(gone),
        ));
        for s in self.sessions_of(&self.by_user, r.user.id) {
            if s.remove_private(r.channel_id) {
                self.unsubscribe(r.channel_id.raw(), s.key);
                s.announce(&d);
            }
        }
        self.unwant(&[r.channel_id.raw()]);
    }
}
