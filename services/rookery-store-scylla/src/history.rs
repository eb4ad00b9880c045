//! Keyset pagination over `(channel, bucket)` partitions: list the channel's
//! non-empty buckets from `channel_buckets` in the walk's direction, then
//! read each bucket's partition from the cursor on, one page sized to what
//! is still missing, until the page is full. The embedded store walks the
//! same way (`rookery-store/src/embedded/history.rs`).

use crate::store::{Inner, id, key};
use futures_util::TryStreamExt;
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::MessageId;
use rookery_proto::id::format_timestamp;
use rookery_proto::model::{MESSAGE_DEFAULT, MESSAGE_REPLY, Message, MessageReference, User};
use rookery_store::{Cursor, StoreError};
use scylla::response::PagingState;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

use crate::session::backend;

/// A `messages` row as the reads select it. The creation's columns are
/// optional here although every message has them: a row holding only an
/// edit's or a reaction's columns (a write that outlived the message's
/// delete) must not make every page around it unreadable.
pub(crate) type Row = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<CqlTimestamp>,
    Option<i64>,
    Option<BTreeMap<i64, String>>,
    Option<Vec<i64>>,
    Option<bool>,
    Option<bool>,
    Option<Counts>,
    Option<i64>,
    Option<bool>,
);

/// A message's reaction counts as stored: emoji → users.
pub(crate) type Counts = BTreeMap<String, i32>;

pub(crate) async fn page(
    s: &Inner,
    channel: ChannelId,
    cursor: Cursor,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    match cursor {
        Cursor::Latest => older_than(s, channel, None, limit).await,
        Cursor::Before(id) => older_than(s, channel, Some(id), limit).await,
        Cursor::After(id) => newer_than(s, channel, id, limit).await,
        Cursor::Around(id) => {
            let newer = newer_than(s, channel, id, limit / 2).await?;
            let upper = Some(MessageId(id.0.saturating_add(1)));
            let older = older_than(s, channel, upper, limit - newer.len()).await?;
            Ok(newer.into_iter().rev().chain(older).collect())
        }
    }
}

/// A cursor id as a `bigint` bound: ids past 2^63 (no snowflake is) clamp,
/// so a huge `before` means "latest" instead of wrapping negative.
fn bound(id: MessageId) -> i64 {
    i64::try_from(id.0).unwrap_or(i64::MAX)
}

/// Messages with ids below `upper` (all when `None`), newest first.
async fn older_than(
    s: &Inner,
    channel: ChannelId,
    upper: Option<MessageId>,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let (top_bucket, below) = match upper {
        Some(MessageId(0)) => return Ok(Vec::new()),
        Some(u) => (i64::from(Id(u.0 - 1).bucket(s.bucket_ms)), bound(u)),
        None => (i64::MAX, i64::MAX),
    };
    let values = (key(channel), top_bucket);
    walk(
        s,
        channel,
        &s.s.buckets_down,
        values,
        &s.s.messages_before,
        below,
        limit,
    )
    .await
}

/// Messages with ids above `lower`, oldest first.
async fn newer_than(
    s: &Inner,
    channel: ChannelId,
    lower: MessageId,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    if limit == 0 || bound(lower) == i64::MAX {
        return Ok(Vec::new());
    }
    let values = (key(channel), i64::from(lower.bucket(s.bucket_ms)));
    let (buckets, messages) = (&s.s.buckets_up, &s.s.messages_after);
    walk(s, channel, buckets, values, messages, bound(lower), limit).await
}

/// Reads buckets in the order `buckets` lists them and, in each, messages
/// past `from` in the order `messages` returns them.
async fn walk(
    s: &Inner,
    channel: ChannelId,
    buckets: &PreparedStatement,
    bucket_values: (i64, i64),
    messages: &PreparedStatement,
    from: i64,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let mut out = Vec::with_capacity(limit);
    let mut listed = s
        .session
        .execute_iter(buckets.clone(), bucket_values)
        .await
        .map_err(backend)?
        .rows_stream::<(i64,)>()
        .map_err(backend)?;
    while out.len() < limit {
        let Some((bucket,)) = listed.try_next().await.map_err(backend)? else {
            break;
        };
        read_bucket(
            s,
            channel,
            messages,
            (key(channel), bucket, from),
            limit,
            &mut out,
        )
        .await?;
    }
    out.truncate(limit);
    Ok(out)
}

/// Appends one bucket's messages past the cursor until `out` holds `limit`.
/// A page can come back short of its size (ScyllaDB also caps pages by
/// bytes), so pages are followed until the partition is exhausted.
async fn read_bucket(
    s: &Inner,
    channel: ChannelId,
    messages: &PreparedStatement,
    values: (i64, i64, i64),
    limit: usize,
    out: &mut Vec<Message>,
) -> Result<(), StoreError> {
    let mut bound = messages.clone().bind(&values).map_err(backend)?;
    let mut paging = PagingState::start();
    while out.len() < limit {
        bound.set_page_size((limit - out.len()) as i32);
        let (result, next) = s
            .session
            .execute_bound_single_page(&bound, paging)
            .await
            .map_err(backend)?;
        let rows = result.into_rows_result().map_err(backend)?;
        for row in rows.rows::<Row>().map_err(backend)? {
            out.extend(message(channel, row.map_err(backend)?));
        }
        match next.into_paging_control_flow() {
            ControlFlow::Continue(state) => paging = state,
            ControlFlow::Break(()) => break,
        }
    }
    Ok(())
}

/// The message of a row, or `None` for a fragment without the creation's
/// columns (logged and counted, then left out).
pub(crate) fn message(channel: ChannelId, row: Row) -> Option<Message> {
    let (
        mid,
        guild,
        author,
        username,
        content,
        nonce,
        edited,
        reply_to,
        users,
        roles,
        everyone,
        pinned,
        counts,
        webhook,
        author_bot,
    ) = row;
    let (Some(guild), Some(author), Some(username), Some(content)) =
        (guild, author, username, content)
    else {
        tracing::warn!(
            channel = channel.0,
            message = mid,
            "skipping a partial message row"
        );
        metrics::counter!(crate::metrics::PARTIAL_ROWS).increment(1);
        return None;
    };
    let (mid, guild_id) = (id(mid), id(guild));
    let author = User {
        id: id(author),
        username,
    };
    let message_reference = reply_to.map(|m| MessageReference {
        message_id: id(m),
        channel_id: channel,
        guild_id,
    });
    let mentions = users.unwrap_or_default().into_iter();
    let mut message = Message {
        nonce,
        edited_timestamp: edited.map(|t| format_timestamp(t.0 as u64)),
        kind: if message_reference.is_some() {
            MESSAGE_REPLY
        } else {
            MESSAGE_DEFAULT
        },
        message_reference,
        mentions: mentions
            .map(|(u, username)| User {
                id: id(u),
                username,
            })
            .collect(),
        mention_roles: roles.unwrap_or_default().into_iter().map(id).collect(),
        mention_everyone: everyone.unwrap_or(false),
        pinned: pinned.unwrap_or(false),
        webhook_id: webhook.map(id),
        author_bot: author_bot.unwrap_or(false),
        ..Message::new(mid, (guild_id, channel), author, content)
    };
    for (emoji, n) in counts.unwrap_or_default() {
        message.set_reaction_count(&emoji, u32::try_from(n).unwrap_or(0));
    }
    Some(message)
}
