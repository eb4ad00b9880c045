//! Gateway intents (IDENTIFY's `intents`, Discord's bits): which dispatches
//! a session asked for, and what MESSAGE_CONTENT withholds.
//!
//! A session that gives no intents gets every dispatch with content, as
//! Rookery's own clients always have. One that gives them gets only the
//! events of the intents it set, Discord's table; events Discord sends
//! without an intent (READY, RESUMED, GUILD_MEMBERS_CHUNK) and Rookery's
//! own (MESSAGE_ACK, group DM recipients) always come. Without
//! MESSAGE_CONTENT, guild messages come with empty `content` unless the
//! session's user wrote them or is mentioned in them; DMs keep theirs.

use crate::GuildId;
use crate::UserId;
use crate::codec::{Dispatch, DispatchData};
use serde::{Deserialize, Serialize};

/// A set of intent bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Intents(pub u64);

/// Discord's intent bits that have Rookery events.
pub mod bit {
    /// Guilds, channels, roles and pins in guilds.
    pub const GUILDS: u64 = 1 << 0;
    /// Members joining, changing and leaving.
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    /// Presence updates.
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    /// Messages created, edited and deleted in guilds.
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    /// Reactions in guilds.
    pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
    /// Typing in guilds.
    pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
    /// Messages and pins in DMs and group DMs.
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    /// Reactions in DMs and group DMs.
    pub const DIRECT_MESSAGE_REACTIONS: u64 = 1 << 13;
    /// Typing in DMs and group DMs.
    pub const DIRECT_MESSAGE_TYPING: u64 = 1 << 14;
    /// The content of guild messages.
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
}

/// What a session is sent of a dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// The dispatch as it is.
    Whole,
    /// The dispatch with the message's content withheld.
    WithoutContent,
    /// Nothing.
    Skip,
}

impl Intents {
    /// Every bit Discord defines (up to DIRECT_MESSAGE_POLLS, `1 << 25`);
    /// IDENTIFY with another closes with 4013, as on Discord.
    pub const DEFINED: u64 = (1 << 26) - 1;
    /// What a session that gives no intents gets: everything.
    pub const ALL: Intents = Intents(Self::DEFINED);

    /// Whether every bit is one Discord defines.
    pub fn valid(self) -> bool {
        self.0 & !Self::DEFINED == 0
    }

    fn has(self, bits: u64) -> bool {
        self.0 & bits == bits
    }

    /// The intent of an event that happens in a guild (`guild` set) or in
    /// a private channel.
    fn per_scope(self, guild: GuildId, in_guild: u64, in_private: u64) -> Admit {
        let needed = if guild.is_none() {
            in_private
        } else {
            in_guild
        };
        if self.has(needed) {
            Admit::Whole
        } else {
            Admit::Skip
        }
    }

    fn needs(self, bits: u64) -> Admit {
        self.per_scope(GuildId(1), bits, bits)
    }

    /// What `viewer`'s session is sent of `d`.
    pub fn admit(self, d: &Dispatch, viewer: UserId) -> Admit {
        use bit::*;
        if self == Self::ALL {
            return Admit::Whole;
        }
        match d.data() {
            DispatchData::Ready(_)
            | DispatchData::DiscordReady(_)
            | DispatchData::Resumed(_)
            | DispatchData::MembersChunk(_)
            | DispatchData::Ack(_)
            | DispatchData::Recipient(_) => Admit::Whole,
            DispatchData::Guild(_)
            | DispatchData::GuildUpdate(_)
            | DispatchData::GuildCreate(_)
            | DispatchData::GuildDelete(_)
            | DispatchData::Role(_)
            | DispatchData::RoleDelete(_) => self.needs(GUILDS),
            DispatchData::Channel(c) => self.per_scope(c.guild_id, GUILDS, 0),
            DispatchData::Member(_) | DispatchData::MemberRemove(_) => self.needs(GUILD_MEMBERS),
            DispatchData::Presence(_) => self.needs(GUILD_PRESENCES),
            DispatchData::Message(m) => {
                let whole = self.per_scope(m.guild_id, GUILD_MESSAGES, DIRECT_MESSAGES);
                let own = m.author.id == viewer || m.mentions.iter().any(|u| u.id == viewer);
                let withheld = !m.guild_id.is_none() && !self.has(MESSAGE_CONTENT) && !own;
                match whole {
                    Admit::Whole if withheld => Admit::WithoutContent,
                    other => other,
                }
            }
            DispatchData::MessageDelete(e) => {
                self.per_scope(e.guild_id, GUILD_MESSAGES, DIRECT_MESSAGES)
            }
            DispatchData::MessageDeleteBulk(e) => {
                self.per_scope(e.guild_id, GUILD_MESSAGES, DIRECT_MESSAGES)
            }
            DispatchData::PinsUpdate(e) => self.per_scope(e.guild_id, GUILDS, DIRECT_MESSAGES),
            DispatchData::Reaction(e) => self.per_scope(
                e.guild_id,
                GUILD_MESSAGE_REACTIONS,
                DIRECT_MESSAGE_REACTIONS,
            ),
            DispatchData::ReactionsRemoved(e) => self.per_scope(
                e.guild_id,
                GUILD_MESSAGE_REACTIONS,
                DIRECT_MESSAGE_REACTIONS,
            ),
            DispatchData::Typing(e) => {
                self.per_scope(e.guild_id, GUILD_MESSAGE_TYPING, DIRECT_MESSAGE_TYPING)
            }
        }
    }
}

#[cfg(test)]
mod tests;
