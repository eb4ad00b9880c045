//! Incoming webhooks (issue 17): made, listed and deleted with
//! MANAGE_WEBHOOKS; executed by whoever holds the URL; their messages carry
//! `webhook_id` and reach the channel's members live and in history.

use reqwest::Method;
use rookery_proto::codec::Encoding;
use rookery_proto::model::Message;
use rookery_proto::permissions::Permissions;
use rookery_testkit::{TestServer, TestUser, bits};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// `method /api/v10{path}` with no token: status and body.
async fn anonymous(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req =
        reqwest::Client::new().request(method, format!("{}/api/v10{path}", server.http()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn hook(owner: &TestUser, channel: rookery_proto::ChannelId, name: &str) -> Value {
    let path = format!("/channels/{channel}/webhooks");
    owner
        .ok(Method::POST, &path, Some(json!({"name": name})))
        .await
}

#[tokio::test]
async fn a_webhook_posts_as_itself_and_members_see_it_live_and_in_history() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let made = hook(&alice, channel, "announcer").await;
    assert_eq!(
        (made["type"].clone(), made["name"].clone()),
        (json!(1), json!("announcer"))
    );
    assert_eq!(made["user"]["id"], alice.user.id.to_string());
    let (id, token) = (
        made["id"].as_str().unwrap(),
        made["token"].as_str().unwrap(),
    );
    assert_eq!(token.len(), 64);

    let url = format!("/webhooks/{id}/{token}");
    let (status, _) = anonymous(
        &server,
        Method::POST,
        &url,
        Some(json!({"content": "no wait"})),
    )
    .await;
    assert_eq!(status, 204);
    let body = json!({"content": "hello @everyone", "username": "Release bot", "tts": false,
        "avatar_url": "http://x/y.png", "embeds": [], "allowed_mentions": {"parse": ["everyone"]}});
    let (status, posted) = anonymous(
        &server,
        Method::POST,
        &format!("{url}?wait=true"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{posted}");
    assert_eq!(posted["webhook_id"], id);
    assert_eq!(
        (
            posted["author"]["id"].clone(),
            posted["author"]["username"].clone()
        ),
        (json!(id), json!("Release bot"))
    );
    assert_eq!(
        posted["mention_everyone"], true,
        "a webhook may mention everyone"
    );

    for expected in ["no wait", "hello @everyone"] {
        let live: Message = bob_gw
            .dispatch("MESSAGE_CREATE", T)
            .await
            .unwrap()
            .d()
            .unwrap();
        assert_eq!(
            (
                live.content.as_str(),
                live.webhook_id.map(|w| w.to_string())
            ),
            (expected, Some(id.to_owned()))
        );
    }
    let history = bob.api.history(channel, "limit=10").await.unwrap();
    assert!(
        history
            .iter()
            .all(|m| m.webhook_id.is_some_and(|w| w.to_string() == id))
    );
    assert_eq!(history.len(), 2);

    // Holding the URL is enough to read it (without its secret) and to delete it.
    let (status, seen) = anonymous(&server, Method::GET, &url, None).await;
    assert_eq!(status, 200);
    assert!(
        seen.get("token").is_none() && seen.get("user").is_none(),
        "{seen}"
    );
    assert_eq!(anonymous(&server, Method::DELETE, &url, None).await.0, 204);
    let (status, gone) =
        anonymous(&server, Method::POST, &url, Some(json!({"content": "x"}))).await;
    assert_eq!((status, gone["code"].clone()), (404, json!(10015)));
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_token_or_body_is_refused_and_nothing_is_posted() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let guild = server.guild(&[&alice]).await;
    let channel = guild.channels[0].id;
    let made = hook(&alice, channel, "hook").await;
    let id = made["id"].as_str().unwrap();
    let token = made["token"].as_str().unwrap();
    let wrong = format!("/webhooks/{id}/{}", "0".repeat(64));
    for (method, body) in [
        (Method::POST, Some(json!({"content": "x"}))),
        (Method::GET, None),
        (Method::DELETE, None),
    ] {
        let (status, err) = anonymous(&server, method.clone(), &wrong, body).await;
        assert_eq!(
            (status, err["code"].clone()),
            (401, json!(50027)),
            "{method}"
        );
    }
    let url = format!("/webhooks/{id}/{token}");
    for body in [
        json!({"content": ""}),
        json!({"content": "x", "embeds": [{"title": "t"}]}),
        json!({"content": "x", "username": ""}),
        json!({"content": "x", "nonsense": 1}),
    ] {
        let (status, _) = anonymous(&server, Method::POST, &url, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}");
    }
    let unknown = format!("/webhooks/1/{token}");
    assert_eq!(
        anonymous(
            &server,
            Method::POST,
            &unknown,
            Some(json!({"content": "x"}))
        )
        .await
        .0,
        404
    );
    assert!(
        alice
            .api
            .history(channel, "limit=10")
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test]
async fn managing_webhooks_takes_manage_webhooks_and_a_channel_holds_fifteen() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    let made = hook(&alice, channel, "first").await;
    let by_id = format!("/webhooks/{}", made["id"].as_str().unwrap());
    let create = format!("/channels/{channel}/webhooks");
    bob.refused(
        Method::POST,
        &create,
        Some(json!({"name": "mine"})),
        (403, 50013),
    )
    .await;
    bob.refused(Method::GET, &create, None, (403, 50013)).await;
    bob.refused(Method::GET, &by_id, None, (403, 50013)).await;
    bob.refused(Method::DELETE, &by_id, None, (403, 50013))
        .await;
    bob.refused(
        Method::GET,
        &format!("/guilds/{}/webhooks", guild.id),
        None,
        (403, 50013),
    )
    .await;

    // A role with MANAGE_WEBHOOKS lets bob manage them.
    let role = alice
        .create_role(
            guild.id,
            json!({"name": "hookers", "permissions": bits(Permissions::MANAGE_WEBHOOKS)}),
        )
        .await;
    let grant = format!(
        "/guilds/{}/members/{}/roles/{}",
        guild.id, bob.user.id, role.id
    );
    alice.no_content(Method::PUT, &grant, None).await;
    let listed: Vec<Value> = bob.ok(Method::GET, &create, None).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]["token"], made["token"],
        "a manager sees the secret"
    );
    for n in 1..15 {
        hook(&bob, channel, &format!("hook {n}")).await;
    }
    bob.refused(
        Method::POST,
        &create,
        Some(json!({"name": "sixteenth"})),
        (400, 30007),
    )
    .await;
    let all: Vec<Value> = alice
        .ok(Method::GET, &format!("/guilds/{}/webhooks", guild.id), None)
        .await;
    assert_eq!(all.len(), 15);
    bob.no_content(Method::DELETE, &by_id, None).await;
    alice.refused(Method::GET, &by_id, None, (404, 10015)).await;
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "avatar": "data:image/png;base64,AAAA"}),
    ] {
        let (status, _) = alice.call(Method::POST, &create, Some(bad.clone())).await;
        assert_eq!(status.as_u16(), 400, "{bad}");
    }
    server.stop().await;
}

#[tokio::test]
async fn outsiders_do_not_learn_of_a_webhook_and_dms_have_none() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob]).await;
    let made = hook(&alice, guild.channels[0].id, "hook").await;
    let by_id = format!("/webhooks/{}", made["id"].as_str().unwrap());
    carol.refused(Method::GET, &by_id, None, (404, 10015)).await;
    let dm: Value = alice
        .ok(
            Method::POST,
            "/users/@me/channels",
            Some(json!({"recipient_id": bob.user.id})),
        )
        .await;
    let path = format!("/channels/{}/webhooks", dm["id"].as_str().unwrap());
    alice
        .refused(
            Method::POST,
            &path,
            Some(json!({"name": "dm hook"})),
            (403, 50013),
        )
        .await;
    server.stop().await;
}

/// A webhook's URL reads, edits and deletes the messages it posted, and
/// nothing else; members see the edit and the delete live. Its manager
/// (or its URL) renames it; an avatar or a move is refused.
#[tokio::test]
async fn a_webhooks_url_edits_and_deletes_its_own_messages_and_renames_it() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    let (made, other) = (
        hook(&alice, channel, "editor").await,
        hook(&alice, channel, "other").await,
    );
    let url = |h: &Value| {
        format!(
            "/webhooks/{}/{}",
            h["id"].as_str().unwrap(),
            h["token"].as_str().unwrap()
        )
    };
    let (status, posted) = anonymous(
        &server,
        Method::POST,
        &format!("{}?wait=true", url(&made)),
        Some(json!({"content": "draft"})),
    )
    .await;
    assert_eq!(status, 200, "{posted}");
    let message = format!("{}/messages/{}", url(&made), posted["id"].as_str().unwrap());
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;

    let (status, read) = anonymous(&server, Method::GET, &message, None).await;
    assert_eq!((status, read["content"].clone()), (200, json!("draft")));
    let edit = json!({"content": "final", "embeds": [], "allowed_mentions": {"parse": []}});
    let (status, edited) = anonymous(&server, Method::PATCH, &message, Some(edit)).await;
    assert_eq!(
        (status, edited["content"].clone()),
        (200, json!("final")),
        "{edited}"
    );
    assert!(edited["edited_timestamp"].is_string());
    let live: Message = bob_gw
        .dispatch("MESSAGE_UPDATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(live.content, "final");
    // Another webhook's URL, or a user's message, is not this URL's.
    let foreign = message.replace(&url(&made), &url(&other));
    assert_eq!(anonymous(&server, Method::GET, &foreign, None).await.0, 404);
    let by_alice = alice.api.post_message(channel, "mine", None).await.unwrap();
    let theirs = format!("{}/messages/{}", url(&made), by_alice.id);
    let (status, answer) = anonymous(
        &server,
        Method::PATCH,
        &theirs,
        Some(json!({"content": "x"})),
    )
    .await;
    assert_eq!((status, answer["code"].clone()), (404, json!(10008)));
    let filled = json!({"embeds": [{"title": "t"}]});
    assert_eq!(
        anonymous(&server, Method::PATCH, &message, Some(filled))
            .await
            .0,
        400
    );

    let (status, _) = anonymous(&server, Method::DELETE, &message, None).await;
    assert_eq!(status, 204);
    let gone: Value = bob_gw
        .dispatch("MESSAGE_DELETE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(gone["id"], posted["id"]);
    assert_eq!(anonymous(&server, Method::GET, &message, None).await.0, 404);

    let manage = format!("/webhooks/{}", made["id"].as_str().unwrap());
    let renamed: Value = alice
        .ok(Method::PATCH, &manage, Some(json!({"name": "renamed"})))
        .await;
    assert_eq!(
        (renamed["name"].clone(), renamed["token"].clone()),
        (json!("renamed"), made["token"].clone())
    );
    let (status, by_url) = anonymous(
        &server,
        Method::PATCH,
        &url(&made),
        Some(json!({"name": "by url"})),
    )
    .await;
    assert_eq!((status, by_url["name"].clone()), (200, json!("by url")));
    assert!(by_url.get("token").is_none(), "{by_url}");
    for bad in [
        json!({"avatar": "abc"}),
        json!({"channel_id": guild.id}),
        json!({"name": ""}),
    ] {
        alice
            .refused(Method::PATCH, &manage, Some(bad), (400, 50035))
            .await;
    }
    let moved = json!({"channel_id": channel});
    assert_eq!(
        anonymous(&server, Method::PATCH, &url(&made), Some(moved))
            .await
            .0,
        400
    );
    bob.refused(
        Method::PATCH,
        &manage,
        Some(json!({"name": "mine"})),
        (403, 50013),
    )
    .await;
    server.stop().await;
}
