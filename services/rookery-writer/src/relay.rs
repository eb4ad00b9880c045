//! [`EphemeralRelay`]: the writer's second loop. It takes typing and
//! presence from the ephemeral topic and pushes them to the edges through
//! the same [`EdgeLink`] and interest routing as stored events, without the
//! store and without commits (at most once: a lost typing indicator is
//! harmless, and presence is refreshed).

use crate::{WriterError, decode, metrics as m};
use rookery_bus::{Bus, Consumer, EdgeLink, FanoutBatch};
use std::sync::Arc;

/// Most records taken per poll.
const MAX_BATCH: usize = 1024;

/// Ephemeral events older than this are dropped: a typing indicator lasts
/// 10 s, and a presence this old has been superseded or refreshed. (A new
/// partition owner re-reads recent records; see the Kafka bus.)
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// Relays ephemeral events to the edges.
pub struct EphemeralRelay {
    consumer: Box<dyn Consumer>,
    link: Arc<dyn EdgeLink>,
}

impl EphemeralRelay {
    /// Takes the bus's ephemeral consumer.
    pub async fn new(bus: &dyn Bus, link: Arc<dyn EdgeLink>) -> Result<Self, WriterError> {
        let consumer = bus.ephemeral_consumer().await?;
        Ok(Self { consumer, link })
    }

    /// Relays until `shutdown` resolves.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), WriterError> {
        tokio::pin!(shutdown);
        loop {
            let batches = tokio::select! {
                biased;
                () = &mut shutdown => return Ok(()),
                polled = self.consumer.poll(MAX_BATCH) => polled?,
            };
            let oldest = rookery_bus::now_ms().saturating_sub(STALE_AFTER.as_millis() as u64);
            for batch in &batches {
                let mut events = decode(batch);
                // Only ephemeral events belong here (anything else would be
                // fanned out without being stored), and only fresh ones.
                events.retain(|e| e.event.is_ephemeral() && e.ts >= oldest);
                for kind in events.iter().filter_map(|e| e.event.ephemeral_kind()) {
                    ::metrics::counter!(m::EPHEMERAL_EVENTS, "type" => kind).increment(1);
                }
                if events.is_empty() {
                    continue;
                }
                // No partition: ephemeral pushes are not fenced by claims.
                let fanout = FanoutBatch {
                    partition: None,
                    events,
                    applied_at_ms: 0,
                };
                if let Err(e) = self.link.push(fanout).await {
                    tracing::warn!(error = %e, "ephemeral push failed");
                    ::metrics::counter!(m::PUSH_ERRORS).increment(1);
                }
            }
        }
    }
}
