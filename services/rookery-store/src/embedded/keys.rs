//! Big-endian key encodings, so byte order is numeric order and prefixes
//! select one partition (the ScyllaDB partition key) at a time.

use rookery_proto::Id;
use rookery_proto::{ChannelId, MessageId, UserId};

pub fn id(id: impl Into<Id>) -> [u8; 8] {
    id.into().0.to_be_bytes()
}

pub fn pair(a: impl Into<Id>, b: impl Into<Id>) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&id(a));
    k[8..].copy_from_slice(&id(b));
    k
}

/// `channel | bucket`: one `channel_buckets` row, and the prefix of one
/// `messages` partition.
pub fn bucket(channel: ChannelId, bucket: u32) -> [u8; 12] {
    let mut k = [0; 12];
    k[..8].copy_from_slice(&channel.0.to_be_bytes());
    k[8..].copy_from_slice(&bucket.to_be_bytes());
    k
}

/// `channel | bucket | message`: one `messages` row.
pub fn message(channel: ChannelId, bucket_no: u32, message: MessageId) -> [u8; 20] {
    let mut k = [0; 20];
    k[..12].copy_from_slice(&bucket(channel, bucket_no));
    k[12..].copy_from_slice(&message.0.to_be_bytes());
    k
}

/// `a | b | c`: one row of a three-part key (a mention: channel, user,
/// message).
pub fn triple(a: impl Into<Id>, b: impl Into<Id>, c: impl Into<Id>) -> [u8; 24] {
    let mut k = [0; 24];
    k[..16].copy_from_slice(&pair(a, b));
    k[16..].copy_from_slice(&id(c));
    k
}

pub fn user_nonce(user: UserId, nonce: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + nonce.len());
    k.extend_from_slice(&user.0.to_be_bytes());
    k.extend_from_slice(nonce.as_bytes());
    k
}

/// `channel | message | emoji length | emoji`: the users who reacted to a
/// message with one emoji. The length byte keeps one emoji's prefix from
/// matching a longer emoji that starts with the same bytes.
pub fn reaction_prefix(channel: ChannelId, message: MessageId, emoji: &str) -> Vec<u8> {
    let emoji = &emoji.as_bytes()[..emoji.len().min(255)];
    let mut k = Vec::with_capacity(25 + emoji.len() + 8);
    k.extend_from_slice(&pair(channel, message));
    k.push(emoji.len() as u8);
    k.extend_from_slice(emoji);
    k
}

/// One user's reaction: the emoji's prefix, then the user.
pub fn reaction(channel: ChannelId, message: MessageId, emoji: &str, user: UserId) -> Vec<u8> {
    let mut k = reaction_prefix(channel, message, emoji);
    k.extend_from_slice(&user.0.to_be_bytes());
    k
}

/// A reaction key's emoji and user.
pub fn reaction_parts(key: &[u8]) -> Option<(&str, UserId)> {
    let emoji = key.get(17..key.len().checked_sub(8)?)?;
    Some((std::str::from_utf8(emoji).ok()?, trailing_id(key)?))
}

/// `channel | user | message | emoji`: one user's reaction, indexed by
/// reader, so a page's `me` flags are one range read.
pub fn user_reaction(channel: ChannelId, user: UserId, message: MessageId, emoji: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(24 + emoji.len());
    k.extend_from_slice(&pair(channel, user));
    k.extend_from_slice(&message.0.to_be_bytes());
    k.extend_from_slice(emoji.as_bytes());
    k
}

/// The trailing 8 bytes of a key as an id.
pub fn trailing_id<T: From<Id>>(key: &[u8]) -> Option<T> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(T::from(Id(u64::from_be_bytes(tail))))
}

/// The trailing 4 bytes of a key as a bucket number.
pub fn trailing_bucket(key: &[u8]) -> Option<u32> {
    let tail: [u8; 4] = key.get(key.len().checked_sub(4)?..)?.try_into().ok()?;
    Some(u32::from_be_bytes(tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::ChannelId;
    use rookery_proto::{MessageId, UserId};

    #[test]
    fn byte_order_is_numeric_order() {
        let m = |c, b, id| message(ChannelId(c), b, MessageId(id));
        assert!(m(1, 2, 255) < m(1, 2, 256));
        assert!(m(1, 2, u64::MAX) < m(1, 3, 0));
        assert!(bucket(ChannelId(1), u32::MAX) < bucket(ChannelId(2), 0));
        assert_eq!(trailing_id(&m(1, 2, 77)), Some(MessageId(77)));
        assert_eq!(trailing_bucket(&bucket(ChannelId(1), 9)), Some(9));
        assert_eq!(trailing_id::<Id>(b"abc"), None);
        let r = reaction(ChannelId(1), MessageId(2), "👍", UserId(3));
        assert_eq!(reaction_parts(&r), Some(("👍", UserId(3))));
        assert_eq!(reaction_parts(b"short"), None);
    }
}
