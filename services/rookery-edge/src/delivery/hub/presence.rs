//! The hub's side of presence: the merged [`Board`] of every edge's views,
//! the PRESENCE_UPDATE dispatches a change makes, and READY's presences.
//!
//! [`Board`]: crate::delivery::presence::Board

use super::Hub;
use rookery_proto::GuildId;
use rookery_proto::Id;
use rookery_proto::UserId;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::gateway::event_name as ev;
use rookery_proto::presence::{Presence, PresenceChange};
use std::sync::Arc;
use std::time::Instant;

impl Hub {
    /// Takes edge `origin`'s view of a user (event `id`).
    pub(super) fn presence_seen(&self, origin: u16, id: Id, change: &PresenceChange) {
        let out = self
            .board
            .lock()
            .expect("board")
            .apply(origin, id, change, Instant::now());
        self.presences_changed(out);
    }

    /// Tells each guild's sessions of the presences that changed there;
    /// the user's own sessions are not told (they chose it).
    fn presences_changed(&self, changed: Vec<Presence>) {
        let index = self.by_guild.read().expect("index");
        for p in changed {
            let Some(sessions) = index.get(&p.guild_id.raw()) else {
                continue;
            };
            let user = p.user.id;
            let d = Arc::new(Dispatch::new(
                ev::PRESENCE_UPDATE,
                DispatchData::Presence(p),
            ));
            let others = sessions.values().filter(|s| s.user.id != user);
            let sent = others.map(|s| s.dispatch(&d)).count();
            crate::metrics::hot().deliveries.increment(sent as u64);
        }
    }

    /// Drops other edges' presence views whose lease ended.
    /// The users whose sessions joined a guild since the last call.
    pub(crate) fn take_joined(&self) -> Vec<UserId> {
        std::mem::take(&mut *self.joined.lock().expect("joined"))
    }

    pub(crate) fn expire_presences(&self) {
        let out = self.board.lock().expect("board").expire(Instant::now());
        self.presences_changed(out);
    }

    /// The members of `guilds` who are not offline, but for `user`
    /// themself, for `user`'s READY.
    pub(crate) fn presences_in(&self, guilds: &[GuildId], user: UserId) -> Vec<Presence> {
        let board = self.board.lock().expect("board");
        let all = guilds.iter().flat_map(|&g| board.in_guild(g));
        all.filter(|p| p.user.id != user).collect()
    }
}
