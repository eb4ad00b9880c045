//! The embedded bus's ephemeral side (typing, presence): a bounded
//! in-memory queue from the edge to the writer's relay. Nothing is written
//! to disk and a full queue drops the record: these events are worth
//! nothing a moment later, and presence heals with its next refresh.

use crate::metrics as m;
use crate::{Batch, BusError, Checkpoint, Consumed, Consumer, Record, partition_for};
use async_trait::async_trait;
use std::sync::Mutex;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// The queue; its one consumer is taken by the writer's relay.
pub(crate) struct EphemeralQueue {
    tx: mpsc::Sender<Record>,
    rx: Mutex<Option<mpsc::Receiver<Record>>>,
    partitions: u32,
}

impl EphemeralQueue {
    pub(crate) fn new(capacity: usize, partitions: u32) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            partitions,
        }
    }

    /// Queues a record, or drops it (counted) when the queue is full or
    /// nobody consumes.
    pub(crate) fn publish(&self, record: Record) {
        match self.tx.try_send(record) {
            Ok(()) => metrics::counter!(m::EPHEMERAL_PUBLISHED).increment(1),
            Err(TrySendError::Full(_) | TrySendError::Closed(_)) => {
                metrics::counter!(m::EPHEMERAL_DROPPED).increment(1);
            }
        }
    }

    /// The consumer; there is one per bus.
    pub(crate) fn consumer(&self) -> Result<Box<dyn Consumer>, BusError> {
        let rx = self
            .rx
            .lock()
            .expect("ephemeral rx")
            .take()
            .ok_or_else(|| BusError::Config("the ephemeral queue already has a consumer".into()))?;
        Ok(Box::new(EphemeralConsumer {
            rx,
            partitions: self.partitions,
            next: 0,
        }))
    }
}

struct EphemeralConsumer {
    rx: mpsc::Receiver<Record>,
    partitions: u32,
    /// Offsets only order records in a batch; nothing is committed.
    next: u64,
}

impl EphemeralConsumer {
    fn take(&mut self, first: Option<Record>, max: usize) -> Vec<Batch> {
        let mut batches: Vec<Batch> = Vec::new();
        let rest = std::iter::from_fn(|| self.rx.try_recv().ok());
        let records: Vec<Record> = first.into_iter().chain(rest).take(max.max(1)).collect();
        for record in records {
            let partition = partition_for(record.key, self.partitions);
            let consumed = Consumed {
                offset: self.next,
                key: record.key,
                payload: record.payload,
            };
            self.next += 1;
            match batches.iter_mut().find(|b| b.partition == partition) {
                Some(b) => b.records.push(consumed),
                None => batches.push(Batch {
                    partition,
                    records: vec![consumed],
                }),
            }
        }
        batches
    }
}

#[async_trait]
impl Consumer for EphemeralConsumer {
    async fn poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        // Cancel-safe: `recv` takes a record only when it returns it.
        let first = self.rx.recv().await.ok_or(BusError::Closed)?;
        Ok(self.take(Some(first), max))
    }

    async fn try_poll(&mut self, max: usize) -> Result<Vec<Batch>, BusError> {
        let first = self.rx.try_recv().ok();
        Ok(match first {
            Some(first) => self.take(Some(first), max),
            None => Vec::new(),
        })
    }

    async fn commit(&mut self, _: &[Checkpoint]) -> Result<(), BusError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: u64) -> Record {
        Record {
            key,
            payload: key.to_be_bytes().to_vec(),
        }
    }

    #[tokio::test]
    async fn records_reach_the_one_consumer_by_partition_and_a_full_queue_drops() {
        let queue = EphemeralQueue::new(3, 4);
        let mut consumer = queue.consumer().unwrap();
        assert!(queue.consumer().is_err(), "one consumer per bus");
        for key in 1..=4 {
            queue.publish(record(key));
        }
        let batches = consumer.poll(10).await.unwrap();
        let keys: Vec<u64> = batches
            .iter()
            .flat_map(|b| b.records.iter().map(|r| r.key))
            .collect();
        assert_eq!(keys.len(), 3, "the fourth record found the queue full");
        for b in &batches {
            assert!(
                b.records
                    .iter()
                    .all(|r| partition_for(r.key, 4) == b.partition)
            );
        }
        assert!(consumer.try_poll(10).await.unwrap().is_empty());
        queue.publish(record(9));
        let again = consumer.try_poll(10).await.unwrap();
        assert_eq!(again[0].records[0].key, 9, "room again once taken");
    }
}
