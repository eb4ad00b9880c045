//! Raw bytes from a client after the WebSocket handshake: the frame reader
//! never panics, never returns a payload over the limit, and stops at the
//! first violation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rookery_edge::fuzz_logic::read_frames(data, 4096);
});
