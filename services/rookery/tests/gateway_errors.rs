//! Every protocol violation gets its own documented close code, and the
//! server stays healthy for everyone else.

use rookery_client::{ClientError, Gateway};
use rookery_proto::codec::{self, Encoding};
use rookery_proto::gateway::{self as gw, CloseCode, op};
use rookery_testkit::{TestServer, TestUser};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const T: Duration = Duration::from_secs(10);

async fn expect_close(g: &mut Gateway, code: CloseCode) {
    loop {
        match tokio::time::timeout(T, g.next())
            .await
            .expect("close within timeout")
        {
            Err(ClientError::Closed { code: got, .. }) => {
                assert_eq!(got, code.code(), "expected {code:?}");
                return;
            }
            Err(other) => panic!("expected close {code:?}, got {other}"),
            Ok(_) => continue,
        }
    }
}

/// A fresh connection still identifies and chats.
async fn still_healthy(server: &TestServer, user: &TestUser) {
    let mut g = server.gateway(user, Encoding::Json).await;
    g.heartbeat().await.unwrap();
    g.op(op::HEARTBEAT_ACK, T).await.unwrap();
}

/// Name, encoding, the offending frame, the expected close code.
type Case = (
    &'static str,
    Encoding,
    Box<dyn Fn(&Gateway) -> WsMessage>,
    CloseCode,
);

#[tokio::test]
async fn bad_frames_get_their_close_codes() {
    let server = TestServer::start().await;
    let user = server.user("u").await;
    let cases: Vec<Case> = vec![
        (
            "undecodable json",
            Encoding::Json,
            Box::new(|_| WsMessage::text("{not json")),
            CloseCode::DecodeError,
        ),
        (
            "undecodable msgpack",
            Encoding::MsgPack,
            Box::new(|_| WsMessage::binary(vec![0xc1, 0x00])),
            CloseCode::DecodeError,
        ),
        (
            "binary frame on json",
            Encoding::Json,
            Box::new(|_| WsMessage::binary(b"{}".to_vec())),
            CloseCode::DecodeError,
        ),
        (
            "d of the wrong shape",
            Encoding::Json,
            Box::new(|_| WsMessage::text(r#"{"op":2,"d":{"tok":1}}"#)),
            CloseCode::DecodeError,
        ),
        (
            "unknown op",
            Encoding::Json,
            Box::new(|_| WsMessage::text(r#"{"op":42,"d":null}"#)),
            CloseCode::UnknownOpcode,
        ),
        (
            "server-only op",
            Encoding::MsgPack,
            Box::new(|g| g.frame_message(codec::encode(Encoding::MsgPack, op::HELLO, &0))),
            CloseCode::UnknownOpcode,
        ),
        (
            "oversized",
            Encoding::Json,
            Box::new(|_| {
                WsMessage::text(format!(
                    r#"{{"op":1,"d":null,"pad":"{}"}}"#,
                    "x".repeat(5000)
                ))
            }),
            CloseCode::FrameTooLarge,
        ),
        (
            "send before identify",
            Encoding::Json,
            Box::new(|g| {
                g.frame_message(codec::encode(
                    Encoding::Json,
                    op::SEND,
                    &gw::Send {
                        channel_id: rookery_proto::ChannelId(1),
                        nonce: "n".into(),
                        content: "c".into(),
                        ..gw::Send::default()
                    },
                ))
            }),
            CloseCode::NotAuthenticated,
        ),
        (
            "bad token",
            Encoding::Json,
            Box::new(|g| {
                g.frame_message(codec::encode(
                    Encoding::Json,
                    op::IDENTIFY,
                    &gw::Identify {
                        token: "forged".into(),
                        last_message_ids: Default::default(),
                        presence: None,
                        intents: None,
                    },
                ))
            }),
            CloseCode::AuthenticationFailed,
        ),
        (
            "catch-up asked for more channels than allowed",
            Encoding::MsgPack,
            Box::new(|g| {
                let too_many = (1..=gw::CATCH_UP_CHANNELS as u64 + 1)
                    .map(|i| (rookery_proto::ChannelId(i), rookery_proto::MessageId(i)))
                    .collect();
                g.frame_message(codec::encode(
                    Encoding::MsgPack,
                    op::IDENTIFY,
                    &gw::Identify {
                        token: "t".into(),
                        last_message_ids: too_many,
                        presence: None,
                        intents: None,
                    },
                ))
            }),
            CloseCode::DecodeError,
        ),
        (
            "presence before identify",
            Encoding::Json,
            Box::new(|_| WsMessage::text(r#"{"op":3,"d":{"status":"idle"}}"#)),
            CloseCode::NotAuthenticated,
        ),
        (
            "identify with an activity text over the limit",
            Encoding::MsgPack,
            Box::new(|g| {
                let long = rookery_proto::presence::Activity {
                    name: "Custom Status".into(),
                    kind: rookery_proto::presence::ACTIVITY_CUSTOM,
                    state: Some("x".repeat(rookery_proto::presence::MAX_ACTIVITY_TEXT + 1)),
                };
                let presence = rookery_proto::presence::PresenceSet {
                    activities: vec![long],
                    ..Default::default()
                };
                g.frame_message(codec::encode(
                    Encoding::MsgPack,
                    op::IDENTIFY,
                    &gw::Identify {
                        token: "t".into(),
                        last_message_ids: Default::default(),
                        presence: Some(presence),
                        intents: None,
                    },
                ))
            }),
            CloseCode::DecodeError,
        ),
    ];
    for (name, encoding, frame, code) in cases {
        let mut g = Gateway::connect(&server.ws(), encoding).await.unwrap();
        let msg = frame(&g);
        g.send_raw(msg).await.unwrap();
        println!("case: {name}");
        expect_close(&mut g, code).await;
    }
    still_healthy(&server, &user).await;
    server.stop().await;
}

#[tokio::test]
async fn a_frame_at_the_size_limit_is_accepted() {
    let server = TestServer::start().await;
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let prefix = r#"{"op":1,"d":null,"pad":""#;
    let pad = "x".repeat(4096 - prefix.len() - 2);
    let frame = format!("{prefix}{pad}\"}}");
    assert_eq!(frame.len(), 4096);
    g.send_raw(WsMessage::text(frame)).await.unwrap();
    g.op(op::HEARTBEAT_ACK, T).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_second_identify_is_refused() {
    let server = TestServer::start().await;
    let user = server.user("u").await;
    let mut g = server.gateway(&user, Encoding::MsgPack).await;
    g.send_op(
        op::IDENTIFY,
        &gw::Identify {
            token: user.token.clone(),
            last_message_ids: Default::default(),
            presence: None,
            intents: None,
        },
    )
    .await
    .unwrap();
    expect_close(&mut g, CloseCode::AlreadyAuthenticated).await;
    still_healthy(&server, &user).await;
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_times_out_and_a_flood_is_rate_limited() {
    let server = TestServer::start_with(|c| {
        c.heartbeat_interval_ms = 200;
        c.frames_per_minute = 10;
    })
    .await;
    let user = server.user("u").await;
    let mut silent = server.gateway(&user, Encoding::Json).await;
    assert_eq!(silent.hello.heartbeat_interval, 200);
    expect_close(&mut silent, CloseCode::SessionTimedOut).await;

    let mut flood = server.gateway(&user, Encoding::Json).await;
    for _ in 0..12 {
        if flood.heartbeat().await.is_err() {
            break;
        }
    }
    expect_close(&mut flood, CloseCode::RateLimited).await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_encoding_is_refused_before_upgrade() {
    let server = TestServer::start().await;
    let err = Gateway::connect(&format!("{}/x", server.ws()), Encoding::Json).await;
    assert!(err.is_err(), "unknown path");
    let url = format!("{}/gateway?encoding=xml", server.ws());
    let err = tokio_tungstenite::connect_async(url).await.unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 400),
        other => panic!("expected HTTP 400, got {other}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_as_a_slow_consumer() {
    // Alice posts 4,000 messages as fast as she can: no REST budget here.
    let server = TestServer::start_with(|c| {
        c.outbound_queue = 16;
        c.channel_messages_per_5s = 0;
        c.rest_requests_per_second = 0;
    })
    .await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let channel = server.guild(&[&alice, &bob]).await.channels[0].id;
    let mut stalled = server.gateway(&bob, Encoding::Json).await;

    // ~8 MB of messages: more than the socket buffers and the queue hold.
    let content = "x".repeat(1900);
    let mut sends = tokio::task::JoinSet::new();
    for batch in 0..40 {
        let (api, content) = (alice.api.clone(), content.clone());
        sends.spawn(async move {
            for i in 0..100 {
                api.post_message(channel, &content, Some(&format!("{batch}-{i}")))
                    .await
                    .unwrap();
            }
        });
    }
    sends.join_all().await;

    let mut received = 0;
    let code = loop {
        match tokio::time::timeout(T, stalled.next())
            .await
            .expect("frames or a close")
        {
            Ok(_) => received += 1,
            Err(ClientError::Closed { code, .. }) => break code,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(code, CloseCode::SlowConsumer.code());
    assert!(
        received < 4000,
        "the server stopped queueing ({received} frames delivered)"
    );
    // Everything was still stored, and others are unaffected.
    let page = alice.api.history(channel, "limit=1").await.unwrap();
    assert_eq!(page.len(), 1);
    still_healthy(&server, &bob).await;
    server.stop().await;
}
