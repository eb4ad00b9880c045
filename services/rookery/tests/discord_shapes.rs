//! Rookery's objects against Discord's published OpenAPI description
//! (issue 17): users, messages, channels, guilds, roles, members, invites
//! (previews, lists and creations)
//! and webhooks, as a real server answers them, validated against the
//! schemas vendored in `compat/openapi` (`check.py`, Python's jsonschema,
//! installed by `.ci/run`). Deliberate differences are listed in
//! docs/protocol.md ("Discord's object shapes").

use reqwest::Method;
use rookery_proto::codec::Encoding;
use rookery_testkit::{TestServer, TestUser, tools};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

type Instances = BTreeMap<&'static str, Vec<Value>>;

async fn get(user: &TestUser, path: &str) -> Value {
    user.ok(Method::GET, path, None).await
}

fn each(v: Value) -> Vec<Value> {
    v.as_array().expect("a list").clone()
}

/// Every object kind, as the server answers it to `alice`.
async fn collect(server: &TestServer, alice: &TestUser, bob: &TestUser) -> Instances {
    let guild = server.guild(&[alice, bob]).await;
    let (g, channel) = (guild.id, guild.channels[0].id);
    let mut gw = server.gateway(bob, Encoding::Json).await;
    alice
        .create_role(g, json!({"name": "crew", "color": 255}))
        .await;
    let first = alice
        .api
        .post_message(channel, "first", None)
        .await
        .unwrap();
    let reply = json!({"content": format!("<@{}> see above", bob.user.id),
        "message_reference": {"message_id": first.id}});
    let path = format!("/channels/{channel}/messages");
    let _: Value = alice.ok(Method::POST, &path, Some(reply)).await;
    let react = format!("{path}/{}/reactions/%F0%9F%91%8D/@me", first.id);
    alice.no_content(Method::PUT, &react, None).await;
    let hook: Value = alice
        .ok(
            Method::POST,
            &format!("/channels/{channel}/webhooks"),
            Some(json!({"name": "hook"})),
        )
        .await;
    let execute = format!(
        "{}/api/v10/webhooks/{}/{}?wait=true",
        server.http(),
        hook["id"].as_str().unwrap(),
        hook["token"].as_str().unwrap()
    );
    let hooked = reqwest::Client::new()
        .post(execute)
        .json(&json!({"content": "hooked"}))
        .send();
    assert_eq!(hooked.await.unwrap().status().as_u16(), 200);
    let code = alice.api.create_invite(g).await.unwrap();
    let dm: Value = alice
        .ok(
            Method::POST,
            "/users/@me/channels",
            Some(json!({"recipient_id": bob.user.id})),
        )
        .await;
    let live = gw
        .dispatch("MESSAGE_CREATE", Duration::from_secs(10))
        .await
        .unwrap();
    let live: Value = live.d().unwrap();

    let mut out = Instances::new();
    out.insert(
        "UserResponse",
        vec![
            get(alice, "/users/@me").await,
            get(alice, &format!("/users/{}", bob.user.id)).await,
        ],
    );
    let mut messages = each(get(alice, &format!("{path}?limit=10")).await);
    messages.push(live);
    out.insert("MessageResponse", messages);
    let mut channels = each(get(alice, &format!("/guilds/{g}/channels")).await);
    channels.push(get(alice, &format!("/channels/{channel}")).await);
    out.insert("GuildChannelResponse", channels);
    out.insert(
        "PrivateChannelResponse",
        vec![get(alice, &format!("/channels/{}", dm["id"].as_str().unwrap())).await],
    );
    let renamed: Value = alice
        .ok(
            Method::PATCH,
            &format!("/guilds/{g}"),
            Some(json!({"name": "renamed", "icon": null})),
        )
        .await;
    let update = gw
        .dispatch("GUILD_UPDATE", Duration::from_secs(10))
        .await
        .unwrap();
    let update: Value = update.d().unwrap();
    assert!(update.get("channels").is_none(), "{update}");
    out.insert(
        "GuildResponse",
        vec![get(alice, &format!("/guilds/{g}")).await, renamed, update],
    );
    out.insert(
        "GuildRoleResponse",
        each(get(alice, &format!("/guilds/{g}/roles")).await),
    );
    let mut members = each(get(alice, &format!("/guilds/{g}/members?limit=10")).await);
    members.push(get(alice, &format!("/guilds/{g}/members/{}", bob.user.id)).await);
    out.insert("GuildMemberResponse", members);
    let channel_invite: Value = alice
        .ok(
            Method::POST,
            &format!("/channels/{channel}/invites"),
            Some(json!({"max_age": 600, "max_uses": 3})),
        )
        .await;
    let mut invites = each(get(alice, &format!("/guilds/{g}/invites")).await);
    invites.extend([get(bob, &format!("/invites/{code}")).await, channel_invite]);
    out.insert("GuildInviteResponse", invites);
    let hook_by_id = get(
        alice,
        &format!("/webhooks/{}", hook["id"].as_str().unwrap()),
    )
    .await;
    out.insert("GuildIncomingWebhookResponse", vec![hook, hook_by_id]);
    out
}

#[tokio::test]
async fn rookerys_objects_fit_discords_published_schemas() {
    if !tools::python_modules(&["jsonschema"]) {
        return;
    }
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let instances = collect(&server, &alice, &bob).await;
    assert!(instances.values().all(|v| !v.is_empty()));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&instances).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../compat/openapi/check.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(file.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop().await;
}
