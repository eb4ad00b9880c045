//! The internal link between writers and edges in the cluster shape.
//!
//! A writer listens on an internal address ([`FanoutServer`]); every edge
//! connects to every writer ([`WriterLink`], reconnecting with backoff).
//! Over each connection (length-delimited MessagePack frames, [`wire`]):
//!
//! - the writer pushes every applied batch (the [`EdgeLink`](rookery_bus::EdgeLink)
//!   of the writer role), and each edge's hub delivers it to its sessions;
//! - with the embedded store, the one writer hosting it answers the edges'
//!   store calls ([`RemoteStore`], identical reads in flight coalesced).

mod client;
pub mod metrics;
mod server;
pub mod wire;

pub use client::{EdgeLinks, LinkSet, RemoteStore, WriterLink};
pub use server::FanoutServer;
