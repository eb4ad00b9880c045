//! Internal-link metrics, declared and described here.

use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};

/// Edges connected to this writer.
pub const EDGES: &str = "rookery_link_edges";
/// Fan-out frames sent to edges (one per batch per edge).
pub const FANOUT_FRAMES: &str = "rookery_link_fanout_frames_total";
/// Edges disconnected for falling behind.
pub const SLOW_EDGES: &str = "rookery_link_slow_edge_disconnects_total";
/// Store calls an edge made through the link, by result.
pub const CALLS: &str = "rookery_link_store_calls_total";
/// Store calls answered by a call already in flight (coalesced).
pub const COALESCED: &str = "rookery_link_coalesced_calls_total";
/// Fan-out batches dropped because their writer no longer owns the partition.
pub const STALE_BATCHES: &str = "rookery_link_stale_batches_total";
/// Events an edge received from writers, by scope: `channel` events are
/// routed by interest, `other` (guild, membership, account) go to every edge.
pub const RECEIVED: &str = "rookery_link_events_received_total";
/// Link connections refused before they were authenticated, by reason:
/// `proof` (wrong key), `handshake` (timeout or malformed), `busy` (too
/// many handshakes at once).
pub const AUTH_FAILURES: &str = "rookery_link_auth_failures_total";
/// Writers this edge is connected to.
pub const WRITERS: &str = "rookery_link_writers";

/// Registers descriptions with the installed recorder (and the series at
/// zero).
pub fn describe() {
    describe_gauge!(EDGES, Unit::Count, "Edges connected to this writer.");
    describe_counter!(
        AUTH_FAILURES,
        Unit::Count,
        "Link connections refused before authentication, by reason (proof, handshake, busy)."
    );
    for reason in ["proof", "handshake", "busy"] {
        counter!(AUTH_FAILURES, "reason" => reason).absolute(0);
    }
    describe_counter!(FANOUT_FRAMES, Unit::Count, "Fan-out frames sent to edges.");
    describe_counter!(
        SLOW_EDGES,
        Unit::Count,
        "Edges disconnected for falling behind on fan-out."
    );
    describe_counter!(
        CALLS,
        Unit::Count,
        "Store calls made through the writer link, by result."
    );
    describe_counter!(
        COALESCED,
        Unit::Count,
        "Store calls served by an identical call in flight."
    );
    describe_gauge!(WRITERS, Unit::Count, "Writers this edge is connected to.");
    describe_counter!(
        RECEIVED,
        Unit::Count,
        "Events received from writers, by scope (channel events are routed by interest)."
    );
    describe_counter!(
        STALE_BATCHES,
        Unit::Count,
        "Fan-out batches dropped because their writer no longer owns the partition."
    );
    gauge!(EDGES).set(0.0);
    gauge!(WRITERS).set(0.0);
    for name in [FANOUT_FRAMES, SLOW_EDGES, COALESCED, STALE_BATCHES] {
        counter!(name).absolute(0);
    }
    for scope in ["channel", "other"] {
        counter!(RECEIVED, "scope" => scope).absolute(0);
    }
    for result in ["ok", "error"] {
        counter!(CALLS, "result" => result).absolute(0);
    }
}
