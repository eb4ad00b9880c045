//! A client's gateway frame in either encoding (the first byte picks it):
//! decoding never panics, and what decodes encodes back to a frame that
//! decodes to the same op.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rookery_proto::codec::{self, Encoding};
use rookery_proto::gateway::{ClientFrame, op};

fn reencode(encoding: Encoding, frame: &ClientFrame) -> Vec<u8> {
    match frame {
        ClientFrame::Heartbeat(d) => codec::encode(encoding, op::HEARTBEAT, d),
        ClientFrame::Identify(d) => codec::encode(encoding, op::IDENTIFY, d),
        ClientFrame::Presence(d) => codec::encode(encoding, op::PRESENCE_UPDATE, d),
        ClientFrame::Resume(d) => codec::encode(encoding, op::RESUME, d),
        ClientFrame::RequestGuildMembers(d) => {
            codec::encode(encoding, op::REQUEST_GUILD_MEMBERS, d)
        }
        ClientFrame::Send(d) => codec::encode(encoding, op::SEND, d),
        ClientFrame::Ack(d) => codec::encode(encoding, op::ACK, d),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let encoding = if pick & 1 == 0 {
        Encoding::Json
    } else {
        Encoding::MsgPack
    };
    let Ok(client) = codec::decode_client(encoding, frame) else {
        return;
    };
    let again = reencode(encoding, &client);
    let back = codec::decode_client(encoding, &again).expect("a decoded frame re-encodes");
    assert_eq!(
        std::mem::discriminant(&back),
        std::mem::discriminant(&client)
    );
});
