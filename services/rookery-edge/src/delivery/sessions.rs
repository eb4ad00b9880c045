//! The edge's sessions, by id (for RESUME) and by user (for the per-user
//! cap), and each user's identify budget.
//!
//! Lock order: the registry's mutex may be held while a session's state
//! lock is taken (to read when it detached), never the other way round;
//! nothing here awaits.

use crate::access::ratelimit::Keyed;
use crate::delivery::session::{Session, SessionId};
use crate::metrics as m;
use rookery_proto::UserId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Per-user limits on sessions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionLimits {
    /// Sessions one user may hold on this edge (attached or resumable).
    pub per_user: usize,
    /// IDENTIFYs one user may start in `identify_window` (Discord's
    /// `session_start_limit.total`: 1000 a day).
    pub identify_burst: u32,
    /// Window over which the identify budget refills.
    pub identify_window: Duration,
}

/// Why a new session was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The user's identify budget is spent.
    Budget,
    /// The user holds `per_user` sessions and every one is attached.
    Sessions,
}

impl Refusal {
    /// The `reason` label of `rookery_edge_identify_refused_total`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Refusal::Budget => "budget",
            Refusal::Sessions => "sessions",
        }
    }
}

pub(crate) struct Registry {
    limits: SessionLimits,
    state: Mutex<State>,
    identifies: Option<Keyed<UserId>>,
}

#[derive(Default)]
struct State {
    by_id: HashMap<SessionId, Arc<Session>>,
    /// Each user's sessions by key (creation order).
    by_user: HashMap<UserId, BTreeMap<u64, Arc<Session>>>,
}

impl Registry {
    pub(crate) fn new(limits: SessionLimits) -> Self {
        Self {
            limits,
            state: Mutex::default(),
            identifies: Keyed::new(limits.identify_burst, limits.identify_window),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What is left of `user`'s identify budget; `None` when unlimited.
    pub(crate) fn identify_budget(&self, user: UserId) -> Option<crate::access::ratelimit::Taken> {
        self.identifies.as_ref().map(|budgets| budgets.peek(&user))
    }

    /// Spends one IDENTIFY of `user`'s budget.
    pub(crate) fn take_identify(&self, user: UserId) -> Result<(), Refusal> {
        match &self.identifies {
            Some(budgets) if !budgets.take(user).allowed => Err(Refusal::Budget),
            _ => Ok(()),
        }
    }

    /// Adds `session`; at the user's cap, first removes their oldest
    /// detached session and returns it (the caller ends it), or refuses if
    /// every one is attached.
    pub(crate) fn admit(&self, session: &Arc<Session>) -> Result<Option<Arc<Session>>, Refusal> {
        let mut st = self.state();
        let mine = st.by_user.entry(session.user.id).or_default();
        let mut evicted = None;
        if mine.len() >= self.limits.per_user.max(1) {
            let oldest_detached = mine
                .iter()
                .find(|(_, s)| s.detached_at().is_some())
                .map(|(key, _)| *key)
                .ok_or(Refusal::Sessions)?;
            evicted = mine.remove(&oldest_detached);
        }
        mine.insert(session.key, session.clone());
        if let Some(old) = &evicted {
            st.by_id.remove(&old.id);
        }
        st.by_id.insert(session.id, session.clone());
        metrics::gauge!(m::SESSIONS).set(st.by_id.len() as f64);
        Ok(evicted)
    }

    /// The session a client's RESUME names, if it is here.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        let id = SessionId::parse(id)?;
        self.state().by_id.get(&id).cloned()
    }

    /// Removes `session`; false if it was not there (already ended).
    pub(crate) fn remove(&self, session: &Session) -> bool {
        let mut st = self.state();
        let removed = st.by_id.remove(&session.id).is_some();
        if let Some(mine) = st.by_user.get_mut(&session.user.id) {
            mine.remove(&session.key);
            if mine.is_empty() {
                st.by_user.remove(&session.user.id);
            }
        }
        metrics::gauge!(m::SESSIONS).set(st.by_id.len() as f64);
        removed
    }

    /// Sessions matching `pred`.
    pub(crate) fn matching(&self, pred: impl Fn(&Session) -> bool) -> Vec<Arc<Session>> {
        self.state()
            .by_id
            .values()
            .filter(|s| pred(s))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::UserId;
    use rookery_proto::model::User;

    fn registry(per_user: usize, identify_burst: u32) -> Registry {
        Registry::new(SessionLimits {
            per_user,
            identify_burst,
            identify_window: Duration::from_secs(3600),
        })
    }

    fn session(user: u64) -> Arc<Session> {
        let user = User {
            id: UserId(user),
            username: "u".into(),
        };
        Session::new(user, 4)
    }

    #[test]
    fn at_the_cap_the_oldest_detached_session_makes_room() {
        let sessions = registry(2, 100);
        let (first, second) = (session(1), session(1));
        assert!(sessions.admit(&first).unwrap().is_none());
        assert!(sessions.admit(&second).unwrap().is_none());
        // Another user is not affected.
        assert!(sessions.admit(&session(2)).unwrap().is_none());
        let third = session(1);
        let evicted = sessions.admit(&third).unwrap().expect("one evicted");
        assert_eq!(evicted.id, first.id);
        assert!(sessions.get(&first.id.to_string()).is_none());
        assert!(sessions.get(&third.id.to_string()).is_some());
        assert!(!sessions.remove(&first), "already gone");
    }

    #[test]
    fn attached_sessions_are_never_evicted_and_budgets_run_out() {
        let sessions = registry(1, 2);
        let attached = session(1);
        let (conn, _outlet) = crate::delivery::session::Conn::queue_only(1, 4);
        let ready = Arc::new(rookery_proto::codec::Dispatch::new(
            "READY",
            rookery_proto::codec::DispatchData::Resumed(rookery_proto::codec::Empty {}),
        ));
        attached.attach_ready(conn, ready, vec![]);
        sessions.admit(&attached).unwrap();
        assert_eq!(sessions.admit(&session(1)).unwrap_err(), Refusal::Sessions);
        assert!(sessions.take_identify(UserId(1)).is_ok());
        assert!(sessions.take_identify(UserId(1)).is_ok());
        assert_eq!(sessions.take_identify(UserId(1)), Err(Refusal::Budget));
        assert!(sessions.take_identify(UserId(2)).is_ok());
    }
}
