//! Write clocks: the write time of every event, as a function of its place
//! on its partition that every writer computes alike.
//!
//! A store that settles concurrent writes by timestamp (ScyllaDB) must see
//! a partition's events stamped in log order, whichever writer applies
//! them: when a partition moves, the former owner may still be finishing a
//! batch (a late edit) while the new owner applies what follows (the
//! delete), and the two processes' clocks differ. So the time of a record
//! is a chain over its partition, `t = max(t_prev + 1 µs, event time)`: it
//! follows the wall clock (the time the edge minted the event's id) and is
//! strictly increasing in offset order. The writer commits the chain's
//! value with each offset (`Checkpoint::clock`), and a writer that starts
//! at a committed offset starts the chain from the value committed there;
//! it computes exactly what the former owner computed for every record
//! from that offset on, and nothing below it is written after its commit.

use rookery_store::WriteTime;
use std::collections::HashMap;

/// The clock after `last` for an event minted at `event_ms` (unix ms; none
/// for a record that could not be decoded).
pub fn next_time(last: i64, event_ms: Option<u64>) -> i64 {
    let event_us = event_ms.map_or(0, |ms| i64::try_from(ms).unwrap_or(i64::MAX / 1000) * 1000);
    last.saturating_add(1).max(event_us)
}

/// One partition's chain: the next offset it expects and its last time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chain {
    next_offset: u64,
    last: i64,
}

/// The chains of the partitions this writer has applied.
#[derive(Debug, Default)]
pub(crate) struct WriteClocks {
    chains: HashMap<u32, Chain>,
}

impl WriteClocks {
    /// Whether this writer's own chain reaches `offset` of `partition`
    /// (otherwise it must start from the committed checkpoint).
    pub(crate) fn continues(&self, partition: u32, offset: u64) -> bool {
        self.chains
            .get(&partition)
            .is_some_and(|c| c.next_offset == offset)
    }

    /// Starts `partition`'s chain at `offset` with `last` as the time of
    /// the record before it.
    pub(crate) fn start(&mut self, partition: u32, offset: u64, last: i64) {
        let chain = Chain {
            next_offset: offset,
            last,
        };
        self.chains.insert(partition, chain);
    }

    /// The time of the record at `offset` (the chain's next one).
    pub(crate) fn tick(&mut self, partition: u32, offset: u64, event_ms: Option<u64>) -> WriteTime {
        let chain = self.chains.entry(partition).or_insert(Chain {
            next_offset: offset,
            last: 0,
        });
        debug_assert_eq!(chain.next_offset, offset, "records are stamped in order");
        chain.last = next_time(chain.last, event_ms);
        chain.next_offset = offset + 1;
        WriteTime(chain.last)
    }

    /// The time of the last record stamped on `partition` (what a
    /// checkpoint after it carries).
    pub(crate) fn last(&self, partition: u32) -> i64 {
        self.chains.get(&partition).map_or(0, |c| c.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_event_time_and_increase_in_log_order() {
        // An edge whose clock is ahead puts the chain ahead; the events that
        // follow in the log still come later, by a microsecond each.
        assert_eq!(next_time(0, Some(1_000)), 1_000_000);
        assert_eq!(next_time(5_000_000, Some(1_000)), 5_000_001);
        assert_eq!(next_time(5_000_000, Some(9_000)), 9_000_000);
        assert_eq!(next_time(5_000_000, None), 5_000_001);
        assert_eq!(next_time(i64::MAX, Some(1)), i64::MAX, "saturates");
    }

    /// The former owner of a partition and the new one, whose clock is
    /// behind, stamp every record from the committed offset alike: the old
    /// owner's late write of an earlier event never outranks a later one.
    #[test]
    fn two_owners_resuming_from_one_checkpoint_agree() {
        let events: Vec<Option<u64>> = vec![Some(100), Some(90), Some(95), None, Some(300)];
        let mut old = WriteClocks::default();
        let times: Vec<WriteTime> = (0..5).map(|o| old.tick(3, o, events[o as usize])).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
        // It commits after offset 1, carrying the time of record 1.
        let (committed, clock) = (2, times[1].0);
        let mut new = WriteClocks::default();
        assert!(!new.continues(3, committed));
        new.start(3, committed, clock);
        let again: Vec<WriteTime> = (2..5).map(|o| new.tick(3, o, events[o as usize])).collect();
        assert_eq!(again, times[2..]);
        assert!(new.continues(3, 5));
        assert_eq!(new.last(3), times[4].0);
    }
}
