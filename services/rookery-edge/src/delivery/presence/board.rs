//! [`Board`]: every presence this edge has heard, merged per user from the
//! edges' views (each edge reports the sessions it hosts). The newest view
//! that is not offline decides the status; a user is in the union of the
//! views' guilds. A view not refreshed within its lease is dropped, so the
//! users of an edge that died go offline. Offline views stay as tombstones
//! until their lease ends, so a late, older "online" cannot revive a user.

use rookery_proto::Id;
use rookery_proto::presence::{Activity, Presence, PresenceChange, PresenceUser, Status};
use rookery_proto::{GuildId, UserId};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

/// One edge's view of a user.
struct View {
    /// The event's id: views are replaced only by newer ones.
    id: Id,
    status: Status,
    activities: Vec<Activity>,
    guild_ids: Vec<GuildId>,
    expires: Instant,
}

/// What members sharing a guild with the user are shown.
#[derive(Clone, PartialEq, Eq)]
struct Shown {
    status: Status,
    activities: Vec<Activity>,
    guild_ids: BTreeSet<GuildId>,
}

#[derive(Default)]
struct UserViews {
    views: HashMap<u16, View>,
    shown: Option<Shown>,
}

/// The merged presences, indexed by guild for READY.
#[derive(Default)]
pub(crate) struct Board {
    users: HashMap<UserId, UserViews>,
    by_guild: HashMap<GuildId, HashSet<UserId>>,
    /// When [`Board::expire`] next walks every view.
    next_sweep: Option<Instant>,
}

/// How often expired views are looked for: a walk of every view costs in
/// proportion to the users online, and a dead edge's users may go offline
/// this much after their lease.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

impl Board {
    /// Takes edge `origin`'s view (event `id`); returns the presences to
    /// dispatch, one per guild whose members see a change.
    pub(crate) fn apply(
        &mut self,
        origin: u16,
        id: Id,
        change: &PresenceChange,
        now: Instant,
    ) -> Vec<Presence> {
        let user = self.users.entry(change.user_id).or_default();
        if user.views.get(&origin).is_some_and(|v| v.id >= id) {
            return Vec::new();
        }
        let view = View {
            id,
            status: change.status.shown(),
            activities: change.activities.clone(),
            guild_ids: change.guild_ids.clone(),
            expires: now + Duration::from_millis(change.lease_ms),
        };
        user.views.insert(origin, view);
        self.settle(change.user_id)
    }

    /// Drops views whose lease ended (looking every [`SWEEP_EVERY`]);
    /// returns the presences to dispatch.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Presence> {
        if self.next_sweep.is_some_and(|next| now < next) {
            return Vec::new();
        }
        self.next_sweep = Some(now + SWEEP_EVERY);
        let mut touched = Vec::new();
        for (&user, u) in &mut self.users {
            let before = u.views.len();
            u.views.retain(|_, v| v.expires > now);
            if u.views.len() != before {
                touched.push(user);
            }
        }
        touched.into_iter().flat_map(|u| self.settle(u)).collect()
    }

    /// The members of `guild` who are not offline.
    pub(crate) fn in_guild(&self, guild: GuildId) -> Vec<Presence> {
        let Some(users) = self.by_guild.get(&guild) else {
            return Vec::new();
        };
        let shown = users
            .iter()
            .filter_map(|u| Some((*u, self.users.get(u)?.shown.as_ref()?)));
        shown.map(|(u, s)| presence(u, guild, s)).collect()
    }

    /// The user left `guild`: READY no longer lists them there.
    pub(crate) fn left_guild(&mut self, guild: GuildId, user: UserId) {
        if let Some(users) = self.by_guild.get_mut(&guild) {
            users.remove(&user);
        }
    }

    /// Recomputes what the user is shown; on a change, re-indexes and
    /// returns the dispatches (offline for guilds no view names any more).
    fn settle(&mut self, user: UserId) -> Vec<Presence> {
        let Some(u) = self.users.get_mut(&user) else {
            return Vec::new();
        };
        let live = u.views.values().filter(|v| v.status != Status::Offline);
        let shown = live.clone().max_by_key(|v| v.id).map(|newest| Shown {
            status: newest.status,
            activities: newest.activities.clone(),
            guild_ids: live.flat_map(|v| v.guild_ids.iter().copied()).collect(),
        });
        if u.shown == shown {
            return Vec::new();
        }
        let old = std::mem::replace(&mut u.shown, shown.clone());
        if u.views.is_empty() {
            self.users.remove(&user);
        }
        let old_guilds = old.map(|o| o.guild_ids).unwrap_or_default();
        let offline = Shown {
            status: Status::Offline,
            activities: Vec::new(),
            guild_ids: BTreeSet::new(),
        };
        let now = shown.unwrap_or(offline);
        let mut out = Vec::new();
        for &g in old_guilds.difference(&now.guild_ids) {
            self.left_guild(g, user);
            out.push(presence(user, g, &now));
        }
        for &g in &now.guild_ids {
            self.by_guild.entry(g).or_default().insert(user);
            out.push(presence(user, g, &now));
        }
        out
    }
}

fn presence(user: UserId, guild: GuildId, shown: &Shown) -> Presence {
    let offline = shown.guild_ids.is_empty() || !shown.guild_ids.contains(&guild);
    Presence {
        user: PresenceUser { id: user },
        guild_id: guild,
        status: if offline {
            Status::Offline
        } else {
            shown.status
        },
        activities: if offline {
            Vec::new()
        } else {
            shown.activities.clone()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::GuildId;
    use rookery_proto::UserId;

    const LEASE: u64 = 1000;

    fn change(status: Status, guilds: &[u64]) -> PresenceChange {
        PresenceChange {
            user_id: UserId(7),
            guild_ids: guilds.iter().map(|&g| GuildId(g)).collect(),
            status,
            activities: Vec::new(),
            lease_ms: LEASE,
        }
    }

    fn statuses(out: &[Presence]) -> Vec<(u64, Status)> {
        let mut v: Vec<_> = out.iter().map(|p| (p.guild_id.0, p.status)).collect();
        v.sort_by_key(|(g, _)| *g);
        v
    }

    #[test]
    fn the_newest_live_view_wins_and_offline_needs_every_edge() {
        let (mut b, t) = (Board::default(), Instant::now());
        let out = b.apply(1, Id(10), &change(Status::Online, &[100]), t);
        assert_eq!(statuses(&out), [(100, Status::Online)]);
        let out = b.apply(2, Id(11), &change(Status::Dnd, &[100]), t);
        assert_eq!(statuses(&out), [(100, Status::Dnd)], "edge 2 is newer");
        let out = b.apply(2, Id(12), &change(Status::Offline, &[100]), t);
        assert_eq!(
            statuses(&out),
            [(100, Status::Online)],
            "edge 1 still online"
        );
        assert_eq!(b.in_guild(GuildId(100)).len(), 1);
        let out = b.apply(1, Id(13), &change(Status::Offline, &[100]), t);
        assert_eq!(statuses(&out), [(100, Status::Offline)]);
        assert!(b.in_guild(GuildId(100)).is_empty());
    }

    #[test]
    fn an_older_view_arriving_late_changes_nothing() {
        let (mut b, t) = (Board::default(), Instant::now());
        b.apply(1, Id(20), &change(Status::Offline, &[100]), t);
        let out = b.apply(1, Id(19), &change(Status::Online, &[100]), t);
        assert!(out.is_empty());
        assert!(b.in_guild(GuildId(100)).is_empty());
        let again = b.apply(1, Id(21), &change(Status::Idle, &[100]), t);
        assert_eq!(statuses(&again), [(100, Status::Idle)]);
        let same = b.apply(1, Id(22), &change(Status::Idle, &[100]), t);
        assert!(same.is_empty(), "a refresh that changes nothing is silent");
    }

    #[test]
    fn guilds_left_see_offline_and_an_unrefreshed_view_expires() {
        let (mut b, t) = (Board::default(), Instant::now());
        b.apply(1, Id(30), &change(Status::Online, &[100, 200]), t);
        let out = b.apply(1, Id(31), &change(Status::Online, &[200]), t);
        assert_eq!(
            statuses(&out),
            [(100, Status::Offline), (200, Status::Online)]
        );
        assert!(b.in_guild(GuildId(100)).is_empty());
        let half = t + Duration::from_millis(LEASE / 2);
        assert!(b.expire(half).is_empty());
        let expired = t + Duration::from_millis(LEASE + 1);
        assert!(
            b.expire(expired).is_empty(),
            "no walk before the next sweep"
        );
        let out = b.expire(half + SWEEP_EVERY);
        assert_eq!(statuses(&out), [(200, Status::Offline)]);
        assert!(b.users.is_empty(), "nothing kept for a gone user");
    }
}
