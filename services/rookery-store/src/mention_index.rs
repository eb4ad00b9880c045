//! The rules every store's mention index applies (see
//! [`crate::Store::mentions`]), in one place.

use rookery_proto::Id;

/// Whether a message by `author` that mentions @everyone (`everyone`) or
/// `roles` reaches `reader`, who holds `held`: never the author's own.
pub fn broadcast_reaches(
    (author, everyone, roles): (Id, bool, &[Id]),
    reader: Id,
    held: &[Id],
) -> bool {
    author != reader && (everyone || roles.iter().any(|r| held.contains(r)))
}

/// The ids found by name and by broadcast, ascending, each once, at most
/// `limit`.
pub fn merged(mut found: Vec<Id>, limit: usize) -> Vec<Id> {
    found.sort_unstable();
    found.dedup();
    found.truncate(limit);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broadcast_reaches_by_everyone_or_a_held_role_never_its_author() {
        let (author, reader, role) = (Id(1), Id(2), Id(9));
        assert!(broadcast_reaches((author, true, &[]), reader, &[]));
        assert!(broadcast_reaches((author, false, &[role]), reader, &[role]));
        assert!(!broadcast_reaches(
            (author, false, &[role]),
            reader,
            &[Id(8)]
        ));
        assert!(!broadcast_reaches((author, true, &[role]), author, &[role]));
        assert_eq!(merged(vec![Id(3), Id(1), Id(3), Id(2)], 2), [Id(1), Id(2)]);
    }
}
