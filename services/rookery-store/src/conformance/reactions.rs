//! Checks of reaction counts: exact under duplicate and replayed events,
//! the same on one message and in history, and indexed by reader.

use super::{fresh, message, user};
use crate::{Cursor, Mutation, Reaction, Store};
use rookery_proto::MessageId;
use rookery_proto::UserId;
use rookery_proto::model::Message;

fn counts(m: &Message) -> Vec<(String, u32)> {
    let pairs = m.reactions.iter().map(|r| (r.emoji.name.clone(), r.count));
    pairs.collect()
}

fn pairs(v: &[(&str, u32)]) -> Vec<(String, u32)> {
    v.iter().map(|&(e, n)| (e.to_owned(), n)).collect()
}

/// Counts move only when a reaction appears or goes: a duplicate add, a
/// removal of what is not there and a replayed batch (its message
/// included) leave them as they were; history carries the same counts as
/// the message; each reader's reactions are listed by message, and go
/// with a deleted message.
pub async fn reaction_counts_stay_exact(store: &dyn Store, _bucket_ms: u64) {
    let channel = fresh();
    let author = user("counted");
    let [a, b] = [fresh(), fresh()].map(|id| message(channel, id, &author, None));
    let (u1, u2) = (fresh(), fresh());
    let react = |m: &Message, emoji: &str, user_id, add| {
        Mutation::Reaction(Reaction {
            channel_id: channel,
            message_id: m.id,
            emoji: emoji.into(),
            user_id,
            add,
        })
    };
    let counts_of =
        async |m: &Message| counts(&store.message(channel, m.id).await.unwrap().unwrap());
    let first = vec![
        Mutation::Message(a.clone()),
        Mutation::Message(b.clone()),
        react(&a, "👍", u1, true),
        react(&a, "👍", u2, true),
        react(&a, "🎉", u1, true),
        react(&a, "👍", u1, true),
        react(&b, "👍", u2, true),
    ];
    store.apply(first.clone()).await.unwrap();
    assert_eq!(counts_of(&a).await, pairs(&[("🎉", 1), ("👍", 2)]));
    assert_eq!(counts_of(&b).await, pairs(&[("👍", 1)]));
    store.apply(first).await.unwrap();
    assert_eq!(
        counts_of(&a).await,
        pairs(&[("🎉", 1), ("👍", 2)]),
        "replayed"
    );

    store
        .apply(vec![
            react(&a, "👍", u2, false),
            react(&a, "👍", u2, false),
            react(&a, "🎉", u2, false),
        ])
        .await
        .unwrap();
    assert_eq!(counts_of(&a).await, pairs(&[("🎉", 1), ("👍", 1)]));
    let page = store.messages(channel, Cursor::Latest, 10).await.unwrap();
    let from_page: Vec<_> = page.iter().map(counts).collect();
    assert_eq!(from_page, [counts_of(&b).await, counts_of(&a).await]);
    assert!(page.iter().flat_map(|m| &m.reactions).all(|r| !r.me));

    let mine = async |user, first: &Message, last: &Message| {
        let found = store.user_reactions(channel, user, (first.id, last.id));
        found.await.unwrap()
    };
    let own = |v: &[(MessageId, &str)]| {
        v.iter()
            .map(|&(m, e)| (m, e.to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(mine(u1, &a, &b).await, own(&[(a.id, "🎉"), (a.id, "👍")]));
    assert_eq!(mine(u2, &a, &b).await, own(&[(b.id, "👍")]));
    assert_eq!(mine(u2, &a, &a).await, own(&[]));
    assert_eq!(mine(u1, &b, &b).await, own(&[]));

    let delete = Mutation::MessageDelete {
        channel_id: channel,
        message_id: a.id,
    };
    store
        .apply(vec![delete, react(&a, "👍", u2, true)])
        .await
        .unwrap();
    assert_eq!(mine(u1, &a, &b).await, own(&[]), "gone with the message");
    assert_eq!(mine(u2, &a, &b).await, own(&[(b.id, "👍")]));
    assert!(store.message(channel, a.id).await.unwrap().is_none());
}

/// Clearing one emoji takes its reactions, its count and its readers'
/// index rows and leaves the others; clearing all takes the rest; a
/// reaction after the clear counts from zero; a clear of a deleted message
/// writes nothing.
pub async fn reactions_clear_all_or_one_emoji(store: &dyn Store, _bucket_ms: u64) {
    let channel = fresh();
    let author = user("cleared");
    let m = message(channel, fresh(), &author, None);
    let (u1, u2) = (fresh(), fresh());
    let react = |emoji: &str, user_id| {
        Mutation::Reaction(Reaction {
            channel_id: channel,
            message_id: m.id,
            emoji: emoji.into(),
            user_id,
            add: true,
        })
    };
    let clear = |emoji: Option<&str>| Mutation::ReactionsClear {
        channel_id: channel,
        message_id: m.id,
        emoji: emoji.map(str::to_owned),
    };
    let counts_of = async || counts(&store.message(channel, m.id).await.unwrap().unwrap());
    let mine = async |user| {
        store
            .user_reactions(channel, user, (m.id, m.id))
            .await
            .unwrap()
    };
    let who = async |emoji| {
        store
            .reactions(channel, m.id, emoji, UserId(0), 10)
            .await
            .unwrap()
    };
    store
        .apply(vec![
            Mutation::Message(m.clone()),
            react("👍", u1),
            react("👍", u2),
            react("🎉", u1),
        ])
        .await
        .unwrap();
    // In the batch that added them, too: the clear sees them.
    store
        .apply(vec![react("🔥", u2), clear(Some("👍"))])
        .await
        .unwrap();
    assert_eq!(counts_of().await, pairs(&[("🎉", 1), ("🔥", 1)]));
    assert!(who("👍").await.is_empty());
    assert_eq!(who("🎉").await, vec![u1]);
    assert_eq!(mine(u1).await, vec![(m.id, "🎉".to_owned())]);
    assert_eq!(mine(u2).await, vec![(m.id, "🔥".to_owned())]);

    store.apply(vec![clear(None)]).await.unwrap();
    assert_eq!(counts_of().await, pairs(&[]));
    assert!(who("🎉").await.is_empty() && who("🔥").await.is_empty());
    assert!(mine(u1).await.is_empty() && mine(u2).await.is_empty());

    store.apply(vec![react("👍", u2)]).await.unwrap();
    assert_eq!(counts_of().await, pairs(&[("👍", 1)]), "counted from zero");

    let delete = Mutation::MessageDelete {
        channel_id: channel,
        message_id: m.id,
    };
    store.apply(vec![delete, clear(None)]).await.unwrap();
    assert!(store.message(channel, m.id).await.unwrap().is_none());
}
