//! The real binary as a child process: `kill -9` loses no acknowledged
//! message, and bad configuration exits non-zero with a one-line reason.

use rookery_client::{Api, Gateway};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_testkit::ChildServer;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_rookery");

/// Starts `rookery serve` on port 0.
fn spawn(data_dir: &Path) -> ChildServer {
    spawn_with(data_dir, &[])
}

/// Starts `rookery serve` on port 0 with `extra` flags.
fn spawn_with(data_dir: &Path, extra: &[&str]) -> ChildServer {
    // Bulk sends, and thousands of messages read back page by page.
    let mut args = vec![
        "--frames-per-minute",
        "100000",
        "--channel-messages-per-5s",
        "0",
        "--rest-requests-per-second",
        "100000",
    ];
    args.extend_from_slice(extra);
    ChildServer::spawn(BIN, data_dir, &args)
}

/// Sends as fast as acks come back on several connections, and SIGKILLs the
/// server once `kill_after` acks have arrived.
async fn send_until_killed(
    node: &mut ChildServer,
    token: &str,
    channel: ChannelId,
    kill_after: usize,
) -> BTreeSet<MessageId> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for c in 0..4 {
        let (ws, token, tx) = (format!("ws://{}", node.addr), token.to_owned(), tx.clone());
        tokio::spawn(async move {
            let mut g = Gateway::connect(&ws, Encoding::MsgPack).await.unwrap();
            g.identify(&token).await.unwrap();
            for i in 0..2000 {
                if g.send_message(channel, &format!("c{c}-{i}"), "durable?")
                    .await
                    .is_err()
                {
                    return;
                }
                // Keep a window of outstanding sends.
                if i >= 16 {
                    match g.op(op::SEND_ACK, Duration::from_secs(10)).await {
                        Ok(f) => tx.send(f.d::<gw::SendAck>().unwrap().id).unwrap(),
                        Err(_) => return,
                    }
                }
            }
        });
    }
    drop(tx);
    let mut acked = BTreeSet::new();
    while let Some(id) = rx.recv().await {
        acked.insert(id);
        if acked.len() == kill_after {
            node.child.kill().unwrap(); // SIGKILL
            node.child.wait().unwrap();
        }
    }
    acked
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    kill_9_then_read_back(dir.path(), &[], (600, 1)).await;
}

/// With 1 MiB log segments the run fills several: the kill lands after
/// segments were sealed and recycled, and the restart scans them all.
#[tokio::test]
async fn kill_9_across_bus_log_segments_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let segments = ["--bus-segment-mib", "1"];
    // At the kill the log holds more than its first segment (or its spare).
    kill_9_then_read_back(dir.path(), &segments, (6000, 2)).await;
}

/// Sends until `kill_after` acks, SIGKILLs the server (its bus log then
/// holds at least `log_files` files), restarts it on the same data dir and
/// checks every acknowledged message is in the history.
async fn kill_9_then_read_back(
    dir: &Path,
    extra: &[&str],
    (kill_after, log_files): (usize, usize),
) {
    let mut node = spawn_with(dir, extra);
    let api = Api::new(format!("http://{}", node.addr));
    let auth = api.register("durable", "long-enough").await.unwrap();
    let alice = api.with_token(&auth.token);
    let channel = alice.create_guild("crash test").await.unwrap().channels[0].id;

    let acked = send_until_killed(&mut node, &auth.token, channel, kill_after).await;
    assert!(acked.len() >= kill_after, "acked {}", acked.len());
    let files = std::fs::read_dir(dir.join("bus/segments")).unwrap().count();
    assert!(files >= log_files, "{files} log files at the kill");

    let node = spawn_with(dir, extra);
    // The generated signing key persisted: the old token still works.
    let alice = Api::new(format!("http://{}", node.addr)).with_token(&auth.token);
    let mut stored = BTreeSet::new();
    let mut query = "limit=100".to_owned();
    loop {
        let page = alice.history(channel, &query).await.unwrap();
        let Some(last) = page.last() else { break };
        query = format!("before={}&limit=100", last.id);
        stored.extend(page.iter().map(|m| m.id));
    }
    println!(
        "acked before the kill: {}, stored after restart: {}",
        acked.len(),
        stored.len()
    );
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    let mut node = node;
    node.child.kill().unwrap();
    node.child.wait().unwrap();
}

fn run_to_exit(args: &[&str]) -> (i32, String) {
    run_logging(args, "warn")
}

fn run_logging(args: &[&str], log: &str) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("ROOKERY_LOG", log)
        .output()
        .expect("run rookery");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_configuration_exits_non_zero_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("d").to_string_lossy().into_owned();
    let file = dir.path().join("file");
    std::fs::write(&file, "not a dir").unwrap();
    let file = file.to_string_lossy().into_owned();

    let listening = format!("rookery: cannot listen on {taken}");
    let cases: [(&[&str], &str); 5] = [
        (&["--listen", &taken, "--data-dir", &data], &listening),
        (
            &["--listen", "127.0.0.1:0", "--data-dir", &file],
            "is not usable",
        ),
        (
            &["--data-dir", &data, "--worker-id", "4096"],
            "worker id 4096 is out of range",
        ),
        (&["--listen", "not-an-address"], "--listen"),
        (
            &["--data-dir", &data, "--jwt-secret", "short"],
            "at least 32 bytes",
        ),
    ];
    for (args, reason) in cases {
        let mut argv = vec!["serve"];
        if !args.contains(&"--listen") {
            argv.extend(["--listen", "127.0.0.1:0"]);
        }
        argv.extend(args);
        let (code, err) = run_to_exit(&argv);
        assert_ne!(code, 0, "{argv:?}");
        assert!(err.contains(reason), "{argv:?}: {err}");
        if reason.starts_with("rookery:") {
            assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        }
    }
}

/// No ScyllaDB runs here; what can be checked is that pointing at one that
/// is not there fails fast with the reason, for both commands.
#[test]
fn an_unreachable_or_misspelt_store_or_bus_exits_non_zero_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let unreachable = format!("scylla://{closed}/chat?connect_timeout_ms=2000");
    let refused = format!(
        "rookery: cannot open the store: store backend: cannot connect to ScyllaDB at {closed}"
    );
    // `serve` with one extra flag (`--store` or `--bus`).
    let serve_with = |flag: &str, value: &str| {
        [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data,
            flag,
            value,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let serve = |store: &str| serve_with("--store", store);
    let serve_bus = |bus: &str| serve_with("--bus", bus);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (serve(&unreachable), &refused),
        (
            serve("scylla://nohost"),
            "invalid scylla URL: node \"nohost\" needs host:port",
        ),
        (
            serve("postgres://x:1"),
            "invalid scylla URL: it must start with scylla://",
        ),
        (
            vec!["migrate".into(), "--store".into(), unreachable.clone()],
            "cannot connect to ScyllaDB",
        ),
        (
            vec![
                "migrate".into(),
                "--store".into(),
                unreachable.clone(),
                "--replication".into(),
                "simple:0".into(),
            ],
            "invalid replication",
        ),
        (
            vec![
                "topics".into(),
                "ensure".into(),
                "--bus".into(),
                format!("kafka://{closed}"),
            ],
            "cannot reach kafka at",
        ),
        (
            serve_bus("kafka://nohost"),
            "invalid kafka URL: broker \"nohost\" needs host:port",
        ),
    ];
    for (argv, reason) in cases {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (code, err) = run_to_exit(&args);
        assert_ne!(code, 0, "{argv:?}");
        assert!(err.contains(reason), "{argv:?}: {err}");
    }
    // The embedded store needs no migration: success, so one deployment Job
    // serves both stores.
    let (code, err) = run_logging(&["migrate", "--store", "embedded"], "info");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("the embedded store needs no migration"),
        "{err}"
    );
}

#[tokio::test]
async fn a_second_process_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = spawn(dir.path());
    let (code, err) = run_to_exit(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &dir.path().to_string_lossy(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("locked by another process"), "{err}");
    // The first node is unaffected.
    let health = reqwest::get(format!("http://{}/healthz", node.addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    node.child.kill().unwrap();
    node.child.wait().unwrap();
}

/// The server turns transparent huge pages off for itself (see `main.rs`):
/// with them, fresh 2 MiB pages zeroed on first touch stalled the write path.
#[test]
fn the_server_runs_without_transparent_huge_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = spawn(dir.path());
    let status = std::fs::read_to_string(format!("/proc/{}/status", node.child.id())).unwrap();
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    let thp = status
        .lines()
        .find_map(|line| line.strip_prefix("THP_enabled:"))
        .map(str::trim);
    // Kernels before 5.0 do not report it; there is nothing to check there.
    if let Some(thp) = thp {
        assert_eq!(thp, "0", "{status}");
    }
}
