//! History checks: pages walk time buckets in both directions, centre on
//! an id, and clamp their limit.

use super::{fresh, message, user};
use crate::{Cursor, Mutation, Store};
use rookery_proto::model::Message;
use rookery_proto::{ChannelId, Id, MessageId};

/// 30 messages spread over buckets 0, 1, 3 and 4 (bucket 2 left empty),
/// oldest first.
async fn seed_history(store: &dyn Store, bucket_ms: u64) -> (ChannelId, Vec<MessageId>) {
    let channel = fresh();
    let author = user("hist");
    let base = rookery_proto::id::EPOCH_MS + 1_000 * bucket_ms;
    let mut ids = Vec::new();
    for (i, bucket) in [0u64, 1, 3, 4]
        .into_iter()
        .flat_map(|b| std::iter::repeat_n(b, 8))
        .take(30)
        .enumerate()
    {
        let t = base + bucket * bucket_ms + (i as u64 % 8) * (bucket_ms / 10);
        ids.push(MessageId(Id::floor_of_ms(t).0 + i as u64));
    }
    let batch = ids
        .iter()
        .map(|&id| Mutation::Message(message(channel, id, &author, None)))
        .collect();
    store.apply(batch).await.expect("apply history");
    (channel, ids)
}

fn ids_of(page: &[Message]) -> Vec<MessageId> {
    page.iter().map(|m| m.id).collect()
}

/// Latest/Before walk every bucket newest first and skip the empty one.
pub async fn history_walks_buckets_newest_first(store: &dyn Store, bucket_ms: u64) {
    let (channel, ids) = seed_history(store, bucket_ms).await;
    let newest: Vec<MessageId> = ids.iter().rev().copied().collect();
    let first = store.messages(channel, Cursor::Latest, 7).await.unwrap();
    assert_eq!(ids_of(&first), newest[..7]);
    let mut walked = ids_of(&first);
    loop {
        let before = *walked.last().unwrap();
        let page = store
            .messages(channel, Cursor::Before(before), 7)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        walked.extend(ids_of(&page));
    }
    assert_eq!(
        walked, newest,
        "paging with before= returns every message once, newest first"
    );
}

/// After walks oldest first; Around centres on the id.
pub async fn history_after_and_around(store: &dyn Store, bucket_ms: u64) {
    let (channel, ids) = seed_history(store, bucket_ms).await;
    let after = store
        .messages(channel, Cursor::After(ids[5]), 10)
        .await
        .unwrap();
    assert_eq!(ids_of(&after), ids[6..16]);
    let after_all = store
        .messages(channel, Cursor::After(MessageId(0)), 100)
        .await
        .unwrap();
    assert_eq!(ids_of(&after_all), ids);
    let around = store
        .messages(channel, Cursor::Around(ids[15]), 6)
        .await
        .unwrap();
    let expected: Vec<MessageId> = ids[12..=18]
        .iter()
        .rev()
        .copied()
        .filter(|&i| i != ids[12])
        .collect();
    assert_eq!(
        ids_of(&around),
        expected,
        "3 newer + the id + 2 older, newest first"
    );
    assert!(
        store
            .messages(channel, Cursor::Before(ids[0]), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .messages(channel, Cursor::After(ids[29]), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .messages(fresh(), Cursor::Latest, 10)
            .await
            .unwrap()
            .is_empty(),
        "unknown channel"
    );
}

/// Limits are clamped to 1..=100.
pub async fn history_limit_is_clamped(store: &dyn Store, _bucket_ms: u64) {
    let channel = fresh();
    let author = user("many");
    let batch = (0..120)
        .map(|_| Mutation::Message(message(channel, fresh(), &author, None)))
        .collect();
    store.apply(batch).await.unwrap();
    assert_eq!(
        store
            .messages(channel, Cursor::Latest, 0)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .messages(channel, Cursor::Latest, 1000)
            .await
            .unwrap()
            .len(),
        100
    );
}
