//! Metrics checked by real tools against a running node under load: the
//! exposition against the catalogue (`docs/metrics.md`) and `promtool check
//! metrics`, then a real Prometheus scraping the node and evaluating every
//! dashboard query (`grafana/dashboards/`) and alert rule
//! (`prometheus/alerts.yml`).
//!
//! `promtool` and `prometheus` come from Debian's `prometheus` package, which
//! `.ci/run` installs. Where they are missing these tests say so and stop
//! early, unless `ROOKERY_REQUIRE_TOOLS=1` (set by `.ci/run`) makes a missing
//! tool a failure.

use rookery_proto::ChannelId;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::op;
use rookery_testkit::{TestServer, TestUser, tools};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const T: Duration = Duration::from_secs(10);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Sends messages (and the odd refused send and history read) until aborted.
fn load(server: &TestServer, user: TestUser, channel: ChannelId) -> JoinHandle<()> {
    let ws = server.ws();
    tokio::spawn(async move {
        let mut g = rookery_client::Gateway::connect(&ws, Encoding::Json)
            .await
            .unwrap();
        g.identify(&user.token).await.unwrap();
        for i in 0u64.. {
            g.send_message(channel, &format!("n{i}"), "load")
                .await
                .unwrap();
            g.op(op::SEND_ACK, T).await.unwrap();
            if i % 10 == 0 {
                g.send_message(ChannelId(1), &format!("x{i}"), "nowhere")
                    .await
                    .unwrap();
                g.op(op::SEND_ERROR, T).await.unwrap();
                user.api.history(channel, "limit=50").await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    })
}

async fn loaded_server() -> (TestServer, JoinHandle<()>) {
    // The load sends ~25 frames/s, past the default budget of 120/min.
    let server = TestServer::start_with(|c| c.frames_per_minute = 1_000_000).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let channel = server.guild(&[&alice, &bob]).await.channels[0].id;
    let mut reader = server.gateway(&bob, Encoding::MsgPack).await;
    let load = load(&server, alice, channel);
    // Let every path (sends, deliveries, errors, history, commits) record.
    reader.dispatch("MESSAGE_CREATE", T).await.unwrap();
    drop(reader);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    (server, load)
}

/// `name -> type` from docs/metrics.md.
fn catalogue() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo("docs/metrics.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| {
            let (name, rest) = l.split_once('`').unwrap();
            let kind = rest.split('|').nth(1).unwrap().trim();
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

/// `name -> type` from the `# TYPE` lines of an exposition.
fn families(exposition: &str) -> BTreeMap<String, String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, kind) = l.split_once(' ').unwrap();
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_exposition_matches_the_catalogue_and_passes_promtool() {
    let (server, load) = loaded_server().await;
    let text = reqwest::get(format!("{}/metrics", server.ops()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    load.abort();
    let (emitted, documented) = (families(&text), catalogue());
    for (name, kind) in &emitted {
        assert_eq!(
            documented.get(name),
            Some(kind),
            "{name} ({kind}) not in docs/metrics.md"
        );
    }
    for name in documented
        .keys()
        .filter(|n| !n.starts_with("rookery_scylla_"))
    {
        assert!(
            emitted.contains_key(name),
            "{name} documented but not emitted"
        );
    }
    server.stop().await;

    let Some(promtool) = tools::program("promtool") else {
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool: {report}"
    );
}

/// A Prometheus child process, killed on drop.
struct Prometheus {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    async fn start(binary: &Path, target: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: [{rules:?}]\n\
             scrape_configs:\n  - job_name: rookery\n    static_configs: [{{targets: [{target:?}]}}]\n",
            rules = repo("prometheus/alerts.yml").display().to_string(),
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let p = Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        p.wait_until(|| async {
            reqwest::get(format!("{}/-/ready", p.base))
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        p
    }

    async fn wait_until<F: std::future::Future<Output = bool>>(&self, mut ok: impl FnMut() -> F) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ok().await {
            assert!(
                Instant::now() < deadline,
                "prometheus did not get there in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let client = reqwest::Client::new();
        let r = client
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    /// Series a query returns; `Err` with Prometheus's message on a failure.
    async fn query(&self, expr: &str) -> Result<usize, String> {
        let v = self.get("/api/v1/query", &[("query", expr)]).await;
        match v["status"].as_str() {
            Some("success") => Ok(v["data"]["result"].as_array().map_or(0, Vec::len)),
            _ => Err(format!("{expr}: {}", v["error"])),
        }
    }
}

/// Every `expr` of a dashboard, Grafana's variables filled as Grafana would.
fn dashboard_queries(path: &Path) -> Vec<String> {
    let d: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for panel in d["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            out.push(
                expr.replace("$__rate_interval", "10s")
                    .replace("$instance", ".*"),
            );
        }
    }
    assert!(!out.is_empty(), "{} has no queries", path.display());
    out
}

#[tokio::test]
async fn a_real_prometheus_evaluates_every_dashboard_query_and_alert_rule() {
    let Some(binary) = tools::program("prometheus") else {
        return;
    };
    let (server, load) = loaded_server().await;
    let target = server.ops().trim_start_matches("http://").to_owned();
    let prom = Prometheus::start(&binary, &target).await;
    prom.wait_until(|| async { prom.query("up{job=\"rookery\"} == 1").await == Ok(1) })
        .await;

    let mut dashboards: Vec<PathBuf> = std::fs::read_dir(repo("grafana/dashboards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dashboards.sort();
    assert!(
        dashboards.len() >= 5,
        "overview, edge, writer, storage, caches"
    );
    for path in &dashboards {
        // The scylla dashboard's series exist only on scylla-backed nodes;
        // here its queries must still parse and evaluate.
        let must_have_series = !path.ends_with("scylla.json");
        for expr in dashboard_queries(path) {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let series = prom
                    .query(&expr)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if series > 0 || !must_have_series {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{}: no series for {expr}",
                    path.display()
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    // Every alert rule loaded and evaluated without error.
    prom.wait_until(|| async {
        let rules = prom.get("/api/v1/rules", &[]).await;
        let all: Vec<&Value> = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .collect();
        for r in &all {
            assert_ne!(
                r["health"], "err",
                "rule {} fails: {}",
                r["name"], r["lastError"]
            );
        }
        all.len() == 10 && all.iter().all(|r| r["health"] == "ok")
    })
    .await;
    load.abort();
    server.stop().await;
}
