//! Delivery: how a dispatch leaves this edge for a client's socket. The hub
//! picks the sessions; each session numbers the dispatch and keeps it for
//! RESUME; its connection's [`outlet::Outlet`] writes it through on the
//! socket or, when the socket is busy, queues it for the connection's
//! [`writer`].

pub mod frame;
pub mod outlet;
pub mod writer;

pub use frame::Outbound;
pub use outlet::{Outlet, Refused};

/// An outlet that only queues (nothing is written through), for tests that
/// read what a connection was sent.
#[cfg(test)]
pub fn queue_only(capacity: usize) -> std::sync::Arc<Outlet> {
    let wire = outlet::test_wire::TestWire::with_room(0);
    let encoding = rookery_proto::codec::Encoding::Json;
    std::sync::Arc::new(Outlet::new(wire, encoding, false, capacity))
}
