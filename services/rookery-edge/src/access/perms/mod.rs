//! Who may do what where. A member's permissions in a channel come from
//! moka caches of the guild's roles and owner, the membership (with its
//! roles) and the channel (with its overwrites), and the result is cached
//! per `(user, channel)`.
//!
//! A DM or group DM is its own scope: its recipients are the scope's
//! members, and each has [`Permissions::PRIVATE_CHANNEL`] in it; no guild
//! (and so no guild route) exists for it.
//!
//! The guild's own events invalidate them as this edge applies them (the
//! hub calls [`Perms::invalidate`] before it releases the request that
//! made the change). A computation that read anything before an
//! invalidation must not repopulate a cache after it, or a revoked grant
//! would survive. So, by construction:
//!
//! - an invalidation removes the entries first and then bumps a
//!   generation, recording the guild as invalidated in it ([`versions`]);
//! - a computation notes the generation before it reads anything (a
//!   computed permission, before it reads the channel it is computed
//!   from) and caches its result only if the generation has not moved
//!   since: a value that overlapped an invalidation is used once, never
//!   cached;
//! - a computed permission carries that generation and counts only if it
//!   is not older than its guild's last invalidation, so no removal the
//!   cache has yet to carry out can leave it readable;
//! - every entry also lives at most [`MAX_ENTRY_AGE`], however often it is
//!   read, as a bound on anything this reasoning missed.

use crate::EdgeError;
use crate::access::caches::record;
use futures_util::FutureExt;
use moka::sync::Cache;
use rookery_proto::Id;
use rookery_proto::RoleId;
use rookery_proto::event::Event;
use rookery_proto::model::{Channel, Member, Role};
use rookery_proto::permissions::{self as p, Permissions};
use rookery_proto::{ChannelId, GuildId, UserId};
use rookery_store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use versions::Versions;

mod loads;
mod versions;

use loads::Loads;

/// A guild's owner and roles: what base permissions are computed from.
#[derive(Debug)]
pub struct GuildAccess {
    /// The guild.
    pub id: GuildId,
    /// Its owner (who has every permission).
    pub owner_id: UserId,
    /// Roles by id; @everyone has the guild's id.
    pub roles: HashMap<RoleId, Role>,
}

impl GuildAccess {
    /// The @everyone role's permissions (Discord's defaults for a guild
    /// stored before roles existed).
    fn everyone(&self) -> Permissions {
        self.roles
            .get(&self.id.everyone())
            .map_or(Permissions::DEFAULT_EVERYONE, |r| r.permissions)
    }

    /// A member's guild-wide permissions; role ids that are no role of the
    /// guild (deleted ones) grant nothing.
    pub fn base(&self, member: &Member) -> Permissions {
        let roles = member
            .roles
            .iter()
            .filter_map(|r| self.roles.get(r))
            .fold(Permissions::NONE, |acc, r| acc.union(r.permissions));
        p::base(p::Base {
            owner: member.user.id == self.owner_id,
            everyone: self.everyone(),
            roles,
        })
    }

    /// The member's highest role as `(position, id)`, for the hierarchy:
    /// a higher position outranks, then the lower id. @everyone is lowest.
    pub fn top(&self, member: &Member) -> (u32, std::cmp::Reverse<RoleId>) {
        member
            .roles
            .iter()
            .filter_map(|r| self.roles.get(r))
            .map(rank)
            .max()
            .unwrap_or((0, std::cmp::Reverse(self.id.everyone())))
    }
}

/// A member's permissions in guild channel `c`.
fn bits_in(access: &GuildAccess, member: &Member, c: &Channel, timed_out: bool) -> Permissions {
    p::in_channel(
        access.base(member),
        c.guild_id,
        member.user.id,
        &member.roles,
        &c.permission_overwrites,
        timed_out,
    )
}

/// A role's place in the hierarchy (greater outranks).
pub fn rank(r: &Role) -> (u32, std::cmp::Reverse<RoleId>) {
    (r.position, std::cmp::Reverse(r.id))
}

/// The caches and their invalidation.
pub struct Perms {
    store: Arc<dyn Store>,
    versions: Versions,
    guilds: Cache<GuildId, Arc<GuildAccess>>,
    members: Cache<(GuildId, UserId), Arc<Member>>,
    channels: Cache<ChannelId, Arc<Channel>>,
    /// Guild and channel loads are shared (every session of a guild
    /// misses them at once after a change); a membership is one user's.
    guild_loads: Loads<GuildId, Arc<GuildAccess>>,
    channel_loads: Loads<ChannelId, Arc<Channel>>,
    /// A timed-out member's entry expires when the timeout ends
    /// ([`UntilTimeoutEnds`]).
    computed: Cache<(UserId, ChannelId), Computed>,
}

/// A permission computed for `(user, channel)`.
#[derive(Debug, Clone, Copy)]
struct Computed {
    /// The channel's scope (a guild, or the private channel itself).
    scope: Id,
    bits: Permissions,
    /// When a timeout ends (Unix ms), else `u64::MAX`.
    until: u64,
    /// The generation noted before it was computed.
    since: u64,
}

/// Expires a computed entry when the member's timeout ends, so the cache
/// never outlives it; other entries live by the idle time alone.
struct UntilTimeoutEnds;

impl UntilTimeoutEnds {
    fn left(c: &Computed) -> Option<Duration> {
        let now = rookery_proto::id::now_ms();
        (c.until != u64::MAX).then(|| Duration::from_millis(c.until.saturating_sub(now)))
    }
}

impl moka::Expiry<(UserId, ChannelId), Computed> for UntilTimeoutEnds {
    fn expire_after_create(
        &self,
        _: &(UserId, ChannelId),
        value: &Computed,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Self::left(value)
    }

    fn expire_after_update(
        &self,
        _: &(UserId, ChannelId),
        value: &Computed,
        _: std::time::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Self::left(value)
    }
}

/// The longest any cached entry lives, read or not.
pub const MAX_ENTRY_AGE: Duration = Duration::from_secs(600);

fn builder<K, V>(capacity: u64) -> moka::sync::CacheBuilder<K, V, Cache<K, V>>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(capacity)
        .time_to_live(MAX_ENTRY_AGE)
}

impl Perms {
    /// Empty caches over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            versions: Versions::new(MAX_ENTRY_AGE),
            guilds: builder(100_000).build(),
            members: builder(1_000_000).build(),
            channels: builder(200_000).build(),
            guild_loads: Loads::new(),
            channel_loads: Loads::new(),
            computed: builder(1_000_000).expire_after(UntilTimeoutEnds).build(),
        }
    }

    /// The generation now: note it before reading anything a cached value
    /// will be computed from.
    fn snapshot(&self) -> u64 {
        self.versions.now()
    }

    /// Looks `key` up in `cache`, loading it on a miss; a value loaded
    /// while an invalidation happened is returned but not cached.
    async fn cached<K, V, F>(
        &self,
        name: &'static str,
        cache: &Cache<K, V>,
        key: K,
        load: impl FnOnce(u64) -> F,
    ) -> Result<Option<V>, EdgeError>
    where
        K: std::hash::Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        F: Future<Output = Result<Option<V>, EdgeError>>,
    {
        if let Some(v) = cache.get(&key) {
            record(name, true);
            return Ok(Some(v));
        }
        record(name, false);
        let since = self.snapshot();
        let loaded = load(since).await?;
        if let Some(v) = &loaded {
            self.versions
                .if_unchanged(since, || cache.insert(key, v.clone()));
        }
        Ok(loaded)
    }

    /// A channel with its overwrites.
    pub async fn channel(&self, id: ChannelId) -> Result<Arc<Channel>, EdgeError> {
        let load = |since| {
            let store = self.store.clone();
            let read = async move { Ok(store.channel(id).await?.map(Arc::new)) };
            self.channel_loads.load(id, since, || read.boxed())
        };
        let found = self.cached("channel", &self.channels, id, load).await?;
        found.ok_or(EdgeError::UnknownChannel)
    }

    /// A membership, if the user is a member.
    pub async fn member(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<Arc<Member>>, EdgeError> {
        let load = |_| async move { Ok(self.store.member(guild, user).await?.map(Arc::new)) };
        self.cached("member", &self.members, (guild, user), load)
            .await
    }

    /// A guild's owner and roles.
    pub async fn guild(&self, id: GuildId) -> Result<Arc<GuildAccess>, EdgeError> {
        let load = |since| {
            let store = self.store.clone();
            let read = async move {
                let Some(guild) = store.guild(id).await? else {
                    return Ok(None);
                };
                let roles = store.guild_roles(id).await?;
                Ok(Some(Arc::new(GuildAccess {
                    id,
                    owner_id: guild.owner_id,
                    roles: roles.into_iter().map(|r| (r.id, r)).collect(),
                })))
            };
            self.guild_loads.load(id, since, || read.boxed())
        };
        let found = self.cached("guild", &self.guilds, id, load).await?;
        found.ok_or(EdgeError::UnknownGuild)
    }

    /// The membership and guild of a member: 404 for a guild that does
    /// not exist, 403 for one the user is not in.
    pub async fn in_guild(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<(Arc<GuildAccess>, Arc<Member>), EdgeError> {
        let access = self.guild(guild).await?;
        let member = self.member(guild, user).await?;
        Ok((access, member.ok_or(EdgeError::MissingAccess)?))
    }

    /// The user's permissions in a channel (none if it may not see it).
    pub async fn in_channel(
        &self,
        user: UserId,
        channel: ChannelId,
    ) -> Result<(Arc<Channel>, Permissions), EdgeError> {
        // Before the channel is read: the result is computed from it.
        let since = self.snapshot();
        let c = self.channel(channel).await?;
        if let Some(hit) = self.current(user, channel) {
            record("permissions", true);
            return Ok((c, hit.bits));
        }
        record("permissions", false);
        let (scope, bits, until) = self.compute(user, &c).await?;
        let computed = Computed {
            scope,
            bits,
            until,
            since,
        };
        self.versions.if_unchanged(since, || {
            self.computed.insert((user, channel), computed);
        });
        Ok((c, bits))
    }

    /// A cached permission, if it is still current.
    fn current(&self, user: UserId, channel: ChannelId) -> Option<Computed> {
        let hit = self.computed.get(&(user, channel))?;
        self.versions.current(hit.scope, hit.since).then_some(hit)
    }

    /// `(scope, bits, timeout end)` of the user in channel `c`.
    async fn compute(
        &self,
        user: UserId,
        c: &Channel,
    ) -> Result<(Id, Permissions, u64), EdgeError> {
        if c.is_private() {
            // A recipient is a member of the channel's scope.
            self.member(c.id.as_scope(), user)
                .await?
                .ok_or(EdgeError::MissingAccess)?;
            return Ok((c.id.raw(), Permissions::PRIVATE_CHANNEL, u64::MAX));
        }
        let (access, member) = self.in_guild(c.guild_id, user).await?;
        let until = member.timed_out_until(rookery_proto::id::now_ms());
        let bits = bits_in(&access, &member, c, until.is_some());
        Ok((c.guild_id.raw(), bits, until.unwrap_or(u64::MAX)))
    }

    /// Whether the user could see guild channel `c` as the caller has it
    /// (a deleted channel, say), computed and never cached.
    pub async fn could_view(&self, user: UserId, c: &Channel) -> bool {
        match self.in_guild(c.guild_id, user).await {
            Ok((access, member)) => {
                bits_in(&access, &member, c, false).contains(Permissions::VIEW_CHANNEL)
            }
            Err(_) => false,
        }
    }

    /// Whether the user may see the channel, if that is cached (it never
    /// waits: fan-out asks this for every session and message, and counts
    /// the hits itself).
    pub fn cached_view(&self, user: UserId, channel: ChannelId) -> Option<bool> {
        let hit = self.current(user, channel);
        hit.map(|c| c.bits.contains(Permissions::VIEW_CHANNEL))
    }

    /// The permission generation now. A value derived from cached
    /// verdicts read after this call stays right while
    /// [`Perms::unchanged_since`] holds for its scope (and for at most
    /// half [`MAX_ENTRY_AGE`], the life of an invalidation's record).
    pub fn generation(&self) -> u64 {
        self.snapshot()
    }

    /// Whether no permission of `scope` has been invalidated since
    /// generation `since`.
    pub fn unchanged_since(&self, scope: Id, since: u64) -> bool {
        self.versions.current(scope, since)
    }

    /// Whether the user may see the channel, computed if need be; a
    /// failure to tell counts as no (nothing is shown that should not be).
    pub async fn can_view(&self, user: UserId, channel: ChannelId) -> bool {
        match self.in_channel(user, channel).await {
            Ok((_, bits)) => bits.contains(Permissions::VIEW_CHANNEL),
            Err(EdgeError::MissingAccess | EdgeError::UnknownChannel | EdgeError::UnknownGuild) => {
                false
            }
            Err(e) => {
                tracing::warn!(%user, %channel, error = %e, "permission check failed; not delivering");
                false
            }
        }
    }

    /// Drops what a guild event changed. Call before releasing whoever
    /// waits for the event to apply.
    pub fn invalidate(&self, event: &Event) {
        let (scope, channel, member) = if let Some((guild, user)) = event.removed_member() {
            (guild.raw(), None, Some((guild, user.id)))
        } else {
            match event {
                Event::ChannelUpdate(c) | Event::ChannelDelete(c) => (c.scope(), Some(c.id), None),
                Event::ChannelRecipientAdd(r) | Event::ChannelRecipientRemove(r) => {
                    let member = (r.channel_id.as_scope(), r.user.id);
                    (r.channel_id.raw(), Some(r.channel_id), Some(member))
                }
                Event::GuildRoleCreate(r) | Event::GuildRoleUpdate(r) => {
                    (r.guild_id.raw(), None, None)
                }
                Event::GuildRoleDelete(r) => (r.guild_id.raw(), None, None),
                // The guild's access goes; its channels and members then
                // lead nowhere.
                Event::GuildDelete(g) => (g.guild_id.raw(), None, None),
                Event::GuildMemberUpdate(m) => {
                    (m.guild_id.raw(), None, Some((m.guild_id, m.user.id)))
                }
                // Removals were handled above; a new guild, channel or
                // member is loaded when first asked for; the rest change
                // no permission.
                Event::GuildMemberRemove(_)
                | Event::GuildBanAdd(_)
                | Event::UserCreate(_)
                | Event::GuildCreate(_)
                | Event::GuildUpdate(_)
                | Event::ChannelCreate(_)
                | Event::InviteCreate(_)
                | Event::InviteDelete(_)
                | Event::GuildMemberAdd(_)
                | Event::MessageCreate(_)
                | Event::MessageUpdate(_)
                | Event::MessageDelete(_)
                | Event::MessageDeleteBulk(_)
                | Event::ChannelPinsUpdate(_)
                | Event::MessageReactionAdd(_)
                | Event::MessageReactionRemove(_)
                | Event::MessageReactionRemoveAll(_)
                | Event::MessageReactionRemoveEmoji(_)
                | Event::GuildBanRemove(_)
                | Event::MessageAck(_)
                | Event::TypingStart(_)
                | Event::PresenceUpdate(_)
                | Event::TokensRevoked(_) => return,
            }
        };
        // The guild's computed permissions go stale with the generation;
        // the entries they were computed from are removed under the same
        // lock, so no load can put an old one back in between.
        self.versions.invalidate(scope, || {
            // A private channel's scope has no guild entry: a no-op.
            self.guilds.invalidate(&GuildId::from(scope));
            if let Some(c) = channel {
                self.channels.invalidate(&c);
            }
            if let Some(m) = member {
                self.members.invalidate(&m);
            }
        });
    }
}

#[cfg(test)]
mod race_tests;
