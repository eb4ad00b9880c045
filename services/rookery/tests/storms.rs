//! Storms against the real binary, with what they cost printed: the
//! server's resident memory under an IDENTIFY-then-drop storm, and a
//! bystander's send latency under a login flood. Each asserts the limit
//! that bounds it (docs/architecture.md, "Limits") and only a loose bound
//! on the figures: they are measurements, not benchmarks.

use rookery_client::{Api, ClientError, Gateway};
use rookery_proto::ChannelId;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::op;
use rookery_testkit::ChildServer;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

fn serve(dir: &std::path::Path) -> ChildServer {
    // Setup registers and posts freely; the storms meet the defaults.
    let extra = [
        "--registrations-per-hour-per-address",
        "0",
        "--channel-messages-per-5s",
        "0",
        "--rest-requests-per-second",
        "0",
    ];
    ChildServer::spawn(env!("CARGO_BIN_EXE_rookery"), dir, &extra)
}

/// The child's resident memory in MiB (`VmRSS`).
fn rss_mib(server: &ChildServer) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib / 1024.0
}

async fn gauge(server: &ChildServer, name: &str) -> f64 {
    let url = format!("http://{}/metrics", server.ops_addr());
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not exported"))
}

/// One user, two clients: a guild both are in, and the sender's channel.
async fn pair(api: &Api) -> (String, String, ChannelId) {
    let a = api.register("storm", "correct-horse").await.unwrap();
    let b = api.register("sender", "correct-horse").await.unwrap();
    let owner = api.with_token(&b.token);
    let guild = owner.create_guild("stormy").await.unwrap();
    let code = owner.create_invite(guild.id).await.unwrap();
    api.with_token(&a.token).accept_invite(&code).await.unwrap();
    (a.token, b.token, guild.channels[0].id)
}

/// What one IDENTIFY-then-drop cycle got: READY, or a close code.
async fn identify_and_drop(ws: &str, token: &str) -> Result<(), u16> {
    let mut g = Gateway::connect(ws, Encoding::Json).await.unwrap();
    match g.identify(token).await {
        Ok(_) => Ok(()), // dropped without a close frame: resumable
        Err(ClientError::Closed { code, .. }) => Err(code),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identify_then_drop_storm_under_traffic_keeps_memory_and_sessions_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let (ws, api) = (
        format!("ws://{}", server.addr),
        Api::new(format!("http://{}", server.addr)),
    );
    let (storm, sender, channel) = pair(&api).await;
    let before = rss_mib(&server);
    let traffic = tokio::spawn({
        let sender = api.with_token(&sender);
        async move {
            for i in 0.. {
                sender
                    .post_message(channel, &format!("busy {i}"), None)
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let started = Instant::now();
    let (mut ready, mut refused, mut peak) = (0, 0, before);
    for round in 0..150 {
        let cycles = (0..10).map(|_| identify_and_drop(&ws, &storm));
        for outcome in futures_util::future::join_all(cycles).await {
            match outcome {
                Ok(()) => ready += 1,
                Err(4008) => refused += 1,
                Err(code) => panic!("closed with {code}"),
            }
        }
        if round % 10 == 0 {
            peak = peak.max(rss_mib(&server));
        }
    }
    traffic.abort();
    let after = rss_mib(&server);
    let sessions = gauge(&server, "rookery_edge_sessions").await;
    println!(
        "identify storm: {} cycles in {:.1} s ({ready} READY, {refused} refused 4008) under traffic; \
         server RSS {before:.1} -> peak {peak:.1} -> {after:.1} MiB; {sessions} sessions left",
        ready + refused,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(ready, 1000, "the identify budget (--identifies-per-day)");
    assert!(
        sessions <= 16.0,
        "the per-user cap (--max-sessions-per-user)"
    );
    assert!(peak - before < 64.0, "RSS grew {:.1} MiB", peak - before);
}

/// Milliseconds from SEND to SEND_ACK, `n` times in a row.
async fn send_latencies(g: &mut Gateway, channel: ChannelId, tag: &str, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        g.send_message(channel, &format!("{tag}{i}"), "still here")
            .await
            .unwrap();
        g.op(op::SEND_ACK, T).await.expect("acked");
        out.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    out.sort_by(f64::total_cmp);
    out
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_refused_cheaply_and_a_bystander_keeps_sending() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let (ws, api) = (
        format!("ws://{}", server.addr),
        Api::new(format!("http://{}", server.addr)),
    );
    let (_, sender, channel) = pair(&api).await;
    let mut bystander = Gateway::connect(&ws, Encoding::Json).await.unwrap();
    bystander.identify(&sender).await.unwrap();
    let quiet = send_latencies(&mut bystander, channel, "quiet", 50).await;

    let flooding = Instant::now();
    let flood = tokio::spawn({
        let api = api.clone();
        async move {
            let (mut unauthorized, mut limited) = (0, 0);
            for round in 0..25 {
                let guesses = (0..16).map(|i| {
                    let name = format!("sender{}", (round * 16 + i) % 3);
                    let api = api.clone();
                    async move { api.login(&name, "wrong-password").await }
                });
                for answer in futures_util::future::join_all(guesses).await {
                    match answer {
                        Err(ClientError::Api { status: 401, .. }) => unauthorized += 1,
                        Err(ClientError::Api { status: 429, .. }) => limited += 1,
                        other => panic!("a wrong password got {other:?}"),
                    }
                }
            }
            (unauthorized, limited)
        }
    });
    let loud = send_latencies(&mut bystander, channel, "loud", 50).await;
    let (unauthorized, limited) = flood.await.unwrap();
    println!(
        "login flood: {} wrong passwords in {:.2} s ({unauthorized} checked: 401, {limited} refused: 429); \
         bystander SEND->ACK p50/p99 {:.2}/{:.2} ms quiet, {:.2}/{:.2} ms during the flood",
        unauthorized + limited,
        flooding.elapsed().as_secs_f64(),
        pct(&quiet, 0.5),
        pct(&quiet, 0.99),
        pct(&loud, 0.5),
        pct(&loud, 0.99),
    );
    assert!(
        unauthorized <= 30,
        "the per-address login budget (--logins-per-minute-per-address)"
    );
    assert!(
        pct(&loud, 0.5) < (pct(&quiet, 0.5) * 10.0).max(50.0),
        "the bystander was slowed"
    );
}

/// `rookery_store_history_read_duration_seconds_count`: history reads so far.
async fn history_reads(server: &ChildServer) -> f64 {
    let name = "rookery_store_history_read_duration_seconds_count{store=\"embedded\"}";
    gauge(server, name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identify_reads_one_message_per_channel_whatever_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let api = Api::new(format!("http://{}", server.addr));
    let (reader, sender, general) = pair(&api).await;
    let sender = api.with_token(&sender);
    let guild = api.with_token(&reader).my_guilds().await.unwrap()[0].id;
    let second = sender.create_channel(guild, "second").await.unwrap().id;
    let me = api.login("storm", "correct-horse").await.unwrap().user.id;
    // 600 messages over two channels, 7 of them naming the reader.
    for i in 0..600 {
        let (channel, content) = match i % 100 {
            0 => (general, format!("<@{me}> look {i}")),
            50 => (second, format!("<@{me}> here {i}")),
            _ => (
                if i % 2 == 0 { general } else { second },
                format!("chatter {i}"),
            ),
        };
        sender.post_message(channel, &content, None).await.unwrap();
    }
    sender
        .post_message(general, &format!("<@{me}> and @everyone"), None)
        .await
        .unwrap();
    let before = history_reads(&server).await;
    let mut g = Gateway::connect(&format!("ws://{}", server.addr), Encoding::Json)
        .await
        .unwrap();
    let ready = g.identify(&reader).await.unwrap();
    let reads = history_reads(&server).await - before;
    let counts: Vec<(ChannelId, u32, bool)> = ready
        .read_state
        .iter()
        .map(|r| (r.id, r.mention_count, r.unread))
        .collect();
    println!(
        "identify over 601 messages in 2 channels: {reads} history reads; read states {counts:?}"
    );
    assert!(
        counts.contains(&(general, 7, true)) && counts.contains(&(second, 6, true)),
        "{counts:?}"
    );
    assert_eq!(
        reads, 2.0,
        "one single-message read per channel, not the history"
    );
}
