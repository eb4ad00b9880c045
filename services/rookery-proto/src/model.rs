//! Object shapes shared by REST responses, gateway dispatches and bus events.
//! Field names follow Discord's where Discord has the same object; how the
//! main ones serialize (Discord's extra keys in JSON) is in
//! [`crate::discord_json`].

use crate::Id;
use crate::event::Emoji;
use crate::permissions::{Overwrite, Permissions};
use crate::{ChannelId, MessageId, RoleId};
use crate::{GuildId, UserId};
use serde::{Deserialize, Serialize};

/// Channel type of a guild text channel (Discord's `GUILD_TEXT`).
pub const CHANNEL_GUILD_TEXT: u8 = 0;
/// Channel type of a direct message between two users (Discord's `DM`).
pub const CHANNEL_DM: u8 = 1;
/// Channel type of a group DM (Discord's `GROUP_DM`).
pub const CHANNEL_GROUP_DM: u8 = 3;
/// Most recipients of a group DM, its owner included (Discord's 10).
pub const MAX_GROUP_DM_RECIPIENTS: usize = 10;

/// Message type of an ordinary message (Discord's `DEFAULT`).
pub const MESSAGE_DEFAULT: u8 = 0;
/// Message type of a reply (Discord's `REPLY`).
pub const MESSAGE_REPLY: u8 = 19;

/// A user as other users see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct User {
    /// Snowflake id.
    pub id: UserId,
    /// Unique (case-insensitively) login and display name.
    pub username: String,
}

/// A guild (a "server").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Guild {
    /// Snowflake id.
    pub id: GuildId,
    /// Display name.
    pub name: String,
    /// The user who created it.
    pub owner_id: UserId,
}

/// A guild with its channels, as READY, GUILD_CREATE and `POST /guilds` carry it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GuildState {
    /// Snowflake id.
    pub id: GuildId,
    /// Display name.
    pub name: String,
    /// The user who created it.
    pub owner_id: UserId,
    /// Channels, by position.
    pub channels: Vec<Channel>,
    /// Roles, @everyone (the guild's id) included.
    #[serde(default)]
    pub roles: Vec<Role>,
}

/// A guild's settings with its roles, as `GUILD_UPDATE` carries them:
/// Discord's guild object without channels, which its libraries would
/// otherwise replace with the list given.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GuildUpdate {
    /// Snowflake id.
    pub id: GuildId,
    /// Display name.
    pub name: String,
    /// The owner.
    pub owner_id: UserId,
    /// Roles, @everyone (the guild's id) included, as they were when the
    /// change was made.
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl GuildUpdate {
    /// The guild itself.
    pub fn guild(&self) -> Guild {
        Guild {
            id: self.id,
            name: self.name.clone(),
            owner_id: self.owner_id,
        }
    }
}

impl GuildState {
    /// The guild without its channels.
    pub fn guild(&self) -> Guild {
        Guild {
            id: self.id,
            name: self.name.clone(),
            owner_id: self.owner_id,
        }
    }
}

/// A channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Channel {
    /// Snowflake id.
    pub id: ChannelId,
    /// Owning guild; none (left out) for a DM or group DM.
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
    /// Display name (a group DM's may be empty).
    pub name: String,
    /// [`CHANNEL_GUILD_TEXT`], [`CHANNEL_DM`] or [`CHANNEL_GROUP_DM`].
    #[serde(rename = "type")]
    pub kind: u8,
    /// Sort position inside the guild.
    pub position: u32,
    /// Permission overwrites, applied in Discord's order.
    #[serde(default)]
    pub permission_overwrites: Vec<Overwrite>,
    /// Slow mode: seconds a member waits between messages (0 to
    /// [`MAX_SLOW_MODE_SECS`]; 0 is off).
    #[serde(default)]
    pub rate_limit_per_user: u32,
    /// A DM's or group DM's users. Stored and published with all of them;
    /// a user is shown the others, as Discord does ([`Channel::seen_by`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<User>,
    /// A group DM's owner: who may remove recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
}

impl Channel {
    /// A guild text channel without overwrites or slow mode.
    pub fn guild_text(
        id: ChannelId,
        guild_id: GuildId,
        name: impl Into<String>,
        position: u32,
    ) -> Self {
        Channel {
            id,
            guild_id,
            name: name.into(),
            kind: CHANNEL_GUILD_TEXT,
            position,
            permission_overwrites: Vec::new(),
            rate_limit_per_user: 0,
            recipients: Vec::new(),
            owner_id: None,
        }
    }

    /// Whether this is a DM or group DM (a channel outside any guild).
    pub fn is_private(&self) -> bool {
        self.guild_id.is_none()
    }

    /// What the channel belongs to: its guild, or for a DM or group DM
    /// the channel itself. Membership, routing and permissions are kept
    /// per scope, so a private channel works as a guild of one channel
    /// whose members are its recipients.
    pub fn scope(&self) -> Id {
        self.guild_id.or_private(self.id)
    }

    /// A DM's two users, lower id first: at most one DM exists per pair.
    pub fn dm_pair(&self) -> Option<(UserId, UserId)> {
        match (self.kind, self.recipients.as_slice()) {
            (CHANNEL_DM, [a, b]) => Some((a.id.min(b.id), a.id.max(b.id))),
            _ => None,
        }
    }

    /// The channel as `user` is shown it: a private channel lists the other
    /// recipients only.
    pub fn seen_by(&self, user: UserId) -> Channel {
        let mut c = self.clone();
        c.recipients.retain(|r| r.id != user);
        c
    }
}

/// The longest slow mode (Discord's: 6 hours).
pub const MAX_SLOW_MODE_SECS: u32 = 21_600;

/// A guild role. The @everyone role has the guild's id and position 0.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Role {
    /// Snowflake id.
    pub id: RoleId,
    /// Display name.
    pub name: String,
    /// RGB colour, 0 for none.
    #[serde(default)]
    pub color: u32,
    /// Shown separately in the member list.
    #[serde(default)]
    pub hoist: bool,
    /// Rank in the hierarchy: higher outranks lower, then the lower id.
    pub position: u32,
    /// Permissions granted guild-wide.
    pub permissions: Permissions,
    /// Anyone may @mention it.
    #[serde(default)]
    pub mentionable: bool,
}

/// A guild membership.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Member {
    /// The guild.
    pub guild_id: GuildId,
    /// The member.
    pub user: User,
    /// RFC 3339 time of joining.
    pub joined_at: String,
    /// Role ids besides @everyone.
    #[serde(default)]
    pub roles: Vec<RoleId>,
    /// RFC 3339 time until which the member is timed out (may read, not
    /// write), if set.
    #[serde(default)]
    pub communication_disabled_until: Option<String>,
    /// Whether the member is a bot (an application's bot user): Discord's
    /// `user.bot` in JSON, `bot` (left out when false) in MessagePack.
    #[serde(default)]
    pub bot: bool,
}

impl Member {
    /// A new membership: no roles, no timeout.
    pub fn joined(guild_id: GuildId, user: User, joined_at: String) -> Self {
        Member {
            guild_id,
            user,
            joined_at,
            roles: Vec::new(),
            communication_disabled_until: None,
            bot: false,
        }
    }

    /// When the member's timeout ends, if it is still running at `now_ms`.
    pub fn timed_out_until(&self, now_ms: u64) -> Option<u64> {
        let until = crate::id::parse_timestamp(self.communication_disabled_until.as_deref()?)?;
        (until > now_ms).then_some(until)
    }
}

/// Where a user stands in a channel (an entry of READY's `read_state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    /// The channel.
    pub id: ChannelId,
    /// The last message read (before the user's join if never acked).
    pub last_message_id: MessageId,
    /// Messages after it that mention the user (by name, by one of their
    /// roles, or `@everyone`), not counting the user's own.
    pub mention_count: u32,
    /// Whether any message follows it.
    pub unread: bool,
}

/// An audit log entry (Discord's object, without `changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogEntry {
    /// Snowflake id: the change's event id, so its time is the change's.
    pub id: Id,
    /// The guild.
    pub guild_id: GuildId,
    /// Who made the change.
    pub user_id: UserId,
    /// Discord's audit log event number ([`audit_action`]).
    pub action_type: u8,
    /// The channel, role, user or message changed.
    pub target_id: Option<Id>,
    /// Why, if given.
    pub reason: Option<String>,
    /// What changed, field by field, where the change has fields.
    #[serde(default)]
    pub changes: Vec<crate::event::AuditChange>,
}

/// Discord's audit log event numbers, for the changes Rookery records.
pub mod audit_action {
    /// A guild's settings changed.
    pub const GUILD_UPDATE: u8 = 1;
    /// A channel was created.
    pub const CHANNEL_CREATE: u8 = 10;
    /// A channel's name or slow mode changed.
    pub const CHANNEL_UPDATE: u8 = 11;
    /// A channel was deleted.
    pub const CHANNEL_DELETE: u8 = 12;
    /// A permission overwrite was added.
    pub const CHANNEL_OVERWRITE_CREATE: u8 = 13;
    /// A permission overwrite changed.
    pub const CHANNEL_OVERWRITE_UPDATE: u8 = 14;
    /// A permission overwrite was removed.
    pub const CHANNEL_OVERWRITE_DELETE: u8 = 15;
    /// A member was kicked.
    pub const MEMBER_KICK: u8 = 20;
    /// A user was banned.
    pub const MEMBER_BAN_ADD: u8 = 22;
    /// A ban was lifted.
    pub const MEMBER_BAN_REMOVE: u8 = 23;
    /// A member's timeout changed.
    pub const MEMBER_UPDATE: u8 = 24;
    /// A member was given or lost a role.
    pub const MEMBER_ROLE_UPDATE: u8 = 25;
    /// A role was created.
    pub const ROLE_CREATE: u8 = 30;
    /// A role changed or moved.
    pub const ROLE_UPDATE: u8 = 31;
    /// A role was deleted.
    pub const ROLE_DELETE: u8 = 32;
    /// An invite was created.
    pub const INVITE_CREATE: u8 = 40;
    /// An invite was deleted.
    pub const INVITE_DELETE: u8 = 42;
    /// A moderator deleted someone else's message.
    pub const MESSAGE_DELETE: u8 = 72;
    /// Messages were bulk deleted.
    pub const MESSAGE_BULK_DELETE: u8 = 73;
    /// A message was pinned.
    pub const MESSAGE_PIN: u8 = 74;
    /// A message was unpinned.
    pub const MESSAGE_UNPIN: u8 = 75;
}

/// A ban (Discord's ban object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// Why, as the moderator gave it.
    pub reason: Option<String>,
    /// The banned user.
    pub user: User,
}

/// `GUILD_DELETE`: a guild the user is no longer in (`unavailable` false,
/// as Discord sends when one is removed from a guild).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnavailableGuild {
    /// The guild.
    pub id: GuildId,
    /// Always false here: the user left or was removed.
    pub unavailable: bool,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    /// Snowflake id; its time part is the creation time.
    pub id: MessageId,
    /// The channel it was posted in.
    pub channel_id: ChannelId,
    /// The guild of that channel; none (left out) in a DM or group DM.
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
    /// Author, as of sending.
    pub author: User,
    /// Text, at most the configured length in characters.
    pub content: String,
    /// The client's idempotency nonce, echoed back.
    #[serde(default)]
    pub nonce: Option<String>,
    /// RFC 3339 creation time (derived from `id`).
    pub timestamp: String,
    /// RFC 3339 time of the last edit, if edited.
    #[serde(default)]
    pub edited_timestamp: Option<String>,
    /// [`MESSAGE_DEFAULT`], or [`MESSAGE_REPLY`] with a `message_reference`.
    #[serde(rename = "type", default)]
    pub kind: u8,
    /// The message this one replies to; left out when none, as Discord does
    /// (its libraries fail on a `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    /// Members mentioned, by id.
    #[serde(default)]
    pub mentions: Vec<User>,
    /// Roles mentioned, by id.
    #[serde(default)]
    pub mention_roles: Vec<RoleId>,
    /// Whether `@everyone` or `@here` mentioned the whole channel.
    #[serde(default)]
    pub mention_everyone: bool,
    /// Whether the message is pinned in its channel.
    #[serde(default)]
    pub pinned: bool,
    /// Reaction counts, by emoji (byte order); left out when there are
    /// none, and in events (see [`Message::count_reaction`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<MessageReaction>,
    /// The webhook that posted it; none (left out) for a user's message.
    #[serde(default)]
    pub webhook_id: Option<Id>,
    /// Whether its author is a bot (an application's bot user, or a
    /// webhook): Discord's `author.bot` in JSON, `author_bot` (left out
    /// when false) in MessagePack.
    #[serde(default)]
    pub author_bot: bool,
}

impl Message {
    /// A plain message: no reply, mentions or pin.
    pub fn new(
        id: MessageId,
        (guild_id, channel_id): (GuildId, ChannelId),
        author: User,
        content: String,
    ) -> Self {
        Message {
            id,
            channel_id,
            guild_id,
            author,
            content,
            nonce: None,
            timestamp: id.timestamp(),
            edited_timestamp: None,
            kind: MESSAGE_DEFAULT,
            message_reference: None,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            mention_everyone: false,
            pinned: false,
            reactions: Vec::new(),
            webhook_id: None,
            author_bot: false,
        }
    }

    /// Its channel's scope (see [`Channel::scope`]).
    pub fn scope(&self) -> Id {
        self.guild_id.or_private(self.channel_id)
    }

    /// Whether the message mentions `user`, who holds `roles`: by name, by
    /// one of the roles, or through `@everyone`.
    pub fn mentions_user(&self, user: UserId, roles: &[RoleId]) -> bool {
        self.mention_everyone
            || self.mentions.iter().any(|u| u.id == user)
            || self.mention_roles.iter().any(|r| roles.contains(r))
    }
}

/// Discord's reaction object: how many reacted to a message with one emoji,
/// and whether the reader did (`me`, false as stored: the edge sets it per
/// reader). Super reactions do not exist here, so the burst fields are
/// always zero, false and empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReaction {
    /// Users who reacted with the emoji.
    pub count: u32,
    /// The count split by kind: all `normal`.
    #[serde(default)]
    pub count_details: CountDetails,
    /// Whether the reader reacted with it.
    #[serde(default)]
    pub me: bool,
    /// Whether the reader super-reacted: never.
    #[serde(default)]
    pub me_burst: bool,
    /// The emoji.
    pub emoji: Emoji,
    /// Super reaction colours: none.
    #[serde(default)]
    pub burst_colors: Vec<String>,
}

/// Discord's reaction count details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountDetails {
    /// Super reactions: always 0.
    pub burst: u32,
    /// Ordinary reactions.
    pub normal: u32,
}

impl MessageReaction {
    fn counted(emoji: &str, count: u32) -> Self {
        MessageReaction {
            count,
            count_details: CountDetails {
                burst: 0,
                normal: count,
            },
            me: false,
            me_burst: false,
            emoji: Emoji {
                id: None,
                name: emoji.to_owned(),
            },
            burst_colors: Vec::new(),
        }
    }
}

impl Message {
    /// Counts one more (`add`) or one fewer reaction with `emoji`; an emoji
    /// whose count reaches zero is dropped. The store calls this only when
    /// a user's reaction actually appears or goes, so counts stay exact
    /// when the bus delivers an event twice.
    pub fn count_reaction(&mut self, emoji: &str, add: bool) {
        let n = self.reaction_count(emoji);
        let n = if add { n + 1 } else { n.saturating_sub(1) };
        self.set_reaction_count(emoji, n);
    }

    /// Sets the count of `emoji` (zero drops it), keeping byte order.
    pub fn set_reaction_count(&mut self, emoji: &str, count: u32) {
        match (self.find_reaction(emoji), count) {
            (Ok(i), 0) => {
                self.reactions.remove(i);
            }
            (Ok(i), n) => self.reactions[i] = MessageReaction::counted(emoji, n),
            (Err(i), n) if n > 0 => self.reactions.insert(i, MessageReaction::counted(emoji, n)),
            (Err(_), _) => {}
        }
    }

    /// The reaction count of `emoji` (0 when nobody reacted with it).
    pub fn reaction_count(&self, emoji: &str) -> u32 {
        self.find_reaction(emoji)
            .map_or(0, |i| self.reactions[i].count)
    }

    /// Where `emoji` is in `reactions`, or where it would go.
    fn find_reaction(&self, emoji: &str) -> Result<usize, usize> {
        self.reactions
            .binary_search_by(|r| r.emoji.name.as_str().cmp(emoji))
    }
}

/// Discord's `message_reference`: the message a reply answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageReference {
    /// The message replied to.
    pub message_id: MessageId,
    /// Its channel (the reply's own).
    pub channel_id: ChannelId,
    /// Its guild; none (left out) in a DM or group DM.
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
}

/// An application: a bot user of its own, owned by a user. Its id is its
/// bot user's id, as on Discord.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Application {
    /// Snowflake id, also the bot user's.
    pub id: Id,
    /// Its name, also the bot user's username.
    pub name: String,
    /// The user who created it.
    pub owner_id: UserId,
}

/// An invite code to a guild. The fields after `inviter_id` came with
/// Discord's channel invites; records written before them read as a guild
/// invite that never expires and has no use limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The code to join with.
    pub code: String,
    /// The guild it joins.
    pub guild_id: GuildId,
    /// Who created it.
    pub inviter_id: UserId,
    /// The channel it was made for (Discord's channel invites); none for
    /// Rookery's guild invites, which land in the guild's first channel.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    /// Milliseconds since the Unix epoch when it was made (0: unknown).
    #[serde(default)]
    pub created_at_ms: i64,
    /// Seconds it lasts after `created_at_ms`; 0 is forever.
    #[serde(default)]
    pub max_age: u32,
    /// Joins it allows; 0 is unlimited.
    #[serde(default)]
    pub max_uses: u32,
    /// Joins made with it so far (counted by the store, never carried by
    /// events).
    #[serde(default)]
    pub uses: u32,
}

impl Invite {
    /// When it stops working, in milliseconds since the Unix epoch; none
    /// if never.
    pub fn expires_at_ms(&self) -> Option<i64> {
        (self.max_age > 0).then(|| self.created_at_ms + i64::from(self.max_age) * 1000)
    }

    /// Whether it still lets someone join at `now_ms`: not expired and not
    /// used up.
    pub fn usable_at(&self, now_ms: i64) -> bool {
        let expired = self.expires_at_ms().is_some_and(|end| now_ms >= end);
        let used_up = self.max_uses > 0 && self.uses >= self.max_uses;
        !expired && !used_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChannelId, GuildId, MessageId, UserId};

    #[test]
    fn an_invite_ends_at_its_age_or_its_last_use() {
        let mut invite = Invite {
            code: "c".into(),
            guild_id: GuildId(1),
            inviter_id: UserId(2),
            channel_id: None,
            created_at_ms: 10_000,
            max_age: 0,
            max_uses: 0,
            uses: 7,
        };
        assert_eq!(invite.expires_at_ms(), None);
        assert!(invite.usable_at(i64::MAX));
        invite.max_age = 5;
        assert_eq!(invite.expires_at_ms(), Some(15_000));
        assert!(invite.usable_at(14_999));
        assert!(!invite.usable_at(15_000));
        invite.max_age = 0;
        invite.max_uses = 8;
        assert!(invite.usable_at(0));
        invite.uses = 8;
        assert!(!invite.usable_at(0));
    }

    fn counts(m: &Message) -> Vec<(&str, u32)> {
        let pairs = m.reactions.iter().map(|r| (r.emoji.name.as_str(), r.count));
        pairs.collect()
    }

    #[test]
    fn reaction_counts_keep_byte_order_and_drop_at_zero() {
        let author = User {
            id: UserId(1),
            username: "a".into(),
        };
        let mut m = Message::new(
            MessageId(9),
            (GuildId(2), ChannelId(3)),
            author,
            "hi".into(),
        );
        m.count_reaction("👍", true);
        m.count_reaction("🎉", true);
        m.count_reaction("👍", true);
        m.count_reaction("❤", true);
        assert_eq!(counts(&m), [("❤", 1), ("🎉", 1), ("👍", 2)]);
        assert_eq!(m.reactions[2].count_details.normal, 2);
        m.count_reaction("🎉", false);
        m.count_reaction("👍", false);
        m.count_reaction("😀", false);
        assert_eq!(counts(&m), [("❤", 1), ("👍", 1)]);
        assert_eq!((m.reaction_count("👍"), m.reaction_count("🎉")), (1, 0));
        m.set_reaction_count("❤", 0);
        assert_eq!(counts(&m), [("👍", 1)]);
    }
}
