//! Connection slots of one listener: a fixed number of TCP connections,
//! HTTP and WebSocket together. At the cap, the connection that has waited
//! longest without a request in flight (a slowloris socket, an idle
//! keep-alive) is closed to make room, so a flood of half-open requests
//! cannot lock out health checks and logins. WebSockets and requests in
//! flight are never evicted; with none idle, the newcomer is refused.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// The slots of one listener.
pub(crate) struct Slots {
    max: usize,
    /// The `listener` label of the open-connections gauge.
    name: &'static str,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    open: usize,
    next_key: u64,
    /// Connections without a request in flight, oldest (lowest key) first.
    idle: BTreeMap<u64, Arc<Notify>>,
}

/// What [`Slots::admit`] did.
pub(crate) enum Admission {
    /// A free slot.
    Admitted(Arc<Slot>),
    /// A slot freed by closing the oldest idle connection.
    Evicted(Arc<Slot>),
    /// Every slot holds a WebSocket or a request in flight.
    Refused,
}

/// One connection's slot; freed when the last holder (the connection task,
/// or the WebSocket task after an upgrade) drops it.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    key: u64,
    evict: Arc<Notify>,
    upgraded: AtomicBool,
}

impl Slots {
    pub(crate) fn new(max: usize, name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            name,
            state: Mutex::default(),
        })
    }

    /// Reports `open` on the listener's gauge (under the state lock, so
    /// reports cannot arrive out of order).
    fn report(&self, open: usize) {
        metrics::gauge!(crate::metrics::HTTP_CONNECTIONS, "listener" => self.name).set(open as f64);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connections holding a slot (an evicted one until its task ends).
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.state().open
    }

    /// A slot for a new connection, which starts idle (no request yet).
    pub(crate) fn admit(self: &Arc<Self>) -> Admission {
        let mut st = self.state();
        let mut evicted = false;
        if st.open >= self.max {
            let Some((_, victim)) = st.idle.pop_first() else {
                return Admission::Refused;
            };
            victim.notify_one();
            evicted = true;
        }
        st.open += 1;
        self.report(st.open);
        st.next_key += 1;
        let key = st.next_key;
        let evict = Arc::new(Notify::new());
        st.idle.insert(key, evict.clone());
        let slot = Arc::new(Slot {
            slots: self.clone(),
            key,
            evict,
            upgraded: AtomicBool::new(false),
        });
        if evicted {
            Admission::Evicted(slot)
        } else {
            Admission::Admitted(slot)
        }
    }
}

impl Slot {
    /// Resolves when the connection is chosen for eviction.
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// A request is in flight: not evictable.
    pub(crate) fn busy(&self) {
        self.slots.state().idle.remove(&self.key);
    }

    /// The request is answered: evictable again, unless the connection
    /// became a WebSocket.
    pub(crate) fn idle(&self) {
        if !self.upgraded.load(Ordering::Acquire) {
            self.slots.state().idle.insert(self.key, self.evict.clone());
        }
    }

    /// The connection is now a WebSocket: it keeps its slot, never evicted.
    pub(crate) fn upgraded(&self) {
        self.upgraded.store(true, Ordering::Release);
        self.busy();
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = self.slots.state();
        st.open -= 1;
        self.slots.report(st.open);
        st.idle.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(a: Admission) -> Arc<Slot> {
        match a {
            Admission::Admitted(s) => s,
            Admission::Evicted(_) => panic!("evicted where a slot was free"),
            Admission::Refused => panic!("refused where a slot was free"),
        }
    }

    #[tokio::test]
    async fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let slots = Slots::new(3, "public");
        let (oldest, busy, socket) = (
            admitted(slots.admit()),
            admitted(slots.admit()),
            admitted(slots.admit()),
        );
        busy.busy();
        socket.upgraded();
        let Admission::Evicted(newcomer) = slots.admit() else {
            panic!("expected an eviction");
        };
        // The oldest idle one was told to go; the others were not.
        tokio::time::timeout(std::time::Duration::from_secs(1), oldest.evicted())
            .await
            .expect("oldest evicted");
        assert_eq!(slots.open(), 4, "until the evicted connection ends");
        drop(oldest);
        assert_eq!(slots.open(), 3);
        // Now the newcomer (idle) is the only candidate.
        assert!(matches!(slots.admit(), Admission::Evicted(_)));
        drop(newcomer);
        let third = admitted(slots.admit());
        third.busy();
        // A WebSocket answered its upgrade request: still not evictable.
        socket.idle();
        assert!(matches!(slots.admit(), Admission::Refused));
        busy.idle();
        assert!(matches!(slots.admit(), Admission::Evicted(_)));
    }

    #[test]
    fn a_slot_is_freed_by_its_last_holder() {
        let slots = Slots::new(1, "public");
        let slot = admitted(slots.admit());
        slot.upgraded();
        let websocket = slot.clone();
        drop(slot);
        assert_eq!(slots.open(), 1);
        assert!(matches!(slots.admit(), Admission::Refused));
        drop(websocket);
        assert_eq!(slots.open(), 0);
        admitted(slots.admit());
    }
}
