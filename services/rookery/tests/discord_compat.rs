//! What Discord's libraries ask first, answered Discord's way: the API under
//! `/api/v10`, user objects, and the gateway's URL with the caller's
//! identify budget (issue 17, its first routes).

use futures_util::StreamExt;
use reqwest::Method;
use rookery_proto::codec::Encoding;
use rookery_proto::rest::{BotGatewayInfo, GatewayInfo, UserObject};
use rookery_testkit::TestServer;
use serde_json::{Value, json};

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}{path}", server.http()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn the_api_answers_under_discords_v10_path_too() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let token = Some(alice.token.as_str());
    let v1 = get(&server, "/api/v1/users/@me", token).await;
    let v10 = get(&server, "/api/v10/users/@me", token).await;
    assert_eq!((v1.0, &v1.1), (200, &v10.1));
    assert_eq!(get(&server, "/api/v10/users/@me", None).await.0, 401);
    assert_eq!(get(&server, "/api/v9/users/@me", token).await.0, 404);
    server.stop().await;
}

#[tokio::test]
async fn users_are_discords_user_objects() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let me: Value = alice.ok(Method::GET, "/users/@me", None).await;
    let expected = json!({
        "id": alice.user.id.to_string(),
        "username": alice.user.username,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": false,
        "public_flags": 0,
        "flags": 0,
    });
    assert_eq!(me, expected);
    let other: UserObject = alice
        .ok(Method::GET, &format!("/users/{}", bob.user.id), None)
        .await;
    assert_eq!(
        (other.id, other.username),
        (bob.user.id, bob.user.username.clone())
    );
    for unknown in ["1", "not-an-id"] {
        let path = format!("/users/{unknown}");
        alice.refused(Method::GET, &path, None, (404, 10013)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn the_gateway_url_leads_to_the_gateway_and_the_bot_gateway_reports_the_identify_budget() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let (status, info) = get(&server, "/api/v10/gateway", None).await;
    assert_eq!(status, 200);
    let info: GatewayInfo = serde_json::from_value(info).unwrap();
    assert_eq!(info.url, format!("{}/gateway", server.ws()));
    // As Discord's libraries connect: the URL with their query.
    let url = format!("{}?v=10&encoding=json", info.url);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&hello).unwrap()["op"], 10);

    let bot: BotGatewayInfo = alice.ok(Method::GET, "/gateway/bot", None).await;
    let limit = &bot.session_start_limit;
    assert_eq!((bot.url, bot.shards), (info.url, 1));
    assert_eq!(
        (limit.total, limit.remaining, limit.max_concurrency),
        (1000, 1000, 1)
    );
    server.gateway(&alice, Encoding::Json).await;
    let after: BotGatewayInfo = alice.ok(Method::GET, "/gateway/bot", None).await;
    assert_eq!(
        after.session_start_limit.remaining, 999,
        "an IDENTIFY spent one"
    );
    assert!(after.session_start_limit.reset_after > 0);
    // A Host that is not a plain host[:port] is not echoed.
    let forged = reqwest::Client::new()
        .get(format!("{}/api/v1/gateway", server.http()))
        .header("host", "evil.example/<x>")
        .send()
        .await
        .unwrap();
    let forged: GatewayInfo = forged.json().await.unwrap();
    assert_eq!(forged.url, "ws://localhost/gateway");
    server.stop().await;
}

#[tokio::test]
async fn a_configured_gateway_url_is_what_clients_are_told() {
    let public = "wss://chat.example.com/gateway";
    let server = TestServer::start_with(|c| c.gateway_url = Some(public.into())).await;
    let (_, info) = get(&server, "/api/v1/gateway", None).await;
    assert_eq!(info["url"], public);
    server.stop().await;
}
