//! Object shapes shared by REST responses, gateway dispatches and bus events.
//! Field names follow Discord's where Discord has the same object; how the
//! main ones serialize (Discord's extra keys in JSON) is in
//! [`crate::discord_json`].

use crate::Id;
use crate::permissions::{Overwrite, Permissions};
use crate::{ChannelId, MessageId, RoleId};
use crate::{GuildId, UserId};
use serde::{Deserialize, Serialize};

mod message;
pub use message::{CountDetails, Message, MessageReaction, MessageReference};

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
mod tests;
