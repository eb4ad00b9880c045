//! Smoke runs of every scenario against a real in-process server: seconds,
//! small N. They keep the tool from rotting; measurements stay out of CI.

use rookery_loadtest::report::{PartReport, Report};
use rookery_loadtest::{Barrier, Progress, Scenario, Step, Target, run_part};
use rookery_proto::codec::Encoding;
use rookery_testkit::TestServer;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

struct Straight;

impl Barrier for Straight {
    async fn reached(&mut self, _: Step) {}
}

static RUNS: AtomicU32 = AtomicU32::new(0);

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.frames_per_minute = 1_000_000;
        c.channel_messages_per_5s = 0;
    })
    .await
}

async fn run(server: &TestServer, scenario: Scenario, encoding: Encoding) -> PartReport {
    run_with(server, scenario, encoding, false).await
}

async fn run_with(
    server: &TestServer,
    scenario: Scenario,
    encoding: Encoding,
    zlib: bool,
) -> PartReport {
    let target = Target {
        http: server.http(),
        encoding,
        zlib,
        sources: 2,
        part: 0,
        parts: 1,
        run_id: format!("s{}", RUNS.fetch_add(1, Ordering::Relaxed)),
        intents: None,
        drain: std::time::Duration::from_secs(3),
    };
    let progress = Arc::new(Progress::default());
    run_part(Arc::new(target), &scenario, progress, &mut Straight)
        .await
        .expect("scenario runs")
}

#[tokio::test]
async fn idle_holds_identified_connections() {
    let server = server().await;
    let r = run(
        &server,
        Scenario::Idle {
            connections: 30,
            users: 3,
            hold_secs: 1,
        },
        Encoding::MsgPack,
    )
    .await;
    assert_eq!((r.connections, r.connect_errors), (30, 0));
    assert_eq!((r.sent, r.missing), (0, 0));
    server.stop().await;
}

#[tokio::test]
async fn fanout_delivers_every_acked_message_to_every_subscriber() {
    let server = server().await;
    let scenario = Scenario::Fanout {
        channels: 2,
        subscribers: 3,
        rate: 40.0,
        duration_secs: 2,
    };
    let r = run(&server, scenario, Encoding::Json).await;
    assert_eq!(r.connections, 6);
    assert!(r.acked >= 40, "acked {}", r.acked);
    assert_eq!((r.missing, r.duplicates, r.send_errors), (0, 0, 0));
    assert_eq!(r.expected, r.acked * 3);
    assert_eq!(r.delivered, r.expected);
    assert_eq!(r.delivery_latency.summary().count, r.delivered);
    server.stop().await;
}

#[tokio::test]
async fn fanout_over_zlib_stream_delivers_everything_in_both_encodings() {
    let server = server().await;
    for encoding in [Encoding::Json, Encoding::MsgPack] {
        let scenario = Scenario::Fanout {
            channels: 2,
            subscribers: 2,
            rate: 20.0,
            duration_secs: 1,
        };
        let r = run_with(&server, scenario, encoding, true).await;
        assert!(r.acked >= 10, "acked {}", r.acked);
        assert_eq!((r.missing, r.duplicates, r.send_errors), (0, 0, 0));
        assert_eq!(r.delivered, r.acked * 2);
    }
    server.stop().await;
}

#[tokio::test]
async fn chat_mix_sends_reads_resumes_and_loses_nothing() {
    let server = server().await;
    let scenario = Scenario::Chat {
        users: 6,
        guilds: 2,
        actions_per_sec: 5.0,
        duration_secs: 2,
    };
    let r = run(&server, scenario, Encoding::MsgPack).await;
    assert_eq!(r.connections, 6);
    assert!(r.acked > 0 && r.history_reads > 0, "{r:?}");
    assert_eq!(r.resume_failures, 0);
    assert_eq!(r.missing, 0, "{r:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_storm_brings_every_listener_back_by_resume_or_identify_and_loses_nothing() {
    let server = server().await;
    let scenario = Scenario::Storm {
        channels: 2,
        subscribers: 5,
        rate: 20.0,
        drop_after_secs: 1,
        backoff_ms: 300,
        duration_secs: 3,
    };
    let r = run(&server, scenario, Encoding::MsgPack).await;
    assert_eq!(r.connections, 10);
    // Per channel, members 2 and 4 resume; 1 and 3 identify again.
    assert_eq!((r.resumes, r.reidentifies, r.resume_failures), (4, 4, 0));
    assert_eq!(r.resume_latency.summary().count, 8);
    assert!(r.acked >= 20, "acked {}", r.acked);
    assert_eq!((r.missing, r.duplicates), (0, 0), "{r:?}");
    assert_eq!(r.delivered, r.acked * 5);
    assert_eq!(r.last_delivery_latency.summary().count, r.acked);
    server.stop().await;
}

#[tokio::test]
async fn the_binary_splits_a_run_over_processes_and_merges_the_report() {
    let server = server().await;
    let dir = tempfile_dir();
    let report = dir.join("report.json");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args([
            "--server",
            &server.http(),
            "--procs",
            "2",
            "--sources",
            "2",
            "--report",
        ])
        .arg(&report)
        .args(["--server-pid", &std::process::id().to_string()])
        .args([
            "fanout",
            "--channels",
            "4",
            "--subscribers",
            "2",
            "--rate",
            "40",
            "--duration-secs",
            "1",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r.totals.connections, 8, "both parts' connections");
    assert!(r.totals.acked > 0);
    assert_eq!(r.totals.missing, 0);
    assert_eq!(r.totals.delivered, r.totals.acked * 2);
    assert!(r.server.is_some(), "RSS and CPU read from /proc");
    server.stop().await;
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rookery-loadtest-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
