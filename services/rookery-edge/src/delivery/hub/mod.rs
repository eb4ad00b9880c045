//! The hub: which local sessions want which guild's events, and the
//! in-process end of the [`EdgeLink`]. Each applied event is turned into one
//! [`Dispatch`] (encoded at most once per encoding) and queued to every
//! subscribed session; REST callers waiting for their change to be applied
//! are released here.
//!
//! The hub also keeps this edge's [`Interest`]: the channels of every guild
//! with a local session are registered when the guild's first session
//! subscribes (a session goes live once they are routed here) and withdrawn
//! after its last one leaves.

use crate::delivery::events::{guild_dispatch, seen_in};
use crate::delivery::session::Session;
use crate::metrics as m;
use async_trait::async_trait;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use rookery_bus::{EdgeLink, FanoutBatch, Interest, LinkError};
use rookery_proto::Id;
use rookery_proto::MessageId;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::event::{Envelope, Event, TokensRevoked};
use rookery_proto::gateway::event_name as ev;
use rookery_proto::model::{Channel, GuildState};
use rookery_proto::{ChannelId, GuildId, UserId};
use rookery_store::Store;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;

/// Messages per channel sent to a session that joins it while connected.
const CATCH_UP_LIMIT: usize = 100;

mod membership;
mod presence;
mod private;
mod viewers;
mod visibility;

#[cfg(test)]
mod race_tests;
#[cfg(test)]
mod viewers_tests;

pub use private::Scope;

/// Sessions by scope (a guild, or a private channel: `Id`) or by user.
type Index<K> = RwLock<Sessions<K>>;

/// Resolves once a guild's channels are routed to this edge.
pub type Live = Shared<BoxFuture<'static, ()>>;

/// A guild with local sessions: the channels registered for it.
struct LocalGuild {
    channels: HashSet<ChannelId>,
    live: Live,
}

impl LocalGuild {
    /// The guild is live once `added` is too.
    fn also(&mut self, added: Live) {
        let before = self.live.clone();
        self.live = async move {
            tokio::join!(before, added);
        }
        .boxed()
        .shared();
    }
}

/// Local subscriptions and delivery.
pub struct Hub {
    me: std::sync::Weak<Hub>,
    origin: u16,
    store: Arc<dyn Store>,
    perms: crate::access::perms::Perms,
    /// Token generations: the revocations this edge has heard of.
    pub(crate) generations: crate::access::generations::Generations,
    interest: Arc<dyn Interest>,
    /// Lock order: before `viewers`, whose lists of a guild change only
    /// under this lock.
    by_guild: Index<Id>,
    by_user: Index<UserId>,
    viewers: viewers::ViewerLists,
    /// Lock order: `local` before `by_guild` when both are held.
    local: Mutex<HashMap<GuildId, LocalGuild>>,
    waiters: Mutex<HashMap<Id, oneshot::Sender<()>>>,
    /// Every presence heard, merged per user.
    board: Mutex<crate::delivery::presence::Board>,
    /// Frames of one applied batch written through on the delivering
    /// thread ([`crate::delivery::outlet`]); the rest go to writer tasks.
    write_through_budget: AtomicUsize,
    /// Users whose sessions joined a guild since the last presence tick:
    /// their presence is settled again then, so the guild's members see
    /// them online within a tick rather than at the next refresh.
    joined: Mutex<Vec<UserId>>,
}

async fn withdrawn(pending: rookery_bus::interest::Registered) {
    if let Err(e) = pending.await {
        // The owner keeps routing to this edge, which drops what no session
        // wants: wasted traffic, nothing lost.
        tracing::warn!(error = %e, "failed to withdraw interest");
    }
}

fn live(registered: rookery_bus::interest::Registered) -> Live {
    registered
        .map(|r| {
            if let Err(e) = r {
                tracing::warn!(error = %e, "interest registration failed");
            }
        })
        .boxed()
        .shared()
}

impl Hub {
    /// A hub for the edge with worker id `origin`, registering its interest
    /// through `interest`.
    pub fn new(origin: u16, store: Arc<dyn Store>, interest: Arc<dyn Interest>) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            origin,
            perms: crate::access::perms::Perms::new(store.clone()),
            generations: crate::access::generations::Generations::new(store.clone()),
            store,
            interest,
            by_guild: RwLock::default(),
            by_user: RwLock::default(),
            viewers: viewers::ViewerLists::default(),
            local: Mutex::default(),
            waiters: Mutex::default(),
            board: Mutex::default(),
            joined: Mutex::default(),
            write_through_budget: AtomicUsize::new(usize::MAX),
        })
    }

    /// Sets how many frames of one applied batch are written through
    /// (`--write-through-per-batch`).
    pub fn set_write_through_budget(&self, frames: usize) {
        self.write_through_budget.store(frames, Ordering::Relaxed);
    }

    fn write_through_budget(&self) -> usize {
        self.write_through_budget.load(Ordering::Relaxed)
    }

    /// Routes `guild`'s channels here if a local session is subscribed to
    /// it; the result resolves once they are. Call after [`Hub::subscribe`].
    pub fn want(&self, guild: &GuildState) -> Live {
        let mut local = self.local.lock().expect("local");
        if !self
            .by_guild
            .read()
            .expect("index")
            .contains_key(&guild.id.raw())
        {
            return futures_util::future::ready(()).boxed().shared();
        }
        let channels = guild.channels.iter().map(|c| c.id);
        match local.get_mut(&guild.id) {
            None => {
                let channels: HashSet<ChannelId> = channels.collect();
                let keys: Vec<u64> = channels.iter().map(|c| c.0).collect();
                let live = live(self.interest.register(&keys));
                local.insert(
                    guild.id,
                    LocalGuild {
                        channels,
                        live: live.clone(),
                    },
                );
                live
            }
            Some(g) => {
                let fresh: Vec<u64> = channels
                    .filter(|c| g.channels.insert(*c))
                    .map(|c| c.0)
                    .collect();
                if !fresh.is_empty() {
                    g.also(live(self.interest.register(&fresh)));
                }
                g.live.clone()
            }
        }
    }

    /// Withdraws the interest of guilds left without local sessions.
    fn unwant(&self, scopes: &[Id]) {
        let mut local = self.local.lock().expect("local");
        let index = self.by_guild.read().expect("index");
        for &scope in scopes.iter().filter(|s| !index.contains_key(s)) {
            if let Some(gone) = local.remove(&GuildId::from(scope)) {
                let keys: Vec<u64> = gone.channels.iter().map(|c| c.0).collect();
                tokio::spawn(withdrawn(self.interest.withdraw(&keys)));
            }
        }
    }

    /// Withdraws all of this edge's interest (it is stopping), so writers
    /// stop routing to it; returns once recorded.
    pub async fn leave(&self) {
        let keys: Vec<u64> = {
            let mut local = self.local.lock().expect("local");
            local
                .drain()
                .flat_map(|(_, g)| g.channels)
                .map(|c| c.0)
                .collect()
        };
        if !keys.is_empty() {
            withdrawn(self.interest.withdraw(&keys)).await;
        }
    }

    /// A channel created in a guild with local sessions: route it here,
    /// then send its sessions what was posted before that took effect.
    fn want_channel(&self, guild: GuildId, channel: ChannelId) {
        let mut local = self.local.lock().expect("local");
        let Some(g) = local.get_mut(&guild) else {
            return;
        };
        if !g.channels.insert(channel) {
            return;
        }
        let sessions = self.sessions_of(&self.by_guild, guild.raw());
        sessions.iter().for_each(|s| s.hold(&[channel]));
        let added = live(self.interest.register(&[channel.0]));
        g.also(added.clone());
        let Some(hub) = self.me.upgrade() else { return };
        // Whatever was posted in it was posted after it was created.
        let after = MessageId(channel.0);
        tokio::spawn(async move { hub.catch_up(sessions, vec![channel], after, added).await });
    }

    /// A guild channel was deleted: the sessions that could see it (as the
    /// event has it) get CHANNEL_DELETE, and it is no longer routed here.
    fn channel_deleted(&self, c: &Channel) {
        let mut local = self.local.lock().expect("local");
        if let Some(g) = local.get_mut(&c.guild_id)
            && g.channels.remove(&c.id)
        {
            tokio::spawn(withdrawn(self.interest.withdraw(&[c.id.0])));
        }
        drop(local);
        self.viewers.forget_channel(c.guild_id.raw(), c.id);
        let sessions = self.sessions_of(&self.by_guild, c.guild_id.raw());
        let d = Dispatch::new(ev::CHANNEL_DELETE, DispatchData::Channel(c.clone()));
        let (d, c) = (Arc::new(d), c.clone());
        let Some(hub) = self.me.upgrade() else { return };
        tokio::spawn(async move {
            for s in sessions {
                if hub.perms.could_view(s.user.id, &c).await {
                    s.announce(&d);
                }
            }
        });
    }

    /// Once routing is `live`, sends `sessions` (holding `channels`) what
    /// the store has after `after`, followed by what was held meanwhile.
    async fn catch_up(
        &self,
        sessions: Vec<Arc<Session>>,
        channels: Vec<ChannelId>,
        after: MessageId,
        live: Live,
    ) {
        live.await;
        let mut caught_up = Vec::new();
        for &channel in &channels {
            let cursor = rookery_store::Cursor::After(after);
            match self.store.messages(channel, cursor, CATCH_UP_LIMIT).await {
                // A MESSAGE_CREATE carries no reactions: their events
                // follow, some of them perhaps counted already.
                Ok(page) => caught_up.extend(page.into_iter().map(|mut m| {
                    m.reactions.clear();
                    Arc::new(Dispatch::new(ev::MESSAGE_CREATE, DispatchData::Message(m)))
                })),
                Err(e) => tracing::warn!(%channel, error = %e, "join catch-up failed"),
            }
        }
        for s in &sessions {
            for &c in &channels {
                if self.perms.can_view(s.user.id, c).await {
                    s.release(&[c], &caught_up);
                } else {
                    s.deny(c);
                }
            }
        }
    }

    /// The permission caches this hub invalidates.
    pub(crate) fn perms(&self) -> &crate::access::perms::Perms {
        &self.perms
    }

    fn sessions_of<K: Hash + Eq>(&self, index: &Index<K>, key: K) -> Vec<Arc<Session>> {
        index
            .read()
            .expect("index")
            .get(&key)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
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
        insert(&mut self.by_user.write().expect("index"), s.user.id, s);
    }

    /// Subscribes a session to a guild's events (then call [`Hub::want`]
    /// with the guild's state).
    pub fn subscribe(&self, s: &Arc<Session>, guild: GuildId) {
        if s.add_guild(guild) {
            self.enter(guild.raw(), s);
        }
    }

    /// Indexes a session under a scope (a guild or a private channel); the
    /// scope's viewer lists are forgotten under the same lock.
    fn enter(&self, scope: Id, s: &Arc<Session>) {
        let mut index = self.by_guild.write().expect("index");
        self.viewers.forget_guild(scope);
        insert(&mut index, scope, s);
    }

    /// Removes a session from a scope's index (see [`Hub::enter`]).
    fn unsubscribe(&self, scope: Id, session: u64) {
        let mut index = self.by_guild.write().expect("index");
        self.viewers.forget_guild(scope);
        remove(&mut index, scope, session);
    }

    /// Removes a session from every index.
    pub fn remove_session(&self, s: &Session) {
        let guilds = s.scopes();
        for &g in &guilds {
            self.unsubscribe(g, s.key);
        }
        remove(&mut self.by_user.write().expect("index"), s.user.id, s.key);
        self.unwant(&guilds);
    }

    fn to_guild(&self, scope: Id, d: &Arc<Dispatch>) {
        to_all(&self.by_guild, scope, d);
    }

    /// Never waits: in a cluster this runs in the writer link's reader, so
    /// an await on the store (read over that same link) would wait on
    /// itself. Work that needs the store is spawned.
    fn deliver(&self, env: &Envelope) {
        // Before anything else, and before the waiter below is released:
        // the request that made a permission change returns only once no
        // cached grant of this edge predates it.
        let sight = self.sight_before(&env.event);
        self.perms.invalidate(&env.event);
        if let Some(sight) = sight {
            self.sight_changed(sight);
        }
        if let Event::ChannelRecipientRemove(r) = &env.event {
            self.recipient_removed(r);
        }
        if let Some((guild, d)) = guild_dispatch(env) {
            match seen_in(&env.event) {
                Some(channel) => self.to_viewers(guild, channel, Arc::new(d)),
                None => self.to_guild(guild, &Arc::new(d)),
            }
        }
        if let Some((guild, user)) = env.event.removed_member() {
            self.member_removed(guild, user.id);
        }
        match &env.event {
            Event::ChannelCreate(c) if c.is_private() => self.opened(c, MessageId::from(env.id)),
            Event::ChannelCreate(c) => self.want_channel(c.guild_id, c.id),
            Event::ChannelDelete(c) => self.channel_deleted(c),
            Event::ChannelRecipientAdd(r) => self.recipient_added(r, MessageId::from(env.id)),
            Event::GuildCreate(g) => self.join(g.owner.id, &g.guild, MessageId::from(env.id)),
            Event::GuildMemberAdd(add) => self.member_added(add, MessageId::from(env.id)),
            Event::PresenceUpdate(p) => self.presence_seen(env.origin, env.id, p),
            Event::TokensRevoked(r) => self.tokens_revoked(r),
            Event::GuildDelete(g) => self.guild_deleted(g.guild_id),
            Event::MessageAck(a) => {
                let d = DispatchData::Ack(a.clone());
                let d = Arc::new(Dispatch::new(ev::MESSAGE_ACK, d));
                for s in self.sessions_of(&self.by_user, a.user_id) {
                    s.dispatch(&d);
                }
            }
            // Delivered to their scope above, or to no one; removals were
            // handled above. None changes a subscription. Listed so that a
            // new event must be placed here.
            Event::UserCreate(_)
            | Event::GuildUpdate(_)
            | Event::InviteCreate(_)
            | Event::InviteDelete(_)
            | Event::MessageCreate(_)
            | Event::ChannelUpdate(_)
            | Event::GuildRoleCreate(_)
            | Event::GuildRoleUpdate(_)
            | Event::GuildRoleDelete(_)
            | Event::GuildMemberUpdate(_)
            | Event::GuildMemberRemove(_)
            | Event::MessageUpdate(_)
            | Event::MessageDelete(_)
            | Event::MessageDeleteBulk(_)
            | Event::ChannelPinsUpdate(_)
            | Event::MessageReactionAdd(_)
            | Event::MessageReactionRemove(_)
            | Event::MessageReactionRemoveAll(_)
            | Event::MessageReactionRemoveEmoji(_)
            | Event::GuildBanAdd(_)
            | Event::GuildBanRemove(_)
            | Event::TypingStart(_)
            | Event::ChannelRecipientRemove(_) => {}
        }
        let delay = rookery_proto::id::now_ms().saturating_sub(env.ts);
        metrics::histogram!(m::FANOUT_DELAY).record(Duration::from_millis(delay));
        if env.origin == self.origin
            && let Some(tx) = self.waiters.lock().expect("waiters").remove(&env.id)
        {
            let _ = tx.send(());
        }
    }

    /// An account's tokens were revoked: older tokens are refused from now
    /// on (learned first, so an IDENTIFY racing this either finds the new
    /// generation or has its session ended here), and every session of the
    /// account ends, closed with 4004.
    fn tokens_revoked(&self, r: &TokensRevoked) {
        self.generations.learn(r.user_id, r.generation);
        for s in self.sessions_of(&self.by_user, r.user_id) {
            s.revoke();
        }
    }
}

type Sessions<K> = HashMap<K, HashMap<u64, Arc<Session>>>;

fn insert<K: Hash + Eq>(index: &mut Sessions<K>, key: K, s: &Arc<Session>) {
    index.entry(key).or_default().insert(s.key, s.clone());
}

fn remove<K: Hash + Eq>(index: &mut Sessions<K>, key: K, session: u64) {
    if let Some(sessions) = index.get_mut(&key) {
        sessions.remove(&session);
        if sessions.is_empty() {
            index.remove(&key);
        }
    }
}

fn to_all<K: Hash + Eq>(index: &Index<K>, key: K, d: &Arc<Dispatch>) {
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
        {
            let _budget = crate::delivery::outlet::budget(self.write_through_budget());
            for env in &batch.events {
                self.deliver(env);
            }
        }
        if batch.applied_at_ms > 0 {
            let ms = rookery_bus::now_ms().saturating_sub(batch.applied_at_ms);
            metrics::histogram!(m::PERSISTED_DELAY).record(Duration::from_millis(ms));
        }
        Ok(())
    }
}
