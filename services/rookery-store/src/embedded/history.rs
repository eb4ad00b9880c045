//! Keyset pagination over `(channel, bucket)` partitions, walking the
//! channel's non-empty buckets (from `channel_buckets`) so empty time ranges
//! cost nothing — the same walk the ScyllaDB store does.

use super::{EmbeddedStore, backend, decode, keys};
use crate::{Cursor, StoreError};
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::MessageId;
use rookery_proto::model::Message;
use std::ops::Bound::{Excluded, Included};

pub(super) fn page(
    s: &EmbeddedStore,
    channel: ChannelId,
    cursor: Cursor,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    match cursor {
        Cursor::Latest => older_than(s, channel, None, limit),
        Cursor::Before(id) => older_than(s, channel, Some(id), limit),
        Cursor::After(id) => newer_than(s, channel, id, limit),
        Cursor::Around(id) => {
            let newer = newer_than(s, channel, id, limit / 2)?;
            let older = older_than(
                s,
                channel,
                Some(MessageId(id.0.saturating_add(1))),
                limit - newer.len(),
            )?;
            Ok(newer.into_iter().rev().chain(older).collect())
        }
    }
}

/// Messages with ids below `upper` (all when `None`), newest first.
fn older_than(
    s: &EmbeddedStore,
    channel: ChannelId,
    upper: Option<MessageId>,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let t = &s.0.t;
    let top = match upper {
        Some(MessageId(0)) => return Ok(Vec::new()),
        Some(u) => Id(u.0 - 1).bucket(s.0.bucket_ms),
        None => u32::MAX,
    };
    let mut out = Vec::with_capacity(limit.min(100));
    let buckets = t
        .channel_buckets
        .range(keys::bucket(channel, 0)..=keys::bucket(channel, top));
    for bucket in buckets.rev() {
        let b = bucket_of(bucket)?;
        let lo = keys::message(channel, b, MessageId(0));
        let hi = match upper {
            Some(u) => Excluded(keys::message(channel, b, u)),
            None => Included(keys::message(channel, b, MessageId(u64::MAX))),
        };
        for row in t.messages.range((Included(lo), hi)).rev() {
            if out.len() == limit {
                return Ok(out);
            }
            out.push(decode("messages", &row.value().map_err(backend)?)?);
        }
    }
    Ok(out)
}

/// Messages with ids above `lower`, oldest first.
fn newer_than(
    s: &EmbeddedStore,
    channel: ChannelId,
    lower: MessageId,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let t = &s.0.t;
    let mut out = Vec::with_capacity(limit.min(100));
    if limit == 0 {
        return Ok(out);
    }
    let start = lower.bucket(s.0.bucket_ms);
    let buckets = t
        .channel_buckets
        .range(keys::bucket(channel, start)..=keys::bucket(channel, u32::MAX));
    for bucket in buckets {
        let b = bucket_of(bucket)?;
        let lo = Excluded(keys::message(channel, b, lower));
        let hi = Included(keys::message(channel, b, MessageId(u64::MAX)));
        for row in t.messages.range((lo, hi)) {
            out.push(decode("messages", &row.value().map_err(backend)?)?);
            if out.len() == limit {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

fn bucket_of(guard: fjall::Guard) -> Result<u32, StoreError> {
    let key = guard.key().map_err(backend)?;
    keys::trailing_bucket(&key).ok_or(StoreError::Corrupt {
        table: "channel_buckets",
        detail: "short key".into(),
    })
}
