//! Frames of the internal link: a 4-byte big-endian length, then one
//! MessagePack message (named fields). Edges send [`ToWriter`], writers send
//! [`ToEdge`].

use bytes::Bytes;
use rookery_proto::Id;
use rookery_proto::model::{
    Application, AuditLogEntry, Channel, Guild, Invite, Member, Message, Role, User,
};
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId, MessageId, RoleId, UserId};
use rookery_store::{BanRecord, Cursor, StoreError};
use serde::{Deserialize, Serialize};
use tokio_util::codec::LengthDelimitedCodec;

/// Largest frame either side accepts.
pub const MAX_FRAME: usize = 16 << 20;

/// The framing codec.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

/// Edge → writer.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToWriter {
    /// The answer to [`ToEdge::Challenge`]: which edge instance this is,
    /// so the writer routes interest to it and drops its dead epochs, and
    /// the proof that it holds the link key (see [`crate::auth`]).
    Hello {
        /// The edge's worker id.
        node: u16,
        /// Its boot epoch.
        epoch: u64,
        /// The edge's nonce, for the writer's proof.
        nonce: Bytes,
        /// HMAC over both nonces and the edge's id.
        proof: Bytes,
    },
    /// A store call, answered by [`ToEdge::Reply`] with the same `id`.
    Call {
        /// Correlates the reply.
        id: u64,
        /// What to do.
        call: Call,
    },
}

/// Writer → edge.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToEdge {
    /// The first frame on a connection: the writer's nonce.
    Challenge {
        /// Fresh random bytes.
        nonce: Bytes,
    },
    /// The writer accepted the edge's hello and proves the key back.
    Welcome {
        /// HMAC over both nonces.
        proof: Bytes,
    },
    /// Applied events of one bus partition, in apply order.
    Fanout {
        /// The partition, if the batch came from one.
        partition: Option<u32>,
        /// The writer's ownership claim on it: an edge drops batches with a
        /// lower claim than one it has seen (a writer that lost the
        /// partition).
        claim: Option<u64>,
        /// When the store had them (ms since the Unix epoch).
        applied_at_ms: u64,
        /// Each an encoded [`Envelope`](rookery_proto::event::Envelope),
        /// encoded once for every edge.
        events: Vec<Bytes>,
    },
    /// The writer applied this edge's interest records of `partition` below
    /// offset `next`.
    InterestApplied {
        /// Interest topic partition.
        partition: u32,
        /// The next offset.
        next: u64,
    },
    /// The answer to a [`ToWriter::Call`].
    Reply {
        /// The call's id.
        id: u64,
        /// Its outcome.
        result: Result<Reply, WireError>,
    },
}

/// A store read (or the account write) an edge makes through the writer
/// that hosts the embedded store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Call {
    CreateAccount {
        user: User,
        hash: String,
    },
    /// Checks a password on the writer, which keeps the hashes.
    Login {
        username: String,
        password: String,
    },
    /// Creates an application and its bot's account.
    CreateApplication {
        app: Application,
    },
    Application {
        id: Id,
    },
    /// Creates a webhook.
    CreateWebhook {
        hook: Webhook,
    },
    Webhook {
        id: Id,
    },
    Webhooks {
        guild: GuildId,
        channel: Option<ChannelId>,
    },
    /// Deletes a webhook.
    DeleteWebhook {
        hook: Webhook,
    },
    /// An account's token generation (through the read cache).
    TokenGeneration {
        user_id: UserId,
    },
    /// Revokes an account's tokens; with a hash, a password change.
    RevokeTokens {
        user_id: UserId,
        hash: Option<String>,
    },
    User {
        id: UserId,
    },
    Guild {
        id: GuildId,
    },
    GuildChannels {
        guild_id: GuildId,
    },
    GuildRoles {
        guild_id: GuildId,
    },
    Channel {
        id: ChannelId,
    },
    Member {
        guild_id: GuildId,
        user_id: UserId,
    },
    UserGuilds {
        user_id: UserId,
    },
    GuildMembers {
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    },
    DmChannel {
        a: UserId,
        b: UserId,
    },
    Invite {
        code: String,
    },
    GuildInvites {
        guild_id: GuildId,
    },
    MemberCount {
        guild_id: GuildId,
    },
    Nonce {
        user_id: UserId,
        nonce: String,
    },
    Messages {
        channel_id: ChannelId,
        cursor: WireCursor,
        limit: usize,
    },
    Message {
        channel_id: ChannelId,
        message_id: MessageId,
    },
    Pins {
        channel_id: ChannelId,
    },
    Bans {
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    },
    ReadStates {
        user_id: UserId,
    },
    Mentions {
        channel_id: ChannelId,
        user_id: UserId,
        roles: Vec<RoleId>,
        after: MessageId,
        limit: usize,
    },
    AuditLog {
        guild_id: GuildId,
        before: Id,
        limit: usize,
    },
    Ban {
        guild_id: GuildId,
        user_id: UserId,
    },
    Reactions {
        channel_id: ChannelId,
        message_id: MessageId,
        emoji: String,
        after: UserId,
        limit: usize,
    },
    UserReactions {
        channel_id: ChannelId,
        user_id: UserId,
        first: MessageId,
        last: MessageId,
    },
}

/// [`Cursor`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum WireCursor {
    Latest,
    Before(MessageId),
    After(MessageId),
    Around(MessageId),
}

impl From<Cursor> for WireCursor {
    fn from(c: Cursor) -> Self {
        match c {
            Cursor::Latest => Self::Latest,
            Cursor::Before(id) => Self::Before(id),
            Cursor::After(id) => Self::After(id),
            Cursor::Around(id) => Self::Around(id),
        }
    }
}

impl From<WireCursor> for Cursor {
    fn from(c: WireCursor) -> Self {
        match c {
            WireCursor::Latest => Self::Latest,
            WireCursor::Before(id) => Self::Before(id),
            WireCursor::After(id) => Self::After(id),
            WireCursor::Around(id) => Self::Around(id),
        }
    }
}

/// A call's successful outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Reply {
    Done,
    User(Option<User>),
    Guild(Option<Guild>),
    Channels(Vec<Channel>),
    Channel(Option<Channel>),
    Roles(Vec<Role>),
    Member(Option<Member>),
    Ids(Vec<Id>),
    Invite(Option<Invite>),
    /// An optional id: a nonce's message, a pair's DM.
    Nonce(Option<Id>),
    Messages(Vec<Message>),
    /// Boxed: a message is the largest reply, and replies travel in
    /// [`ToEdge`] beside much smaller fan-out batches.
    Message(Option<Box<Message>>),
    Bans(Vec<BanRecord>),
    Pairs(Vec<(ChannelId, MessageId)>),
    AuditLog(Vec<AuditLogEntry>),
    /// A reader's reactions: `(message, emoji)`.
    Reacted(Vec<(MessageId, String)>),
    /// An account's token generation.
    Generation(u64),
    Application(Option<Application>),
    Members(Vec<Member>),
    Webhook(Option<Webhook>),
    Webhooks(Vec<Webhook>),
    Invites(Vec<Invite>),
    Count(u64),
}

/// A [`StoreError`] on the wire, keeping the variant callers match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireError {
    /// [`StoreError::Conflict`].
    Conflict(String),
    /// Anything else, as text (retryable on the edge's side).
    Other(String),
}

impl From<StoreError> for WireError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(s) => Self::Conflict(s),
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<WireError> for StoreError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Conflict(s) => StoreError::Conflict(s),
            WireError::Other(s) => StoreError::Backend(s),
        }
    }
}

/// Encodes a message.
pub fn encode<T: Serialize>(msg: &T) -> bytes::Bytes {
    rmp_serde::to_vec_named(msg)
        .expect("link messages always encode")
        .into()
}

/// Decodes a message.
pub fn decode<T: serde::de::DeserializeOwned>(frame: &[u8]) -> Result<T, rmp_serde::decode::Error> {
    rmp_serde::from_slice(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::UserId;
    use rookery_proto::event::{Envelope, Event};

    #[test]
    fn pre_encoded_events_travel_as_binary_and_decode_back() {
        let env = Envelope {
            v: 1,
            id: Id(9),
            ts: 5,
            origin: 2,
            audit: None,
            event: Event::UserCreate(User {
                id: UserId(9),
                username: "ada".into(),
            }),
        };
        let frame = encode(&ToEdge::Fanout {
            partition: Some(3),
            claim: Some(11),
            applied_at_ms: 77,
            events: vec![env.to_bytes().into()],
        });
        match decode::<ToEdge>(&frame).unwrap() {
            ToEdge::Fanout {
                partition,
                claim,
                applied_at_ms,
                events,
            } => {
                assert_eq!((partition, claim, applied_at_ms), (Some(3), Some(11), 77));
                assert_eq!(Envelope::from_bytes(&events[0]).unwrap(), env);
            }
            other => panic!("decoded as {other:?}"),
        }
    }
}
