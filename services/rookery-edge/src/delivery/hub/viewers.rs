//! Per-channel viewer lists: the guild's local sessions that may see a
//! channel, kept between deliveries so a message costs one lookup for its
//! channel rather than a permission-cache lookup for every session of the
//! guild (that lookup was the largest user-space cost of fan-out).
//!
//! A list is built by the delivery that finds none, from the per-session
//! verdicts of the permission cache, and only when every session's verdict
//! was cached (a session whose verdict must be computed takes the slow path
//! and holds the channel meanwhile). It counts while:
//!
//! - the guild's local sessions are the same: any subscribe or unsubscribe
//!   in the guild forgets its lists, under the hub's index write lock, so a
//!   reader of the index never sees a list older than the index;
//! - no permission of the guild changed: the list carries the generation
//!   noted before its verdicts were read ([`Perms::generation`]), and is
//!   dropped once its guild has been invalidated since;
//! - it is younger than half [`MAX_ENTRY_AGE`]: invalidation records live
//!   about that long, and a list must not outlive the record that would
//!   void it.
//!
//! A timeout ending changes no one's view of a channel (a timed-out member
//! keeps VIEW_CHANNEL), so a list need not watch timeouts.
//!
//! Lock order: the hub's `by_guild` index before this map's lock.

use super::Hub;
use crate::access::perms::{MAX_ENTRY_AGE, Perms};
use crate::delivery::session::Session;
use crate::metrics as m;
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::codec::Dispatch;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a list may be used: see the module documentation.
const MAX_LIST_AGE: Duration = Duration::from_secs(MAX_ENTRY_AGE.as_secs() / 2);

/// The sessions that may see one channel.
pub(super) type List = Arc<[Arc<Session>]>;

struct Built {
    /// The permission generation noted before the verdicts were read.
    since: u64,
    at: Instant,
    sessions: List,
}

impl Hub {
    /// Sends a channel's event to the sessions of its scope (a guild, or a
    /// private channel) that may see the channel: those of its viewer
    /// list, or, without one, each session whose cached verdict says so
    /// (then kept as the list). A session
    /// whose permission is not cached holds the channel while it is
    /// computed, so its messages stay in order.
    pub(super) fn to_viewers(&self, scope: Id, channel: ChannelId, d: Arc<Dispatch>) {
        let index = self.by_guild.read().expect("index");
        let Some(sessions) = index.get(&scope) else {
            return;
        };
        let hot = m::hot();
        if let Some(list) = self.viewers.get(&self.perms, scope, channel) {
            hot.viewer_list_hits.increment(1);
            list.iter().for_each(|s| s.dispatch(&d));
            hot.deliveries.increment(list.len() as u64);
            return;
        }
        hot.viewer_list_misses.increment(1);
        let since = self.perms.generation();
        let (mut viewers, mut misses) = (Vec::new(), 0);
        for s in sessions.values() {
            match self.perms.cached_view(s.user.id, channel) {
                Some(true) => {
                    s.dispatch(&d);
                    viewers.push(s.clone());
                }
                Some(false) => {}
                None => {
                    misses += 1;
                    self.dispatch_if_visible(s, channel, &d);
                }
            }
        }
        hot.deliveries.increment(viewers.len() as u64);
        hot.view_hits.increment(sessions.len() as u64 - misses);
        hot.view_misses.increment(misses);
        if misses == 0 {
            self.viewers.put(scope, channel, since, viewers.into());
        }
    }

    fn dispatch_if_visible(&self, s: &Arc<Session>, channel: ChannelId, d: &Arc<Dispatch>) {
        let Some(hub) = self.me.upgrade() else { return };
        s.hold(&[channel]);
        s.dispatch(d);
        let s = s.clone();
        tokio::spawn(async move {
            if hub.perms.can_view(s.user.id, channel).await {
                s.release(&[channel], &[]);
            } else {
                s.deny(channel);
            }
        });
    }
}

/// Viewer lists by guild, then channel.
#[derive(Default)]
pub(super) struct ViewerLists {
    guilds: Mutex<HashMap<Id, HashMap<ChannelId, Built>>>,
}

impl ViewerLists {
    fn lock(&self) -> MutexGuard<'_, HashMap<Id, HashMap<ChannelId, Built>>> {
        self.guilds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The channel's list, if one is still current.
    pub(super) fn get(&self, perms: &Perms, scope: Id, channel: ChannelId) -> Option<List> {
        let mut guilds = self.lock();
        let lists = guilds.get_mut(&scope)?;
        let built = lists.get(&channel)?;
        if built.at.elapsed() < MAX_LIST_AGE && perms.unchanged_since(scope, built.since) {
            return Some(built.sessions.clone());
        }
        lists.remove(&channel);
        None
    }

    /// Keeps a list whose verdicts were all read after generation `since`.
    /// Call with the hub's index read lock held, the one the sessions were
    /// read under.
    pub(super) fn put(&self, scope: Id, channel: ChannelId, since: u64, sessions: List) {
        let built = Built {
            since,
            at: Instant::now(),
            sessions,
        };
        self.lock().entry(scope).or_default().insert(channel, built);
    }

    /// Forgets the guild's lists: its sessions changed. Call with the
    /// hub's index write lock held.
    pub(super) fn forget_guild(&self, scope: Id) {
        self.lock().remove(&scope);
    }

    /// Forgets a deleted channel's list.
    pub(super) fn forget_channel(&self, scope: Id, channel: ChannelId) {
        if let Some(lists) = self.lock().get_mut(&scope) {
            lists.remove(&channel);
        }
    }

    /// How many lists are kept (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }
}
