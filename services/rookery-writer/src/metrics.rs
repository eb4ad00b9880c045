//! Writer metrics, declared and described in one place.

use metrics::{Unit, counter, describe_counter, describe_histogram};

/// Records per processed batch.
pub const BATCH_RECORDS: &str = "rookery_writer_batch_records";
/// Seconds to process one batch (decode, store, push, commit).
pub const BATCH_DURATION: &str = "rookery_writer_batch_duration_seconds";
/// Events applied, by type.
pub const EVENTS: &str = "rookery_writer_events_total";
/// Records that could not be decoded and were skipped.
pub const UNDECODABLE: &str = "rookery_writer_undecodable_records_total";
/// Store writes retried.
pub const STORE_RETRIES: &str = "rookery_writer_store_retries_total";
/// Fan-out pushes that failed.
pub const PUSH_ERRORS: &str = "rookery_writer_push_errors_total";

/// Ephemeral events relayed to the edges, by type.
pub const EPHEMERAL_EVENTS: &str = "rookery_writer_ephemeral_events_total";

/// Ephemeral event types, as the `type` label of [`EPHEMERAL_EVENTS`].
pub const EPHEMERAL_TYPES: [&str; 2] = ["typing_start", "presence_update"];

/// Event types, as the `type` label of [`EVENTS`].
pub const EVENT_TYPES: [&str; 27] = [
    "user_create",
    "guild_create",
    "guild_update",
    "guild_delete",
    "channel_create",
    "invite_create",
    "invite_delete",
    "guild_member_add",
    "message_create",
    "channel_update",
    "guild_role_upsert",
    "guild_role_delete",
    "guild_member_update",
    "guild_member_remove",
    "message_update",
    "message_delete",
    "message_delete_bulk",
    "channel_pins_update",
    "message_reaction_add",
    "message_reaction_remove",
    "message_reaction_clear",
    "guild_ban_add",
    "guild_ban_remove",
    "message_ack",
    "channel_recipient_add",
    "channel_recipient_remove",
    "channel_delete",
];

/// Registers descriptions with the installed recorder and creates the
/// counters at zero (dashboards and alerts then see a zero, not no series).
pub fn describe() {
    for kind in EVENT_TYPES {
        counter!(EVENTS, "type" => kind).absolute(0);
    }
    for kind in EPHEMERAL_TYPES {
        counter!(EPHEMERAL_EVENTS, "type" => kind).absolute(0);
    }
    describe_counter!(
        EPHEMERAL_EVENTS,
        Unit::Count,
        "Ephemeral events (typing, presence) relayed to edges, by type."
    );
    for name in [UNDECODABLE, STORE_RETRIES, PUSH_ERRORS] {
        counter!(name).absolute(0);
    }
    describe_histogram!(
        BATCH_RECORDS,
        Unit::Count,
        "Records per batch processed by the writer."
    );
    describe_histogram!(
        BATCH_DURATION,
        Unit::Seconds,
        "Time to decode, store, push and commit one batch."
    );
    describe_counter!(
        EVENTS,
        Unit::Count,
        "Events applied by the writer, by event type."
    );
    describe_counter!(
        UNDECODABLE,
        Unit::Count,
        "Bus records that could not be decoded and were skipped."
    );
    describe_counter!(
        STORE_RETRIES,
        Unit::Count,
        "Store writes retried after a failure."
    );
    describe_counter!(
        PUSH_ERRORS,
        Unit::Count,
        "Fan-out pushes to edges that failed."
    );
}
