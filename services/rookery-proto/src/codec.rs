//! Gateway framing in both encodings.
//!
//! `json` frames are WebSocket text frames, `msgpack` frames are binary frames
//! carrying a MessagePack map with the same field names. Decoding reads the
//! frame's header (`op`, `s`, `t`) first and then `d` as the type that `op`
//! calls for, so one code path serves both encodings.
//!
//! A [`Dispatch`] is encoded at most once per encoding however many sessions
//! receive it: everything up to the per-session sequence number is a shared
//! prefix, and each session appends only its `s`.

use crate::MessageId;
use crate::gateway::Ready;
use crate::gateway::{ClientFrame, op};
use crate::model::{Channel, GuildState, Member, Message};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

/// Wire encoding of a gateway connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// JSON text frames; ids are strings.
    Json,
    /// MessagePack binary frames with named fields; ids are integers.
    #[default]
    MsgPack,
}

impl FromStr for Encoding {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Encoding::Json),
            "msgpack" => Ok(Encoding::MsgPack),
            other => Err(CodecError::UnknownEncoding(other.to_owned())),
        }
    }
}

/// Why a frame could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not a well-formed frame in this encoding, or `d` does not
    /// fit the op.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A well-formed frame with an op the client may not send.
    #[error("unknown opcode {0}")]
    UnknownOp(u8),
    /// `?encoding=` named neither `json` nor `msgpack`.
    #[error("unknown encoding {0:?}; expected json or msgpack")]
    UnknownEncoding(String),
}

/// The fields of a frame other than `d`.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// Opcode.
    pub op: u8,
    /// Sequence number (DISPATCH only).
    #[serde(default)]
    pub s: Option<u64>,
    /// Event name (DISPATCH only).
    #[serde(default)]
    pub t: Option<String>,
}

#[derive(Deserialize)]
struct WithD<T> {
    d: T,
}

#[derive(Serialize)]
struct Frame<'a, T> {
    op: u8,
    d: &'a T,
    s: Option<u64>,
    t: Option<&'a str>,
}

fn from_bytes<T: DeserializeOwned>(enc: Encoding, bytes: &[u8]) -> Result<T, CodecError> {
    match enc {
        Encoding::Json => {
            serde_json::from_slice(bytes).map_err(|e| CodecError::Malformed(e.to_string()))
        }
        Encoding::MsgPack => {
            rmp_serde::from_slice(bytes).map_err(|e| CodecError::Malformed(e.to_string()))
        }
    }
}

/// Decodes a frame's header.
pub fn decode_header(enc: Encoding, bytes: &[u8]) -> Result<Header, CodecError> {
    from_bytes(enc, bytes)
}

/// Decodes a frame's `d` as `T`.
pub fn decode_d<T: DeserializeOwned>(enc: Encoding, bytes: &[u8]) -> Result<T, CodecError> {
    from_bytes::<WithD<T>>(enc, bytes).map(|w| w.d)
}

/// Decodes a client → server frame.
pub fn decode_client(enc: Encoding, bytes: &[u8]) -> Result<ClientFrame, CodecError> {
    let header = decode_header(enc, bytes)?;
    Ok(match header.op {
        op::HEARTBEAT => {
            #[derive(Deserialize)]
            struct Hb {
                #[serde(default)]
                d: Option<u64>,
            }
            ClientFrame::Heartbeat(from_bytes::<Hb>(enc, bytes)?.d)
        }
        op::IDENTIFY => ClientFrame::Identify(decode_d(enc, bytes)?),
        op::PRESENCE_UPDATE => ClientFrame::Presence(decode_d(enc, bytes)?),
        op::RESUME => ClientFrame::Resume(decode_d(enc, bytes)?),
        op::REQUEST_GUILD_MEMBERS => ClientFrame::RequestGuildMembers(decode_d(enc, bytes)?),
        op::SEND => ClientFrame::Send(decode_d(enc, bytes)?),
        op::ACK => ClientFrame::Ack(decode_d(enc, bytes)?),
        other => return Err(CodecError::UnknownOp(other)),
    })
}

/// Encodes a non-dispatch frame (`s` and `t` null).
pub fn encode<T: Serialize>(enc: Encoding, op: u8, d: &T) -> Vec<u8> {
    encode_frame(
        enc,
        &Frame {
            op,
            d,
            s: None,
            t: None,
        },
    )
}

/// Encodes a dispatch frame directly; fan-out uses [`Dispatch`] instead.
pub fn encode_dispatch<T: Serialize>(enc: Encoding, t: &str, seq: u64, d: &T) -> Vec<u8> {
    encode_frame(
        enc,
        &Frame {
            op: op::DISPATCH,
            d,
            s: Some(seq),
            t: Some(t),
        },
    )
}

fn encode_frame<T: Serialize>(enc: Encoding, frame: &Frame<'_, T>) -> Vec<u8> {
    match enc {
        // Serializing plain data structures to a Vec cannot fail.
        Encoding::Json => serde_json::to_vec(frame).expect("json encoding of a frame"),
        Encoding::MsgPack => rmp_serde::to_vec_named(frame).expect("msgpack encoding of a frame"),
    }
}

/// The payload of a dispatch, by event.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DispatchData {
    /// READY.
    Ready(Box<Ready>),
    /// READY on a connection that asked for Discord's gateway version.
    DiscordReady(Box<crate::gateway::DiscordReady>),
    /// GUILD_CREATE after a Discord READY.
    GuildCreate(Box<crate::gateway::GuildCreate>),
    /// RESUMED (an empty map).
    Resumed(Empty),
    /// MESSAGE_CREATE and MESSAGE_UPDATE.
    Message(Message),
    /// MESSAGE_DELETE.
    MessageDelete(crate::event::MessageDelete),
    /// MESSAGE_DELETE_BULK.
    MessageDeleteBulk(crate::event::MessageDeleteBulk),
    /// GUILD_CREATE.
    Guild(GuildState),
    /// CHANNEL_CREATE.
    Channel(Channel),
    /// GUILD_MEMBER_ADD and GUILD_MEMBER_UPDATE.
    Member(Member),
    /// GUILD_ROLE_CREATE and GUILD_ROLE_UPDATE.
    Role(crate::event::GuildRole),
    /// GUILD_ROLE_DELETE.
    RoleDelete(crate::event::GuildRoleDelete),
    /// GUILD_MEMBER_REMOVE.
    MemberRemove(crate::event::MemberRemove),
    /// GUILD_UPDATE.
    GuildUpdate(crate::model::GuildUpdate),
    /// GUILD_DELETE.
    GuildDelete(crate::model::UnavailableGuild),
    /// CHANNEL_PINS_UPDATE.
    PinsUpdate(crate::event::PinsUpdate),
    /// MESSAGE_REACTION_ADD and MESSAGE_REACTION_REMOVE.
    Reaction(crate::event::ReactionChange),
    /// MESSAGE_REACTION_REMOVE_ALL and MESSAGE_REACTION_REMOVE_EMOJI.
    ReactionsRemoved(crate::event::ReactionsRemoved),
    /// MESSAGE_ACK.
    Ack(crate::event::MessageAck),
    /// TYPING_START.
    Typing(crate::event::TypingStart),
    /// PRESENCE_UPDATE.
    Presence(crate::presence::Presence),
    /// CHANNEL_RECIPIENT_ADD and CHANNEL_RECIPIENT_REMOVE.
    Recipient(crate::event::RecipientChange),
    /// GUILD_MEMBERS_CHUNK.
    MembersChunk(crate::gateway::GuildMembersChunk),
}

/// An empty map payload.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default)]
pub struct Empty {}

/// One event on its way to many sessions, encoded lazily once per encoding.
#[derive(Debug)]
pub struct Dispatch {
    t: &'static str,
    d: DispatchData,
    json: OnceLock<Vec<u8>>,
    msgpack: OnceLock<Vec<u8>>,
    /// The same message without its content, made once for every session
    /// without the MESSAGE_CONTENT intent ([`crate::intents`]).
    without_content: OnceLock<Arc<Dispatch>>,
}

impl Dispatch {
    /// The message id, for a MESSAGE_CREATE.
    pub fn message_id(&self) -> Option<MessageId> {
        match &self.d {
            DispatchData::Message(m) if self.t == crate::gateway::event_name::MESSAGE_CREATE => {
                Some(m.id)
            }
            _ => None,
        }
    }

    /// A dispatch of event `t` with payload `d`.
    pub fn new(t: &'static str, d: DispatchData) -> Self {
        Self {
            t,
            d,
            json: OnceLock::new(),
            msgpack: OnceLock::new(),
            without_content: OnceLock::new(),
        }
    }

    /// This dispatch with a message's `content` emptied (any other payload
    /// as it is).
    pub fn without_content(&self) -> Arc<Dispatch> {
        let made = self.without_content.get_or_init(|| {
            let mut d = self.d.clone();
            if let DispatchData::Message(m) = &mut d {
                m.content.clear();
            }
            Arc::new(Dispatch::new(self.t, d))
        });
        made.clone()
    }

    /// Event name.
    pub fn name(&self) -> &'static str {
        self.t
    }

    /// Payload.
    pub fn data(&self) -> &DispatchData {
        &self.d
    }

    /// Appends the whole frame for sequence number `seq` to `out`.
    pub fn write_frame(&self, enc: Encoding, seq: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(self.prefix(enc));
        match enc {
            Encoding::Json => {
                use std::io::Write as _;
                write!(out, "{seq}}}").expect("writing to a Vec cannot fail");
            }
            Encoding::MsgPack => {
                rmp::encode::write_uint(out, seq).expect("writing to a Vec cannot fail");
            }
        }
    }

    fn prefix(&self, enc: Encoding) -> &[u8] {
        match enc {
            Encoding::Json => self.json.get_or_init(|| {
                let mut out = br#"{"op":0,"t":"#.to_vec();
                serde_json::to_writer(&mut out, self.t).expect("json");
                out.extend_from_slice(br#","d":"#);
                serde_json::to_writer(&mut out, &self.d).expect("json");
                out.extend_from_slice(br#","s":"#);
                out
            }),
            Encoding::MsgPack => self.msgpack.get_or_init(|| {
                let mut out = Vec::with_capacity(128);
                rmp::encode::write_map_len(&mut out, 4).expect("vec");
                rmp::encode::write_str(&mut out, "op").expect("vec");
                rmp::encode::write_uint(&mut out, 0).expect("vec");
                rmp::encode::write_str(&mut out, "t").expect("vec");
                rmp::encode::write_str(&mut out, self.t).expect("vec");
                rmp::encode::write_str(&mut out, "d").expect("vec");
                rmp_serde::encode::write_named(&mut out, &self.d).expect("msgpack");
                rmp::encode::write_str(&mut out, "s").expect("vec");
                out
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{Hello, Identify, Send};
    use crate::model::User;
    use crate::{ChannelId, GuildId, MessageId, UserId};

    #[test]
    fn the_client_ops_are_exactly_those_the_decoder_takes() {
        for enc in [Encoding::Json, Encoding::MsgPack] {
            for op in 0..=u8::MAX {
                let frame = encode(enc, op, &serde_json::json!({}));
                let unknown = matches!(decode_client(enc, &frame), Err(CodecError::UnknownOp(_)));
                assert_eq!(!unknown, op::CLIENT_OPS.contains(&op), "op {op} ({enc:?})");
            }
        }
    }

    fn message() -> Message {
        let author = User {
            id: UserId(9),
            username: "ada".into(),
        };
        Message {
            nonce: Some("n1".into()),
            mentions: vec![author.clone()],
            ..Message::new(
                MessageId(1 << 40),
                (GuildId(3), ChannelId(7)),
                author,
                "hello ✓".into(),
            )
        }
    }

    #[test]
    fn client_frames_round_trip_in_both_encodings() {
        for enc in [Encoding::Json, Encoding::MsgPack] {
            let send = Send {
                channel_id: ChannelId(u64::MAX - 1),
                nonce: "abc".into(),
                content: "hi".into(),
                message_reference: Some(crate::rest::ReplyTo {
                    message_id: MessageId(5),
                    channel_id: None,
                    guild_id: None,
                    fail_if_not_exists: false,
                    kind: 0,
                }),
                allowed_mentions: None,
            };
            match decode_client(enc, &encode(enc, op::SEND, &send)).unwrap() {
                ClientFrame::Send(s) => {
                    assert_eq!(s.channel_id, send.channel_id);
                    assert_eq!((s.nonce.as_str(), s.content.as_str()), ("abc", "hi"));
                    let reply = s.message_reference.expect("the reply survives");
                    assert_eq!(
                        (reply.message_id, reply.fail_if_not_exists),
                        (MessageId(5), false)
                    );
                }
                other => panic!("{other:?}"),
            }
            let ident = Identify {
                token: "t".into(),
                last_message_ids: Default::default(),
                presence: None,
                intents: None,
            };
            assert!(
                matches!(decode_client(enc, &encode(enc, op::IDENTIFY, &ident)).unwrap(),
                ClientFrame::Identify(i) if i.token == "t")
            );
            assert!(matches!(
                decode_client(enc, &encode(enc, op::HEARTBEAT, &Some(5u64))).unwrap(),
                ClientFrame::Heartbeat(Some(5))
            ));
        }
    }

    #[test]
    fn heartbeat_with_null_or_missing_d_is_accepted() {
        assert!(matches!(
            decode_client(Encoding::Json, br#"{"op":1,"d":null}"#).unwrap(),
            ClientFrame::Heartbeat(None)
        ));
        assert!(matches!(
            decode_client(Encoding::Json, br#"{"op":1}"#).unwrap(),
            ClientFrame::Heartbeat(None)
        ));
    }

    #[test]
    fn bad_frames_are_told_apart() {
        let e = Encoding::Json;
        assert!(matches!(
            decode_client(e, b"{not json"),
            Err(CodecError::Malformed(_))
        ));
        assert!(matches!(
            decode_client(e, br#"{"op":99,"d":{}}"#),
            Err(CodecError::UnknownOp(99))
        ));
        assert!(matches!(
            decode_client(e, br#"{"op":20,"d":{"nonce":"x"}}"#),
            Err(CodecError::Malformed(_))
        ));
        assert!(matches!(
            decode_client(Encoding::MsgPack, &[0xc1]),
            Err(CodecError::Malformed(_))
        ));
        assert!(matches!(
            "xml".parse::<Encoding>(),
            Err(CodecError::UnknownEncoding(_))
        ));
    }

    #[test]
    fn dispatch_prefix_plus_seq_is_a_valid_frame_in_both_encodings() {
        let d = Dispatch::new("MESSAGE_CREATE", DispatchData::Message(message()));
        for enc in [Encoding::Json, Encoding::MsgPack] {
            for seq in [1u64, 300, u64::MAX] {
                let mut buf = Vec::new();
                d.write_frame(enc, seq, &mut buf);
                let h = decode_header(enc, &buf).unwrap();
                assert_eq!(
                    (h.op, h.s, h.t.as_deref()),
                    (op::DISPATCH, Some(seq), Some("MESSAGE_CREATE"))
                );
                assert_eq!(decode_d::<Message>(enc, &buf).unwrap(), message());
                // Equal to the frame encoded the plain way.
                assert_eq!(
                    decode_d::<Message>(
                        enc,
                        &encode_dispatch(enc, "MESSAGE_CREATE", seq, &message())
                    )
                    .unwrap(),
                    message()
                );
            }
        }
    }

    #[test]
    fn json_ids_are_strings_and_msgpack_fields_are_named() {
        let json = String::from_utf8(encode(Encoding::Json, op::DISPATCH, &message())).unwrap();
        assert!(
            json.contains(&format!("\"id\":\"{}\"", 1u64 << 40)),
            "{json}"
        );
        let mp = encode(
            Encoding::MsgPack,
            op::HELLO,
            &Hello {
                heartbeat_interval: 5,
            },
        );
        let v: serde_json::Value = rmp_serde::from_slice(&mp).unwrap();
        assert_eq!(v["d"]["heartbeat_interval"], 5);
        assert_eq!(v["op"], 10);
    }
}
