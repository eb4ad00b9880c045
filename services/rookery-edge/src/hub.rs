//! The hub: which local sessions want which guild's events, and the
//! in-process end of the [`EdgeLink`]. Each applied event is turned into one
//! [`Dispatch`] (encoded at most once per encoding) and queued to every
//! subscribed session; REST callers waiting for their change to be applied
//! are released here.

use crate::metrics as m;
use crate::session::Session;
use async_trait::async_trait;
use rookery_bus::{EdgeLink, FanoutBatch, LinkError};
use rookery_proto::Id;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::event::{Envelope, Event};
use rookery_proto::gateway::event_name as ev;
use rookery_proto::model::{GuildState, Member};
use rookery_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;

type Index = RwLock<HashMap<Id, HashMap<u64, Arc<Session>>>>;

/// Local subscriptions and delivery.
pub struct Hub {
    origin: u16,
    store: Arc<dyn Store>,
    by_guild: Index,
    by_user: Index,
    waiters: Mutex<HashMap<Id, oneshot::Sender<()>>>,
}

impl Hub {
    /// A hub for the edge with worker id `origin`.
    pub fn new(origin: u16, store: Arc<dyn Store>) -> Self {
        Self {
            origin,
            store,
            by_guild: RwLock::default(),
            by_user: RwLock::default(),
            waiters: Mutex::default(),
        }
    }

    /// Registers a waiter released when event `id` (published by this edge)
    /// has been applied.
    pub fn wait_applied(&self, id: Id) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().expect("waiters").insert(id, tx);
        rx
    }

    /// Drops a waiter that gave up.
    pub fn forget_waiter(&self, id: Id) {
        self.waiters.lock().expect("waiters").remove(&id);
    }

    /// Indexes a session under its user, so membership changes reach it.
    pub fn add_session(&self, s: &Arc<Session>) {
        insert(&self.by_user, s.user.id, s);
    }

    /// Subscribes a session to a guild's events.
    pub fn subscribe(&self, s: &Arc<Session>, guild: Id) {
        if s.add_guild(guild) {
            insert(&self.by_guild, guild, s);
        }
    }

    /// Removes a session from every index.
    pub fn remove_session(&self, s: &Session) {
        for g in s.guilds() {
            remove(&self.by_guild, g, s.key);
        }
        remove(&self.by_user, s.user.id, s.key);
    }

    fn to_guild(&self, guild: Id, d: &Arc<Dispatch>) {
        to_all(&self.by_guild, guild, d);
    }

    async fn deliver(&self, env: &Envelope) {
        match &env.event {
            Event::MessageCreate(msg) => {
                self.to_guild(
                    msg.guild_id,
                    &Arc::new(Dispatch::new(
                        ev::MESSAGE_CREATE,
                        DispatchData::Message(msg.clone()),
                    )),
                );
            }
            Event::ChannelCreate(c) => {
                self.to_guild(
                    c.guild_id,
                    &Arc::new(Dispatch::new(
                        ev::CHANNEL_CREATE,
                        DispatchData::Channel(c.clone()),
                    )),
                );
            }
            Event::GuildCreate(g) => self.join(g.owner.id, &g.guild),
            Event::GuildMemberAdd(add) => {
                let member = Member {
                    guild_id: add.guild_id,
                    user: add.user.clone(),
                    joined_at: env.id.timestamp(),
                };
                self.to_guild(
                    add.guild_id,
                    &Arc::new(Dispatch::new(
                        ev::GUILD_MEMBER_ADD,
                        DispatchData::Member(member),
                    )),
                );
                if self.has_sessions(add.user.id) {
                    match self.guild_state(add.guild_id).await {
                        Some(state) => self.join(add.user.id, &state),
                        None => {
                            tracing::warn!(guild = %add.guild_id, "joined guild not found in store")
                        }
                    }
                }
            }
            Event::UserCreate(_) | Event::InviteCreate(_) => {}
        }
        let delay = rookery_proto::id::now_ms().saturating_sub(env.ts);
        metrics::histogram!(m::FANOUT_DELAY).record(Duration::from_millis(delay));
        if env.origin == self.origin
            && let Some(tx) = self.waiters.lock().expect("waiters").remove(&env.id)
        {
            let _ = tx.send(());
        }
    }

    /// Subscribes the user's sessions to a guild and sends them GUILD_CREATE.
    fn join(&self, user: Id, guild: &GuildState) {
        let sessions: Vec<Arc<Session>> = self
            .by_user
            .read()
            .expect("index")
            .get(&user)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        let d = Arc::new(Dispatch::new(
            ev::GUILD_CREATE,
            DispatchData::Guild(guild.clone()),
        ));
        for s in sessions {
            self.subscribe(&s, guild.id);
            s.dispatch(&d);
        }
    }

    fn has_sessions(&self, user: Id) -> bool {
        self.by_user.read().expect("index").contains_key(&user)
    }

    /// A guild with its channels, from the store.
    pub async fn guild_state(&self, id: Id) -> Option<GuildState> {
        let guild = self.store.guild(id).await.ok()??;
        let channels = self.store.guild_channels(id).await.ok()?;
        Some(GuildState {
            id: guild.id,
            name: guild.name,
            owner_id: guild.owner_id,
            channels,
        })
    }
}

fn insert(index: &Index, key: Id, s: &Arc<Session>) {
    index
        .write()
        .expect("index")
        .entry(key)
        .or_default()
        .insert(s.key, s.clone());
}

fn remove(index: &Index, key: Id, session: u64) {
    let mut index = index.write().expect("index");
    if let Some(sessions) = index.get_mut(&key) {
        sessions.remove(&session);
        if sessions.is_empty() {
            index.remove(&key);
        }
    }
}

fn to_all(index: &Index, key: Id, d: &Arc<Dispatch>) {
    let index = index.read().expect("index");
    if let Some(sessions) = index.get(&key) {
        for s in sessions.values() {
            s.dispatch(d);
        }
        m::hot().deliveries.increment(sessions.len() as u64);
    }
}

#[async_trait]
impl EdgeLink for Hub {
    async fn push(&self, batch: FanoutBatch) -> Result<(), LinkError> {
        for env in &batch.events {
            self.deliver(env).await;
        }
        if batch.applied_at_ms > 0 {
            let ms = rookery_bus::now_ms().saturating_sub(batch.applied_at_ms);
            metrics::histogram!(m::PERSISTED_DELAY).record(Duration::from_millis(ms));
        }
        Ok(())
    }
}
