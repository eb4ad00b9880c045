//! Presence: what a client says about itself (gateway op 3, or IDENTIFY's
//! `presence`), what the edges tell each other (`PRESENCE_UPDATE` on the
//! ephemeral topic) and what members sharing a guild are sent. Shapes and
//! names follow Discord's.

use crate::{GuildId, UserId};
use serde::{Deserialize, Serialize};

/// Activity type of a custom status (Discord's `CUSTOM`): its text is
/// `state`.
pub const ACTIVITY_CUSTOM: u8 = 4;
/// Most activities one presence may carry.
pub const MAX_ACTIVITIES: usize = 5;
/// Most characters in an activity's `name` or `state`.
pub const MAX_ACTIVITY_TEXT: usize = 128;
/// Highest activity type Discord defines (0 playing … 5 competing).
const MAX_ACTIVITY_TYPE: u8 = 5;

/// A user's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Connected and active.
    #[default]
    Online,
    /// Away.
    Idle,
    /// Do not disturb.
    Dnd,
    /// Connected but shown to others as offline.
    Invisible,
    /// Not connected (or invisible).
    Offline,
}

impl Status {
    /// How others see it: invisible is offline.
    pub fn shown(self) -> Status {
        match self {
            Status::Invisible => Status::Offline,
            other => other,
        }
    }
}

/// Something the user is doing; type 4 is a custom status whose text is
/// `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Display name ("Custom Status" for type 4).
    pub name: String,
    /// Discord's activity type.
    #[serde(rename = "type")]
    pub kind: u8,
    /// A custom status's text, or the activity's detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// op 3 PRESENCE_UPDATE (and IDENTIFY's `presence`): the session's status.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PresenceSet {
    /// Unix milliseconds since the client went idle, if it is.
    #[serde(default)]
    pub since: Option<u64>,
    /// What the user is doing, custom status included.
    #[serde(default)]
    pub activities: Vec<Activity>,
    /// The chosen status.
    pub status: Status,
    /// Whether the client is away from keyboard.
    #[serde(default)]
    pub afk: bool,
}

impl PresenceSet {
    /// Why the presence is refused, if it is (too many activities, text too
    /// long, an unknown activity type).
    pub fn invalid(&self) -> Option<&'static str> {
        if self.activities.len() > MAX_ACTIVITIES {
            return Some("too many activities");
        }
        let too_long = |s: &str| s.chars().count() > MAX_ACTIVITY_TEXT;
        for a in &self.activities {
            if a.kind > MAX_ACTIVITY_TYPE {
                return Some("unknown activity type");
            }
            if too_long(&a.name) || a.state.as_deref().is_some_and(too_long) {
                return Some("activity text too long");
            }
        }
        None
    }
}

/// The user a presence is about (Discord sends only its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceUser {
    /// User id.
    pub id: UserId,
}

/// DISPATCH `PRESENCE_UPDATE`, and each entry of READY's `presences`: one
/// member's presence in one guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Whose.
    pub user: PresenceUser,
    /// The guild the receiver shares with them.
    pub guild_id: GuildId,
    /// As others see it (never `invisible`).
    pub status: Status,
    /// What they are doing (empty when offline).
    #[serde(default)]
    pub activities: Vec<Activity>,
}

/// Bus event `PRESENCE_UPDATE` (ephemeral): a user's presence as one edge
/// (the envelope's `origin`) sees it, from the sessions it hosts. Receivers
/// merge the edges' views; a view not refreshed within `lease_ms` is
/// dropped, so the users of an edge that died go offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceChange {
    /// Whose.
    pub user_id: UserId,
    /// Every guild of the user's sessions on that edge.
    pub guild_ids: Vec<GuildId>,
    /// As others see it: `offline` when the last session went (or invisible).
    pub status: Status,
    /// What they are doing.
    #[serde(default)]
    pub activities: Vec<Activity>,
    /// How long this view holds without a refresh, in milliseconds.
    pub lease_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(text: &str) -> Activity {
        Activity {
            name: "Custom Status".into(),
            kind: ACTIVITY_CUSTOM,
            state: Some(text.into()),
        }
    }

    #[test]
    fn statuses_use_discords_names_and_invisible_shows_offline() {
        let s: Status = serde_json::from_str("\"dnd\"").unwrap();
        assert_eq!(s, Status::Dnd);
        assert!(serde_json::from_str::<Status>("\"away\"").is_err());
        assert_eq!(Status::Invisible.shown(), Status::Offline);
        assert_eq!(Status::Idle.shown(), Status::Idle);
    }

    #[test]
    fn presences_are_refused_for_long_text_unknown_types_and_too_many_activities() {
        let mut p = PresenceSet {
            activities: vec![custom(&"é".repeat(MAX_ACTIVITY_TEXT))],
            ..Default::default()
        };
        assert_eq!(p.invalid(), None, "the limit counts characters");
        p.activities = vec![custom(&"x".repeat(MAX_ACTIVITY_TEXT + 1))];
        assert_eq!(p.invalid(), Some("activity text too long"));
        p.activities = vec![Activity {
            kind: 9,
            ..custom("x")
        }];
        assert_eq!(p.invalid(), Some("unknown activity type"));
        p.activities = vec![custom("x"); MAX_ACTIVITIES + 1];
        assert_eq!(p.invalid(), Some("too many activities"));
    }
}
