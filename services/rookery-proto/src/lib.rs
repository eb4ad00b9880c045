//! Rookery's wire contract, shared by every role and by clients.
//!
//! - [`id`]: snowflake ids and the time buckets derived from them;
//! - [`typed_ids`]: `GuildId`, `ChannelId`, `UserId`, `MessageId`,
//!   `RoleId`: one type per kind of object, the same wire as [`Id`];
//! - [`model`]: the object shapes (users, guilds, channels, messages) that
//!   REST, the gateway and bus events all carry;
//! - [`gateway`]: gateway opcodes, payloads and close codes;
//! - [`codec`]: JSON and MessagePack framing of gateway frames, with
//!   dispatches encoded once per encoding for fan-out;
//! - [`event`]: the versioned, self-describing bus events (the analytics
//!   contract on `rookery.events`);
//! - [`rest`]: REST request and error bodies;
//! - [`intents`]: which dispatches a session asked for;
//! - [`discord_json`]: Discord's extra keys, in JSON only;
//! - [`webhooks`]: incoming webhooks and their requests;
//! - [`permissions`]: Discord's permission bits and how a member's
//!   permissions in a channel are computed.
//!
//! The prose version of this contract lives in `docs/protocol.md`; the two are
//! kept in step.

pub mod codec;
pub mod discord_json;
pub mod event;
pub mod gateway;
pub mod id;
pub mod intents;
pub mod model;
pub mod permissions;
pub mod presence;
pub mod rest;
pub mod text;
pub mod typed_ids;
pub mod webhooks;

pub use id::{Id, Snowflake};
pub use typed_ids::{ChannelId, GuildId, MessageId, RoleId, UserId};
