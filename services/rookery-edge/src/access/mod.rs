//! Access: who is calling and what they may do — tokens and password
//! hashing, token generations (revocation), computed permissions, the
//! read caches the checks go through, and rate limits.

pub(crate) mod auth;
pub(crate) mod caches;
pub(crate) mod generations;
pub(crate) mod perms;
pub(crate) mod ratelimit;
