//! Every open gateway connection of this edge, by connection id: a drain
//! reaches each one through it (those that have not identified too, which
//! no session lists), and its reaper closes the connections that missed a
//! heartbeat or did not identify in time.
//!
//! One map entry per connection replaces what each connection's task used
//! to wait on: a drain signal (144 bytes) and a timer (112 bytes, plus a
//! timer-wheel update per heartbeat). Deadlines are two atomics on the
//! connection's outlet, set by its reader and checked by one reaper task
//! per edge every [`reap_period`] (a second at the defaults), so a
//! deadline is enforced within that period of passing.

use crate::Edge;
use crate::delivery::session::close;
use crate::delivery::{Outbound, Outlet};
use crate::metrics as m;
use rookery_proto::codec;
use rookery_proto::gateway::{CloseCode, op};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// Shards of the map: connects, disconnects and a reaper pass each lock
/// one shard at a time.
const SHARDS: usize = 16;

/// See the module.
pub(crate) struct OpenConnections {
    draining: AtomicBool,
    reaper_started: AtomicBool,
    /// The deadlines' clock: milliseconds since this instant.
    epoch: Instant,
    shards: [Mutex<HashMap<u64, Weak<Outlet>>>; SHARDS],
}

impl Default for OpenConnections {
    fn default() -> Self {
        Self {
            draining: AtomicBool::new(false),
            reaper_started: AtomicBool::new(false),
            epoch: Instant::now(),
            shards: Default::default(),
        }
    }
}

impl OpenConnections {
    fn shard(&self, id: u64) -> MutexGuard<'_, HashMap<u64, Weak<Outlet>>> {
        let shard = &self.shards[id as usize % SHARDS];
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Now, in the deadlines' clock.
    pub(super) fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// `after` from now, in the deadlines' clock.
    pub(super) fn deadline(&self, after: Duration) -> u64 {
        self.now().saturating_add(after.as_millis() as u64)
    }

    /// Adds connection `id`; on a draining edge it is told to reconnect at
    /// once (it may have been upgraded just as the drain began).
    pub(super) fn add(&self, id: u64, outlet: &Arc<Outlet>) {
        self.shard(id).insert(id, Arc::downgrade(outlet));
        // After the insert: a drain either sees the entry or is seen here.
        if self.draining.load(Ordering::SeqCst) {
            reconnect(outlet);
        }
    }

    pub(super) fn remove(&self, id: u64) {
        self.shard(id).remove(&id);
    }

    /// Whether the edge is draining (new connections are refused).
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Sends every open connection RECONNECT and closes it with 4102, so
    /// clients resume elsewhere at once without treating it as an error.
    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        for outlet in self.live() {
            reconnect(&outlet);
        }
    }

    /// Closes every connection past a deadline: 4009 for a missed
    /// heartbeat, 4003 for no IDENTIFY in time. Returns how many.
    pub(crate) fn reap(&self) -> usize {
        let now = self.now();
        // Collected under each shard's lock, closed after it: a close takes
        // the outlet's lock (and may start its writer).
        let mut due = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for outlet in shard.values().filter_map(Weak::upgrade) {
                if let Some(code) = overdue(&outlet, now) {
                    due.push((outlet, code));
                }
            }
        }
        for (outlet, code) in &due {
            if *code == CloseCode::NotAuthenticated {
                metrics::counter!(m::IDENTIFY_TIMEOUTS).increment(1);
            }
            // Once: the reader ends, and the entry goes, soon after.
            outlet.identify_by.store(u64::MAX, Ordering::Relaxed);
            outlet.heartbeat_by.store(u64::MAX, Ordering::Relaxed);
            close(outlet, *code);
        }
        due.len()
    }

    /// The connections still open, one shard locked at a time.
    fn live(&self) -> Vec<Arc<Outlet>> {
        let mut live = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            live.extend(shard.values().filter_map(Weak::upgrade));
        }
        live
    }

    /// Starts `edge`'s reaper (once; it ends with the edge).
    pub(super) fn start_reaper(&self, edge: &Arc<Edge>) {
        if self.reaper_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let config = &edge.config;
        let period = reap_period(config.heartbeat_interval, config.identify_timeout);
        tokio::spawn(reaper(Arc::downgrade(edge), period));
    }
}

/// How often deadlines are checked: an eighth of the shorter one, between
/// 10 ms and a second.
pub(crate) fn reap_period(heartbeat_interval: Duration, identify_timeout: Duration) -> Duration {
    let shortest = heartbeat_interval.min(identify_timeout);
    (shortest / 8).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

async fn reaper(edge: Weak<Edge>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(edge) = edge.upgrade() else { return };
        edge.gateways.reap();
    }
}

/// The close a connection past a deadline gets, if it is past one.
fn overdue(outlet: &Outlet, now: u64) -> Option<CloseCode> {
    if now >= outlet.heartbeat_by.load(Ordering::Relaxed) {
        Some(CloseCode::SessionTimedOut)
    } else if now >= outlet.identify_by.load(Ordering::Relaxed) {
        Some(CloseCode::NotAuthenticated)
    } else {
        None
    }
}

/// RECONNECT, then the close frame (sent by the connection's writer after
/// what is queued). A connection already closing is left alone.
fn reconnect(outlet: &Arc<Outlet>) {
    if outlet.close_asked().is_some() {
        return;
    }
    let frame = codec::encode(outlet.encoding(), op::RECONNECT, &Option::<()>::None);
    let _ = outlet.send(Outbound::Frame(frame));
    close(outlet, CloseCode::ServerShutdown);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_reaches_connections_open_before_it_and_those_added_after() {
        let open = OpenConnections::default();
        let before = crate::delivery::queue_only(8);
        open.add(1, &before);
        assert!(!open.draining());
        open.drain();
        assert!(open.draining());
        let after = crate::delivery::queue_only(8);
        open.add(2, &after);
        for outlet in [&before, &after] {
            assert_eq!(outlet.close_asked(), Some(CloseCode::ServerShutdown));
            let Ok(Outbound::Frame(reconnect)) = outlet.try_recv() else {
                panic!("RECONNECT first");
            };
            assert_eq!(reconnect, br#"{"op":7,"d":null,"s":null,"t":null}"#);
        }
        open.remove(1);
        open.remove(2);
        assert!(open.live().is_empty());
    }

    #[test]
    fn the_reaper_closes_only_connections_past_a_deadline_and_says_which() {
        let open = OpenConnections::default();
        let outlets: Vec<_> = (0..4).map(|_| crate::delivery::queue_only(8)).collect();
        let (quiet, anonymous, fine, identified) =
            (&outlets[0], &outlets[1], &outlets[2], &outlets[3]);
        let now = open.now();
        quiet.heartbeat_by.store(now, Ordering::Relaxed);
        anonymous
            .heartbeat_by
            .store(now + 60_000, Ordering::Relaxed);
        anonymous.identify_by.store(now, Ordering::Relaxed);
        fine.heartbeat_by.store(now + 60_000, Ordering::Relaxed);
        fine.identify_by.store(now + 60_000, Ordering::Relaxed);
        identified
            .heartbeat_by
            .store(now + 60_000, Ordering::Relaxed);
        for (id, outlet) in outlets.iter().enumerate() {
            open.add(id as u64, outlet);
        }
        assert_eq!(open.reap(), 2);
        assert_eq!(quiet.close_asked(), Some(CloseCode::SessionTimedOut));
        assert_eq!(anonymous.close_asked(), Some(CloseCode::NotAuthenticated));
        assert_eq!(fine.close_asked(), None);
        assert_eq!(identified.close_asked(), None);
        assert_eq!(open.reap(), 0, "each is closed once");
    }

    #[test]
    fn the_reap_period_follows_the_shorter_deadline_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(reap_period(Duration::from_millis(41_250), s(10)), s(1));
        assert_eq!(
            reap_period(s(2), Duration::from_millis(400)),
            Duration::from_millis(50)
        );
        assert_eq!(
            reap_period(Duration::from_millis(20), s(10)),
            Duration::from_millis(10)
        );
    }
}
