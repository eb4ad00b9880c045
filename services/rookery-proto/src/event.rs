//! Bus events: the ordered log of every change (`rookery.events`).
//!
//! This is a public contract: analytics pipelines read the same topic. Each
//! record is a MessagePack map with named fields:
//! `{v, id, ts, origin, event: {t, d}}`, where `v` is [`SCHEMA_VERSION`].
//! Readers must ignore fields they do not know; new fields and new `t` values
//! are added without bumping `v`, and a change that breaks an existing field
//! bumps it. `docs/events.md` documents every field.

use crate::Id;
use crate::model::{Channel, GuildState, GuildUpdate, Invite, Member, Message, Role, User};
use crate::{ChannelId, GuildId, MessageId, RoleId, UserId};
use serde::{Deserialize, Serialize};

mod classify;

/// Version of the event schema written by this build.
pub const SCHEMA_VERSION: u16 = 1;

/// One record on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Schema version.
    pub v: u16,
    /// Unique event id (a snowflake minted by the publishing edge).
    pub id: Id,
    /// Milliseconds since the Unix epoch when the edge accepted the change.
    pub ts: u64,
    /// Worker id of the publishing edge, so it can be told when the change is
    /// applied (read-your-writes).
    pub origin: u16,
    /// What changed.
    pub event: Event,
    /// Who made a change the guild's audit log records, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Audit>,
}

/// The audit side of a change: who did it, Discord's action type, to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// Who made the change.
    pub user_id: UserId,
    /// Discord's audit log event number (`crate::model::audit_action`).
    pub action_type: u8,
    /// What was changed: a channel, role, user or message id.
    pub target_id: Option<Id>,
    /// Why, as the moderator gave it.
    #[serde(default)]
    pub reason: Option<String>,
    /// What changed, field by field (Discord's change objects).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<AuditChange>,
}

/// One changed field of an audited change (Discord's audit log change
/// object). Member role changes use Discord's keys `$add` and `$remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChange {
    /// The field.
    pub key: String,
    /// Its value before, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<serde_json::Value>,
    /// Its value after, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_value: Option<serde_json::Value>,
}

impl AuditChange {
    /// The change of `key` from `old` to `new`, if they differ.
    pub fn of<T: Serialize + PartialEq>(key: &str, old: &T, new: &T) -> Option<Self> {
        (old != new).then(|| AuditChange {
            key: key.to_owned(),
            old_value: serde_json::to_value(old).ok().filter(|v| !v.is_null()),
            new_value: serde_json::to_value(new).ok().filter(|v| !v.is_null()),
        })
    }
}

/// Every kind of change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "d", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Event {
    /// A user registered.
    UserCreate(User),
    /// A guild was created, with its first channels; its owner is its first member.
    GuildCreate(GuildCreate),
    /// A guild's settings changed (the whole guild, with its roles).
    GuildUpdate(GuildUpdate),
    /// A guild was deleted, with everything in it.
    GuildDelete(GuildDeleted),
    /// A channel was created in a guild.
    ChannelCreate(Channel),
    /// An invite was created.
    InviteCreate(Invite),
    /// An invite was deleted.
    InviteDelete(InviteDelete),
    /// A user joined a guild.
    GuildMemberAdd(MemberAdd),
    /// A message was posted.
    MessageCreate(Message),
    /// A channel's settings or overwrites changed (the whole channel).
    ChannelUpdate(Channel),
    /// A role was created.
    GuildRoleCreate(GuildRole),
    /// A role changed (the whole role).
    GuildRoleUpdate(GuildRole),
    /// A role was deleted.
    GuildRoleDelete(GuildRoleDelete),
    /// A member's roles or timeout changed (the whole member).
    GuildMemberUpdate(Member),
    /// A member left or was kicked.
    GuildMemberRemove(MemberRemove),
    /// A message was edited (the whole message, with `edited_timestamp`).
    MessageUpdate(Message),
    /// A message was deleted.
    MessageDelete(MessageDelete),
    /// Several messages of one channel were deleted.
    MessageDeleteBulk(MessageDeleteBulk),
    /// A message was pinned or unpinned.
    ChannelPinsUpdate(PinsUpdate),
    /// A user reacted to a message.
    MessageReactionAdd(ReactionChange),
    /// A user's reaction was removed.
    MessageReactionRemove(ReactionChange),
    /// Every reaction on a message was removed.
    MessageReactionRemoveAll(ReactionsRemoved),
    /// Every reaction with one emoji on a message was removed.
    MessageReactionRemoveEmoji(ReactionsRemoved),
    /// A user was banned (and, if a member, removed).
    GuildBanAdd(BanChange),
    /// A ban was lifted.
    GuildBanRemove(BanChange),
    /// A user marked a channel read up to a message.
    MessageAck(MessageAck),
    /// A user started typing (ephemeral: `rookery.ephemeral`, never stored).
    TypingStart(TypingStart),
    /// A user's presence as one edge sees it (ephemeral).
    PresenceUpdate(crate::presence::PresenceChange),
    /// A guild channel was deleted (the channel as it was).
    ChannelDelete(Channel),
    /// A user was added to a group DM.
    ChannelRecipientAdd(RecipientChange),
    /// A user left or was removed from a group DM.
    ChannelRecipientRemove(RecipientChange),
    /// Every token of an account was revoked (log out everywhere, or a
    /// password change): edges refuse older tokens and end the account's
    /// sessions. Carries no credential: the hash stays in the store.
    TokensRevoked(TokensRevoked),
}

/// `TOKENS_REVOKED` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensRevoked {
    /// The account.
    pub user_id: UserId,
    /// Its new token generation: tokens issued under an earlier one are
    /// refused.
    pub generation: u64,
    /// Whether the password changed too.
    #[serde(default)]
    pub password_changed: bool,
}

/// `CHANNEL_RECIPIENT_ADD` and `CHANNEL_RECIPIENT_REMOVE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientChange {
    /// The group DM.
    pub channel_id: ChannelId,
    /// The user added or removed.
    pub user: User,
}

/// `TYPING_START` payload. Clients show the indicator for 10 seconds, or
/// until the user's next message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingStart {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its guild (none, left out, in a DM or group DM).
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
    /// Who is typing.
    pub user_id: UserId,
    /// Unix seconds when they started.
    pub timestamp: u64,
}

/// `MESSAGE_ACK` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAck {
    /// Who read.
    pub user_id: UserId,
    /// The channel.
    pub channel_id: ChannelId,
    /// Its guild (none, left out, in a DM or group DM).
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
    /// The last message read.
    pub message_id: MessageId,
}

/// `GUILD_BAN_ADD` and `GUILD_BAN_REMOVE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanChange {
    /// The guild.
    pub guild_id: GuildId,
    /// The user banned or unbanned.
    pub user: User,
    /// Why (a ban's reason; none on an unban).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `CHANNEL_PINS_UPDATE` payload: Discord's fields, plus which message was
/// pinned or unpinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinsUpdate {
    /// The guild (none, left out, in a DM or group DM).
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
    /// The channel.
    pub channel_id: ChannelId,
    /// The message pinned or unpinned.
    pub message_id: MessageId,
    /// Whether it is now pinned.
    pub pinned: bool,
    /// RFC 3339 time of this pin; none for an unpin.
    #[serde(default)]
    pub last_pin_timestamp: Option<String>,
}

/// A reaction's emoji (Discord's partial emoji object; unicode emoji only,
/// so `id` is always null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emoji {
    /// Always none: custom emoji do not exist here.
    pub id: Option<Id>,
    /// The emoji itself.
    pub name: String,
}

/// `MESSAGE_REACTION_ADD` and `MESSAGE_REACTION_REMOVE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionChange {
    /// Who reacted.
    pub user_id: UserId,
    /// The message's channel.
    pub channel_id: ChannelId,
    /// The message.
    pub message_id: MessageId,
    /// The message's guild (none, left out, in a DM or group DM).
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
    /// The emoji.
    pub emoji: Emoji,
    /// Discord's reaction type: 0, normal (super reactions do not exist).
    #[serde(rename = "type", default)]
    pub kind: u8,
    /// Whether it is a super reaction: never.
    #[serde(default)]
    pub burst: bool,
}

/// `MESSAGE_REACTION_REMOVE_ALL` and `MESSAGE_REACTION_REMOVE_EMOJI`
/// payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionsRemoved {
    /// The message's channel.
    pub channel_id: ChannelId,
    /// The message.
    pub message_id: MessageId,
    /// The message's guild (none, left out, in a DM or group DM).
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
    /// The emoji whose reactions went (`REMOVE_EMOJI`); left out when all
    /// did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<Emoji>,
}

/// `GUILD_DELETE` payload on the bus (the gateway's is Discord's
/// unavailable guild, `{id, unavailable: false}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildDeleted {
    /// The guild.
    pub guild_id: GuildId,
}

/// `INVITE_DELETE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteDelete {
    /// Its guild.
    pub guild_id: GuildId,
    /// The channel it was made for, if it was (a channel invite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    /// The code.
    pub code: String,
}

/// `MESSAGE_DELETE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDelete {
    /// The message.
    pub id: MessageId,
    /// Its channel.
    pub channel_id: ChannelId,
    /// Its guild (none, left out, in a DM or group DM).
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
}

/// `MESSAGE_DELETE_BULK` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDeleteBulk {
    /// The messages.
    pub ids: Vec<MessageId>,
    /// Their channel.
    pub channel_id: ChannelId,
    /// Its guild (none, left out, in a DM or group DM).
    #[serde(default, skip_serializing_if = "GuildId::is_none")]
    pub guild_id: GuildId,
}

/// `GUILD_MEMBER_REMOVE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRemove {
    /// The guild.
    pub guild_id: GuildId,
    /// The former member.
    pub user: User,
}

/// `GUILD_ROLE_CREATE` and `GUILD_ROLE_UPDATE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildRole {
    /// The guild.
    pub guild_id: GuildId,
    /// The role as it now is.
    pub role: Role,
}

/// `GUILD_ROLE_DELETE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildRoleDelete {
    /// The guild.
    pub guild_id: GuildId,
    /// The deleted role.
    pub role_id: RoleId,
}

/// `GUILD_CREATE` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildCreate {
    /// The new guild with its channels.
    pub guild: GuildState,
    /// Its owner, who is its first member.
    pub owner: User,
}

/// `GUILD_MEMBER_ADD` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAdd {
    /// The guild joined.
    pub guild_id: GuildId,
    /// The new member.
    pub user: User,
    /// Invite code used, if any.
    #[serde(default)]
    pub invite_code: Option<String>,
    /// Whether the new member is a bot (left out when not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bot: bool,
}

impl MemberAdd {
    /// The membership it makes, joined at `joined_at`.
    pub fn member(&self, joined_at: String) -> Member {
        Member {
            bot: self.bot,
            ..Member::joined(self.guild_id, self.user.clone(), joined_at)
        }
    }
}
/// Why a record could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not a MessagePack envelope of a known shape.
    #[error("undecodable event: {0}")]
    Malformed(#[from] rmp_serde::decode::Error),
    /// Written by a newer, incompatible schema.
    #[error("event schema version {0} is newer than {SCHEMA_VERSION}")]
    UnsupportedVersion(u16),
}

impl Envelope {
    /// Encodes as named-field MessagePack.
    pub fn to_bytes(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("msgpack encoding of an event")
    }

    /// Decodes and checks the schema version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EventError> {
        let env: Envelope = rmp_serde::from_slice(bytes)?;
        if env.v > SCHEMA_VERSION {
            return Err(EventError::UnsupportedVersion(env.v));
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GuildId;
    use crate::UserId;

    fn envelope() -> Envelope {
        Envelope {
            v: SCHEMA_VERSION,
            id: Id(99),
            ts: 1_700_000_000_000,
            origin: 4,
            audit: None,
            event: Event::GuildMemberAdd(MemberAdd {
                guild_id: GuildId(5),
                user: User {
                    id: UserId(6),
                    username: "bo".into(),
                },
                invite_code: Some("abc".into()),
                bot: false,
            }),
        }
    }

    #[test]
    fn envelope_round_trips_and_is_self_describing() {
        let bytes = envelope().to_bytes();
        assert_eq!(Envelope::from_bytes(&bytes).unwrap(), envelope());
        // A generic MessagePack reader sees named fields.
        let v: serde_json::Value = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["event"]["t"], "GUILD_MEMBER_ADD");
        assert_eq!(v["event"]["d"]["user"]["username"], "bo");
        assert_eq!(v["event"]["d"]["guild_id"], 5);
    }

    #[test]
    fn newer_versions_and_garbage_are_refused() {
        let mut e = envelope();
        e.v = SCHEMA_VERSION + 1;
        assert!(matches!(
            Envelope::from_bytes(&e.to_bytes()),
            Err(EventError::UnsupportedVersion(_))
        ));
        assert!(matches!(
            Envelope::from_bytes(b"\x93\x01"),
            Err(EventError::Malformed(_))
        ));
    }

    #[test]
    fn keys_follow_scope() {
        assert_eq!(envelope().event.key(), 5);
    }
}
