//! Discord's permission model: the bit values of Discord's API, a member's
//! base permissions in a guild (the @everyone role, its roles, owner and
//! ADMINISTRATOR bypass) and its permissions in a channel (overwrites for
//! @everyone, then the member's roles, then the member, each deny before
//! allow), with Discord's implicit rules and timeouts.
//!
//! Pure functions over plain values: the edge feeds them from its caches.

use crate::Id;
use crate::{GuildId, RoleId, UserId};
use serde::{Deserialize, Serialize};

/// A set of permission bits (Discord's values; strings on the wire).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Permissions(pub u64);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $bit:expr;)*) => {
        impl Permissions {
            $($(#[$doc])* pub const $name: Self = Self(1 << $bit);)*
            /// Every permission Rookery knows.
            pub const ALL: Self = Self(0 $(| (1 << $bit))*);
        }
    };
}

flags! {
    /// Create invites.
    CREATE_INSTANT_INVITE = 0;
    /// Kick members below one's highest role.
    KICK_MEMBERS = 1;
    /// Ban members below one's highest role.
    BAN_MEMBERS = 2;
    /// Every permission, overwrites ignored.
    ADMINISTRATOR = 3;
    /// Create, edit and delete channels.
    MANAGE_CHANNELS = 4;
    /// Edit the guild.
    MANAGE_GUILD = 5;
    /// Add new reactions.
    ADD_REACTIONS = 6;
    /// Read the audit log.
    VIEW_AUDIT_LOG = 7;
    /// See a channel and its live messages.
    VIEW_CHANNEL = 10;
    /// Post in a channel.
    SEND_MESSAGES = 11;
    /// Delete and pin others' messages.
    MANAGE_MESSAGES = 13;
    /// Read a channel's history.
    READ_MESSAGE_HISTORY = 16;
    /// Mention @everyone and @here.
    MENTION_EVERYONE = 17;
    /// Create, edit and assign roles below one's highest role.
    MANAGE_ROLES = 28;
    /// Create, list and delete a channel's webhooks.
    MANAGE_WEBHOOKS = 29;
    /// Time members out.
    MODERATE_MEMBERS = 40;
}

impl Permissions {
    /// No permission.
    pub const NONE: Self = Self(0);

    /// What @everyone may do in a new guild (as in Discord, minus what
    /// Rookery does not have).
    pub const DEFAULT_EVERYONE: Self = Self(
        Self::CREATE_INSTANT_INVITE.0
            | Self::ADD_REACTIONS.0
            | Self::VIEW_CHANNEL.0
            | Self::SEND_MESSAGES.0
            | Self::READ_MESSAGE_HISTORY.0
            | Self::MENTION_EVERYONE.0,
    );

    /// What every recipient may do in a DM or group DM (no one may manage
    /// it: a message is deleted by its author alone; anyone may pin).
    pub const PRIVATE_CHANNEL: Self = Self(
        Self::ADD_REACTIONS.0
            | Self::VIEW_CHANNEL.0
            | Self::SEND_MESSAGES.0
            | Self::READ_MESSAGE_HISTORY.0,
    );

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Bits of either.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Bits of `self` not in `other`.
    pub const fn minus(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl Serialize for Permissions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let bits: u64 = raw.parse().map_err(serde::de::Error::custom)?;
        // Unknown bits are kept off: nothing can grant what we cannot check.
        Ok(Self(bits & Self::ALL.0))
    }
}

/// Whom an overwrite is for: Discord's `type`, 0 or 1 on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverwriteKind {
    /// A role (the guild's id is @everyone); `0`.
    Role,
    /// One member; `1`.
    Member,
}

impl Serialize for OverwriteKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(match self {
            Self::Role => 0,
            Self::Member => 1,
        })
    }
}

impl<'de> Deserialize<'de> for OverwriteKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(Self::Role),
            1 => Ok(Self::Member),
            n => Err(serde::de::Error::custom(format!(
                "overwrite type {n} is neither 0 (role) nor 1 (member)"
            ))),
        }
    }
}

/// A channel permission overwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overwrite {
    /// The role or user.
    pub id: Id,
    /// Which of the two `id` is.
    #[serde(rename = "type")]
    pub kind: OverwriteKind,
    /// Bits granted.
    pub allow: Permissions,
    /// Bits taken away.
    pub deny: Permissions,
}

/// What base permissions are computed from.
#[derive(Debug, Clone, Copy)]
pub struct Base {
    /// The member owns the guild.
    pub owner: bool,
    /// The @everyone role's permissions.
    pub everyone: Permissions,
    /// The union of the member's other roles' permissions.
    pub roles: Permissions,
}

/// A member's guild-wide permissions.
pub fn base(b: Base) -> Permissions {
    if b.owner {
        return Permissions::ALL;
    }
    let p = b.everyone.union(b.roles);
    if p.contains(Permissions::ADMINISTRATOR) {
        return Permissions::ALL;
    }
    p
}

/// A member's permissions in a channel of guild `guild`, from its base
/// permissions, its role ids and the channel's overwrites; `timed_out`
/// members keep only what lets them read.
pub fn in_channel(
    base: Permissions,
    guild: GuildId,
    user: UserId,
    roles: &[RoleId],
    overwrites: &[Overwrite],
    timed_out: bool,
) -> Permissions {
    if base.contains(Permissions::ADMINISTRATOR) {
        return Permissions::ALL;
    }
    let find = |id: Id, kind| overwrites.iter().find(|o| o.id == id && o.kind == kind);
    let mut p = base;
    if let Some(o) = find(guild.everyone().raw(), OverwriteKind::Role) {
        p = p.minus(o.deny).union(o.allow);
    }
    let (mut allow, mut deny) = (Permissions::NONE, Permissions::NONE);
    for o in roles
        .iter()
        .filter_map(|&r| find(r.raw(), OverwriteKind::Role))
    {
        allow = allow.union(o.allow);
        deny = deny.union(o.deny);
    }
    p = p.minus(deny).union(allow);
    if let Some(o) = find(user.raw(), OverwriteKind::Member) {
        p = p.minus(o.deny).union(o.allow);
    }
    implicit(p, timed_out)
}

/// Discord's implicit rules: without VIEW_CHANNEL nothing else in the
/// channel; without SEND_MESSAGES no @everyone; a timeout leaves reading.
fn implicit(p: Permissions, timed_out: bool) -> Permissions {
    if !p.contains(Permissions::VIEW_CHANNEL) {
        return Permissions::NONE;
    }
    let mut p = p;
    if !p.contains(Permissions::SEND_MESSAGES) {
        p = p.minus(Permissions::MENTION_EVERYONE);
    }
    if timed_out {
        let reading = Permissions::VIEW_CHANNEL.union(Permissions::READ_MESSAGE_HISTORY);
        p = Permissions(p.0 & reading.0);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_discords() {
        assert_eq!(Permissions::VIEW_CHANNEL.0, 0x400);
        assert_eq!(Permissions::SEND_MESSAGES.0, 0x800);
        assert_eq!(Permissions::MANAGE_MESSAGES.0, 0x2000);
        assert_eq!(Permissions::MODERATE_MEMBERS.0, 1 << 40);
        assert_eq!(Permissions::MANAGE_WEBHOOKS.0, 0x2000_0000);
        assert_eq!(Permissions::ALL.0.count_ones(), 16);
    }

    #[test]
    fn wire_form_is_a_decimal_string_and_unknown_bits_are_dropped() {
        let json = serde_json::to_string(&Permissions(2112)).unwrap();
        assert_eq!(json, "\"2112\"");
        let p: Permissions = serde_json::from_str("\"2112\"").unwrap();
        assert_eq!(
            p,
            Permissions::ADD_REACTIONS.union(Permissions::SEND_MESSAGES)
        );
        let p: Permissions = serde_json::from_str(&format!("\"{}\"", 1u64 << 9)).unwrap();
        assert_eq!(p, Permissions::NONE, "STREAM is not a Rookery permission");
        assert!(serde_json::from_str::<Permissions>("\"-1\"").is_err());
    }

    #[test]
    fn overwrite_types_are_discords_integers() {
        let o: Overwrite =
            serde_json::from_str(r#"{"id":"5","type":1,"allow":"1024","deny":"0"}"#).unwrap();
        assert_eq!(o.kind, OverwriteKind::Member);
        assert_eq!(serde_json::to_value(o).unwrap()["type"], 1);
        let bad =
            serde_json::from_str::<Overwrite>(r#"{"id":"5","type":2,"allow":"0","deny":"0"}"#);
        assert!(bad.unwrap_err().to_string().contains("neither 0"));
    }
}
