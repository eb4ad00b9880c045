//! Bytes on an internal link connection: the length-delimited framing
//! and the MessagePack messages of both directions never panic, and a
//! frame over the limit is refused, not buffered.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rookery_link::wire::{self, ToEdge, ToWriter};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut codec = wire::codec();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        assert!(frame.len() <= wire::MAX_FRAME);
        let _ = wire::decode::<ToWriter>(&frame);
        let _ = wire::decode::<ToEdge>(&frame);
    }
});
