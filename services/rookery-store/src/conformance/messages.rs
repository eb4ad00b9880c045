//! Checks of what hangs off a message: replies and mentions, pins and
//! reactions.

use super::{fresh, message, user};
use crate::{Mutation, Reaction, Store};
use rookery_proto::RoleId;
use rookery_proto::model::{MESSAGE_REPLY, Message, MessageReference};
use rookery_proto::{MessageId, UserId};

/// A reply's reference and its mentions come back as they were stored, and
/// an edit keeps them.
pub async fn replies_and_mentions_round_trip(store: &dyn Store, _bucket_ms: u64) {
    let channel = fresh();
    let (author, other) = (user("replier"), user("mentioned"));
    let first = message(channel, fresh(), &other, None);
    let mut reply = message(channel, fresh(), &author, None);
    reply.kind = MESSAGE_REPLY;
    reply.message_reference = Some(MessageReference {
        message_id: first.id,
        channel_id: channel,
        guild_id: first.guild_id,
    });
    reply.mentions = vec![other.clone()];
    reply.mention_roles = vec![RoleId(7), RoleId(9)];
    reply.mention_everyone = true;
    let batch = vec![Mutation::Message(first), Mutation::Message(reply.clone())];
    store.apply(batch).await.unwrap();
    assert_eq!(
        store.message(channel, reply.id).await.unwrap(),
        Some(reply.clone())
    );

    let edit = Message {
        content: "changed".into(),
        edited_timestamp: Some(reply.id.timestamp()),
        mentions: Vec::new(),
        ..reply.clone()
    };
    store
        .apply(vec![Mutation::MessageEdit(edit)])
        .await
        .unwrap();
    let stored = store.message(channel, reply.id).await.unwrap().unwrap();
    assert_eq!(stored.content, "changed");
    assert_eq!(stored.mentions, vec![other], "an edit keeps the mentions");
    assert_eq!(stored.message_reference, reply.message_reference);
    assert!(store.message(channel, fresh()).await.unwrap().is_none());
}

/// Pins list newest first and mark the message; an edit keeps the pin; a
/// pin of a deleted message writes nothing; a delete takes the pin along.
pub async fn pins_survive_edits_and_go_with_deletes(store: &dyn Store, _bucket_ms: u64) {
    let channel = fresh();
    let author = user("pinner");
    let [a, b, gone] = [fresh(), fresh(), fresh()].map(|id| message(channel, id, &author, None));
    let pin = |m: &Message, pinned| Mutation::Pin {
        channel_id: channel,
        message_id: m.id,
        pinned,
    };
    let pinned_ids = async || -> Vec<MessageId> {
        let pins = store.pins(channel).await.unwrap();
        assert!(pins.iter().all(|m| m.pinned), "{pins:?}");
        pins.into_iter().map(|m| m.id).collect()
    };
    // In one batch: a pin sees the message written just before it.
    store
        .apply(vec![Mutation::Message(a.clone()), pin(&a, true)])
        .await
        .unwrap();
    store
        .apply(vec![
            Mutation::Message(b.clone()),
            pin(&b, true),
            pin(&gone, true),
        ])
        .await
        .unwrap();
    assert_eq!(pinned_ids().await, vec![b.id, a.id]);

    let edit = Message {
        content: "edited".into(),
        ..a.clone()
    };
    store
        .apply(vec![Mutation::MessageEdit(edit)])
        .await
        .unwrap();
    assert!(store.message(channel, a.id).await.unwrap().unwrap().pinned);

    store.apply(vec![pin(&a, false)]).await.unwrap();
    assert_eq!(pinned_ids().await, vec![b.id]);
    assert!(!store.message(channel, a.id).await.unwrap().unwrap().pinned);

    let delete = Mutation::MessageDelete {
        channel_id: channel,
        message_id: b.id,
    };
    store.apply(vec![delete, pin(&b, true)]).await.unwrap();
    assert_eq!(pinned_ids().await, Vec::<MessageId>::new());
}

/// Reactions list by emoji in user order, pages with `after`, keep emoji
/// that share a prefix apart, and are removed with their message; none is
/// stored for a message that is gone.
pub async fn reactions_list_by_emoji_and_go_with_deletes(store: &dyn Store, _bucket_ms: u64) {
    let channel = fresh();
    let author = user("reactor");
    let [a, b] = [fresh(), fresh()].map(|id| message(channel, id, &author, None));
    let react = |m: &Message, emoji: &str, user: u64, add| {
        Mutation::Reaction(Reaction {
            channel_id: channel,
            message_id: m.id,
            emoji: emoji.into(),
            user_id: UserId(user),
            add,
        })
    };
    let list = async |m: &Message, emoji: &str, after: u64, limit| {
        let users = store.reactions(channel, m.id, emoji, UserId(after), limit);
        users
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.0)
            .collect::<Vec<_>>()
    };
    store
        .apply(vec![
            Mutation::Message(a.clone()),
            react(&a, "👍", 9, true),
            react(&a, "👍", 3, true),
            react(&a, "👍🏽", 7, true),
            react(&a, "👍", 5, true),
            react(&a, "👍", 5, true),
        ])
        .await
        .unwrap();
    assert_eq!(list(&a, "👍", 0, 100).await, vec![3, 5, 9]);
    assert_eq!(list(&a, "👍", 3, 1).await, vec![5]);
    assert_eq!(list(&a, "👍🏽", 0, 100).await, vec![7]);
    assert_eq!(list(&a, "🎉", 0, 100).await, Vec::<u64>::new());

    store.apply(vec![react(&a, "👍", 5, false)]).await.unwrap();
    assert_eq!(list(&a, "👍", 0, 100).await, vec![3, 9]);

    let delete = |m: &Message| Mutation::MessageDelete {
        channel_id: channel,
        message_id: m.id,
    };
    store
        .apply(vec![delete(&a), react(&a, "👍", 4, true)])
        .await
        .unwrap();
    assert_eq!(list(&a, "👍", 0, 100).await, Vec::<u64>::new());
    assert_eq!(list(&a, "👍🏽", 0, 100).await, Vec::<u64>::new());

    // Added and deleted in one batch: nothing is left behind.
    store
        .apply(vec![
            Mutation::Message(b.clone()),
            react(&b, "🎉", 1, true),
            delete(&b),
        ])
        .await
        .unwrap();
    assert_eq!(list(&b, "🎉", 0, 100).await, Vec::<u64>::new());
}

/// Read states are per user and channel, listed by channel, and the last
/// ack wins (a user may mark a channel unread again).
pub async fn read_states_are_per_user_and_the_last_ack_wins(store: &dyn Store, _bucket_ms: u64) {
    let (reader, other) = (fresh(), fresh());
    let (c1, c2) = (fresh(), fresh());
    let ack = |user, channel, message: u64| Mutation::ReadState {
        user_id: user,
        channel_id: channel,
        last_message_id: MessageId(message),
    };
    store
        .apply(vec![
            ack(reader, c2, 50),
            ack(reader, c1, 10),
            ack(other, c1, 99),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.read_states(reader).await.unwrap(),
        vec![(c1, MessageId(10)), (c2, MessageId(50))]
    );
    store.apply(vec![ack(reader, c2, 20)]).await.unwrap();
    assert_eq!(
        store.read_states(reader).await.unwrap(),
        vec![(c1, MessageId(10)), (c2, MessageId(20))]
    );
    assert_eq!(
        store.read_states(other).await.unwrap(),
        vec![(c1, MessageId(99))]
    );
    assert!(store.read_states(fresh()).await.unwrap().is_empty());
}
