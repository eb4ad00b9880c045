//! How the shared objects serialize: in JSON, as Discord shapes them; in
//! MessagePack, with Rookery's fields only.
//!
//! Discord's libraries read keys Rookery has no use for (`discriminator`,
//! `avatar`, a message's `tts`, `embeds`, `attachments`, a member's `mute`,
//! a guild's `features`…) and fail when one is missing. JSON — what they
//! speak — carries them with the values Discord gives an object without the
//! feature. MessagePack is what the store, the bus and Rookery's compact
//! clients carry, one copy per message and per delivery: it keeps to the
//! fields that mean something here, so a message costs no more bytes on
//! disk or on the wire for Discord's constants. Deserialization is derived
//! (unknown keys are ignored), so either form reads back.

use crate::model::{
    Channel, Guild, GuildState, GuildUpdate, Member, Message, MessageReference, Role, User,
};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

/// A JSON `null`.
const NULL: Option<()> = None;
/// A JSON `[]`.
const EMPTY: [(); 0] = [];

/// Writes a struct's fields, some in JSON only: `len` counts the fields
/// written in either form; `discord` those added in JSON.
struct Fields<S: SerializeStruct> {
    out: S,
    json: bool,
}

impl<S: SerializeStruct> Fields<S> {
    fn begin<Z>(s: Z, name: &'static str, len: usize, discord: usize) -> Result<Self, Z::Error>
    where
        Z: Serializer<SerializeStruct = S, Error = S::Error>,
    {
        let json = s.is_human_readable();
        let len = if json { len + discord } else { len };
        Ok(Fields {
            out: s.serialize_struct(name, len)?,
            json,
        })
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), S::Error> {
        self.out.serialize_field(key, v)
    }

    /// A field written only when `present` (counted by the caller).
    fn maybe<T: Serialize + ?Sized>(
        &mut self,
        present: bool,
        key: &'static str,
        v: &T,
    ) -> Result<(), S::Error> {
        if present {
            self.out.serialize_field(key, v)?;
        }
        Ok(())
    }

    /// Discord's constants, in JSON only.
    fn discord(&mut self, fields: &[(&'static str, Constant)]) -> Result<(), S::Error> {
        if self.json {
            for (key, v) in fields {
                self.out.serialize_field(key, v)?;
            }
        }
        Ok(())
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.out.end()
    }
}

/// A value Discord gives a field Rookery has no use for.
#[derive(Clone, Copy)]
enum Constant {
    Null,
    False,
    Zero,
    Empty,
    Str(&'static str),
}

impl Serialize for Constant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Constant::Null => NULL.serialize(s),
            Constant::False => s.serialize_bool(false),
            Constant::Zero => s.serialize_u8(0),
            Constant::Empty => EMPTY.serialize(s),
            Constant::Str(v) => s.serialize_str(v),
        }
    }
}

use Constant::{Empty, False, Null, Str, Zero};

const USER: [(&str, Constant); 6] = [
    ("discriminator", Str("0")),
    ("global_name", Null),
    ("avatar", Null),
    ("public_flags", Zero),
    ("flags", Zero),
    ("primary_guild", Null),
];

impl Serialize for User {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut f = Fields::begin(s, "User", 2, USER.len())?;
        f.field("id", &self.id)?;
        f.field("username", &self.username)?;
        f.discord(&USER)?;
        f.end()
    }
}

/// A bot's user object in JSON: the user's, with `bot: true` (Discord
/// leaves `bot` out for everyone else).
struct BotAuthor<'a>(&'a User);

impl Serialize for BotAuthor<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut f = Fields::begin(s, "User", 3, USER.len())?;
        f.field("id", &self.0.id)?;
        f.field("username", &self.0.username)?;
        f.field("bot", &true)?;
        f.discord(&USER)?;
        f.end()
    }
}

const MESSAGE: [(&str, Constant); 5] = [
    ("tts", False),
    ("flags", Zero),
    ("attachments", Empty),
    ("embeds", Empty),
    ("components", Empty),
];

impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let guild = !self.guild_id.is_none();
        let reference = self.message_reference.is_some();
        let reactions = !self.reactions.is_empty();
        let webhook = self.webhook_id.is_some();
        // Discord leaves out a nonce the client did not send.
        let nonce = self.nonce.is_some();
        // JSON marks a bot on the author object, as Discord does;
        // MessagePack keeps the flag beside it, only when set.
        let bot_flag = self.author_bot && !s.is_human_readable();
        let optional = [guild, reference, reactions, webhook, nonce, bot_flag];
        let len = 11 + optional.map(usize::from).iter().sum::<usize>();
        let mut f = Fields::begin(s, "Message", len, MESSAGE.len())?;
        f.field("id", &self.id)?;
        f.field("channel_id", &self.channel_id)?;
        f.maybe(guild, "guild_id", &self.guild_id)?;
        match self.author_bot && f.json {
            true => f.field("author", &BotAuthor(&self.author))?,
            false => f.field("author", &self.author)?,
        }
        f.maybe(bot_flag, "author_bot", &true)?;
        f.field("content", &self.content)?;
        f.maybe(nonce, "nonce", &self.nonce)?;
        f.field("timestamp", &self.timestamp)?;
        f.field("edited_timestamp", &self.edited_timestamp)?;
        f.field("type", &self.kind)?;
        f.maybe(reference, "message_reference", &self.message_reference)?;
        f.field("mentions", &self.mentions)?;
        f.field("mention_roles", &self.mention_roles)?;
        f.field("mention_everyone", &self.mention_everyone)?;
        f.field("pinned", &self.pinned)?;
        f.maybe(reactions, "reactions", &self.reactions)?;
        f.maybe(webhook, "webhook_id", &self.webhook_id)?;
        f.discord(&MESSAGE)?;
        f.end()
    }
}

impl Serialize for MessageReference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let guild = !self.guild_id.is_none();
        let len = 2 + usize::from(guild);
        // Discord's reference type: 0, a reply (forwards do not exist here).
        let mut f = Fields::begin(s, "MessageReference", len, 1)?;
        f.field("message_id", &self.message_id)?;
        f.field("channel_id", &self.channel_id)?;
        f.maybe(guild, "guild_id", &self.guild_id)?;
        f.discord(&[("type", Zero)])?;
        f.end()
    }
}

const MEMBER: [(&str, Constant); 8] = [
    ("nick", Null),
    ("avatar", Null),
    ("banner", Null),
    ("premium_since", Null),
    ("deaf", False),
    ("mute", False),
    ("flags", Zero),
    ("pending", False),
];

impl Serialize for Member {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bot_flag = self.bot && !s.is_human_readable();
        let mut f = Fields::begin(s, "Member", 5 + usize::from(bot_flag), MEMBER.len())?;
        f.field("guild_id", &self.guild_id)?;
        match self.bot && f.json {
            true => f.field("user", &BotAuthor(&self.user))?,
            false => f.field("user", &self.user)?,
        }
        f.maybe(bot_flag, "bot", &true)?;
        f.field("joined_at", &self.joined_at)?;
        f.field("roles", &self.roles)?;
        f.field(
            "communication_disabled_until",
            &self.communication_disabled_until,
        )?;
        f.discord(&MEMBER)?;
        f.end()
    }
}

const ROLE: [(&str, Constant); 4] = [
    ("managed", False),
    ("icon", Null),
    ("unicode_emoji", Null),
    ("flags", Zero),
];

/// Discord's role colours: one colour, no gradient.
#[derive(Serialize)]
struct RoleColors {
    primary_color: u32,
    secondary_color: Option<u32>,
    tertiary_color: Option<u32>,
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut f = Fields::begin(s, "Role", 7, ROLE.len() + 1)?;
        f.field("id", &self.id)?;
        f.field("name", &self.name)?;
        f.field("color", &self.color)?;
        f.field("hoist", &self.hoist)?;
        f.field("position", &self.position)?;
        f.field("permissions", &self.permissions)?;
        f.field("mentionable", &self.mentionable)?;
        f.discord(&ROLE)?;
        if f.json {
            let colors = RoleColors {
                primary_color: self.color,
                secondary_color: None,
                tertiary_color: None,
            };
            f.field("colors", &colors)?;
        }
        f.end()
    }
}

const GUILD_CHANNEL: [(&str, Constant); 4] = [
    ("flags", Zero),
    ("nsfw", False),
    ("parent_id", Null),
    ("topic", Null),
];
const PRIVATE_CHANNEL: [(&str, Constant); 1] = [("flags", Zero)];

impl Serialize for Channel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let guild = !self.guild_id.is_none();
        let recipients = !self.recipients.is_empty();
        let owner = self.owner_id.is_some();
        let len = 6 + [guild, recipients, owner]
            .map(usize::from)
            .iter()
            .sum::<usize>();
        let discord: &[_] = if guild {
            &GUILD_CHANNEL
        } else {
            &PRIVATE_CHANNEL
        };
        let mut f = Fields::begin(s, "Channel", len, discord.len())?;
        f.field("id", &self.id)?;
        f.maybe(guild, "guild_id", &self.guild_id)?;
        f.field("name", &self.name)?;
        f.field("type", &self.kind)?;
        f.field("position", &self.position)?;
        f.field("permission_overwrites", &self.permission_overwrites)?;
        f.field("rate_limit_per_user", &self.rate_limit_per_user)?;
        f.maybe(recipients, "recipients", &self.recipients)?;
        f.maybe(owner, "owner_id", &self.owner_id)?;
        f.discord(discord)?;
        f.end()
    }
}

/// A guild as an invite or a guild list shows it, without Discord's
/// paid and community features.
const PARTIAL_GUILD: [(&str, Constant); 10] = [
    ("icon", Null),
    ("splash", Null),
    ("banner", Null),
    ("description", Null),
    ("features", Empty),
    ("verification_level", Zero),
    ("vanity_url_code", Null),
    ("nsfw_level", Zero),
    ("nsfw", False),
    ("premium_subscription_count", Zero),
];

impl Serialize for Guild {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut f = Fields::begin(s, "Guild", 3, PARTIAL_GUILD.len())?;
        f.field("id", &self.id)?;
        f.field("name", &self.name)?;
        f.field("owner_id", &self.owner_id)?;
        f.discord(&PARTIAL_GUILD)?;
        f.end()
    }
}

/// What a guild without Discord's paid, community and media features has.
const GUILD: [(&str, Constant); 34] = [
    ("icon", Null),
    ("splash", Null),
    ("discovery_splash", Null),
    ("banner", Null),
    ("description", Null),
    ("features", Empty),
    ("emojis", Empty),
    ("stickers", Empty),
    ("verification_level", Zero),
    ("default_message_notifications", Zero),
    ("explicit_content_filter", Zero),
    ("mfa_level", Zero),
    ("nsfw_level", Zero),
    ("premium_tier", Zero),
    ("system_channel_id", Null),
    ("system_channel_flags", Zero),
    ("rules_channel_id", Null),
    ("public_updates_channel_id", Null),
    ("afk_channel_id", Null),
    ("vanity_url_code", Null),
    ("preferred_locale", Str("en-US")),
    ("home_header", Null),
    ("application_id", Null),
    ("region", Str("deprecated")),
    ("widget_enabled", False),
    ("widget_channel_id", Null),
    ("max_presences", Null),
    ("max_stage_video_channel_users", Zero),
    ("max_video_channel_users", Zero),
    ("premium_subscription_count", Zero),
    ("safety_alerts_channel_id", Null),
    ("premium_progress_bar_enabled", False),
    ("nsfw", False),
    ("incidents_data", Null),
];

/// Discord's AFK timeout (no voice channels here): its default.
const AFK_TIMEOUT_SECS: u16 = 300;

/// No member cap: the largest count Discord's field holds.
const MAX_MEMBERS: i32 = i32::MAX;

/// What a full guild object adds in JSON (counted as `GUILD.len() + 2`).
fn full_guild<S: SerializeStruct>(f: &mut Fields<S>) -> Result<(), S::Error> {
    f.discord(&GUILD)?;
    if f.json {
        f.field("afk_timeout", &AFK_TIMEOUT_SECS)?;
        f.field("max_members", &MAX_MEMBERS)?;
    }
    Ok(())
}

impl Serialize for GuildState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut f = Fields::begin(s, "GuildState", 5, GUILD.len() + 2)?;
        f.field("id", &self.id)?;
        f.field("name", &self.name)?;
        f.field("owner_id", &self.owner_id)?;
        f.field("channels", &self.channels)?;
        f.field("roles", &self.roles)?;
        full_guild(&mut f)?;
        f.end()
    }
}

impl Serialize for GuildUpdate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut f = Fields::begin(s, "GuildUpdate", 4, GUILD.len() + 2)?;
        f.field("id", &self.id)?;
        f.field("name", &self.name)?;
        f.field("owner_id", &self.owner_id)?;
        f.field("roles", &self.roles)?;
        full_guild(&mut f)?;
        f.end()
    }
}

/// What a guild shows for a settable field Rookery does not have (its
/// JSON value), if the field is one of Discord's guild fields: `PATCH
/// /guilds/{id}` accepts such a field only at this value.
pub fn guild_default(field: &str) -> Option<serde_json::Value> {
    if field == "afk_timeout" {
        return Some(AFK_TIMEOUT_SECS.into());
    }
    let (_, constant) = GUILD.iter().find(|(name, _)| *name == field)?;
    serde_json::to_value(constant).ok()
}

#[cfg(test)]
mod tests;
