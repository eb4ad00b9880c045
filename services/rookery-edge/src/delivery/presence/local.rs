//! [`Local`]: the presence of the users this edge hosts sessions for. A
//! user's status is the one their most recently set connected session
//! chose; invisible shows as offline at once, while a user whose last
//! session disconnected goes offline only after a grace period (a reconnect
//! or RESUME within it shows nothing). Each returns the views to publish;
//! unchanged views are not published again until their refresh is due.

use crate::delivery::session::Session;
use rookery_proto::GuildId;
use rookery_proto::UserId;
use rookery_proto::presence::{Activity, PresenceChange, PresenceSet, Status};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one session chose: the parts of its `PresenceSet` a view shows
/// (one per connected session, so kept small: 40 bytes, not 64).
struct Choice {
    session: Arc<Session>,
    activities: Box<[Activity]>,
    /// When it was chosen, in choices made on this edge.
    order: u64,
    status: Status,
}

/// A view as published.
#[derive(Clone, PartialEq, Eq)]
struct View {
    status: Status,
    activities: Vec<Activity>,
    guild_ids: BTreeSet<GuildId>,
}

#[derive(Default)]
struct LocalUser {
    sessions: HashMap<u64, Choice>,
    published: Option<(View, Instant)>,
    /// When the last connected session went.
    gone_since: Option<Instant>,
}

/// Timing of presence views.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Offline only this long after the last session disconnected.
    pub grace: Duration,
    /// Unchanged views are published again this often.
    pub refresh: Duration,
}

impl Timing {
    /// Receivers keep a view this long: three refreshes, so two lost ones
    /// do not flap a user offline.
    fn lease(&self) -> Duration {
        self.refresh * 3
    }
}

/// The hosted users' presences.
pub(crate) struct Local {
    users: HashMap<UserId, LocalUser>,
    order: u64,
    timing: Timing,
}

impl Local {
    pub(crate) fn new(timing: Timing) -> Self {
        Self {
            users: HashMap::new(),
            order: 0,
            timing,
        }
    }

    /// The connected session `s` chose `set` (IDENTIFY or op 3).
    pub(crate) fn choose(
        &mut self,
        s: &Arc<Session>,
        set: PresenceSet,
        now: Instant,
    ) -> Option<PresenceChange> {
        self.order += 1;
        let user = self.users.entry(s.user.id).or_default();
        let choice = Choice {
            session: s.clone(),
            activities: set.activities.into_boxed_slice(),
            order: self.order,
            status: set.status,
        };
        user.sessions.insert(s.key, choice);
        self.settle(s.user.id, now)
    }

    /// `s` lost or regained its connection. Whether a session counts is
    /// read from the session itself, so a resume racing the old
    /// connection's end cannot leave it counted as gone.
    pub(crate) fn touch(&mut self, s: &Session, now: Instant) -> Option<PresenceChange> {
        self.settle(s.user.id, now)
    }

    /// `s` ended for good. Sessions end disconnected, so the user's view
    /// is already in its grace; the next tick settles it.
    pub(crate) fn end(&mut self, s: &Session) {
        if let Some(u) = self.users.get_mut(&s.user.id) {
            u.sessions.remove(&s.key);
        }
    }

    /// Offline views whose grace passed, and refreshes that are due (a
    /// refresh also picks up guilds joined since the last view). Users
    /// with neither are not looked at beyond two flags.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<PresenceChange> {
        let refresh = self.timing.refresh;
        let due: Vec<(UserId, bool)> = self
            .users
            .iter()
            .filter_map(|(&id, u)| {
                let stale = u.published.as_ref().is_some_and(|(v, at)| {
                    v.status != Status::Offline && now.duration_since(*at) >= refresh
                });
                (stale || u.gone_since.is_some()).then_some((id, stale))
            })
            .collect();
        let mut out = Vec::new();
        for (user, stale) in due {
            match self.settle(user, now) {
                Some(changed) => out.push(changed),
                None if stale => out.extend(self.republish(user, now)),
                None => {}
            }
        }
        out
    }

    /// Users whose sessions joined guilds: their views, where the guilds
    /// they name changed.
    pub(crate) fn joined(&mut self, users: &[UserId], now: Instant) -> Vec<PresenceChange> {
        users.iter().filter_map(|&u| self.settle(u, now)).collect()
    }

    /// The user's unchanged view, published again.
    fn republish(&mut self, user: UserId, now: Instant) -> Option<PresenceChange> {
        let (view, at) = self.users.get_mut(&user)?.published.as_mut()?;
        *at = now;
        Some(change(user, view, self.timing))
    }

    /// Works out the user's view; returns it if it must be published.
    fn settle(&mut self, user: UserId, now: Instant) -> Option<PresenceChange> {
        let u = self.users.get_mut(&user)?;
        let attached = u
            .sessions
            .values()
            .filter(|c| c.session.detached_at().is_none());
        let view = match attached.clone().max_by_key(|c| c.order) {
            Some(newest) => {
                u.gone_since = None;
                let guild_ids = attached.flat_map(|c| c.session.guilds()).collect();
                let status = newest.status.shown();
                let activities = match status {
                    Status::Offline => Vec::new(),
                    _ => newest.activities.to_vec(),
                };
                View {
                    status,
                    activities,
                    guild_ids,
                }
            }
            None => {
                let since = *u.gone_since.get_or_insert(now);
                if now.duration_since(since) < self.timing.grace {
                    return None;
                }
                let guild_ids = match &u.published {
                    Some((v, _)) => v.guild_ids.clone(),
                    None => BTreeSet::new(),
                };
                View {
                    status: Status::Offline,
                    activities: Vec::new(),
                    guild_ids,
                }
            }
        };
        let offline = view.status == Status::Offline;
        let unchanged = u.published.as_ref().is_some_and(|(v, _)| *v == view);
        let never_shown = u.published.is_none() && offline;
        if offline && u.sessions.is_empty() {
            self.users.remove(&user);
        } else if !unchanged && !never_shown {
            u.published = Some((view.clone(), now));
        }
        (!unchanged && !never_shown).then(|| change(user, &view, self.timing))
    }
}

fn change(user: UserId, view: &View, timing: Timing) -> PresenceChange {
    PresenceChange {
        user_id: user,
        guild_ids: view.guild_ids.iter().copied().collect(),
        status: view.status,
        activities: view.activities.clone(),
        lease_ms: timing.lease().as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::session::Conn;
    use rookery_proto::GuildId;
    use rookery_proto::UserId;
    use rookery_proto::codec::{Dispatch, DispatchData, Empty};
    use rookery_proto::model::User;

    /// Connects `s` (as IDENTIFY does); the receiver keeps it open.
    fn connect(s: &Session, id: u64) -> Arc<crate::delivery::Outlet> {
        let (conn, rx) = Conn::queue_only(id, 16);
        let ready = Arc::new(Dispatch::new("READY", DispatchData::Resumed(Empty {})));
        s.attach_ready(conn, ready, Vec::new());
        rx
    }

    const TIMING: Timing = Timing {
        grace: Duration::from_secs(5),
        refresh: Duration::from_secs(60),
    };

    fn session(user: u64, guild: u64) -> Arc<Session> {
        let s = Session::new(
            User {
                id: UserId(user),
                username: format!("u{user}"),
            },
            8,
        );
        s.add_guild(GuildId(guild));
        s
    }

    fn set(status: Status) -> PresenceSet {
        PresenceSet {
            status,
            ..Default::default()
        }
    }

    fn status(c: Option<PresenceChange>) -> Option<Status> {
        c.map(|c| c.status)
    }

    #[test]
    fn the_latest_choice_of_a_connected_session_is_published_once() {
        let (mut l, t) = (Local::new(TIMING), Instant::now());
        let (a, b) = (session(1, 100), session(1, 100));
        let _conns = (connect(&a, 1), connect(&b, 2));
        let first = l.choose(&a, set(Status::Online), t).unwrap();
        assert_eq!(
            (first.status, first.guild_ids.clone()),
            (Status::Online, vec![GuildId(100)])
        );
        assert_eq!(first.lease_ms, 180_000);
        assert_eq!(status(l.choose(&b, set(Status::Dnd), t)), Some(Status::Dnd));
        assert_eq!(status(l.choose(&a, set(Status::Dnd), t)), None, "unchanged");
        assert_eq!(
            status(l.choose(&a, set(Status::Invisible), t)),
            Some(Status::Offline)
        );
        a.detach(1);
        assert_eq!(status(l.touch(&a, t)), Some(Status::Dnd), "b is connected");
    }

    #[test]
    fn offline_comes_after_the_grace_and_a_resume_within_it_shows_nothing() {
        let (mut l, t) = (Local::new(TIMING), Instant::now());
        let a = session(1, 100);
        let _rx = connect(&a, 1);
        l.choose(&a, set(Status::Idle), t);
        a.detach(1);
        assert_eq!(status(l.touch(&a, t)), None, "grace starts");
        let early = t + Duration::from_secs(4);
        assert!(l.tick(early).is_empty());
        let _rx = connect(&a, 2);
        assert_eq!(status(l.touch(&a, early)), None, "resumed: nothing to tell");
        a.detach(2);
        assert_eq!(status(l.touch(&a, early)), None);
        let late = early + TIMING.grace;
        let out = l.tick(late);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].status, out[0].guild_ids.clone()),
            (Status::Offline, vec![GuildId(100)])
        );
        l.end(&a);
        assert!(
            l.tick(late + TIMING.refresh).is_empty(),
            "gone users are forgotten"
        );
        assert!(l.users.is_empty());
    }

    #[test]
    fn unchanged_views_are_refreshed_before_their_lease_ends() {
        let (mut l, t) = (Local::new(TIMING), Instant::now());
        let a = session(1, 100);
        let _rx = connect(&a, 1);
        l.choose(&a, set(Status::Online), t);
        assert!(l.tick(t + TIMING.refresh / 2).is_empty());
        let out = l.tick(t + TIMING.refresh);
        assert_eq!(status(out.into_iter().next()), Some(Status::Online));
        assert!(l.tick(t + TIMING.refresh * 3 / 2).is_empty());
        // A guild joined since: the next refresh carries it.
        a.add_guild(GuildId(200));
        let out = l.tick(t + TIMING.refresh * 2);
        assert_eq!(out[0].guild_ids, [GuildId(100), GuildId(200)]);
    }

    #[test]
    fn an_invisible_user_who_leaves_is_never_announced() {
        let (mut l, t) = (Local::new(TIMING), Instant::now());
        let a = session(1, 100);
        let _rx = connect(&a, 1);
        assert_eq!(status(l.choose(&a, set(Status::Invisible), t)), None);
        a.detach(1);
        l.touch(&a, t);
        assert!(l.tick(t + TIMING.grace).is_empty());
    }
}
