//! Every REST request body type the API parses (the first byte picks
//! one): parsing arbitrary bytes never panics, and a parsed body's
//! validation never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rookery_proto::rest;

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_json::from_slice(body).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    match pick % 18 {
        0 => drop(parse::<rest::Credentials>(body)),
        1 => drop(parse::<rest::CreateNamed>(body)),
        2 => drop(parse::<rest::CreatePrivate>(body)),
        3 => drop(parse::<rest::CreateMessage>(body)),
        4 => drop(parse::<rest::CreateBan>(body)),
        5 => drop(parse::<rest::ChannelParams>(body)),
        6 => drop(parse::<rest::EditMessage>(body)),
        7 => drop(parse::<rest::BulkDelete>(body)),
        8 => drop(parse::<rest::RoleParams>(body)),
        9 => drop(parse::<Vec<rest::RolePosition>>(body)),
        10 => drop(parse::<rest::OverwriteParams>(body)),
        11 => drop(parse::<rest::CreateChannelInvite>(body)),
        12 => drop(parse::<rookery_proto::webhooks::CreateWebhook>(body)),
        13 => drop(parse::<rookery_proto::webhooks::ExecuteWebhook>(body)),
        14 => drop(parse::<rookery_proto::webhooks::ModifyWebhook>(body)),
        15 => {
            if let Some(edit) = parse::<rookery_proto::webhooks::EditWebhookMessage>(body) {
                drop(edit.unsupported());
            }
        }
        16 => drop(parse::<Vec<rest::ChannelPosition>>(body)),
        _ => drop(parse::<rest::MemberParams>(body)),
    }
});
