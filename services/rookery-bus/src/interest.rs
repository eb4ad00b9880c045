//! Interest: which edges want which channels, so a writer pushes a channel's
//! events only to edges with subscribers in it (`docs/architecture.md`).
//!
//! - [`Interest`] is the edge's side: register and withdraw channel keys.
//!   One node needs none ([`LocalInterest`]); a cluster records it on the
//!   compacted `rookery.interest` topic.
//! - [`InterestTable`] is the writer's side: the interest of the partitions
//!   it owns, rebuilt from that topic, plus its ownership claims.
//! - [`InterestAcks`] tells an edge how far the owning writers have applied
//!   its interest records, so a session goes live only once routed.

use crate::{BusError, Position, partition_for};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// Resolves once a registration is effective.
pub type Registered = Pin<Box<dyn Future<Output = Result<(), BusError>> + Send>>;

/// An edge's registration of interest in channel keys. Both calls record
/// their change before returning, so changes take effect in call order (a
/// withdrawal and a new registration of the same key cannot swap).
pub trait Interest: Send + Sync + 'static {
    /// Registers interest in `keys`; the future resolves once the writers
    /// owning them route their events here (or after a bound, logged).
    fn register(&self, keys: &[u64]) -> Registered;

    /// Withdraws interest in `keys`; the future resolves once recorded
    /// (dropping it does not cancel the withdrawal).
    fn withdraw(&self, keys: &[u64]) -> Registered;
}

/// One node: the only writer pushes everything to the only edge.
pub struct LocalInterest;

impl Interest for LocalInterest {
    fn register(&self, _: &[u64]) -> Registered {
        Box::pin(std::future::ready(Ok(())))
    }

    fn withdraw(&self, _: &[u64]) -> Registered {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// How far the partition owners have applied this edge's interest records:
/// the next offset per partition of the interest topic.
///
/// Lock order: the `applied` mutex and the watch's own lock are never held
/// together. `applied` releases the mutex before notifying, and `wait`
/// checks between notifications, outside the watch's lock (checking inside
/// `wait_for`'s predicate took the mutex under the watch's lock while a
/// notifier held the mutex and wanted the watch's: a deadlock that wedged
/// the edge's runtime).
pub struct InterestAcks {
    applied: Mutex<HashMap<u32, u64>>,
    changed: watch::Sender<u64>,
}

impl Default for InterestAcks {
    fn default() -> Self {
        Self {
            applied: Mutex::default(),
            changed: watch::channel(0).0,
        }
    }
}

impl InterestAcks {
    /// A writer applied this edge's records of `partition` below `next`.
    pub fn applied(&self, partition: u32, next: u64) {
        let moved = {
            let mut applied = self.applied.lock().expect("acks");
            let entry = applied.entry(partition).or_default();
            let moved = next > *entry;
            *entry = (*entry).max(next);
            moved
        };
        if moved {
            self.changed.send_modify(|v| *v += 1);
        }
    }

    fn covers(&self, records: &[Position]) -> bool {
        let applied = self.applied.lock().expect("acks");
        records
            .iter()
            .all(|r| applied.get(&r.partition).is_some_and(|&n| n > r.offset))
    }

    /// Waits until every record in `records` is applied, up to `limit`;
    /// false on timeout. (Subscribed before the first check, so an
    /// acknowledgement between a check and the wait is not missed.)
    pub async fn wait(&self, records: &[Position], limit: Duration) -> bool {
        let mut rx = self.changed.subscribe();
        let covered = async {
            loop {
                if self.covers(records) {
                    return true;
                }
                if rx.changed().await.is_err() {
                    return false;
                }
            }
        };
        tokio::time::timeout(limit, covered).await.unwrap_or(false)
    }
}

/// An edge instance: its worker id and boot epoch (a restart is a new epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EdgeId {
    /// Worker id.
    pub node: u16,
    /// Boot epoch (milliseconds since the Unix epoch at start).
    pub epoch: u64,
}

#[derive(Default)]
struct Table {
    /// Interested edges by partition, then by channel key.
    by_partition: HashMap<u32, HashMap<u64, Vec<EdgeId>>>,
    /// The newest epoch seen per edge node: older ones are dead.
    epochs: HashMap<u16, u64>,
    /// Ownership claim token per owned partition.
    claims: HashMap<u32, u64>,
}

/// The writer's view of interest in the partitions it owns.
pub struct InterestTable {
    partitions: u32,
    inner: RwLock<Table>,
}

impl InterestTable {
    /// An empty table for a topic of `partitions` partitions.
    pub fn new(partitions: u32) -> Self {
        Self {
            partitions,
            inner: RwLock::default(),
        }
    }

    /// The partition count it was made for.
    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Applies one record of an owned partition: `Some(edge)` registers
    /// that edge's interest in `key`, `None` withdraws edge `node`'s.
    /// Records of an epoch older than one already seen are dropped.
    pub fn apply(&self, partition: u32, key: u64, node: u16, edge: Option<EdgeId>) {
        let mut t = self.inner.write().expect("interest");
        if let Some(e) = edge
            && !t.note_epoch(e)
        {
            return;
        }
        let keys = t.by_partition.entry(partition).or_default();
        let edges = keys.entry(key).or_default();
        edges.retain(|e| e.node != node);
        edges.extend(edge);
        if edges.is_empty() {
            keys.remove(&key);
        }
    }

    /// An edge connected with this identity: interest of its older epochs
    /// is dropped.
    pub fn edge_seen(&self, edge: EdgeId) {
        self.inner.write().expect("interest").note_epoch(edge);
    }

    /// Calls `f` with each edge interested in `key` (live epochs only),
    /// under the table's read lock: keep `f` short.
    pub fn for_each_edge(&self, key: u64, f: impl FnMut(&EdgeId)) {
        let partition = partition_for(key, self.partitions);
        let t = self.inner.read().expect("interest");
        if let Some(edges) = t.by_partition.get(&partition).and_then(|k| k.get(&key)) {
            edges.iter().for_each(f);
        }
    }

    /// Edges interested in `key` (live epochs only).
    pub fn edges_for(&self, key: u64) -> Vec<EdgeId> {
        let mut out = Vec::new();
        self.for_each_edge(key, |e| out.push(*e));
        out
    }

    /// Forgets a partition this writer no longer owns.
    pub fn drop_partition(&self, partition: u32) {
        let mut t = self.inner.write().expect("interest");
        t.by_partition.remove(&partition);
        t.claims.remove(&partition);
    }

    /// Records this writer's ownership claim on a partition.
    pub fn set_claim(&self, partition: u32, token: u64) {
        self.inner
            .write()
            .expect("interest")
            .claims
            .insert(partition, token);
    }

    /// This writer's claim on `partition`, if it owns it.
    pub fn claim(&self, partition: u32) -> Option<u64> {
        self.inner
            .read()
            .expect("interest")
            .claims
            .get(&partition)
            .copied()
    }

    /// Channel keys with interest, over all owned partitions.
    pub fn len(&self) -> usize {
        let t = self.inner.read().expect("interest");
        t.by_partition.values().map(HashMap::len).sum()
    }

    /// Whether no key has interest.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Table {
    /// Records `edge`'s epoch; false if it is older than one already seen.
    /// A newer epoch purges the node's older registrations.
    fn note_epoch(&mut self, edge: EdgeId) -> bool {
        let known = self.epochs.get(&edge.node).copied().unwrap_or(0);
        if edge.epoch < known {
            return false;
        }
        if edge.epoch > known {
            self.epochs.insert(edge.node, edge.epoch);
            for keys in self.by_partition.values_mut() {
                keys.retain(|_, edges| {
                    edges.retain(|e| e.node != edge.node || e.epoch >= edge.epoch);
                    !edges.is_empty()
                });
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Acknowledgements arriving (the link's reader thread) while sessions
    /// wait for theirs (runtime tasks) never wedge each other: `applied`
    /// held its mutex while notifying the watch, and `wait` took the mutex
    /// inside the watch's lock, so one edge under a burst of IDENTIFYs
    /// stopped answering anything.
    #[test]
    fn acknowledgements_and_waiters_never_deadlock() {
        let acks = Arc::new(InterestAcks::default());
        let (done, finished) = std::sync::mpsc::channel();
        let shared = acks.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let waiters: Vec<_> = (0..8u32)
                    .map(|i| {
                        let acks = shared.clone();
                        tokio::spawn(async move {
                            for offset in 0..3000 {
                                let record = [Position {
                                    partition: i % 2,
                                    offset,
                                }];
                                assert!(acks.wait(&record, Duration::from_secs(60)).await);
                            }
                        })
                    })
                    .collect();
                let feeder = std::thread::spawn(move || {
                    for next in 1..=3001 {
                        shared.applied(0, next);
                        shared.applied(1, next);
                    }
                });
                for w in waiters {
                    w.await.unwrap();
                }
                feeder.join().unwrap();
            });
            let _ = done.send(());
        });
        let outcome = finished.recv_timeout(Duration::from_secs(30));
        assert!(outcome.is_ok(), "acknowledgements and waiters deadlocked");
        assert!(acks.covers(&[Position {
            partition: 1,
            offset: 3000
        }]));
    }

    fn edge(node: u16, epoch: u64) -> EdgeId {
        EdgeId { node, epoch }
    }

    fn table_with(key: u64, edges: &[EdgeId]) -> (InterestTable, u32) {
        let t = InterestTable::new(8);
        let p = partition_for(key, 8);
        for e in edges {
            t.apply(p, key, e.node, Some(*e));
        }
        (t, p)
    }

    #[test]
    fn register_then_withdraw() {
        let (t, p) = table_with(42, &[edge(1, 10), edge(2, 10)]);
        assert_eq!(t.edges_for(42), [edge(1, 10), edge(2, 10)]);
        t.apply(p, 42, 1, None);
        assert_eq!(t.edges_for(42), [edge(2, 10)]);
        t.apply(p, 42, 2, None);
        assert!(t.edges_for(42).is_empty());
        assert!(t.is_empty());
    }

    #[test]
    fn a_newer_epoch_drops_the_dead_one_and_old_records_stay_dropped() {
        let (t, p) = table_with(42, &[edge(1, 10)]);
        t.apply(p, 7, 1, Some(edge(1, 10)));
        // The edge restarted: its new epoch connects.
        t.edge_seen(edge(1, 20));
        assert!(t.edges_for(42).is_empty());
        assert!(t.edges_for(7).is_empty());
        // A late record of the dead epoch (replayed on a rebuild) is ignored.
        t.apply(p, 42, 1, Some(edge(1, 10)));
        assert!(t.edges_for(42).is_empty());
        t.apply(p, 42, 1, Some(edge(1, 20)));
        assert_eq!(t.edges_for(42), [edge(1, 20)]);
    }

    #[test]
    fn a_dropped_partition_forgets_interest_and_claim() {
        let (t, p) = table_with(42, &[edge(1, 10)]);
        t.set_claim(p, 5);
        assert_eq!(t.claim(p), Some(5));
        t.drop_partition(p);
        assert!(t.edges_for(42).is_empty());
        assert_eq!(t.claim(p), None);
    }

    #[tokio::test]
    async fn acks_release_waiters_only_past_their_records() {
        let acks = std::sync::Arc::new(InterestAcks::default());
        let records = [
            Position {
                partition: 1,
                offset: 4,
            },
            Position {
                partition: 2,
                offset: 0,
            },
        ];
        acks.applied(1, 5);
        assert!(!acks.wait(&records, Duration::from_millis(20)).await);
        let waiter = {
            let acks = acks.clone();
            tokio::spawn(async move { acks.wait(&records, Duration::from_secs(5)).await })
        };
        acks.applied(2, 1);
        assert!(waiter.await.unwrap());
    }
}
