//! Both forms of each object: JSON with Discord's keys, MessagePack without,
//! and each reads back as the same value.

use super::*;
use crate::Id;
use crate::model::{MessageReaction, MessageReference};
use crate::permissions::Permissions;
use crate::{ChannelId, GuildId, MessageId, RoleId, UserId};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt::Debug;

fn user() -> User {
    User {
        id: UserId(7),
        username: "alice".into(),
    }
}

fn message() -> Message {
    let mut m = Message::new(
        MessageId(9),
        (GuildId(2), ChannelId(3)),
        user(),
        "hi".into(),
    );
    m.message_reference = Some(MessageReference {
        message_id: MessageId(8),
        channel_id: ChannelId(3),
        guild_id: GuildId(2),
    });
    m.count_reaction("👍", true);
    m
}

/// The keys of `v` in MessagePack, which must read back as `v`.
fn msgpack_keys<T: Serialize + DeserializeOwned + PartialEq + Debug>(v: &T) -> Vec<String> {
    let bytes = rmp_serde::to_vec_named(v).unwrap();
    assert_eq!(&rmp_serde::from_slice::<T>(&bytes).unwrap(), v);
    let Value::Object(map) = rmp_serde::from_slice::<Value>(&bytes).unwrap() else {
        panic!("not a map");
    };
    map.keys().cloned().collect()
}

fn json_of<T: Serialize + DeserializeOwned + PartialEq + Debug>(v: &T) -> Value {
    let json = serde_json::to_value(v).unwrap();
    assert_eq!(&serde_json::from_value::<T>(json.clone()).unwrap(), v);
    json
}

#[test]
fn a_user_is_discords_user_in_json_and_two_fields_in_msgpack() {
    assert_eq!(
        json_of(&user()),
        json!({"id": "7", "username": "alice", "discriminator": "0",
               "global_name": null, "avatar": null, "public_flags": 0, "flags": 0,
               "primary_guild": null})
    );
    assert_eq!(msgpack_keys(&user()), ["id", "username"]);
}

#[test]
fn a_message_carries_discords_empty_lists_in_json_only() {
    let m = message();
    let json = json_of(&m);
    for (key, expected) in [
        ("tts", json!(false)),
        ("flags", json!(0)),
        ("attachments", json!([])),
        ("embeds", json!([])),
        ("components", json!([])),
    ] {
        assert_eq!(json[key], expected, "{key}");
    }
    assert_eq!(json["author"]["discriminator"], "0");
    assert!(json.get("webhook_id").is_none(), "left out when none");
    let keys = msgpack_keys(&m);
    assert!(
        !keys.iter().any(|k| k == "tts" || k == "embeds"),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k == "reactions"));
    assert!(keys.iter().any(|k| k == "message_reference"));
}

#[test]
fn absent_optional_fields_are_left_out_in_both_forms() {
    let mut m = Message::new(
        MessageId(9),
        (GuildId::NONE, ChannelId(3)),
        user(),
        "dm".into(),
    );
    let json = json_of(&m);
    for key in [
        "guild_id",
        "message_reference",
        "reactions",
        "webhook_id",
        "nonce",
    ] {
        assert!(json.get(key).is_none(), "{key}");
    }
    assert_eq!(msgpack_keys(&m).len(), 11);
    m.webhook_id = Some(Id(5));
    m.nonce = Some("n".into());
    assert_eq!(json_of(&m)["webhook_id"], "5");
    assert_eq!(json_of(&m)["nonce"], "n");
    assert_eq!(msgpack_keys(&m).len(), 13);
}

#[test]
fn members_roles_channels_and_guilds_have_discords_fields_in_json() {
    let member = Member::joined(GuildId(2), user(), "2026-01-01T00:00:00.000Z".into());
    let json = json_of(&member);
    assert_eq!(
        (json["flags"].clone(), json["mute"].clone()),
        (json!(0), json!(false))
    );
    assert_eq!(msgpack_keys(&member).len(), 5);

    let role = Role {
        id: RoleId(2),
        name: "@everyone".into(),
        color: 0x00ff00,
        hoist: false,
        position: 0,
        permissions: Permissions::SEND_MESSAGES,
        mentionable: false,
    };
    let json = json_of(&role);
    assert_eq!(json["colors"]["primary_color"], 0x00ff00);
    assert_eq!(json["managed"], false);
    assert_eq!(msgpack_keys(&role).len(), 7);

    let channel = Channel::guild_text(ChannelId(3), GuildId(2), "general", 0);
    assert_eq!(json_of(&channel)["nsfw"], false);
    assert_eq!(msgpack_keys(&channel).len(), 7);
    let guild = GuildState {
        id: GuildId(2),
        name: "g".into(),
        owner_id: UserId(7),
        channels: vec![channel],
        roles: vec![role],
    };
    let json = json_of(&guild);
    assert_eq!(
        (json["features"].clone(), json["preferred_locale"].clone()),
        (json!([]), json!("en-US"))
    );
    assert_eq!(json["channels"][0]["topic"], Value::Null);
    assert_eq!(msgpack_keys(&guild).len(), 5);
}

#[test]
fn a_private_channel_has_no_guild_fields() {
    let mut dm = Channel::guild_text(ChannelId(3), GuildId::NONE, "", 0);
    dm.kind = crate::model::CHANNEL_DM;
    dm.recipients = vec![user()];
    let json = json_of(&dm);
    assert!(json.get("nsfw").is_none() && json.get("guild_id").is_none());
    assert_eq!(json["recipients"][0]["avatar"], Value::Null);
    assert_eq!(msgpack_keys(&dm).len(), 7);
}

#[test]
fn a_reaction_list_keeps_its_derived_shape() {
    let json = json_of(&message());
    let reaction: MessageReaction = serde_json::from_value(json["reactions"][0].clone()).unwrap();
    assert_eq!(reaction.count, 1);
}
