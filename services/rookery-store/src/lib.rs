//! The `Store` seam: messages and metadata, the materialised view of the bus.
//!
//! Writers apply batches of [`Mutation`]s derived from bus events; edges read
//! history, guilds and memberships. [`EmbeddedStore`] keeps everything in a
//! local fjall LSM tree laid out in the same key order as the ScyllaDB schema
//! (`schema/`), so pagination walks time buckets the same way on both.
//!
//! Every implementation must pass [`conformance`] (enable the `conformance`
//! feature to use it from another crate's tests).

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod embedded;
pub mod mention_index;
pub mod metrics;
pub mod password;

pub use embedded::{DEFAULT_BUCKET_MS, EmbeddedConfig, EmbeddedStore};

use async_trait::async_trait;
use rookery_proto::Id;
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};

/// How long audit log entries are kept (90 days, as Discord; the ScyllaDB
/// table's TTL).
pub const AUDIT_RETENTION_MS: u64 = 90 * 24 * 3600 * 1000;

/// The largest page of bans (Discord's `GET /guilds/{id}/bans` maximum).
pub const MAX_BANS_PAGE: usize = 1000;

/// The largest page of members (Discord's `GET /guilds/{id}/members`
/// maximum, and a GUILD_MEMBERS_CHUNK's size).
pub const MAX_MEMBERS_PAGE: usize = 1000;

/// The password hash of a bot user: no password verifies against it (it is
/// not a PHC string), so a bot's account can only be used with its token.
pub const NO_PASSWORD: &str = "!bot";

/// The generation that follows `current` when an account's tokens are
/// revoked: the revocation's time in milliseconds, or one more than the
/// current if the clock has not passed it. A time rather than a counter, so
/// two edges revoking at once (each reading, then writing) still each
/// leave a generation no earlier token carries.
pub fn next_token_generation(current: u64) -> u64 {
    (current + 1).max(rookery_proto::id::now_ms())
}

/// Errors at the store boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint was violated (e.g. a taken username).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store is held by another process.
    #[error("store at {0} is locked by another process")]
    Locked(String),
    /// The store refused its configuration (e.g. a different bucket size than
    /// the data was written with).
    #[error("store configuration: {0}")]
    Config(String),
    /// Stored bytes could not be decoded.
    #[error("corrupt record in {table}: {detail}")]
    Corrupt {
        /// Table (keyspace) name.
        table: &'static str,
        /// Decoder's message.
        detail: String,
    },
    /// An I/O or backend failure; the operation may be retried.
    #[error("store backend: {0}")]
    Backend(String),
}

/// When a mutation is written: microseconds on the wall clock's scale,
/// strictly increasing with the event's position on its bus partition and
/// the same whichever writer applies it (`rookery-writer`'s write clocks).
/// A store that resolves concurrent writes by timestamp (ScyllaDB) writes
/// with it, so a late write of an earlier event (a former partition owner
/// still finishing its batch, a replay) never wins over a later event's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WriteTime(pub i64);

/// One change to apply. Applying the same mutation twice has the same effect
/// as applying it once (the bus delivers at least once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Upsert a user's public profile.
    User(User),
    /// Upsert a guild.
    Guild(Guild),
    /// Upsert a channel with its overwrites (and list it under its guild);
    /// a DM's or group DM's with its recipients (listed under no guild).
    Channel(Channel),
    /// Delete a guild channel (and its listing under the guild). Its
    /// messages stay where they are, unreachable: the channel is unknown.
    ChannelDelete {
        /// The guild.
        guild_id: GuildId,
        /// The channel.
        channel_id: ChannelId,
    },
    /// Open a DM or group DM: the channel with its recipients, and each
    /// recipient's membership of its scope (the channel's id), unless it is
    /// a DM and its pair of users has another DM already (the first opened
    /// wins, and the later one writes nothing).
    PrivateChannel {
        /// The channel.
        channel: Channel,
        /// When the recipients joined (RFC 3339).
        joined_at: String,
    },
    /// Add a user to a private channel's recipients, or remove one.
    Recipient {
        /// The DM or group DM.
        channel_id: ChannelId,
        /// The recipient.
        user: User,
        /// Added (true) or removed.
        add: bool,
    },
    /// Upsert a membership with its roles (and list the guild under the
    /// user), unless the user is banned from the guild.
    Member(Member),
    /// Delete a membership (and its entry under the user).
    MemberDelete {
        /// The guild.
        guild_id: GuildId,
        /// The former member.
        user_id: UserId,
    },
    /// Upsert a guild's role.
    Role {
        /// The guild.
        guild_id: GuildId,
        /// The role.
        role: Role,
    },
    /// Delete a guild's role (member role lists keep its id; permission
    /// checks skip ids that are no role of the guild).
    RoleDelete {
        /// The guild.
        guild_id: GuildId,
        /// The role.
        role_id: RoleId,
    },
    /// Upsert an invite (its `uses` as stored are kept), indexed under its
    /// guild.
    Invite(Invite),
    /// Delete a guild with its channels, memberships, roles, bans, invites
    /// and webhooks (its channels' messages are left unreachable, as a
    /// deleted channel's are).
    GuildDelete {
        /// The guild.
        guild_id: GuildId,
    },
    /// Delete an invite and its guild's index entry.
    InviteDelete {
        /// Its guild.
        guild_id: GuildId,
        /// The code.
        code: String,
    },
    /// Count one join made with an invite, if it still exists. At least
    /// once: a replay after a crash may count a join twice.
    InviteUsed {
        /// The code.
        code: String,
    },
    /// Insert a message into its `(channel, bucket)` partition, mark the bucket
    /// non-empty, and record `(author, nonce) → id` when it has a nonce.
    Message(Message),
    /// Replace a message's content and `edited_timestamp` if it still
    /// exists (an edit never brings a deleted message back); everything
    /// else about it (pin, mentions) is kept.
    MessageEdit(Message),
    /// Delete a message, with its pin and reactions.
    MessageDelete {
        /// Its channel.
        channel_id: ChannelId,
        /// The message.
        message_id: MessageId,
    },
    /// Pin or unpin a message that still exists.
    Pin {
        /// Its channel.
        channel_id: ChannelId,
        /// The message.
        message_id: MessageId,
        /// Pinned (true) or unpinned.
        pinned: bool,
    },
    /// Add (to a message that still exists) or remove one user's reaction,
    /// counting it in or out of the message's reaction counts only when
    /// the reaction actually appears or goes.
    Reaction(Reaction),
    /// Remove every reaction on a message, or every one with `emoji`, and
    /// their counts (nothing if the message is gone).
    ReactionsClear {
        /// The message's channel.
        channel_id: ChannelId,
        /// The message.
        message_id: MessageId,
        /// Only this emoji's; all if none.
        emoji: Option<String>,
    },
    /// Ban a user from a guild. While the ban stands, [`Mutation::Member`]
    /// for that user and guild writes nothing.
    Ban {
        /// The guild.
        guild_id: GuildId,
        /// The banned user.
        user_id: UserId,
        /// Why.
        reason: Option<String>,
    },
    /// Record an audit log entry (kept 90 days).
    Audit(AuditLogEntry),
    /// Record how far a user has read a channel.
    ReadState {
        /// The reader.
        user_id: UserId,
        /// The channel.
        channel_id: ChannelId,
        /// The last message read.
        last_message_id: MessageId,
    },
    /// Lift a ban.
    Unban {
        /// The guild.
        guild_id: GuildId,
        /// The user.
        user_id: UserId,
    },
}

/// A stored ban.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BanRecord {
    /// The banned user.
    pub user_id: UserId,
    /// Why.
    pub reason: Option<String>,
}

/// One user's reaction with one emoji.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// The message's channel.
    pub channel_id: ChannelId,
    /// The message.
    pub message_id: MessageId,
    /// A unicode emoji.
    pub emoji: String,
    /// Who reacted.
    pub user_id: UserId,
    /// Added (true) or removed.
    pub add: bool,
}

/// Where a history page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest messages.
    Latest,
    /// Messages with ids below this one, newest first.
    Before(MessageId),
    /// Messages with ids above this one, oldest first.
    After(MessageId),
    /// Up to `limit` messages centred on this id (inclusive), newest first.
    Around(MessageId),
}

/// The read and write surface every store provides.
///
/// Applied batches are visible to reads once `apply` returns and durable
/// once [`Store::sync`] returns. The bus is the log of record: the writer
/// commits bus offsets only after a sync, so a crash in between loses
/// nothing — the bus replays the batches and applying them again is
/// harmless. Keeping fsync off the per-batch path keeps it off the latency
/// of every message.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies a batch of mutations; readable when it returns `Ok`.
    async fn apply(&self, batch: Vec<Mutation>) -> Result<(), StoreError>;

    /// Applies mutations at the write times their events were given (the
    /// writer's path). A store that applies in order and keeps no write
    /// times (the embedded one) applies them as [`Store::apply`] does.
    async fn apply_at(&self, batch: Vec<(WriteTime, Mutation)>) -> Result<(), StoreError> {
        self.apply(batch.into_iter().map(|(_, m)| m).collect())
            .await
    }

    /// Makes every batch applied so far durable. A store whose writes are
    /// durable on return (ScyllaDB at its consistency level) does nothing.
    async fn sync(&self) -> Result<(), StoreError>;

    /// Creates an account, claiming its username case-insensitively; durable
    /// on return. [`StoreError::Conflict`] if the name is taken.
    async fn create_account(&self, user: &User, password_hash: &str) -> Result<(), StoreError>;

    /// Creates an application and its bot user (an account no password
    /// opens, claiming the name as a username), durable on return.
    /// [`StoreError::Conflict`] if the name is taken.
    async fn create_application(&self, app: &Application) -> Result<(), StoreError>;

    /// An application by id (its bot user's id).
    async fn application(&self, id: Id) -> Result<Option<Application>, StoreError>;

    /// Creates a webhook, durable on return.
    async fn create_webhook(&self, hook: &Webhook) -> Result<(), StoreError>;

    /// A webhook by id.
    async fn webhook(&self, id: Id) -> Result<Option<Webhook>, StoreError>;

    /// A guild's webhooks, or one channel's (`channel`), by channel then id.
    async fn webhooks(
        &self,
        guild: GuildId,
        channel: Option<ChannelId>,
    ) -> Result<Vec<Webhook>, StoreError>;

    /// Deletes a webhook (none is fine), durable on return.
    async fn delete_webhook(&self, hook: &Webhook) -> Result<(), StoreError>;

    /// The user and password hash registered under `username` (any case).
    async fn account(&self, username: &str) -> Result<Option<(User, String)>, StoreError>;

    /// Checks `password` where the hashes are kept, for a store that does
    /// not hand them out (a cluster edge's remote store: hashes never cross
    /// the internal link): the account's user if it matches. `None` from a
    /// store that does; the caller then verifies [`Store::account`] itself.
    async fn check_password(
        &self,
        _username: &str,
        _password: &str,
    ) -> Option<Result<Option<User>, StoreError>> {
        None
    }

    /// The account's token generation: a token carries the generation it
    /// was issued under and is revoked once the account's moves on. 0 for an
    /// account whose tokens were never revoked.
    async fn token_generation(&self, user_id: UserId) -> Result<u64, StoreError>;

    /// Revokes every token of the account (log out everywhere), replacing
    /// its password hash when one is given (a password change), in one
    /// write that is durable on return. Returns the new generation, which
    /// differs from every earlier one.
    async fn revoke_tokens(
        &self,
        user_id: UserId,
        password_hash: Option<&str>,
    ) -> Result<u64, StoreError>;

    /// A user by id.
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// A guild by id.
    async fn guild(&self, id: GuildId) -> Result<Option<Guild>, StoreError>;

    /// A guild's channels, by position then id.
    async fn guild_channels(&self, guild_id: GuildId) -> Result<Vec<Channel>, StoreError>;

    /// A guild's roles, @everyone included, by position then id.
    async fn guild_roles(&self, guild_id: GuildId) -> Result<Vec<Role>, StoreError>;

    /// A channel by id (a private one with its recipients, by id).
    async fn channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError>;

    /// A membership.
    async fn member(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError>;

    /// A page of a guild's members: users with ids above `after`,
    /// ascending, at most `limit` (clamped to 1..=[`MAX_MEMBERS_PAGE`]).
    async fn guild_members(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError>;

    /// Ids of the scopes a user belongs to: their guilds, and their DMs
    /// and group DMs (a private channel is its own scope: its recipients
    /// are members under the channel's id).
    async fn user_guilds(&self, user_id: UserId) -> Result<Vec<Id>, StoreError>;

    /// The DM between two users (in either order), if one was opened.
    async fn dm_channel(&self, a: UserId, b: UserId) -> Result<Option<ChannelId>, StoreError>;

    /// An invite by code.
    async fn invite(&self, code: &str) -> Result<Option<Invite>, StoreError>;

    /// A guild's invites, by code.
    async fn guild_invites(&self, guild_id: GuildId) -> Result<Vec<Invite>, StoreError>;

    /// How many members a guild has (0 for an unknown guild).
    async fn member_count(&self, guild_id: GuildId) -> Result<u64, StoreError>;

    /// The id of the message `user_id` sent with `nonce`, if any.
    async fn nonce(&self, user_id: UserId, nonce: &str) -> Result<Option<MessageId>, StoreError>;

    /// How far a user has read each channel they acked: `(channel, last
    /// message read)`, by channel id.
    async fn read_states(&self, user_id: UserId)
    -> Result<Vec<(ChannelId, MessageId)>, StoreError>;

    /// Ids of the channel's messages after `after` that mention `user_id`:
    /// by name (a reply's ping included), through one of `roles`, or with
    /// @everyone; never the user's own; ascending, at most `limit`. Read
    /// from the mention index, so it costs what it finds, not the
    /// channel's traffic.
    async fn mentions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        roles: &[RoleId],
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<MessageId>, StoreError>;

    /// A guild's audit log entries with ids below `before`, newest first, at
    /// most `limit` (clamped to 1..=100), none older than
    /// [`AUDIT_RETENTION_MS`].
    async fn audit_log(
        &self,
        guild_id: GuildId,
        before: Id,
        limit: usize,
    ) -> Result<Vec<AuditLogEntry>, StoreError>;

    /// A page of a guild's bans: users with ids above `after`, ascending,
    /// at most `limit` (clamped to 1..=[`MAX_BANS_PAGE`]). A guild's bans
    /// are never read whole: a raided guild may hold millions.
    async fn bans(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<BanRecord>, StoreError>;

    /// One ban, if the user is banned.
    async fn ban(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<BanRecord>, StoreError>;

    /// One message, if it exists.
    async fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Option<Message>, StoreError>;

    /// A channel's pinned messages, newest first.
    async fn pins(&self, channel_id: ChannelId) -> Result<Vec<Message>, StoreError>;

    /// Ids of the users who reacted to a message with `emoji`, ascending,
    /// above `after`, at most `limit`.
    async fn reactions(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        emoji: &str,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError>;

    /// The reactions `user_id` has on the channel's messages with ids in
    /// `first..=last`: `(message, emoji)`, by message id (the reader's `me`
    /// on a page of history, in one read).
    async fn user_reactions(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        (first, last): (MessageId, MessageId),
    ) -> Result<Vec<(MessageId, String)>, StoreError>;

    /// A page of a channel's history (`limit` is clamped to 1..=100).
    async fn messages(
        &self,
        channel_id: ChannelId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;
}
