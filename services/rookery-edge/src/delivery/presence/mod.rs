//! Presence (online, idle, dnd, invisible → offline, custom status), kept
//! off the store: each edge publishes its hosted users' views on the
//! ephemeral topic ([`Local`]); every edge merges the views it hears into a
//! [`Board`] and tells the members sharing a guild what changed. Views are
//! refreshed while the user stays connected and expire otherwise.

mod board;
mod local;

pub(crate) use board::Board;
pub(crate) use local::{Local, Timing};

use crate::Edge;
use crate::delivery::session::Session;
use rookery_bus::Record;
use rookery_proto::event::{Envelope, Event};
use rookery_proto::presence::{PresenceChange, PresenceSet};
use std::sync::Arc;
use std::time::Instant;

impl Edge {
    /// Session `s` chose a presence (IDENTIFY or op 3).
    pub(crate) async fn set_presence(&self, s: &Arc<Session>, set: PresenceSet) {
        let envs = self.presence_events(|l, now| l.choose(s, set, now).into_iter().collect());
        self.publish_presence(envs).await;
    }

    /// Session `s` lost its connection, or regained it by RESUME. Offline
    /// follows after the grace once no session of the user is connected.
    pub(crate) async fn presence_touched(&self, s: &Session) {
        let envs = self.presence_events(|l, now| l.touch(s, now).into_iter().collect());
        self.publish_presence(envs).await;
    }

    /// Session `s` ended for good.
    pub(crate) fn presence_ended(&self, s: &Session) {
        self.presence.lock().expect("presence").end(s);
    }

    /// Publishes offline views whose grace passed, due refreshes and the
    /// views of users who joined guilds, and drops expired views of other
    /// edges. The binary calls this every
    /// second.
    pub async fn tick_presence(&self) {
        let joined = self.hub.take_joined();
        let envs = self.presence_events(|l, now| {
            let mut changes = l.tick(now);
            changes.extend(l.joined(&joined, now));
            changes
        });
        self.publish_presence(envs).await;
        self.hub.expire_presences();
    }

    /// Runs `f` on the hosted presences and wraps what it returns in
    /// envelopes whose ids are minted under the same lock, so receivers,
    /// which keep the newest id per edge, see the views in the order they
    /// were decided.
    fn presence_events(
        &self,
        f: impl FnOnce(&mut Local, Instant) -> Vec<PresenceChange>,
    ) -> Vec<Envelope> {
        let mut local = self.presence.lock().expect("presence");
        let changes = f(&mut local, Instant::now());
        changes
            .into_iter()
            .map(|c| self.envelope(Event::PresenceUpdate(c), None))
            .collect()
    }

    async fn publish_presence(&self, envs: Vec<Envelope>) {
        for env in envs {
            if let Err(e) = self.publish_ephemeral(&env).await {
                // The next refresh publishes the view again.
                tracing::warn!(error = %e, "failed to publish presence");
            }
        }
    }

    /// Publishes `env` on the ephemeral topic.
    pub(crate) async fn publish_ephemeral(
        &self,
        env: &Envelope,
    ) -> Result<(), rookery_bus::BusError> {
        let record = Record {
            key: env.event.key(),
            payload: env.to_bytes(),
        };
        self.bus.publish_ephemeral(record).await
    }
}
