//! Kicks, leaving and timeouts end to end over real HTTP and WebSocket
//! clients: who may, what the target's sessions see, and that a timeout
//! stops writing (not reading) and ends on time.

use reqwest::{Method, StatusCode};
use rookery_proto::codec::Encoding;
use rookery_proto::id::{format_timestamp, now_ms};
use rookery_proto::model::{Member, Message, Role};
use rookery_proto::permissions::Permissions;
use rookery_testkit::{TestServer, TestUser, send_answer};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

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
    assert!(send_answer(&mut carol_gw, channel, "c0").await.is_ok());

    // Without MODERATE_MEMBERS: refused; the owner: never.
    bob.refused(Method::PATCH, &carol_path, timeout(60_000), (403, 50013))
        .await;
    let mods = json!({"name": "mods", "permissions": Permissions::MODERATE_MEMBERS.0.to_string()});
    let (_, role) = alice
        .call(Method::POST, &format!("/guilds/{g}/roles"), Some(mods))
        .await;
    let role: Role = serde_json::from_value(role).unwrap();
    let give = format!("/guilds/{g}/members/{}/roles/{}", bob.user.id, role.id);
    assert_eq!(
        alice.call(Method::PUT, &give, None).await.0,
        StatusCode::NO_CONTENT
    );
    let alice_path = format!("/guilds/{g}/members/{}", alice.user.id);
    bob.refused(Method::PATCH, &alice_path, timeout(60_000), (403, 50013))
        .await;
    bob.refused(
        Method::PATCH,
        &carol_path,
        timeout(29 * 24 * 3600 * 1000),
        (400, 50035),
    )
    .await;
    bob.refused(
        Method::PATCH,
        &carol_path,
        Some(json!({"communication_disabled_until": "soon"})),
        (400, 50035),
    )
    .await;
    bob.refused(
        Method::PATCH,
        &carol_path,
        Some(json!({"nick": "x"})),
        (400, 50109),
    )
    .await;

    // Timed out: no sending, still reading; the event tells her sessions.
    let (status, member) = bob.call(Method::PATCH, &carol_path, timeout(60_000)).await;
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
    assert_eq!(send_answer(&mut carol_gw, channel, "c1").await, Err(50013));
    assert_eq!(
        carol.api.history(channel, "limit=5").await.unwrap().len(),
        1
    );
    carol
        .refused(
            Method::POST,
            &format!("/guilds/{g}/invites"),
            None,
            (403, 50013),
        )
        .await;
    // `null` lifts it.
    let lift = Some(json!({"communication_disabled_until": null}));
    assert_eq!(
        bob.call(Method::PATCH, &carol_path, lift).await.0,
        StatusCode::OK
    );
    assert!(send_answer(&mut carol_gw, channel, "c2").await.is_ok());

    // A short timeout ends by itself, though the refusal was cached. The
    // window is wide enough for a slow machine to send inside it; the wait
    // is until its end, from the clock, not a guess.
    let ends = now_ms() + 3_000;
    let short = json!({"communication_disabled_until": format_timestamp(ends)});
    assert_eq!(
        bob.call(Method::PATCH, &carol_path, Some(short)).await.0,
        StatusCode::OK
    );
    assert_eq!(send_answer(&mut carol_gw, channel, "c3").await, Err(50013));
    assert!(now_ms() < ends, "the refusal was inside the timeout");
    tokio::time::sleep(Duration::from_millis((ends + 50).saturating_sub(now_ms()))).await;
    assert!(send_answer(&mut carol_gw, channel, "c4").await.is_ok());
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
    carol
        .refused(Method::DELETE, &member(&dave), None, (403, 50013))
        .await;
    let kick = json!({"name": "bouncers", "permissions": Permissions::KICK_MEMBERS.0.to_string()});
    let (_, role) = alice
        .call(Method::POST, &format!("/guilds/{g}/roles"), Some(kick))
        .await;
    let role: Role = serde_json::from_value(role).unwrap();
    for u in [&bob, &dave] {
        let give = format!("/guilds/{g}/members/{}/roles/{}", u.user.id, role.id);
        assert_eq!(
            alice.call(Method::PUT, &give, None).await.0,
            StatusCode::NO_CONTENT
        );
    }
    bob.refused(Method::DELETE, &member(&alice), None, (403, 50013))
        .await;
    bob.refused(Method::DELETE, &member(&dave), None, (403, 50013))
        .await;
    bob.refused(
        Method::DELETE,
        &format!("/guilds/{g}/members/1"),
        None,
        (404, 10007),
    )
    .await;

    let mut carol_gw = server.gateway(&carol, Encoding::Json).await;
    assert_eq!(
        bob.call(Method::DELETE, &member(&carol), None).await.0,
        StatusCode::NO_CONTENT
    );
    let gone: Value = carol_gw
        .dispatch("GUILD_DELETE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(gone, json!({"id": g.to_string(), "unavailable": false}));
    assert_eq!(send_answer(&mut carol_gw, channel, "k1").await, Err(50001));
    carol
        .refused(
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
        dave.call(Method::DELETE, &leave, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(dave.api.my_guilds().await.unwrap().is_empty());
    alice
        .refused(Method::DELETE, &leave, None, (400, 50035))
        .await;
    // A former member may come back with an invite.
    let code = alice.api.create_invite(g).await.unwrap();
    carol.api.accept_invite(&code).await.unwrap();
    assert!(carol.api.history(channel, "limit=1").await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn a_timed_out_member_cannot_add_even_an_existing_reaction() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let (g, channel) = (guild.id, guild.channels[0].id);
    let m = alice
        .api
        .post_message(channel, "react to me", None)
        .await
        .unwrap();
    let react = format!("/channels/{channel}/messages/{}/reactions/👍/@me", m.id);
    alice.no_content(Method::PUT, &react, None).await;
    let bob_path = format!("/guilds/{g}/members/{}", bob.user.id);
    let _: Member = alice.ok(Method::PATCH, &bob_path, timeout(60_000)).await;
    bob.refused(Method::PUT, &react, None, (403, 50013)).await;
    // Once the timeout is lifted, the existing reaction is open to him.
    let lift = Some(json!({"communication_disabled_until": null}));
    let _: Member = alice.ok(Method::PATCH, &bob_path, lift).await;
    bob.no_content(Method::PUT, &react, None).await;
    server.stop().await;
}
