//! Operations: the domain — accounts, guilds, channels, members, roles,
//! messages, reactions, pins, moderation, invites, webhooks, read states.
//! Each module adds the [`crate::Edge`] methods that check a request and
//! publish its change to the bus; none of them delivers anything (that is
//! [`crate::delivery`], once the change is applied).

pub(crate) mod accounts;
pub(crate) mod applications;
pub(crate) mod audit;
pub(crate) mod bans;
pub(crate) mod channel_order;
pub(crate) mod domain;
pub(crate) mod guilds;
pub(crate) mod invites;
pub(crate) mod members;
pub(crate) mod mentions;
pub(crate) mod messages;
pub(crate) mod moderation;
pub(crate) mod pins;
pub(crate) mod private;
pub(crate) mod reactions;
pub(crate) mod read_states;
pub(crate) mod roles;
pub(crate) mod send;
pub(crate) mod typing;
pub(crate) mod webhook_edits;
pub(crate) mod webhooks;
