//! The mention index: what `Store::mentions` finds, checked against a
//! brute-force reading of the history, over messages in several buckets,
//! mentions of every kind, edits and deletes.

use super::{fresh, message, user};
use crate::{Cursor, Mutation, Store};
use rookery_proto::Id;
use rookery_proto::MessageId;
use rookery_proto::model::{Message, User};
use rookery_proto::{ChannelId, RoleId, UserId};

/// What the history says: messages after `after` that mention `reader`
/// (holding `roles`), not their own.
async fn brute_force(
    store: &dyn Store,
    channel: ChannelId,
    reader: UserId,
    roles: &[RoleId],
    after: MessageId,
) -> Vec<MessageId> {
    let mut found = Vec::new();
    let mut cursor = Cursor::After(after);
    loop {
        let page = store.messages(channel, cursor, 100).await.unwrap();
        let mentioning = page
            .iter()
            .filter(|m| m.author.id != reader && m.mentions_user(reader, roles));
        found.extend(mentioning.map(|m| m.id));
        match page.last() {
            Some(last) if page.len() == 100 => cursor = Cursor::After(last.id),
            _ => return found,
        }
    }
}

/// Mentions are found by name, role and @everyone, once each, never the
/// reader's own, after the mark only, across buckets, through edits, and
/// not once the message is deleted.
pub async fn mentions_are_found_exactly_through_the_index(store: &dyn Store, bucket_ms: u64) {
    let channel = fresh();
    let (author, reader, other) = (user("loud"), user("reader"), user("other"));
    let (role, unheld) = (fresh(), fresh());
    let base = rookery_proto::id::EPOCH_MS + 2_000 * bucket_ms;
    let at = |bucket: u64, i: u64| MessageId(Id::floor_of_ms(base + bucket * bucket_ms).0 + i);
    let with =
        |id: MessageId, by: &User, named: &[&User], roles: &[RoleId], everyone: bool| Message {
            mentions: named.iter().map(|&u| u.clone()).collect(),
            mention_roles: roles.to_vec(),
            mention_everyone: everyone,
            ..message(channel, id, by, None)
        };
    let messages = [
        with(at(0, 1), &author, &[&reader], &[], false), // by name
        with(at(0, 2), &author, &[&other], &[], false),  // someone else
        with(at(0, 3), &author, &[], &[role], false),    // a held role
        with(at(1, 4), &author, &[], &[unheld], false),  // a role not held
        with(at(1, 5), &author, &[], &[], true),         // @everyone
        with(at(3, 6), &author, &[&reader], &[role], true), // every way: once
        with(at(3, 7), &reader, &[&reader], &[], true),  // the reader's own
        with(at(4, 8), &author, &[&reader], &[], false), // deleted below
        with(at(4, 9), &author, &[], &[], false),        // no mention
    ];
    let mut batch: Vec<Mutation> = messages.iter().cloned().map(Mutation::Message).collect();
    batch.push(Mutation::MessageDelete {
        channel_id: channel,
        message_id: at(4, 8),
    });
    let mut edited = messages[0].clone();
    edited.content = "edited".into();
    batch.push(Mutation::MessageEdit(edited));
    store.apply(batch).await.unwrap();

    let reader_id = reader.id;
    let found = |roles: Vec<RoleId>, after: MessageId| async move {
        let indexed = store.mentions(channel, reader_id, &roles, after, 100);
        let indexed = indexed.await.unwrap();
        (
            indexed,
            brute_force(store, channel, reader_id, &roles, after).await,
        )
    };
    let (indexed, brute) = found(vec![role], MessageId(0)).await;
    assert_eq!(indexed, brute, "index against history");
    assert_eq!(indexed, [at(0, 1), at(0, 3), at(1, 5), at(3, 6)]);
    let (indexed, brute) = found(vec![], MessageId(0)).await;
    assert_eq!(indexed, brute);
    assert_eq!(indexed, [at(0, 1), at(1, 5), at(3, 6)], "without the role");
    let (indexed, brute) = found(vec![role], at(1, 5)).await;
    assert_eq!(
        (&indexed, &indexed),
        (&brute, &vec![at(3, 6)]),
        "after the mark"
    );
    let roles = [role];
    let limited = store
        .mentions(channel, reader.id, &roles, MessageId(0), 2)
        .await
        .unwrap();
    assert_eq!(limited, [at(0, 1), at(0, 3)], "the oldest, at most `limit`");
    let author_sees = store
        .mentions(channel, author.id, &[], MessageId(0), 100)
        .await
        .unwrap();
    assert_eq!(
        author_sees,
        [at(3, 7)],
        "the reader's @everyone reaches the author"
    );
}
