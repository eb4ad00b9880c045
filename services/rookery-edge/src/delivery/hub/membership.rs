//! Membership as the hub sees it: a member joining (its sessions join the
//! guild and catch up), leaving or removed, a guild deleted; and the guild
//! as the store and as one user see it.

use super::Hub;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::event::MemberAdd;
use rookery_proto::gateway::event_name as ev;
use rookery_proto::model::{GuildState, UnavailableGuild};
use rookery_proto::{ChannelId, GuildId, MessageId, UserId};
use std::sync::Arc;

impl Hub {
    /// A member joined: the guild's sessions are told, and the joiner's
    /// sessions join it (built off the delivery path: see [`Hub::deliver`]).
    pub(super) fn member_added(&self, add: &MemberAdd, since: MessageId) {
        if self.has_sessions(add.user.id)
            && let Some(hub) = self.me.upgrade()
        {
            let (guild, user) = (add.guild_id, add.user.id);
            tokio::spawn(async move {
                // A ban applied just before this join (an earlier event of
                // the same partition) kept the store from writing the
                // membership: the banned user gets nothing of the guild.
                match hub.store.member(guild, user).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return tracing::debug!(%guild, %user, "join not applied; not joining");
                    }
                    Err(e) => {
                        return tracing::warn!(%guild, %user, error = %e, "join not checked; not joining");
                    }
                }
                match hub.guild_state(guild).await {
                    Some(state) => hub.join(user, &state, since),
                    None => tracing::warn!(%guild, "joined guild not found in store"),
                }
            });
        }
    }

    /// A member left or was removed: its sessions get GUILD_DELETE and
    /// nothing more of the guild.
    pub(super) fn member_removed(&self, guild: GuildId, user: UserId) {
        let d = Arc::new(Dispatch::new(
            ev::GUILD_DELETE,
            DispatchData::GuildDelete(UnavailableGuild {
                id: guild,
                unavailable: false,
            }),
        ));
        self.board.lock().expect("board").left_guild(guild, user);
        for s in self.sessions_of(&self.by_user, user) {
            if s.remove_guild(guild) {
                self.unsubscribe(guild.raw(), s.key);
                s.dispatch(&d);
            }
        }
        self.unwant(&[guild.raw()]);
    }

    /// A guild was deleted: every member with a session here leaves it
    /// (GUILD_DELETE, unsubscribed), as after a kick.
    pub(super) fn guild_deleted(&self, guild: GuildId) {
        let sessions = self.sessions_of(&self.by_guild, guild.raw());
        let users: std::collections::BTreeSet<UserId> =
            sessions.iter().map(|s| s.user.id).collect();
        for user in users {
            self.member_removed(guild, user);
        }
    }

    /// Subscribes the user's sessions to a guild and sends them
    /// GUILD_CREATE, then the messages posted after `since` (the join) that
    /// they would otherwise miss: those applied before the guild was routed
    /// here, or before the guild was read from the store.
    pub(super) fn join(&self, user: UserId, guild: &GuildState, since: MessageId) {
        let sessions = self.sessions_of(&self.by_user, user);
        let channels: Vec<ChannelId> = guild.channels.iter().map(|c| c.id).collect();
        for s in &sessions {
            s.hold(&channels);
            self.subscribe(s, guild.id);
        }
        if !sessions.is_empty() {
            self.joined.lock().expect("joined").push(user);
        }
        let live = self.want(guild);
        let Some(hub) = self.me.upgrade() else { return };
        let guild = guild.clone();
        tokio::spawn(async move {
            for s in &sessions {
                let visible = hub.visible_state(s.user.id, &guild).await;
                let d = Dispatch::new(ev::GUILD_CREATE, DispatchData::Guild(visible));
                s.dispatch(&Arc::new(d));
            }
            hub.catch_up(sessions, channels, since, live).await;
        });
    }

    /// The guild as `user` may see it: without the channels it cannot view.
    pub(crate) async fn visible_state(&self, user: UserId, guild: &GuildState) -> GuildState {
        let mut visible = guild.clone();
        visible.channels.clear();
        for c in &guild.channels {
            if self.perms.can_view(user, c.id).await {
                visible.channels.push(c.clone());
            }
        }
        visible
    }

    pub(super) fn has_sessions(&self, user: UserId) -> bool {
        self.by_user.read().expect("index").contains_key(&user)
    }

    /// A guild with its channels, from the store.
    pub async fn guild_state(&self, id: GuildId) -> Option<GuildState> {
        let guild = self.store.guild(id).await.ok()??;
        let channels = self.store.guild_channels(id).await.ok()?;
        let roles = self.store.guild_roles(id).await.ok()?;
        Some(GuildState {
            id: guild.id,
            name: guild.name,
            owner_id: guild.owner_id,
            channels,
            roles,
        })
    }
}
