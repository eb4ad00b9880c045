//! What a hostile client tries against one node, and what it gets: sockets
//! that never identify, control-frame floods, identify storms, slow and
//! idle HTTP connections. Each test shows the limit holding and a bystander
//! still served.

use rookery_client::{ClientError, Gateway};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, CloseCode, op};
use rookery_testkit::TestServer;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const T: Duration = Duration::from_secs(10);

async fn closed_with(g: &mut Gateway) -> u16 {
    rookery_testkit::close_code(g, T).await
}

#[tokio::test]
async fn a_socket_that_heartbeats_but_never_identifies_is_closed() {
    let server = TestServer::start_with(|c| {
        c.heartbeat_interval_ms = 200;
        c.identify_timeout_ms = 600;
    })
    .await;
    let mut anonymous = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let heartbeats = async {
        loop {
            if anonymous.heartbeat().await.is_err() {
                return closed_with(&mut anonymous).await;
            }
            let pause = tokio::time::sleep(Duration::from_millis(100));
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    () = &mut pause => break,
                    frame = anonymous.next() => match frame {
                        Err(ClientError::Closed { code, .. }) => return code,
                        Err(e) => panic!("{e}"),
                        Ok(_) => {}
                    },
                }
            }
        }
    };
    let code = tokio::time::timeout(T, heartbeats).await.expect("closed");
    assert_eq!(code, CloseCode::NotAuthenticated.code());
    assert!(started.elapsed() >= Duration::from_millis(500));
    // An identified connection is not held to the deadline.
    let user = server.user("u").await;
    let mut g = server.gateway(&user, Encoding::Json).await;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        g.heartbeat().await.unwrap();
        g.op(op::HEARTBEAT_ACK, T).await.unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn pings_spend_the_frame_budget() {
    let server = TestServer::start_with(|c| c.frames_per_minute = 10).await;
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    for _ in 0..20 {
        if g.send_raw(WsMessage::Ping(vec![1].into())).await.is_err() {
            break;
        }
    }
    assert_eq!(closed_with(&mut g).await, CloseCode::RateLimited.code());
    server.stop().await;
}

/// A TCP connection that sent `bytes` and nothing more.
async fn half_open(addr: &str, bytes: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    tcp
}

/// Whether the server closed `tcp` within `limit` (what it sent before
/// closing is ignored).
async fn closed_within(tcp: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

const PARTIAL: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: rookery\r\n";

#[tokio::test]
async fn slow_headers_and_idle_keep_alives_are_closed() {
    let server = TestServer::start_with(|c| c.http_header_timeout_ms = 300).await;
    let addr = server.http().trim_start_matches("http://").to_owned();
    let mut slow = half_open(&addr, PARTIAL).await;
    let mut idle = half_open(&addr, b"GET /healthz HTTP/1.1\r\nHost: rookery\r\n\r\n").await;
    let mut silent = half_open(&addr, b"").await;
    for (name, tcp) in [
        ("slow", &mut slow),
        ("idle", &mut idle),
        ("silent", &mut silent),
    ] {
        assert!(
            closed_within(tcp, Duration::from_secs(3)).await,
            "{name} kept open"
        );
    }
    // A client that keeps its requests coming is served throughout.
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let r = client
            .get(format!("{}/healthz", server.http()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
}

/// The value of `series` (a full name with labels) in an exposition.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series}"))
}

#[tokio::test]
async fn a_half_open_flood_cannot_lock_out_health_checks_logins_or_the_gateway() {
    let server = TestServer::start_with(|c| {
        c.max_connections = 40;
        c.connection_reserve = 10;
    })
    .await;
    let user = server.user("bystander").await;
    let addr = server.http().trim_start_matches("http://").to_owned();
    // Five times the cap of requests that never finish their headers.
    let mut flood = Vec::new();
    for _ in 0..200 {
        flood.push(half_open(&addr, PARTIAL).await);
    }
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", server.http()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server
        .api()
        .login(&user.user.username, "correct-horse")
        .await
        .unwrap();
    let mut g = server.gateway(&user, Encoding::Json).await;
    g.heartbeat().await.unwrap();
    g.op(op::HEARTBEAT_ACK, T).await.unwrap();
    // The oldest of the flood were closed to make room: the cap held.
    let mut open = 0;
    for tcp in &mut flood {
        open += usize::from(!closed_within(tcp, Duration::from_millis(50)).await);
    }
    assert!(open <= 40, "{open} of the flood still open");
    let text = ops_metrics(&server).await;
    let evicted = r#"rookery_edge_http_connections_evicted_total{listener="public"}"#;
    assert!(metric(&text, evicted) >= 160.0, "{text}");
    server.stop().await;
}

#[tokio::test]
async fn the_gateway_leaves_the_reserve_to_rest() {
    let server = TestServer::start_with(|c| {
        c.max_connections = 12;
        c.connection_reserve = 4;
    })
    .await;
    let user = server.user("u").await;
    let mut sockets = Vec::new();
    for _ in 0..8 {
        sockets.push(server.gateway(&user, Encoding::MsgPack).await);
    }
    let refused = Gateway::connect(&server.ws(), Encoding::Json).await;
    assert!(refused.is_err(), "a ninth WebSocket took the reserve");
    // The reserve still serves REST while the gateway is full.
    for _ in 0..3 {
        user.api.my_guilds().await.unwrap();
    }
    drop(sockets.pop());
    // The slot frees when the server sees the close.
    let deadline = std::time::Instant::now() + T;
    while Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "the slot never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

async fn ops_metrics(server: &TestServer) -> String {
    let url = format!("{}/metrics", server.ops());
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// What a RESUME of `session_id` at `seq` gets: `true` for RESUMED,
/// `false` for INVALID_SESSION.
async fn resumes(server: &TestServer, token: &str, session_id: &str, seq: u64) -> bool {
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let resume = gw::Resume {
        token: token.to_owned(),
        session_id: session_id.to_owned(),
        seq,
    };
    g.send_op(op::RESUME, &resume).await.unwrap();
    let answer = g
        .next_matching("RESUMED or INVALID_SESSION", T, |f| {
            f.header.op == op::INVALID_SESSION || f.t() == Some("RESUMED")
        })
        .await
        .unwrap();
    answer.header.op != op::INVALID_SESSION
}

#[tokio::test]
async fn an_identify_then_drop_storm_leaves_a_bounded_number_of_sessions() {
    let server = TestServer::start_with(|c| c.max_sessions_per_user = 4).await;
    let (storm, sender) = (server.user("storm").await, server.user("sender").await);
    server.guild(&[&sender, &storm]).await;
    let mut sessions = Vec::new();
    for _ in 0..30 {
        let mut g = Gateway::connect(&server.ws(), Encoding::Json)
            .await
            .unwrap();
        sessions.push(g.identify(&storm.token).await.unwrap().session_id);
        drop(g); // no close frame: the session stays resumable
    }
    // Only the newest four are left (and they resume); the rest are gone.
    let (gone, kept) = sessions.split_at(26);
    for id in gone.iter().rev().take(5) {
        assert!(!resumes(&server, &storm.token, id, 1).await, "{id} kept");
    }
    for id in kept {
        assert!(resumes(&server, &storm.token, id, 1).await, "{id} gone");
    }
    server.stop().await;
}

#[tokio::test]
async fn identifies_beyond_the_session_cap_or_the_budget_are_refused() {
    let server = TestServer::start_with(|c| {
        c.max_sessions_per_user = 2;
        c.identifies_per_day = 4;
    })
    .await;
    let user = server.user("u").await;
    let _held = [
        server.gateway(&user, Encoding::Json).await,
        server.gateway(&user, Encoding::Json).await,
    ];
    // Both sessions attached: nothing to evict.
    let mut third = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    third
        .send_op(op::IDENTIFY, &identify(&user.token))
        .await
        .unwrap();
    assert_eq!(closed_with(&mut third).await, CloseCode::RateLimited.code());
    drop(_held);
    // Three identifies spent; the fourth passes, the fifth is over budget.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.gateway(&user, Encoding::Json).await;
    let mut fifth = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    fifth
        .send_op(op::IDENTIFY, &identify(&user.token))
        .await
        .unwrap();
    assert_eq!(closed_with(&mut fifth).await, CloseCode::RateLimited.code());
    server.stop().await;
}

fn identify(token: &str) -> gw::Identify {
    gw::Identify {
        token: token.to_owned(),
        last_message_ids: Default::default(),
        presence: None,
        intents: None,
    }
}

#[tokio::test]
async fn a_detached_session_past_its_replay_buffer_gets_no_more_traffic() {
    let server = TestServer::start_with(|c| {
        c.replay_buffer = 8;
        c.channel_messages_per_5s = 0;
    })
    .await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let channel = server.guild(&[&alice, &bob]).await.channels[0].id;
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let session_id = g.identify(&bob.token).await.unwrap().session_id;
    let session = (g.last_seq().unwrap(), session_id);
    drop(g);
    for i in 0..12 {
        alice
            .api
            .post_message(channel, &format!("m{i}"), None)
            .await
            .unwrap();
    }
    // The edge ends it within its once-a-second sweep (the only session
    // this test binary overflows; metrics are per process).
    let overflowed = r#"rookery_edge_sessions_ended_total{reason="overflowed"}"#;
    let deadline = std::time::Instant::now() + T;
    while metric(&ops_metrics(&server).await, overflowed) < 1.0 {
        assert!(std::time::Instant::now() < deadline, "never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!resumes(&server, &bob.token, &session.1, session.0).await);
    server.stop().await;
}

#[tokio::test]
async fn an_empty_member_patch_reads_no_more_than_get_allows() {
    use reqwest::Method;
    let server = TestServer::start().await;
    let [alice, bob, carol, mallory] = server.users(["alice", "bob", "carol", "mallory"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await.id;
    let path = format!("/guilds/{guild}/members/{}", bob.user.id);
    let empty = Some(serde_json::json!({}));
    // A member may read another member, as with GET.
    let seen: serde_json::Value = carol.ok(Method::PATCH, &path, empty.clone()).await;
    assert_eq!(seen["user"]["id"], serde_json::json!(bob.user.id));
    // An outsider learns nothing: the same refusal as GET.
    let (get, _) = mallory.call(Method::GET, &path, None).await;
    let (patch, answer) = mallory.call(Method::PATCH, &path, empty.clone()).await;
    assert_eq!(patch, get, "{answer}");
    assert!(patch.is_client_error(), "{patch}: {answer}");
    // Nor who is in a DM.
    let dm: serde_json::Value = alice
        .ok(
            Method::POST,
            "/users/@me/channels",
            Some(serde_json::json!({"recipient_id": bob.user.id})),
        )
        .await;
    let dm = dm["id"].as_str().unwrap().to_owned();
    let through_dm = format!("/guilds/{dm}/members/{}", bob.user.id);
    let (status, answer) = mallory.call(Method::PATCH, &through_dm, empty).await;
    assert!(status.is_client_error(), "{status}: {answer}");
    server.stop().await;
}

/// A REST client whose connections come from `source` (any 127.0.0.0/8
/// address reaches the server).
fn client_from(server: &TestServer, source: [u8; 4]) -> rookery_client::Api {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .build()
        .unwrap();
    rookery_client::Api::with_client(server.http(), http)
}

fn status_of(result: Result<impl Sized, rookery_client::ClientError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(rookery_client::ClientError::Api { status, .. }) => status,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn logins_are_budgeted_per_address_and_per_username() {
    let server = TestServer::start_with(|c| {
        c.logins_per_minute_per_address = 5;
        c.logins_per_minute_per_username = 3;
    })
    .await;
    let [victim, bystander] = server.users(["victim", "bystander"]).await;
    let attacker = client_from(&server, [127, 0, 0, 2]);
    for guess in 0..5 {
        let name = format!("nobody{guess}");
        assert_eq!(status_of(attacker.login(&name, "guess").await), 401);
    }
    assert_eq!(status_of(attacker.login("nobody9", "guess").await), 429);
    // Another address is not affected.
    let elsewhere = client_from(&server, [127, 0, 0, 3]);
    let name = &bystander.user.username;
    assert_eq!(status_of(elsewhere.login(name, "correct-horse").await), 200);
    // Guessing one account from many addresses runs out of its budget.
    let name = &victim.user.username;
    for last in 4..7 {
        let guesser = client_from(&server, [127, 0, 0, last]);
        assert_eq!(status_of(guesser.login(name, "guess").await), 401);
    }
    let guesser = client_from(&server, [127, 0, 0, 7]);
    assert_eq!(status_of(guesser.login(name, "correct-horse").await), 429);
    server.stop().await;
}

#[tokio::test]
async fn registrations_are_budgeted_per_address() {
    let server = TestServer::start_with(|c| c.registrations_per_hour_per_address = 2).await;
    let spammer = client_from(&server, [127, 0, 0, 8]);
    assert_eq!(
        status_of(spammer.register("spam1", "long-enough").await),
        200
    );
    assert_eq!(
        status_of(spammer.register("spam2", "long-enough").await),
        200
    );
    assert_eq!(
        status_of(spammer.register("spam3", "long-enough").await),
        429
    );
    let other = client_from(&server, [127, 0, 0, 9]);
    assert_eq!(
        status_of(other.register("honest", "long-enough").await),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn a_login_takes_as_long_for_an_unknown_name_as_for_a_wrong_password() {
    let server = TestServer::start().await;
    let user = server.user("known").await;
    let api = server.api();
    // The quickest of five of each: the least disturbed by other tests.
    let mut quickest = [Duration::MAX; 2];
    for i in 0..5 {
        for (slot, name) in [(0, user.user.username.clone()), (1, format!("unknown{i}"))] {
            let started = std::time::Instant::now();
            assert_eq!(status_of(api.login(&name, "wrong-password").await), 401);
            quickest[slot] = quickest[slot].min(started.elapsed());
        }
    }
    let [wrong_password, unknown_name] = quickest;
    println!(
        "quickest login refusal: wrong password {wrong_password:?}, unknown name {unknown_name:?}"
    );
    // Before, an unknown name answered at once (1 ms against 16 ms).
    assert!(
        unknown_name * 3 >= wrong_password,
        "{unknown_name:?} against {wrong_password:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn invisible_or_control_text_and_oversized_bodies_are_refused() {
    use reqwest::Method;
    let server = TestServer::start().await;
    let user = server.user("u").await;
    let guild = server.guild(&[&user]).await;
    let channel = guild.channels[0].id;
    let post = format!("/channels/{channel}/messages");
    let cases = [
        ("\u{200b}\u{200d}\u{2060}", (400, 50006)),
        ("\u{3164}\u{feff} ", (400, 50006)),
        ("hello\u{0}world", (400, 50035)),
        ("bell\u{7}", (400, 50035)),
    ];
    for (content, refusal) in cases {
        let body = Some(serde_json::json!({ "content": content }));
        user.refused(Method::POST, &post, body, refusal).await;
    }
    // Ordinary text, with line breaks and an emoji joined by ZWJ, passes.
    let body = serde_json::json!({ "content": "line one\nline two 👩\u{200d}💻" });
    let _: serde_json::Value = user.ok(Method::POST, &post, Some(body)).await;
    for name in ["\u{200b}", "a\u{0}b", "\u{2800}\u{2800}"] {
        let body = Some(serde_json::json!({ "name": name }));
        user.refused(Method::POST, "/guilds", body, (400, 50035))
            .await;
    }
    // A body over the 64 KiB limit is 413, not a parse error.
    let huge = serde_json::json!({ "content": "x".repeat(200 * 1024) });
    user.refused(Method::POST, &post, Some(huge), (413, 40005))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_gateway_send_with_an_unknown_field_is_refused_as_rest_refuses_it() {
    use reqwest::Method;
    let server = TestServer::start().await;
    let user = server.user("u").await;
    let channel = server.guild(&[&user]).await.channels[0].id;
    let body = serde_json::json!({ "content": "x", "tts_typo": true });
    let post = format!("/channels/{channel}/messages");
    user.refused(Method::POST, &post, Some(body), (400, 50109))
        .await;
    let mut g = server.gateway(&user, Encoding::Json).await;
    let frame = serde_json::json!({
        "op": op::SEND,
        "d": { "channel_id": channel, "nonce": "n", "content": "x", "tts_typo": true },
    });
    g.send_raw(WsMessage::text(frame.to_string()))
        .await
        .unwrap();
    assert_eq!(closed_with(&mut g).await, CloseCode::DecodeError.code());
    server.stop().await;
}

#[tokio::test]
async fn more_connections_buy_no_more_messages_in_a_channel() {
    let server = TestServer::start().await;
    let [flooder, bystander] = server.users(["flooder", "bystander"]).await;
    let guild = server.guild(&[&flooder, &bystander]).await;
    let channel = guild.channels[0].id;
    // Ten connections, two sends each, at once: five pass (the budget is
    // the user's, not the connection's).
    let mut connections = Vec::new();
    for _ in 0..10 {
        connections.push(server.gateway(&flooder, Encoding::MsgPack).await);
    }
    let mut acked = 0;
    let mut refused = Vec::new();
    for (i, g) in connections.iter_mut().enumerate() {
        for j in 0..2 {
            match rookery_testkit::send_answer(g, channel, &format!("{i}-{j}")).await {
                Ok(_) => acked += 1,
                Err(code) => refused.push(code),
            }
        }
    }
    assert_eq!(acked, 5, "refused: {refused:?}");
    assert!(refused.iter().all(|&c| c == 20028), "{refused:?}");
    // The gateway's refusal says when to retry, as REST's does (a client
    // retries by itself instead of marking the message failed).
    let g = &mut connections[0];
    g.send_message(channel, "late", "hi").await.unwrap();
    let refusal: gw::SendError = g
        .next_matching("a refusal", T, |f| f.header.op == op::SEND_ERROR)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(refusal.code, 20028);
    let wait = refusal
        .retry_after
        .expect("retry_after on SEND_ERROR 20028");
    assert!(wait > 0.0 && wait <= 5.0, "{refusal:?}");
    // REST shares the budget, with Discord's 429 and retry_after.
    let post = format!("/channels/{channel}/messages");
    let body = Some(serde_json::json!({ "content": "one more" }));
    let (status, answer) = flooder.call(reqwest::Method::POST, &post, body).await;
    assert_eq!(status.as_u16(), 429, "{answer}");
    assert_eq!(answer["code"], 20028);
    assert!(answer["retry_after"].as_f64().unwrap() > 0.0);
    // Another member of the channel is not affected.
    bystander
        .api
        .post_message(channel, "hello", None)
        .await
        .unwrap();
    server.stop().await;
}
