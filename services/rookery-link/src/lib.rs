//! The internal link between writers and edges in the cluster shape.
//!
//! A writer listens on an internal address ([`FanoutServer`]); every edge
//! connects to every writer ([`WriterLink`], reconnecting with backoff).
//! Each connection starts with a mutual HMAC handshake over a shared
//! secret ([`auth`]); nothing else is read or sent before it passes. Then
//! (length-delimited MessagePack frames, [`wire`]):
//!
//! - the writer pushes applied batches (the [`EdgeLink`](rookery_bus::EdgeLink)
//!   of the writer role), each channel's messages only to the edges with
//!   interest in it, and each edge's hub delivers them to its sessions;
//! - the writer confirms applied interest records, and an edge drops
//!   batches from a writer that lost the partition ([`EdgeLinks`]);
//! - with the embedded store, the one writer hosting it answers the edges'
//!   store calls ([`RemoteStore`], identical reads in flight coalesced).

pub mod auth;
mod client;
pub mod metrics;
mod password;
mod server;
pub mod wire;

pub use auth::LinkKey;
pub use client::{EdgeLinks, LinkSet, RemoteStore, WriterLink};
pub use server::{FanoutServer, ServerOptions};
