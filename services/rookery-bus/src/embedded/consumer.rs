//! The embedded bus's consumer: reads a group's partitions from the
//! committer's in-memory tail (or the log, when the tail cannot serve it),
//! and commits the group's progress, trimming what every group has
//! consumed from the tail and the log's index.

use super::{Shared, backend, committed_clock, committed_offset, committed_value, offset_key};
use crate::metrics as m;
use crate::{Batch, BusError, Checkpoint, Consumer};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub(super) struct EmbeddedConsumer {
    shared: Arc<Shared>,
    group: String,
    /// Next offset to read, per partition.
    positions: Vec<u64>,
    /// Next offset committed, per partition.
    committed: Vec<u64>,
    /// Partition to start the next read at, so no partition starves.
    cursor: u32,
}

impl Drop for EmbeddedConsumer {
    fn drop(&mut self) {
        self.shared
            .groups
            .lock()
            .expect("groups lock")
            .remove(&self.group);
    }
}

impl EmbeddedConsumer {
    pub(super) fn new(shared: Arc<Shared>, group: &str, positions: Vec<u64>) -> Self {
        Self {
            shared,
            group: group.to_owned(),
            committed: positions.clone(),
            positions,
            cursor: 0,
        }
    }

    fn read_available(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        let s = self.shared.clone();
        let mut out = Vec::new();
        let mut budget = max.max(1);
        for i in 0..s.partitions {
            let p = (self.cursor + i) % s.partitions;
            let (from, to) = (
                self.positions[p as usize],
                s.high[p as usize].load(Ordering::Acquire),
            );
            if from >= to || budget == 0 {
                continue;
            }
            let (records, source) = match s.tail.read(p, (from, to), budget) {
                Some(records) => (records, "tail"),
                None => (s.journal.read(p, (from, to), budget)?, "log"),
            };
            metrics::counter!(m::CONSUMER_READS, "source" => source)
                .increment(records.len() as u64);
            budget -= records.len();
            if let Some(last) = records.last() {
                self.positions[p as usize] = last.offset + 1;
                out.push(Batch {
                    partition: p,
                    records,
                });
            }
        }
        self.cursor = (self.cursor + 1) % s.partitions;
        Ok(out)
    }
}

#[async_trait]
impl Consumer for EmbeddedConsumer {
    async fn poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        let shared = self.shared.clone();
        loop {
            let notified = shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let batches = self.read_available(max)?;
            if !batches.is_empty() {
                return Ok(batches);
            }
            notified.await;
        }
    }

    async fn try_poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        self.read_available(max)
    }

    async fn commit(&mut self, checkpoints: &[Checkpoint]) -> Result<(), BusError> {
        let s = &self.shared;
        let mut all = s.committed();
        let mut batch = s.db.batch();
        let mut advanced = Vec::with_capacity(checkpoints.len());
        for pos in checkpoints {
            let p = pos.partition as usize;
            if pos.partition >= s.partitions || pos.offset <= self.committed[p] {
                continue;
            }
            batch.insert(
                &s.offsets,
                offset_key(pos.partition, &self.group),
                committed_value(pos.offset, pos.clock),
            );
            // Records every group has consumed are no longer needed (their
            // segments are recycled by the committer).
            let others = min_elsewhere(&all[p], &self.group);
            s.tail.trim(pos.partition, pos.offset.min(others));
            s.journal.trim(pos.partition, pos.offset.min(others));
            self.committed[p] = pos.offset;
            advanced.push((p, pos.offset));
            let lag = s.high[p].load(Ordering::Acquire).saturating_sub(pos.offset);
            metrics::gauge!(m::CONSUMER_LAG, "partition" => pos.partition.to_string())
                .set(lag as f64);
        }
        batch.commit().map_err(backend)?;
        for (p, offset) in advanced {
            all[p].insert(self.group.clone(), offset);
        }
        Ok(())
    }

    async fn committed(&mut self, partition: u32) -> Result<Option<Checkpoint>, BusError> {
        let key = offset_key(partition, &self.group);
        let Some(value) = self.shared.offsets.get(key).map_err(backend)? else {
            return Ok(None);
        };
        Ok(committed_offset(&value)
            .zip(committed_clock(&value))
            .map(|(offset, clock)| Checkpoint {
                partition,
                offset,
                clock,
            }))
    }
}

/// The lowest offset any group but `me` committed (`u64::MAX` if none).
fn min_elsewhere(groups: &HashMap<String, u64>, me: &str) -> u64 {
    groups
        .iter()
        .filter(|(group, _)| group.as_str() != me)
        .map(|(_, &offset)| offset)
        .min()
        .unwrap_or(u64::MAX)
}
