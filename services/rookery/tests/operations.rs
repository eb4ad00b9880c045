//! Health, readiness, metrics exposition, graceful shutdown and REST rate
//! limits.

use rookery_client::{ClientError, Gateway};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{CloseCode, op};
use rookery_testkit::TestServer;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let channel = server.guild(&[&alice]).await.channels[0].id;
    let mut g = server.gateway(&alice, Encoding::Json).await;
    g.send_message(channel, "m1", "counted").await.unwrap();
    g.op(op::SEND_ACK, T).await.unwrap();
    g.dispatch("MESSAGE_CREATE", T).await.unwrap();

    for (path, body) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = reqwest::get(format!("{}{path}", server.http()))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), body);
    }
    let r = reqwest::get(format!("{}/metrics", server.ops()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for expected in [
        "# TYPE rookery_edge_connections gauge",
        "# HELP rookery_edge_send_ack_duration_seconds",
        "rookery_edge_send_ack_duration_seconds_bucket{le=\"0.005\"}",
        "# TYPE rookery_bus_published_records_total counter",
        "rookery_writer_events_total{type=\"message_create\"}",
        "rookery_store_write_duration_seconds_bucket",
        "rookery_edge_cache_requests_total{cache=\"member\",result=\"hit\"}",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // Every sample line is `name{labels} value` with a numeric value, and no
    // label carries an id.
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample {line:?}");
        assert!(
            line.starts_with("rookery_") || line.starts_with("process_"),
            "unexpected metric {line:?}"
        );
        assert!(
            !line.contains(&channel.to_string()),
            "id in labels: {line:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn shutdown_tells_clients_to_reconnect() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let mut g = server.gateway(&alice, Encoding::MsgPack).await;
    let mut idle = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    server.stop().await;
    let reconnect = tokio::time::timeout(T, g.next()).await.unwrap().unwrap();
    assert_eq!(reconnect.header.op, op::RECONNECT);
    match tokio::time::timeout(T, g.next()).await.unwrap() {
        Err(ClientError::Closed { code, .. }) => assert_eq!(code, CloseCode::ServerShutdown.code()),
        other => panic!("expected close 4102 after RECONNECT, got {other:?}"),
    }
    // A connection that never identified gets the same, not left hanging.
    let reconnect = tokio::time::timeout(T, idle.next()).await.unwrap().unwrap();
    assert_eq!(reconnect.header.op, op::RECONNECT);
    assert!(tokio::time::timeout(T, idle.next()).await.unwrap().is_err());
}

#[tokio::test]
async fn rest_calls_spend_a_per_user_budget_with_discords_headers() {
    let server = TestServer::start_with(|c| c.rest_requests_per_second = 3).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let url = format!("{}/api/v1/users/@me/guilds", server.http());
    let http = reqwest::Client::new();
    let call = |token: &str| http.get(&url).bearer_auth(token).send();

    let first = call(&alice.token).await.unwrap();
    assert_eq!(first.status(), 200);
    let header = |r: &reqwest::Response, name: &str| r.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header(&first, "x-ratelimit-limit"), "3");
    assert_eq!(header(&first, "x-ratelimit-remaining"), "2");
    assert_eq!(header(&first, "x-ratelimit-bucket"), "user");
    let reset_after: f64 = header(&first, "x-ratelimit-reset-after").parse().unwrap();
    assert!(reset_after > 0.0 && reset_after <= 1.0, "{reset_after}");

    // The budget runs out within the second (3 tokens, refilled over 1 s;
    // a few calls more cover a slow machine's refill).
    let mut refused = None;
    for _ in 0..10 {
        let r = call(&alice.token).await.unwrap();
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("a call over the budget is refused");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&refused, "x-ratelimit-scope"), "user");
    assert_eq!(header(&refused, "retry-after"), "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["global"], false);
    let retry_after = body["retry_after"].as_f64().unwrap();
    assert!(retry_after > 0.0 && retry_after <= 0.34, "{body}");

    // Bob's budget is his own; unauthenticated calls get 401, not 429.
    assert_eq!(call(&bob.token).await.unwrap().status(), 200);
    assert_eq!(call("not-a-token").await.unwrap().status(), 401);
    // After retry_after, Alice may call again.
    tokio::time::sleep(Duration::from_secs_f64(retry_after + 0.05)).await;
    assert_eq!(call(&alice.token).await.unwrap().status(), 200);

    let metrics = reqwest::get(format!("{}/metrics", server.ops()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("rookery_edge_rate_limited_total{scope=\"rest\"} 0"),
        "the refusal is counted"
    );
    server.stop().await;
}
