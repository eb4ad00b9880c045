//! RESUME replays what a dropped connection missed; history pages walk time
//! buckets in both directions.

use rookery_client::{ClientError, Gateway};
use rookery_proto::MessageId;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::model::Message;
use rookery_testkit::TestServer;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

async fn resume_replays_the_gap(encoding: Encoding) {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;

    let mut b = Gateway::connect(&server.ws(), encoding).await.unwrap();
    let session_id = b.identify(&bob.token).await.unwrap().session_id;
    alice.api.post_message(channel, "seen", None).await.unwrap();
    b.dispatch("MESSAGE_CREATE", T).await.unwrap();
    let seen = b.last_seq().unwrap();
    drop(b); // the connection drops without a close frame

    let mut missed = Vec::new();
    for i in 0..3 {
        missed.push(
            alice
                .api
                .post_message(channel, &format!("missed {i}"), None)
                .await
                .unwrap()
                .id,
        );
    }
    let mut b = Gateway::connect(&server.ws(), encoding).await.unwrap();
    b.send_op(
        op::RESUME,
        &gw::Resume {
            token: bob.token.clone(),
            session_id: session_id.clone(),
            seq: seen,
        },
    )
    .await
    .unwrap();
    let mut replayed = Vec::new();
    loop {
        let f = b
            .next_matching("dispatch", T, |f| f.header.op == op::DISPATCH)
            .await
            .unwrap();
        assert_eq!(
            f.header.s,
            Some(seen + replayed.len() as u64 + 1),
            "contiguous seqs"
        );
        match f.t() {
            Some("MESSAGE_CREATE") => replayed.push(f.d::<Message>().unwrap().id),
            Some("RESUMED") => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(replayed, missed);
    // Live again after RESUMED.
    let live = alice.api.post_message(channel, "live", None).await.unwrap();
    assert_eq!(
        b.dispatch("MESSAGE_CREATE", T)
            .await
            .unwrap()
            .d::<Message>()
            .unwrap()
            .id,
        live.id
    );

    // A clean close (1000) ends the session: it cannot be resumed.
    let seq = b.last_seq().unwrap();
    b.close(1000).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = Gateway::connect(&server.ws(), encoding).await.unwrap();
    again
        .send_op(
            op::RESUME,
            &gw::Resume {
                token: bob.token.clone(),
                session_id,
                seq,
            },
        )
        .await
        .unwrap();
    let invalid = again.op(op::INVALID_SESSION, T).await.unwrap();
    assert!(!invalid.d::<bool>().unwrap());
    // After INVALID_SESSION the client may IDENTIFY on the same connection.
    again.identify(&bob.token).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn resume_replays_the_gap_over_json() {
    resume_replays_the_gap(Encoding::Json).await;
}

#[tokio::test]
async fn resume_replays_the_gap_over_msgpack() {
    resume_replays_the_gap(Encoding::MsgPack).await;
}

#[tokio::test]
async fn resume_refuses_strangers_and_future_seqs() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let mut a = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let session_id = a.identify(&alice.token).await.unwrap().session_id;

    let mut stranger = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let resume = gw::Resume {
        token: bob.token.clone(),
        session_id: session_id.clone(),
        seq: 1,
    };
    stranger.send_op(op::RESUME, &resume).await.unwrap();
    assert!(
        !stranger
            .op(op::INVALID_SESSION, T)
            .await
            .unwrap()
            .d::<bool>()
            .unwrap(),
        "another user's session"
    );

    let mut ahead = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    ahead
        .send_op(
            op::RESUME,
            &gw::Resume {
                token: alice.token.clone(),
                session_id,
                seq: 99,
            },
        )
        .await
        .unwrap();
    match ahead.next().await {
        Err(ClientError::Closed { code, .. }) => assert_eq!(code, 4007),
        other => panic!("expected close 4007, got {other:?}"),
    }
    // The original connection was not disturbed.
    a.heartbeat().await.unwrap();
    a.op(op::HEARTBEAT_ACK, T).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn history_pages_cross_bucket_boundaries() {
    // 40 ms buckets: 30 messages sent over ~300 ms span several buckets.
    let server = TestServer::start_with(|c| {
        c.bucket_ms = 40;
        c.channel_messages_per_5s = 0;
    })
    .await;
    let alice = server.user("alice").await;
    let guild = server.guild(&[&alice]).await;
    let channel = guild.channels[0].id;
    let mut sent = Vec::new();
    for i in 0..30 {
        sent.push(
            alice
                .api
                .post_message(channel, &format!("m{i}"), None)
                .await
                .unwrap()
                .id,
        );
        if i % 3 == 0 {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    let buckets: std::collections::BTreeSet<u64> = sent
        .iter()
        .map(|id| (id.unix_ms() - rookery_proto::id::EPOCH_MS) / 40)
        .collect();
    assert!(buckets.len() >= 5, "spread over {} buckets", buckets.len());

    let newest_first: Vec<MessageId> = sent.iter().rev().copied().collect();
    let mut walked: Vec<MessageId> = alice
        .api
        .history(channel, "limit=7")
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    loop {
        let q = format!("before={}&limit=7", walked.last().unwrap());
        let page = alice.api.history(channel, &q).await.unwrap();
        if page.is_empty() {
            break;
        }
        walked.extend(page.iter().map(|m| m.id));
    }
    assert_eq!(walked, newest_first);

    let after: Vec<MessageId> = alice
        .api
        .history(channel, &format!("after={}&limit=10", sent[4]))
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(after, sent[5..15]);
    let around: Vec<MessageId> = alice
        .api
        .history(channel, &format!("around={}&limit=5", sent[20]))
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        around,
        vec![sent[22], sent[21], sent[20], sent[19], sent[18]]
    );
    server.stop().await;
}
