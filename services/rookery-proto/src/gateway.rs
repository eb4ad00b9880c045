//! Gateway opcodes, payloads and close codes.
//!
//! Every frame is `{op, d, s, t}`; `s` and `t` are set on DISPATCH only.
//! Close codes reuse Discord's 4000–4014 meanings where they apply; Rookery's
//! own codes are 4100–4199 (the client may reconnect/resume) and 4200–4299
//! (terminal: reconnecting the same way will fail again).

use crate::Id;
use crate::model::{GuildState, User};
use crate::{ChannelId, GuildId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// Gateway opcodes.
pub mod op {
    /// Server → client: an event (`t`, `d`, `s`).
    pub const DISPATCH: u8 = 0;
    /// Both ways: keep-alive; `d` is the last `s` the client saw.
    pub const HEARTBEAT: u8 = 1;
    /// Client → server: authenticate a new session.
    pub const IDENTIFY: u8 = 2;
    /// Client → server: set the session's status and activities.
    pub const PRESENCE_UPDATE: u8 = 3;
    /// Client → server: re-attach to a session and replay what was missed.
    pub const RESUME: u8 = 6;
    /// Client → server: a guild's members, answered with
    /// `GUILD_MEMBERS_CHUNK` dispatches.
    pub const REQUEST_GUILD_MEMBERS: u8 = 8;
    /// Server → client: reconnect and resume (e.g. the edge is draining).
    pub const RECONNECT: u8 = 7;
    /// Server → client: the session cannot be resumed; IDENTIFY anew.
    pub const INVALID_SESSION: u8 = 9;
    /// Server → client: first frame, carries the heartbeat interval.
    pub const HELLO: u8 = 10;
    /// Server → client: answer to HEARTBEAT.
    pub const HEARTBEAT_ACK: u8 = 11;
    /// Client → server: post a message.
    pub const SEND: u8 = 20;
    /// Server → client: the message is durable; carries its id.
    pub const SEND_ACK: u8 = 21;
    /// Server → client: the message was refused.
    pub const SEND_ERROR: u8 = 22;
    /// Client → server: mark a channel read up to a message.
    pub const ACK: u8 = 23;

    /// Every op a client may send (`codec::decode_client` refuses the
    /// rest): the authorization matrix decides each.
    pub const CLIENT_OPS: [u8; 7] = [
        HEARTBEAT,
        IDENTIFY,
        PRESENCE_UPDATE,
        RESUME,
        REQUEST_GUILD_MEMBERS,
        SEND,
        ACK,
    ];
}

/// Dispatch event names (`t`).
pub mod event_name {
    /// After IDENTIFY.
    pub const READY: &str = "READY";
    /// After a successful RESUME replay.
    pub const RESUMED: &str = "RESUMED";
    /// A message was posted in a channel the session can see.
    pub const MESSAGE_CREATE: &str = "MESSAGE_CREATE";
    /// A message was edited.
    pub const MESSAGE_UPDATE: &str = "MESSAGE_UPDATE";
    /// A message was deleted.
    pub const MESSAGE_DELETE: &str = "MESSAGE_DELETE";
    /// Several messages were deleted.
    pub const MESSAGE_DELETE_BULK: &str = "MESSAGE_DELETE_BULK";
    /// The session's user joined (or created) a guild.
    pub const GUILD_CREATE: &str = "GUILD_CREATE";
    /// A channel was created in one of the session's guilds.
    pub const CHANNEL_CREATE: &str = "CHANNEL_CREATE";
    /// Someone joined one of the session's guilds.
    pub const GUILD_MEMBER_ADD: &str = "GUILD_MEMBER_ADD";
    /// A member's roles or timeout changed.
    pub const GUILD_MEMBER_UPDATE: &str = "GUILD_MEMBER_UPDATE";
    /// A member left or was kicked.
    pub const GUILD_MEMBER_REMOVE: &str = "GUILD_MEMBER_REMOVE";
    /// The session's user is no longer in the guild.
    pub const GUILD_DELETE: &str = "GUILD_DELETE";
    /// An answer to REQUEST_GUILD_MEMBERS (op 8), one per chunk.
    pub const GUILD_MEMBERS_CHUNK: &str = "GUILD_MEMBERS_CHUNK";
    /// A channel's settings or permission overwrites changed.
    pub const CHANNEL_UPDATE: &str = "CHANNEL_UPDATE";
    /// A guild's settings changed: the guild with its roles, no channels.
    pub const GUILD_UPDATE: &str = "GUILD_UPDATE";
    /// A role was created.
    pub const GUILD_ROLE_CREATE: &str = "GUILD_ROLE_CREATE";
    /// A role was changed.
    pub const GUILD_ROLE_UPDATE: &str = "GUILD_ROLE_UPDATE";
    /// A role was deleted.
    pub const GUILD_ROLE_DELETE: &str = "GUILD_ROLE_DELETE";
    /// A message was pinned or unpinned.
    pub const CHANNEL_PINS_UPDATE: &str = "CHANNEL_PINS_UPDATE";
    /// One of your sessions marked a channel read.
    pub const MESSAGE_ACK: &str = "MESSAGE_ACK";
    /// A user reacted to a message.
    pub const MESSAGE_REACTION_ADD: &str = "MESSAGE_REACTION_ADD";
    /// A reaction was removed.
    pub const MESSAGE_REACTION_REMOVE: &str = "MESSAGE_REACTION_REMOVE";
    /// Every reaction on a message was removed.
    pub const MESSAGE_REACTION_REMOVE_ALL: &str = "MESSAGE_REACTION_REMOVE_ALL";
    /// Every reaction with one emoji on a message was removed.
    pub const MESSAGE_REACTION_REMOVE_EMOJI: &str = "MESSAGE_REACTION_REMOVE_EMOJI";
    /// You can no longer see a channel (a permission changed): forget it.
    pub const CHANNEL_DELETE: &str = "CHANNEL_DELETE";
    /// A user was added to a group DM the session's user is in.
    pub const CHANNEL_RECIPIENT_ADD: &str = "CHANNEL_RECIPIENT_ADD";
    /// A user left or was removed from a group DM the session's user is in.
    pub const CHANNEL_RECIPIENT_REMOVE: &str = "CHANNEL_RECIPIENT_REMOVE";
    /// A member who can see the channel started typing in it.
    pub const TYPING_START: &str = "TYPING_START";
    /// A member sharing a guild changed status or activities.
    pub const PRESENCE_UPDATE: &str = "PRESENCE_UPDATE";
}

/// op 10 HELLO.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// Milliseconds between client heartbeats.
    pub heartbeat_interval: u64,
}

/// op 2 IDENTIFY.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identify {
    /// JWT from register/login.
    pub token: String,
    /// Recovery after reconnecting to any edge: channel id → the last
    /// message id the client holds there. After READY the client gets the
    /// messages it missed in each (up to [`CATCH_UP_LIMIT`] per channel,
    /// oldest first), then live ones, with no duplicates.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub last_message_ids: std::collections::BTreeMap<ChannelId, MessageId>,
    /// The session's starting presence (online if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<crate::presence::PresenceSet>,
    /// Which dispatches to send ([`crate::intents`]); all if absent.
    /// Discord's other IDENTIFY fields (`properties`, `compress`,
    /// `large_threshold`, `shard`) are accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intents: Option<crate::intents::Intents>,
}

/// Most channels an IDENTIFY may ask to catch up on; more close with 4002.
pub const CATCH_UP_CHANNELS: usize = 100;
/// Most missed messages sent per channel on IDENTIFY; a client that gets
/// this many pages the rest with `GET .../messages?after=`.
pub const CATCH_UP_LIMIT: usize = 100;

/// op 6 RESUME.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resume {
    /// JWT of the session's user.
    pub token: String,
    /// From READY.
    pub session_id: String,
    /// Last `s` the client received.
    pub seq: u64,
}

/// DISPATCH `READY`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ready {
    /// For RESUME.
    pub session_id: String,
    /// The session's user.
    pub user: User,
    /// Every guild the user is a member of, with channels.
    pub guilds: Vec<GuildState>,
    /// The user's DMs and group DMs (Discord's `private_channels`).
    #[serde(default)]
    pub private_channels: Vec<crate::model::Channel>,
    /// Where the user stands in each channel shown in `guilds` and
    /// `private_channels`.
    #[serde(default)]
    pub read_state: Vec<crate::model::ReadState>,
    /// The members of `guilds` who are not offline, one entry per guild.
    #[serde(default)]
    pub presences: Vec<crate::presence::Presence>,
}

/// DISPATCH `READY` on a connection that asked for Discord's gateway
/// (`?v=10`): the guilds listed as unavailable, each followed by its
/// [`GuildCreate`], as Discord sends them and its libraries wait for.
#[derive(Debug, Clone, Serialize)]
pub struct DiscordReady {
    /// The gateway version asked for.
    pub v: u8,
    /// The session's user, as `GET /users/@me` shows it.
    pub user: crate::rest::UserObject,
    /// Every guild of the user, `{id, unavailable: true}`.
    pub guilds: Vec<crate::model::UnavailableGuild>,
    /// For RESUME.
    pub session_id: String,
    /// Where to RESUME: this gateway.
    pub resume_gateway_url: String,
    /// A bot's application (`{id, flags}`); left out for a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<ReadyApplication>,
    /// The user's DMs and group DMs.
    pub private_channels: Vec<crate::model::Channel>,
    /// Discord sends presences in each GUILD_CREATE: empty here.
    pub presences: [(); 0],
}

/// READY's `application`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReadyApplication {
    /// The application's id (its bot user's).
    pub id: Id,
    /// Discord's application flags: none.
    pub flags: u64,
}

/// GUILD_CREATE after a Discord READY: the guild with what Discord adds for
/// the session's user (its membership, the presences, no threads or voice).
#[derive(Debug, Clone, Serialize)]
pub struct GuildCreate {
    /// The guild, its channels and roles.
    #[serde(flatten)]
    pub guild: GuildState,
    /// When the session's user joined.
    pub joined_at: String,
    /// Always false: members are not sent with guilds, so none is "large".
    pub large: bool,
    /// Always false: the guild is available.
    pub unavailable: bool,
    /// How many members the guild has.
    pub member_count: u64,
    /// The session's own membership.
    pub members: Vec<crate::model::Member>,
    /// Members of the guild who are online.
    pub presences: Vec<crate::presence::Presence>,
    /// Threads: none exist here.
    pub threads: [(); 0],
    /// Voice states: no voice here.
    pub voice_states: [(); 0],
    /// Stage instances: none.
    pub stage_instances: [(); 0],
    /// Scheduled events: none.
    pub guild_scheduled_events: [(); 0],
}

/// op 20 SEND. Unknown fields are refused, as REST refuses them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Send {
    /// Target channel.
    pub channel_id: ChannelId,
    /// Client idempotency key (≤ 64 bytes); echoed in SEND_ACK/SEND_ERROR.
    pub nonce: String,
    /// Message text.
    pub content: String,
    /// Makes the message a reply (as in `POST /channels/{id}/messages`).
    #[serde(default)]
    pub message_reference: Option<crate::rest::ReplyTo>,
    /// Which mentions notify (as in `POST /channels/{id}/messages`).
    #[serde(default)]
    pub allowed_mentions: Option<crate::rest::AllowedMentions>,
}

impl Send {
    /// The same request as the REST body.
    pub fn into_create(self) -> crate::rest::CreateMessage {
        crate::rest::CreateMessage {
            content: self.content,
            nonce: Some(self.nonce),
            message_reference: self.message_reference,
            allowed_mentions: self.allowed_mentions,
            ..Default::default()
        }
    }
}

/// op 21 SEND_ACK.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendAck {
    /// The nonce of the SEND.
    pub nonce: String,
    /// The message's id; the same for a repeated nonce.
    pub id: MessageId,
}

/// op 22 SEND_ERROR.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendError {
    /// The nonce of the SEND.
    pub nonce: String,
    /// Same numeric codes as REST errors (`rest` error codes).
    pub code: u32,
    /// Human-readable reason.
    pub message: String,
    /// Seconds until a send can pass, on a rate limit (20016 slow mode,
    /// 20028 the channel's write limit); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
}

/// op 8 REQUEST_GUILD_MEMBERS, as Discord defines it: members whose
/// username starts with `query` (all, when empty) up to `limit` (0: no
/// limit), or those of `user_ids`. A refusal is a SEND_ERROR carrying
/// `nonce`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestGuildMembers {
    /// The guild.
    pub guild_id: GuildId,
    /// A username prefix, any case.
    #[serde(default)]
    pub query: Option<String>,
    /// At most this many members (0: every one that matches).
    #[serde(default)]
    pub limit: u32,
    /// Presences are not sent with chunks (they come in READY and
    /// PRESENCE_UPDATE): accepted, ignored.
    #[serde(default)]
    pub presences: bool,
    /// These members (at most 100) instead of a query.
    #[serde(default)]
    pub user_ids: Option<Vec<UserId>>,
    /// Echoed in each chunk (at most 32 bytes, as Discord).
    #[serde(default)]
    pub nonce: Option<String>,
}

/// `GUILD_MEMBERS_CHUNK`: one chunk (at most 1,000 members) of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildMembersChunk {
    /// The guild.
    pub guild_id: GuildId,
    /// Members, by user id.
    pub members: Vec<crate::model::Member>,
    /// This chunk's place, from 0.
    pub chunk_index: u32,
    /// Chunks in the answer.
    pub chunk_count: u32,
    /// Asked-for `user_ids` that are no members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_found: Vec<UserId>,
    /// The request's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// A frame from the client, decoded by [`crate::codec::decode_client`].
#[derive(Debug, Clone)]
pub enum ClientFrame {
    /// op 1, with the last seq seen.
    Heartbeat(Option<u64>),
    /// op 2.
    Identify(Identify),
    /// op 3.
    Presence(crate::presence::PresenceSet),
    /// op 6.
    Resume(Resume),
    /// op 8.
    RequestGuildMembers(RequestGuildMembers),
    /// op 20.
    Send(Send),
    /// op 23.
    Ack(Ack),
}

/// op 23 ACK: the channel is read up to `message_id`. No answer when it is
/// taken; a refusal is a SEND_ERROR carrying `nonce` (empty if none).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ack {
    /// The channel.
    pub channel_id: ChannelId,
    /// The last message read.
    pub message_id: MessageId,
    /// Echoed in a SEND_ERROR.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// WebSocket close codes the gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum CloseCode {
    /// 4000: something went wrong on the server; reconnect.
    UnknownError = 4000,
    /// 4001: the op is not one the client may send.
    UnknownOpcode = 4001,
    /// 4002: the frame could not be decoded in the session's encoding.
    DecodeError = 4002,
    /// 4003: an op other than IDENTIFY/RESUME/HEARTBEAT before IDENTIFY.
    NotAuthenticated = 4003,
    /// 4004: the token is invalid or expired (terminal).
    AuthenticationFailed = 4004,
    /// 4005: a second IDENTIFY (or RESUME) on an identified connection.
    AlreadyAuthenticated = 4005,
    /// 4007: RESUME with a seq the server never sent.
    InvalidSeq = 4007,
    /// 4008: too many frames; slow down and reconnect.
    RateLimited = 4008,
    /// 4009: no heartbeat within the interval; resume.
    SessionTimedOut = 4009,
    /// 4013: IDENTIFY's `intents` has a bit Discord does not define
    /// (terminal).
    InvalidIntents = 4013,
    /// 4100: an inbound frame exceeded the size limit.
    FrameTooLarge = 4100,
    /// 4101: the client did not read fast enough; its outbound queue
    /// overflowed. Resume (the replay buffer may still cover the gap).
    SlowConsumer = 4101,
    /// 4102: the edge is shutting down; reconnect (to another edge) and resume.
    ServerShutdown = 4102,
    /// 4200: another connection resumed this session (terminal for this one).
    SessionReplaced = 4200,
}

impl CloseCode {
    /// Every close code, for exhaustive tables (metrics, docs).
    pub const ALL: [CloseCode; 14] = [
        CloseCode::UnknownError,
        CloseCode::UnknownOpcode,
        CloseCode::DecodeError,
        CloseCode::NotAuthenticated,
        CloseCode::AuthenticationFailed,
        CloseCode::AlreadyAuthenticated,
        CloseCode::InvalidSeq,
        CloseCode::RateLimited,
        CloseCode::SessionTimedOut,
        CloseCode::InvalidIntents,
        CloseCode::FrameTooLarge,
        CloseCode::SlowConsumer,
        CloseCode::ServerShutdown,
        CloseCode::SessionReplaced,
    ];

    /// Numeric code for the close frame.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// Whether a client may reconnect (and resume) after this code.
    pub fn reconnect(self) -> bool {
        !matches!(
            self,
            CloseCode::AuthenticationFailed
                | CloseCode::SessionReplaced
                | CloseCode::InvalidIntents
        )
    }

    /// Short reason text for the close frame.
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::UnknownError => "unknown error",
            CloseCode::UnknownOpcode => "unknown opcode",
            CloseCode::DecodeError => "decode error",
            CloseCode::NotAuthenticated => "not authenticated",
            CloseCode::AuthenticationFailed => "authentication failed",
            CloseCode::AlreadyAuthenticated => "already authenticated",
            CloseCode::InvalidSeq => "invalid seq",
            CloseCode::RateLimited => "rate limited",
            CloseCode::SessionTimedOut => "session timed out",
            CloseCode::InvalidIntents => "invalid intents",
            CloseCode::FrameTooLarge => "frame too large",
            CloseCode::SlowConsumer => "slow consumer",
            CloseCode::ServerShutdown => "server shutting down",
            CloseCode::SessionReplaced => "session resumed elsewhere",
        }
    }
}
