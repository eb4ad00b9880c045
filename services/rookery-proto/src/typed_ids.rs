//! Typed snowflakes: the ids of guilds, channels, users, messages and roles
//! are distinct types, so a channel id cannot be passed where a guild id is
//! expected (or a `(channel, message)` pair read back to front).
//!
//! Each wraps the same `u64` as [`Id`] and has its encodings (a decimal
//! string in JSON, an integer in MessagePack), so the wire does not change.
//! [`Id`] itself stays for what is not one kind: event ids, the ids of
//! webhooks, applications, audit entries and emoji, and the *scope* of an
//! event (a guild, or a private channel that has none).

use crate::Id;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

macro_rules! typed_ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u64);

        impl $name {
            /// No id (as [`Id::NONE`]).
            pub const NONE: $name = $name(0);

            /// Whether this is the empty id.
            pub fn is_none(&self) -> bool {
                self.0 == 0
            }

            /// The untyped snowflake, for what keys by any kind of id.
            pub fn raw(self) -> Id {
                Id(self.0)
            }

            /// Milliseconds since the Unix epoch at which this id was minted.
            pub fn unix_ms(self) -> u64 {
                self.raw().unix_ms()
            }

            /// The smallest id that could be minted at `unix_ms`.
            pub fn floor_of_ms(unix_ms: u64) -> $name {
                $name(Id::floor_of_ms(unix_ms).0)
            }

            /// The time bucket of this id for buckets of `bucket_ms`.
            pub fn bucket(self, bucket_ms: u64) -> u32 {
                self.raw().bucket(bucket_ms)
            }

            /// RFC 3339 timestamp of the id's creation time.
            pub fn timestamp(self) -> String {
                self.raw().timestamp()
            }
        }

        impl From<Id> for $name {
            fn from(id: Id) -> Self {
                $name(id.0)
            }
        }

        impl From<$name> for Id {
            fn from(id: $name) -> Self {
                Id(id.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.raw().serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Id::deserialize(d).map($name::from)
            }
        }
    )*};
}

typed_ids! {
    /// A guild's id.
    GuildId;
    /// A channel's id: a guild channel, a DM or a group DM.
    ChannelId;
    /// A user's id (people, bots, and the users webhooks post as).
    UserId;
    /// A message's id; messages sort and page by it.
    MessageId;
    /// A role's id; a guild's `@everyone` role has the guild's id.
    RoleId;
}

impl ChannelId {
    /// A private channel as the scope its recipients are members of:
    /// memberships are kept per scope, and a private channel, which has no
    /// guild, is its own.
    pub fn as_scope(self) -> GuildId {
        GuildId(self.0)
    }
}

impl GuildId {
    /// The scope of something in `channel`: this guild, or the channel
    /// itself when it is private (and this id [`GuildId::NONE`]).
    pub fn or_private(self, channel: ChannelId) -> Id {
        if self.is_none() {
            channel.raw()
        } else {
            self.raw()
        }
    }

    /// The guild's `@everyone` role, which has the guild's id (Discord's rule).
    pub fn everyone(self) -> RoleId {
        RoleId(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChannelId, GuildId, MessageId, UserId};

    #[test]
    fn typed_ids_keep_the_wire_of_an_id() {
        let id = ChannelId(1 << 60);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, serde_json::to_string(&Id(1 << 60)).unwrap());
        assert_eq!(serde_json::from_str::<ChannelId>(&json).unwrap(), id);
        let mp = rmp_serde::to_vec(&id).unwrap();
        assert_eq!(mp, rmp_serde::to_vec(&Id(1 << 60)).unwrap());
        assert_eq!(rmp_serde::from_slice::<ChannelId>(&mp).unwrap(), id);
        assert!(serde_json::from_str::<UserId>("\"x1\"").is_err());
        assert_eq!(format!("{:?}", GuildId(7)), "GuildId(7)");
        assert_eq!("12".parse::<MessageId>().unwrap(), MessageId(12));
    }

    #[test]
    fn typed_ids_carry_the_time_of_their_snowflake() {
        let raw = Id::floor_of_ms(crate::id::EPOCH_MS + 1_500);
        let message = MessageId::from(raw);
        assert_eq!(message.timestamp(), raw.timestamp());
        assert_eq!(MessageId::floor_of_ms(raw.unix_ms()), message);
        assert_eq!(Id::from(message), raw);
        assert!(MessageId::NONE.is_none() && !message.is_none());
    }
}
