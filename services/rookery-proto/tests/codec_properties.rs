//! Round trips through every codec, over generated values: what the server
//! encodes a client decodes to the same thing in both gateway encodings,
//! what a client sends the server decodes as sent, and a bus record reads
//! back as written. Ids span the whole snowflake range (JSON carries them
//! as strings, MessagePack as integers) and text spans all of Unicode.

use proptest::prelude::*;
use rookery_proto::GuildId;
use rookery_proto::Id;
use rookery_proto::codec::{self, Dispatch, DispatchData, Encoding};
use rookery_proto::event::{Envelope, Event, SCHEMA_VERSION, TokensRevoked, TypingStart};
use rookery_proto::gateway::{self as gw, ClientFrame, event_name as ev, op};
use rookery_proto::model::{Message, User};

fn id<T: From<Id> + std::fmt::Debug>() -> impl Strategy<Value = T> {
    // Snowflakes fit 63 bits; 0 means "none" where an id is optional.
    (1..=i64::MAX as u64).prop_map(|n| T::from(Id(n)))
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![Just(Encoding::Json), Just(Encoding::MsgPack)]
}

fn message() -> impl Strategy<Value = Message> {
    let user = (id(), "\\PC{1,32}").prop_map(|(id, username)| User { id, username });
    // A DM's messages have no guild (0, left out on the wire).
    let guild = prop_oneof![Just(GuildId(0)), id()];
    (
        id(),
        guild,
        id(),
        user,
        any::<String>(),
        any::<bool>(),
        proptest::collection::vec(id(), 0..4),
    )
        .prop_map(|(msg, guild, channel, author, content, everyone, roles)| {
            let mut m = Message::new(msg, (guild, channel), author, content);
            m.mention_everyone = everyone;
            m.mention_roles = roles;
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn a_dispatched_message_decodes_to_itself(m in message(), enc in encoding(), seq in 1u64..u64::MAX / 2) {
        let d = Dispatch::new(ev::MESSAGE_CREATE, DispatchData::Message(m.clone()));
        let mut frame = Vec::new();
        d.write_frame(enc, seq, &mut frame);
        let header = codec::decode_header(enc, &frame).unwrap();
        prop_assert_eq!((header.op, header.s, header.t.as_deref()), (op::DISPATCH, Some(seq), Some(ev::MESSAGE_CREATE)));
        prop_assert_eq!(codec::decode_d::<Message>(enc, &frame).unwrap(), m);
    }

    #[test]
    fn a_client_send_decodes_as_sent(channel in id(), nonce in "\\PC{0,64}", content in any::<String>(), enc in encoding()) {
        let send = gw::Send { channel_id: channel, nonce: nonce.clone(), content: content.clone(), ..Default::default() };
        let frame = codec::encode(enc, op::SEND, &send);
        match codec::decode_client(enc, &frame).unwrap() {
            ClientFrame::Send(got) => {
                prop_assert_eq!((got.channel_id, got.nonce, got.content), (channel, nonce, content));
            }
            other => prop_assert!(false, "decoded as {:?}", other),
        }
    }

    #[test]
    fn a_heartbeat_decodes_with_its_seq(seq in proptest::option::of(any::<u64>()), enc in encoding()) {
        let frame = codec::encode(enc, op::HEARTBEAT, &seq);
        match codec::decode_client(enc, &frame).unwrap() {
            ClientFrame::Heartbeat(got) => prop_assert_eq!(got, seq),
            other => prop_assert!(false, "decoded as {:?}", other),
        }
    }

    #[test]
    fn a_bus_record_reads_back_as_written(m in message(), user in id(), generation in any::<u64>(), ts in any::<u64>(), pick in 0..3u8) {
        let event = match pick {
            0 => Event::MessageCreate(m),
            1 => Event::TokensRevoked(TokensRevoked { user_id: user, generation, password_changed: generation % 2 == 0 }),
            _ => Event::TypingStart(TypingStart { channel_id: m.channel_id, guild_id: m.guild_id, user_id: user, timestamp: ts }),
        };
        let env = Envelope { v: SCHEMA_VERSION, id: Id::from(user), ts, origin: (ts % 1024) as u16, event, audit: None };
        prop_assert_eq!(Envelope::from_bytes(&env.to_bytes()).unwrap(), env);
    }

    /// Whatever bytes arrive, decoding answers (an error, never a panic).
    #[test]
    fn arbitrary_bytes_never_panic_the_client_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256), enc in encoding()) {
        let _ = codec::decode_client(enc, &bytes);
    }
}
