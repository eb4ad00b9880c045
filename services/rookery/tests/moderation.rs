//! Kicks, leaving and timeouts end to end over real HTTP and WebSocket
//! clients: who may, what the target's sessions see, and that a timeout
//! stops writing (not reading) and ends on time.

use reqwest::{Method, StatusCode};
use rookery_client::Gateway;
use rookery_proto::Id;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::id::{format_timestamp, now_ms};
use rookery_proto::model::{Member, Message, Role};
use rookery_proto::permissions::Permissions;
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

async fn call(
    u: &TestUser,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    u.api.raw(method, path, body).await.unwrap()
}

async fn expect(u: &TestUser, method: Method, path: &str, body: Option<Value>, want: (u16, u64)) {
    let (status, body) = call(u, method.clone(), path, body).await;
    let code = body["code"].as_u64().unwrap_or(0);
    assert_eq!((status.as_u16(), code), want, "{method} {path}: {body}");
}

async fn gateway_send(g: &mut Gateway, channel: Id, nonce: &str) -> Result<Id, u32> {
    g.send_message(channel, nonce, "hi").await.unwrap();
    let answered = |f: &rookery_client::ServerFrame| {
        f.header.op == op::SEND_ACK || f.header.op == op::SEND_ERROR
    };
    let f = g.next_matching("send answer", T, answered).await.unwrap();
    if f.header.op == op::SEND_ACK {
        Ok(f.d::<gw::SendAck>().unwrap().id)
    } else {
        Err(f.d::<gw::SendError>().unwrap().code)
    }
}

fn timeout(ms_from_now: u64) -> Option<Value> {
    Some(json!({"communication_disabled_until": format_timestamp(now_ms() + ms_from_now)}))
}

#[tokio::test]
async fn timeouts_stop_writing_until_they_end() {
    let server = TestServer::start().await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let (g, channel) = (guild.id, guild.channels[0].id);
    let carol_path = format!("/guilds/{g}/members/{}", carol.user.id);
    let mut carol_gw = server.gateway(&carol, Encoding::Json).await;
    assert!(gateway_send(&mut carol_gw, channel, "c0").await.is_ok());

    // Without MODERATE_MEMBERS: refused; the owner: never.
    expect(
        &bob,
        Method::PATCH,
        &carol_path,
        timeout(60_000),
        (403, 50013),
    )
    .await;
    let mods = json!({"name": "mods", "permissions": Permissions::MODERATE_MEMBERS.0.to_string()});
    let (_, role) = call(
        &alice,
        Method::POST,
        &format!("/guilds/{g}/roles"),
        Some(mods),
    )
    .await;
    let role: Role = serde_json::from_value(role).unwrap();
    let give = format!("/guilds/{g}/members/{}/roles/{}", bob.user.id, role.id);
    assert_eq!(
        call(&alice, Method::PUT, &give, None).await.0,
        StatusCode::NO_CONTENT
    );
    let alice_path = format!("/guilds/{g}/members/{}", alice.user.id);
    expect(
        &bob,
        Method::PATCH,
        &alice_path,
        timeout(60_000),
        (403, 50013),
    )
    .await;
    expect(
        &bob,
        Method::PATCH,
        &carol_path,
        timeout(29 * 24 * 3600 * 1000),
        (400, 50035),
    )
    .await;
    expect(
        &bob,
        Method::PATCH,
        &carol_path,
        Some(json!({"communication_disabled_until": "soon"})),
        (400, 50035),
    )
    .await;
    expect(
        &bob,
        Method::PATCH,
        &carol_path,
        Some(json!({"nick": "x"})),
        (400, 50109),
    )
    .await;

    // Timed out: no sending, still reading; the event tells her sessions.
    let (status, member) = call(&bob, Method::PATCH, &carol_path, timeout(60_000)).await;
    assert_eq!(status, StatusCode::OK, "{member}");
    let update = loop {
        let m: Member = carol_gw
            .dispatch("GUILD_MEMBER_UPDATE", T)
            .await
            .unwrap()
            .d()
            .unwrap();
        if m.user.id == carol.user.id {
            break m;
        }
    };
    assert!(update.communication_disabled_until.is_some());
    assert_eq!(gateway_send(&mut carol_gw, channel, "c1").await, Err(50013));
    assert_eq!(
        carol.api.history(channel, "limit=5").await.unwrap().len(),
        1
    );
    expect(
        &carol,
        Method::POST,
        &format!("/guilds/{g}/invites"),
        None,
        (403, 50013),
    )
    .await;
    // `null` lifts it.
    let lift = Some(json!({"communication_disabled_until": null}));
    assert_eq!(
        call(&bob, Method::PATCH, &carol_path, lift).await.0,
        StatusCode::OK
    );
    assert!(gateway_send(&mut carol_gw, channel, "c2").await.is_ok());

    // A short timeout ends by itself, though the refusal was cached.
    assert_eq!(
        call(&bob, Method::PATCH, &carol_path, timeout(1_500))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(gateway_send(&mut carol_gw, channel, "c3").await, Err(50013));
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert!(gateway_send(&mut carol_gw, channel, "c4").await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn kicked_and_departed_members_lose_the_guild() {
    let server = TestServer::start().await;
    let (alice, bob, carol, dave) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
        server.user("dave").await,
    );
    let guild = server.guild(&[&alice, &bob, &carol, &dave]).await;
    let (g, channel) = (guild.id, guild.channels[0].id);
    let member = |u: &TestUser| format!("/guilds/{g}/members/{}", u.user.id);
    expect(&carol, Method::DELETE, &member(&dave), None, (403, 50013)).await;
    let kick = json!({"name": "bouncers", "permissions": Permissions::KICK_MEMBERS.0.to_string()});
    let (_, role) = call(
        &alice,
        Method::POST,
        &format!("/guilds/{g}/roles"),
        Some(kick),
    )
    .await;
    let role: Role = serde_json::from_value(role).unwrap();
    for u in [&bob, &dave] {
        let give = format!("/guilds/{g}/members/{}/roles/{}", u.user.id, role.id);
        assert_eq!(
            call(&alice, Method::PUT, &give, None).await.0,
            StatusCode::NO_CONTENT
        );
    }
    expect(&bob, Method::DELETE, &member(&alice), None, (403, 50013)).await;
    expect(&bob, Method::DELETE, &member(&dave), None, (403, 50013)).await;
    expect(
        &bob,
        Method::DELETE,
        &format!("/guilds/{g}/members/1"),
        None,
        (404, 10007),
    )
    .await;

    let mut carol_gw = server.gateway(&carol, Encoding::Json).await;
    assert_eq!(
        call(&bob, Method::DELETE, &member(&carol), None).await.0,
        StatusCode::NO_CONTENT
    );
    let gone: Value = carol_gw
        .dispatch("GUILD_DELETE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(gone, json!({"id": g.to_string(), "unavailable": false}));
    assert_eq!(gateway_send(&mut carol_gw, channel, "k1").await, Err(50001));
    expect(
        &carol,
        Method::GET,
        &format!("/channels/{channel}/messages"),
        None,
        (403, 50001),
    )
    .await;
    // Nothing more of the guild reaches her: her next message is her own.
    alice
        .api
        .post_message(channel, "after the kick", None)
        .await
        .unwrap();
    let own = carol.api.create_guild("carol's").await.unwrap();
    let mine = carol
        .api
        .post_message(own.channels[0].id, "mine", None)
        .await
        .unwrap();
    let next: Message = carol_gw
        .dispatch("MESSAGE_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(next.id, mine.id);

    // Leaving: anyone but the owner.
    let leave = format!("/users/@me/guilds/{g}");
    assert_eq!(
        call(&dave, Method::DELETE, &leave, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(dave.api.my_guilds().await.unwrap().is_empty());
    expect(&alice, Method::DELETE, &leave, None, (400, 50035)).await;
    // A former member may come back with an invite.
    let code = alice.api.create_invite(g).await.unwrap();
    carol.api.accept_invite(&code).await.unwrap();
    assert!(carol.api.history(channel, "limit=1").await.is_ok());
    server.stop().await;
}
