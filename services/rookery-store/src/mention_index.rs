//! The rules every store's mention index applies (see
//! [`crate::Store::mentions`]), in one place.

use rookery_proto::UserId;
use rookery_proto::{MessageId, RoleId};

/// Whether a message by `author` that mentions @everyone (`everyone`) or
/// `roles` reaches `reader`, who holds `held`: never the author's own.
pub fn broadcast_reaches(
    (author, everyone, roles): (UserId, bool, &[RoleId]),
    reader: UserId,
    held: &[RoleId],
) -> bool {
    author != reader && (everyone || roles.iter().any(|r| held.contains(r)))
}

/// The ids found by name and by broadcast, ascending, each once, at most
/// `limit`.
pub fn merged(mut found: Vec<MessageId>, limit: usize) -> Vec<MessageId> {
    found.sort_unstable();
    found.dedup();
    found.truncate(limit);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::UserId;
    use rookery_proto::{MessageId, RoleId};

    #[test]
    fn a_broadcast_reaches_by_everyone_or_a_held_role_never_its_author() {
        let (author, reader, role) = (UserId(1), UserId(2), RoleId(9));
        assert!(broadcast_reaches((author, true, &[]), reader, &[]));
        assert!(broadcast_reaches((author, false, &[role]), reader, &[role]));
        assert!(!broadcast_reaches(
            (author, false, &[role]),
            reader,
            &[RoleId(8)]
        ));
        assert!(!broadcast_reaches((author, true, &[role]), author, &[role]));
        assert_eq!(
            merged(
                vec![MessageId(3), MessageId(1), MessageId(3), MessageId(2)],
                2
            ),
            [MessageId(1), MessageId(2)]
        );
    }
}
