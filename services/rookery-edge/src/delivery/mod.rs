//! Delivery: how an applied event leaves this edge for clients' sockets,
//! in the order it travels. [`events`] classifies it (who may see it);
//! the [`hub`] picks the local sessions; each [`session`] numbers the
//! dispatch and keeps it for RESUME ([`holds`] keep a joining channel's
//! messages in order, [`sessions`] is the registry, [`presence`] the
//! online state); its connection's [`outlet::Outlet`] writes it through on
//! the socket or, when the socket is busy, queues it for the connection's
//! [`writer`], each as a [`frame`].

pub(crate) mod events;
pub mod frame;
pub(crate) mod holds;
pub(crate) mod hub;
pub mod outlet;
pub(crate) mod presence;
pub(crate) mod session;
pub(crate) mod sessions;
pub mod writer;

pub use frame::Outbound;
pub use outlet::{Outlet, Refused};

/// An outlet that only queues (nothing is written through), for tests that
/// read what a connection was sent.
#[cfg(test)]
pub fn queue_only(capacity: usize) -> std::sync::Arc<Outlet> {
    let wire = outlet::test_wire::TestWire::with_room(0);
    let encoding = rookery_proto::codec::Encoding::Json;
    std::sync::Arc::new(Outlet::new(wire, encoding, capacity, outlet::Start::Never))
}
