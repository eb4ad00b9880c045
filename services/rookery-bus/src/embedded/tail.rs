//! The records group commits just made durable, kept in memory per
//! partition, so the in-process consumers take them from here instead of
//! reading back from fjall what the committer has just written (a range
//! scan of the log's memtable and a copy per record). The log on disk stays
//! the record: a consumer the tail cannot serve (after a restart, or more
//! than [`TAIL_RECORDS`] behind) reads from there as before.

use crate::Consumed;
use std::collections::VecDeque;
use std::sync::Mutex;

/// Most records held per partition. A consumer keeps up within a few
/// group commits; the writer commits every 50 ms, which trims the tail.
pub const TAIL_RECORDS: usize = 1024;

/// Committed records per partition, contiguous and in offset order.
pub(super) struct Tail {
    partitions: Mutex<Vec<VecDeque<Consumed>>>,
}

impl Tail {
    pub(super) fn new(partitions: u32) -> Self {
        let empty = (0..partitions).map(|_| VecDeque::new()).collect();
        Self {
            partitions: Mutex::new(empty),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<VecDeque<Consumed>>> {
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends records just committed, each with its partition, in offset
    /// order. A record that does not follow what a partition holds (there
    /// is none after a failed commit, but the tail must never have a gap)
    /// starts that partition afresh.
    pub(super) fn extend(&self, committed: impl IntoIterator<Item = (u32, Consumed)>) {
        let mut partitions = self.lock();
        for (p, record) in committed {
            let Some(held) = partitions.get_mut(p as usize) else {
                continue;
            };
            if held
                .back()
                .is_some_and(|last| last.offset + 1 != record.offset)
            {
                held.clear();
            }
            if held.len() == TAIL_RECORDS {
                held.pop_front();
            }
            held.push_back(record);
        }
    }

    /// Partition `p`'s records from `from` (below `to`, at most `max`), if
    /// the tail holds `from`.
    pub(super) fn read(&self, p: u32, (from, to): (u64, u64), max: usize) -> Option<Vec<Consumed>> {
        let partitions = self.lock();
        let held = partitions.get(p as usize)?;
        let first = held.front()?.offset;
        if from < first || from >= first + held.len() as u64 {
            return None;
        }
        let skip = (from - first) as usize;
        let take = max.min(to.saturating_sub(from) as usize);
        Some(held.range(skip..).take(take).cloned().collect())
    }

    /// Forgets partition `p`'s records below `offset` (every group has
    /// committed past them).
    pub(super) fn trim(&self, p: u32, offset: u64) {
        let mut partitions = self.lock();
        if let Some(held) = partitions.get_mut(p as usize) {
            while held.front().is_some_and(|r| r.offset < offset) {
                held.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(offset: u64) -> Consumed {
        Consumed {
            offset,
            key: offset * 10,
            payload: offset.to_be_bytes().to_vec(),
        }
    }

    fn offsets(records: Option<Vec<Consumed>>) -> Option<Vec<u64>> {
        records.map(|r| r.into_iter().map(|c| c.offset).collect())
    }

    #[test]
    fn serves_only_what_it_holds_and_below_the_watermark() {
        let tail = Tail::new(2);
        tail.extend((5..10).map(|o| (1, rec(o))));
        assert_eq!(
            offsets(tail.read(1, (5, 10), 100)),
            Some(vec![5, 6, 7, 8, 9])
        );
        assert_eq!(offsets(tail.read(1, (7, 9), 100)), Some(vec![7, 8]));
        assert_eq!(offsets(tail.read(1, (6, 10), 2)), Some(vec![6, 7]));
        // Behind the tail, past it, or another partition: the log answers.
        assert_eq!(offsets(tail.read(1, (4, 10), 100)), None);
        assert_eq!(offsets(tail.read(1, (10, 12), 100)), None);
        assert_eq!(offsets(tail.read(0, (5, 10), 100)), None);
        assert_eq!(offsets(tail.read(7, (5, 10), 100)), None);
    }

    #[test]
    fn a_gap_restarts_the_partition_and_trimming_drops_the_consumed() {
        let tail = Tail::new(1);
        tail.extend((0..4).map(|o| (0, rec(o))));
        tail.extend([(0, rec(9))]);
        assert_eq!(offsets(tail.read(0, (0, 10), 100)), None);
        assert_eq!(offsets(tail.read(0, (9, 10), 100)), Some(vec![9]));
        tail.extend((10..13).map(|o| (0, rec(o))));
        tail.trim(0, 11);
        assert_eq!(offsets(tail.read(0, (10, 13), 100)), None);
        assert_eq!(offsets(tail.read(0, (11, 13), 100)), Some(vec![11, 12]));
    }

    #[test]
    fn holds_at_most_its_capacity() {
        let tail = Tail::new(1);
        let n = TAIL_RECORDS as u64 + 10;
        tail.extend((0..n).map(|o| (0, rec(o))));
        assert_eq!(offsets(tail.read(0, (9, n), 1)), None);
        assert_eq!(offsets(tail.read(0, (10, n), 1)), Some(vec![10]));
    }
}
