//! Invites running out, and reaction counts kept in order.

use super::*;
use crate::{ChannelId, GuildId, MessageId, UserId};

#[test]
fn an_invite_ends_at_its_age_or_its_last_use() {
    let mut invite = Invite {
        code: "c".into(),
        guild_id: GuildId(1),
        inviter_id: UserId(2),
        channel_id: None,
        created_at_ms: 10_000,
        max_age: 0,
        max_uses: 0,
        uses: 7,
    };
    assert_eq!(invite.expires_at_ms(), None);
    assert!(invite.usable_at(i64::MAX));
    invite.max_age = 5;
    assert_eq!(invite.expires_at_ms(), Some(15_000));
    assert!(invite.usable_at(14_999));
    assert!(!invite.usable_at(15_000));
    invite.max_age = 0;
    invite.max_uses = 8;
    assert!(invite.usable_at(0));
    invite.uses = 8;
    assert!(!invite.usable_at(0));
}

fn counts(m: &Message) -> Vec<(&str, u32)> {
    let pairs = m.reactions.iter().map(|r| (r.emoji.name.as_str(), r.count));
    pairs.collect()
}

#[test]
fn reaction_counts_keep_byte_order_and_drop_at_zero() {
    let author = User {
        id: UserId(1),
        username: "a".into(),
    };
    let mut m = Message::new(
        MessageId(9),
        (GuildId(2), ChannelId(3)),
        author,
        "hi".into(),
    );
    m.count_reaction("👍", true);
    m.count_reaction("🎉", true);
    m.count_reaction("👍", true);
    m.count_reaction("❤", true);
    assert_eq!(counts(&m), [("❤", 1), ("🎉", 1), ("👍", 2)]);
    assert_eq!(m.reactions[2].count_details.normal, 2);
    m.count_reaction("🎉", false);
    m.count_reaction("👍", false);
    m.count_reaction("😀", false);
    assert_eq!(counts(&m), [("❤", 1), ("👍", 1)]);
    assert_eq!((m.reaction_count("👍"), m.reaction_count("🎉")), (1, 0));
    m.set_reaction_count("❤", 0);
    assert_eq!(counts(&m), [("👍", 1)]);
}
