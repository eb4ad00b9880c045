//! The gateway as Discord's libraries use it (issue 17): READY in Discord's
//! shape after `?v=10`, one GUILD_CREATE per guild after it, intents and
//! MESSAGE_CONTENT, and zlib-stream transport compression.

use futures_util::{SinkExt, StreamExt};
use rookery_client::Gateway;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::intents::{Intents, bit};
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

const T: Duration = Duration::from_secs(10);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw connection, inflating frames when it asked for zlib-stream.
struct Raw {
    ws: Socket,
    zlib: Option<flate2::Decompress>,
    /// Bytes as received, and as inflated.
    wire: usize,
    plain: usize,
}

impl Raw {
    async fn connect(server: &TestServer, query: &str) -> Raw {
        let url = format!("{}/gateway?{query}", server.ws());
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let zlib = query
            .contains("zlib-stream")
            .then(|| flate2::Decompress::new(true));
        Raw {
            ws,
            zlib,
            wire: 0,
            plain: 0,
        }
    }

    async fn next(&mut self) -> Result<Value, u16> {
        loop {
            let frame = tokio::time::timeout(T, self.ws.next())
                .await
                .expect("a frame in time");
            let bytes = match frame.expect("open").expect("a frame") {
                Ws::Text(t) => {
                    assert!(
                        self.zlib.is_none(),
                        "text frame on a zlib-stream connection"
                    );
                    t.as_bytes().to_vec()
                }
                Ws::Binary(b) => self.inflate(&b),
                Ws::Close(c) => return Err(c.map_or(1005, |c| c.code.into())),
                _ => continue,
            };
            self.plain += bytes.len();
            return Ok(serde_json::from_slice(&bytes).unwrap());
        }
    }

    fn inflate(&mut self, b: &[u8]) -> Vec<u8> {
        let z = self
            .zlib
            .as_mut()
            .expect("binary frames only with zlib-stream");
        assert!(
            b.ends_with(&[0, 0, 0xff, 0xff]),
            "every frame ends on a sync flush"
        );
        self.wire += b.len();
        let mut out = Vec::with_capacity(b.len() * 8 + 1024);
        loop {
            let before = z.total_in();
            z.decompress_vec(b, &mut out, flate2::FlushDecompress::Sync)
                .unwrap();
            if z.total_in() - before == b.len() as u64 || out.len() < out.capacity() {
                return out;
            }
            out.reserve(out.capacity());
        }
    }

    async fn send(&mut self, op: u8, d: Value) {
        let text = json!({"op": op, "d": d}).to_string();
        self.ws.send(Ws::Text(text.into())).await.unwrap();
    }

    async fn identify(&mut self, token: &str, intents: Option<u64>) -> Value {
        let hello = self.next().await.unwrap();
        assert_eq!(hello["op"], 10);
        let mut d = json!({"token": token, "properties": {"os": "linux", "browser": "test",
            "device": "test"}, "compress": false, "large_threshold": 250, "shard": [0, 1]});
        if let Some(i) = intents {
            d["intents"] = json!(i);
        }
        self.send(op::IDENTIFY, d).await;
        self.dispatch("READY").await
    }

    async fn dispatch(&mut self, t: &str) -> Value {
        loop {
            let frame = self.next().await.expect("open");
            if frame["t"] == t {
                return frame["d"].clone();
            }
        }
    }
}

#[tokio::test]
async fn a_v10_ready_lists_unavailable_guilds_then_one_guild_create_each() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let first = alice.api.create_guild("first").await.unwrap();
    let second = alice.api.create_guild("second").await.unwrap();
    // first: alice and bob (carol joined and left); second: alice alone.
    let code = alice.api.create_invite(first.id).await.unwrap();
    for joiner in [&bob, &carol] {
        joiner.api.accept_invite(&code).await.unwrap();
    }
    let leave = format!("/users/@me/guilds/{}", first.id);
    carol
        .no_content(reqwest::Method::DELETE, &leave, None)
        .await;
    let mut raw = Raw::connect(&server, "v=10&encoding=json").await;
    let ready = raw.identify(&alice.token, None).await;
    assert_eq!(ready["v"], 10);
    assert_eq!(ready["user"]["discriminator"], "0");
    assert_eq!(ready["user"]["bot"], false);
    assert!(
        ready.get("application").is_none(),
        "a user has no application"
    );
    assert_eq!(
        ready["resume_gateway_url"],
        format!("{}/gateway", server.ws())
    );
    let mut listed: Vec<Value> = ready["guilds"].as_array().unwrap().clone();
    listed.sort_by_key(|g| g["id"].as_str().unwrap().parse::<u64>().unwrap());
    let expected: Vec<Value> = [first.id, second.id]
        .iter()
        .map(|id| json!({"id": id.to_string(), "unavailable": true}))
        .collect();
    assert_eq!(listed, expected);
    let mut created = Vec::new();
    for _ in 0..2 {
        let g = raw.dispatch("GUILD_CREATE").await;
        assert_eq!(
            (g["unavailable"].clone(), g["large"].clone()),
            (json!(false), json!(false))
        );
        assert_eq!(g["members"][0]["user"]["id"], alice.user.id.to_string());
        assert_eq!(g["joined_at"], g["members"][0]["joined_at"]);
        assert_eq!(g["channels"][0]["name"], "general");
        assert_eq!(g["features"], json!([]));
        let count = g["member_count"].as_u64().unwrap();
        created.push((g["name"].as_str().unwrap().to_owned(), count));
    }
    created.sort();
    let expected = [("first".to_owned(), 2), ("second".to_owned(), 1)];
    assert_eq!(created, expected);
    // Rookery's own clients (no `v`) keep READY with the guilds in it.
    let mut own = server.gateway(&alice, Encoding::Json).await;
    own.heartbeat().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_bots_ready_names_its_application() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let (status, made) = alice
        .call(
            reqwest::Method::POST,
            "/applications",
            Some(json!({"name": "helper"})),
        )
        .await;
    assert_eq!(status.as_u16(), 201);
    let mut raw = Raw::connect(&server, "v=10&encoding=json").await;
    let ready = raw.identify(made["token"].as_str().unwrap(), None).await;
    assert_eq!(
        ready["application"],
        json!({"id": made["application"]["id"], "flags": 0})
    );
    assert_eq!(ready["user"]["bot"], true);
    assert_eq!(ready["guilds"], json!([]));
    server.stop().await;
}

async fn intents_session(server: &TestServer, who: &TestUser, intents: u64) -> Gateway {
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let identify = gw::Identify {
        token: who.token.clone(),
        last_message_ids: Default::default(),
        presence: None,
        intents: Some(Intents(intents)),
    };
    g.identify_with(&identify).await.unwrap();
    g
}

#[tokio::test]
async fn intents_choose_the_dispatches_and_message_content_the_text() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let channel = guild.channels[0].id;
    let no_content = bit::GUILDS | bit::GUILD_MESSAGES;
    let mut bob_gw = intents_session(&server, &bob, no_content).await;
    let mut carol_gw = intents_session(&server, &carol, bit::GUILDS).await;

    alice
        .api
        .post_message(channel, "a secret", None)
        .await
        .unwrap();
    let mention = format!("hey <@{}>", bob.user.id);
    alice
        .api
        .post_message(channel, &mention, None)
        .await
        .unwrap();
    let created = bob_gw.dispatch("MESSAGE_CREATE", T).await.unwrap();
    let m: rookery_proto::model::Message = created.d().unwrap();
    assert_eq!(m.content, "", "no MESSAGE_CONTENT: the text is withheld");
    let created = bob_gw.dispatch("MESSAGE_CREATE", T).await.unwrap();
    let m: rookery_proto::model::Message = created.d().unwrap();
    assert_eq!(m.content, mention, "a message naming bob keeps its text");

    // Carol asked for GUILDS only: the next dispatch she gets is the
    // channel, not the messages posted before it.
    alice.api.create_channel(guild.id, "later").await.unwrap();
    let next = carol_gw
        .next_matching("a dispatch", T, |f| f.header.op == op::DISPATCH)
        .await;
    assert_eq!(next.unwrap().t(), Some("CHANNEL_CREATE"));
    server.stop().await;
}

#[tokio::test]
async fn undefined_intents_close_with_4013_and_unknown_versions_are_refused() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let mut raw = Raw::connect(&server, "v=10&encoding=json").await;
    raw.next().await.unwrap();
    raw.send(
        op::IDENTIFY,
        json!({"token": alice.token, "intents": 1u64 << 40}),
    )
    .await;
    assert_eq!(raw.next().await, Err(4013));
    for query in ["v=6", "v=ten", "compress=gzip"] {
        let url = format!("{}/gateway?{query}", server.ws());
        let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
        let tokio_tungstenite::tungstenite::Error::Http(response) = refused else {
            panic!("{query}: {refused}");
        };
        assert_eq!(response.status().as_u16(), 400, "{query}");
    }
    server.stop().await;
}

#[tokio::test]
async fn zlib_stream_deflates_every_frame_into_one_stream() {
    let server = TestServer::start_with(|c| c.channel_messages_per_5s = 0).await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    let mut raw = Raw::connect(&server, "v=10&encoding=json&compress=zlib-stream").await;
    raw.identify(&bob.token, None).await;
    raw.dispatch("GUILD_CREATE").await;
    for i in 0..20 {
        let text = format!("message {i} about the same thing as the others");
        alice.api.post_message(channel, &text, None).await.unwrap();
    }
    for i in 0..20 {
        let m = raw.dispatch("MESSAGE_CREATE").await;
        assert_eq!(
            m["content"],
            format!("message {i} about the same thing as the others")
        );
    }
    println!(
        "zlib-stream: {} bytes on the wire for {} bytes of JSON ({:.1}x)",
        raw.wire,
        raw.plain,
        raw.plain as f64 / raw.wire as f64
    );
    assert!(raw.wire * 3 < raw.plain, "{} of {}", raw.wire, raw.plain);
    server.stop().await;
}
