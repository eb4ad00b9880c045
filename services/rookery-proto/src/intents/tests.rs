//! The intent table and MESSAGE_CONTENT's exceptions.

use super::*;
use crate::codec::Dispatch;
use crate::event::{ReactionChange, ReactionsRemoved, TypingStart};
use crate::gateway::event_name as ev;
use crate::model::{Message, User};
use crate::{ChannelId, GuildId, MessageId, UserId};
use std::sync::Arc;

const VIEWER: UserId = UserId(70);

fn user(id: u64) -> User {
    User {
        id: UserId(id),
        username: format!("u{id}"),
    }
}

fn message(guild: GuildId, author: u64) -> Dispatch {
    let m = Message::new(
        MessageId(9),
        (guild, ChannelId(3)),
        user(author),
        "secret".into(),
    );
    Dispatch::new(ev::MESSAGE_CREATE, DispatchData::Message(m))
}

#[test]
fn no_intents_given_means_everything_whole() {
    for d in [message(GuildId(2), 1), message(GuildId::NONE, 1)] {
        assert_eq!(Intents::ALL.admit(&d, VIEWER), Admit::Whole);
    }
}

#[test]
fn guild_messages_need_their_intent_and_dms_theirs() {
    let guild = message(GuildId(2), 1);
    let dm = message(GuildId::NONE, 1);
    let only_dms = Intents(bit::DIRECT_MESSAGES | bit::MESSAGE_CONTENT);
    assert_eq!(only_dms.admit(&guild, VIEWER), Admit::Skip);
    assert_eq!(only_dms.admit(&dm, VIEWER), Admit::Whole);
    let only_guilds = Intents(bit::GUILD_MESSAGES | bit::MESSAGE_CONTENT);
    assert_eq!(only_guilds.admit(&guild, VIEWER), Admit::Whole);
    assert_eq!(only_guilds.admit(&dm, VIEWER), Admit::Skip);
}

#[test]
fn without_message_content_others_guild_messages_lose_their_text() {
    let intents = Intents(bit::GUILD_MESSAGES | bit::DIRECT_MESSAGES);
    let others = message(GuildId(2), 1);
    assert_eq!(intents.admit(&others, VIEWER), Admit::WithoutContent);
    let DispatchData::Message(m) = others.without_content().data().clone() else {
        panic!("a message");
    };
    assert_eq!((m.content.as_str(), m.id), ("", MessageId(9)));
    assert!(
        Arc::ptr_eq(&others.without_content(), &others.without_content()),
        "made once"
    );
    // Its own messages, those that mention it, and DMs keep their text.
    assert_eq!(
        intents.admit(&message(GuildId(2), VIEWER.0), VIEWER),
        Admit::Whole
    );
    assert_eq!(
        intents.admit(&message(GuildId::NONE, 1), VIEWER),
        Admit::Whole
    );
    let mut mentioned = Message::new(
        MessageId(9),
        (GuildId(2), ChannelId(3)),
        user(1),
        "hi @u70".into(),
    );
    mentioned.mentions.push(user(VIEWER.0));
    let mentioned = Dispatch::new(ev::MESSAGE_CREATE, DispatchData::Message(mentioned));
    assert_eq!(intents.admit(&mentioned, VIEWER), Admit::Whole);
}

#[test]
fn reactions_and_typing_follow_their_own_bits() {
    let reaction = Dispatch::new(
        ev::MESSAGE_REACTION_ADD,
        DispatchData::Reaction(ReactionChange {
            user_id: UserId(1),
            channel_id: ChannelId(3),
            message_id: MessageId(9),
            guild_id: GuildId(2),
            emoji: crate::event::Emoji {
                id: None,
                name: "👍".into(),
            },
            kind: 0,
            burst: false,
        }),
    );
    let typing = Dispatch::new(
        ev::TYPING_START,
        DispatchData::Typing(TypingStart {
            channel_id: ChannelId(3),
            guild_id: GuildId(2),
            user_id: UserId(1),
            timestamp: 1,
        }),
    );
    let cleared = Dispatch::new(
        ev::MESSAGE_REACTION_REMOVE_ALL,
        DispatchData::ReactionsRemoved(ReactionsRemoved {
            channel_id: ChannelId(3),
            message_id: MessageId(9),
            guild_id: GuildId(2),
            emoji: None,
        }),
    );
    let messages = Intents(bit::GUILD_MESSAGES);
    assert_eq!(messages.admit(&reaction, VIEWER), Admit::Skip);
    assert_eq!(messages.admit(&cleared, VIEWER), Admit::Skip);
    assert_eq!(messages.admit(&typing, VIEWER), Admit::Skip);
    let both = Intents(bit::GUILD_MESSAGE_REACTIONS | bit::GUILD_MESSAGE_TYPING);
    assert_eq!(both.admit(&reaction, VIEWER), Admit::Whole);
    assert_eq!(both.admit(&cleared, VIEWER), Admit::Whole);
    assert_eq!(both.admit(&typing, VIEWER), Admit::Whole);
}

#[test]
fn only_discords_bits_are_valid() {
    assert!(Intents(bit::GUILDS | bit::MESSAGE_CONTENT).valid());
    assert!(Intents::ALL.valid());
    assert!(!Intents(1 << 26).valid());
}
