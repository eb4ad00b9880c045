//! Slow mode end to end, over real HTTP and WebSocket clients: who may set
//! it, the CHANNEL_UPDATE it makes, the 429 (code 20016, `retry_after`) and
//! SEND_ERROR a member gets inside the wait, the exemption of moderators,
//! and that a retried send (same nonce) is not counted twice.

use reqwest::{Method, StatusCode};
use rookery_proto::codec::Encoding;
use rookery_proto::model::Channel;
use rookery_testkit::{TestServer, send_answer};
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn slow_mode_spaces_a_members_messages_and_spares_moderators() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    let path = format!("/channels/{channel}");
    let messages = format!("{path}/messages");
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;

    bob.refused(
        Method::PATCH,
        &path,
        Some(json!({"rate_limit_per_user": 2})),
        (403, 50013),
    )
    .await;
    for bad in [
        json!({"rate_limit_per_user": 21601}),
        json!({"name": " "}),
        json!({"nsfw": true}),
    ] {
        let (status, answer) = alice.call(Method::PATCH, &path, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }
    let slow = Some(json!({"rate_limit_per_user": 2}));
    let set: Channel = alice.ok(Method::PATCH, &path, slow).await;
    assert_eq!((set.rate_limit_per_user, set.name.as_str()), (2, "general"));
    let update: Channel = bob_gw
        .dispatch("CHANNEL_UPDATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(update, set);

    // Bob: one message, then refused until the wait is over; a retry of the
    // first (same nonce) is the first message, not a second one.
    let send = |nonce: &str| json!({"content": "hi", "nonce": nonce});
    let (status, first) = bob.call(Method::POST, &messages, Some(send("n1"))).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, again) = bob.call(Method::POST, &messages, Some(send("n1"))).await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &first["id"]));
    let (status, refused) = bob.call(Method::POST, &messages, Some(send("n2"))).await;
    assert_eq!(
        (status, &refused["code"]),
        (StatusCode::TOO_MANY_REQUESTS, &json!(20016))
    );
    let retry_after = refused["retry_after"].as_f64().expect("retry_after");
    assert!(retry_after > 0.0 && retry_after <= 2.0, "{refused}");
    assert_eq!(send_answer(&mut bob_gw, channel, "g1").await, Err(20016));

    // Alice owns the guild: exempt.
    for nonce in ["a1", "a2"] {
        let (status, answer) = alice.call(Method::POST, &messages, Some(send(nonce))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    tokio::time::sleep(Duration::from_secs_f64(retry_after) + Duration::from_millis(100)).await;
    assert!(send_answer(&mut bob_gw, channel, "g2").await.is_ok());

    // Off again: no wait at all.
    let off = json!({"rate_limit_per_user": 0});
    assert_eq!(
        alice.call(Method::PATCH, &path, Some(off)).await.0,
        StatusCode::OK
    );
    for nonce in ["g3", "g4"] {
        assert!(send_answer(&mut bob_gw, channel, nonce).await.is_ok());
    }
    server.stop().await;
}
