//! `loadtest`: drives a Rookery server through its public protocol.
//!
//! With `--procs P` the run is split over P processes (each stays under the
//! per-process descriptor limit); they set up, report READY, start together
//! on GO, and send back mergeable reports. See `loadtest/README.md`.

use anyhow::{Context, Result, bail};
use clap::Parser;
use rookery_loadtest::report::{PartReport, Report, ServerUsage};
use rookery_loadtest::scrape::Counters;
use rookery_loadtest::{Barrier, Progress, Scenario, Step, Target, procfs, run_part};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "loadtest",
    about = "Load generator speaking Rookery's gateway and REST protocol."
)]
struct Cli {
    /// Server base URL; comma-separated edges of a cluster are shared out
    /// round robin over the processes (`--procs`).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Gateway encoding: json or msgpack.
    #[arg(long, default_value = "msgpack")]
    encoding: String,
    /// Ask every connection for zlib-stream transport compression.
    #[arg(long)]
    zlib: bool,
    /// Source addresses (127.0.0.x) per process.
    #[arg(long, default_value_t = 4)]
    sources: u8,
    /// Gateway intents every connection identifies with (a bit set, as
    /// Discord's; default: all). 33281 (GUILDS, GUILD_MESSAGES and
    /// MESSAGE_CONTENT) leaves presences out.
    #[arg(long)]
    intents: Option<u64>,
    /// Processes to spread the connections over.
    #[arg(long, default_value_t = 1)]
    procs: u32,
    /// Seconds receivers keep reading after senders stop; what has not
    /// arrived by then counts as missing. Raise it past the ack latency
    /// when offering more than the server takes.
    #[arg(long, default_value_t = 3)]
    drain_secs: u64,
    /// The server's pid, to read its RSS and CPU from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The server's Prometheus endpoint (`http://OPS/metrics`), to report
    /// its group commits (fsyncs) and records per commit.
    #[arg(long)]
    server_metrics: Option<String>,
    /// More processes whose CPU to report over the measured phase,
    /// `name=pid,...` (a cluster's edges, writers and engines).
    #[arg(long, value_delimiter = ',', value_parser = parse_named_pid)]
    cpu_of: Vec<(String, u32)>,
    /// Where to write the JSON report.
    #[arg(long, default_value = "loadtest-report.json")]
    report: PathBuf,
    /// Internal: run as part N of a multi-process run.
    #[arg(long, hide = true)]
    part: Option<u32>,
    /// Internal: the run's id, shared by its parts.
    #[arg(long, hide = true)]
    run_id: Option<String>,
    #[command(subcommand)]
    scenario: Scenario,
}

impl Cli {
    /// Part `i` talks to the `i`th of the comma-separated servers (round
    /// robin), so `--procs 2 --server A,B` puts half the clients on each
    /// edge of a cluster.
    fn server_for(&self, part: u32) -> String {
        let servers: Vec<&str> = self.server.split(',').collect();
        servers[part as usize % servers.len()]
            .trim_end_matches('/')
            .to_owned()
    }

    fn target(&self, part: u32, run_id: &str) -> Result<Target> {
        Ok(Target {
            http: self.server_for(part),
            encoding: self.encoding.parse()?,
            zlib: self.zlib,
            sources: self.sources,
            part,
            parts: self.procs.max(1),
            run_id: run_id.to_owned(),
            intents: self.intents,
            drain: std::time::Duration::from_secs(self.drain_secs),
        })
    }
}

/// The coordinator's view of one part: the steps it reaches, the go-ahead,
/// and its report.
struct Part {
    steps: mpsc::UnboundedReceiver<Step>,
    proceed: mpsc::UnboundedSender<()>,
    report: tokio::task::JoinHandle<Result<PartReport>>,
}

impl Part {
    async fn reached(&mut self, step: Step) -> Result<()> {
        match self.steps.recv().await {
            Some(s) if s == step => Ok(()),
            Some(s) => bail!("a part reported {s:?}, expected {step:?}"),
            None => bail!("a part failed before {step:?}"),
        }
    }
}

/// Lets every part continue past its current step.
fn go_on(parts: &[Part]) {
    for p in parts {
        let _ = p.proceed.send(());
    }
}

/// Parts in this process.
struct Channels {
    steps: mpsc::UnboundedSender<Step>,
    proceed: mpsc::UnboundedReceiver<()>,
}

impl Barrier for Channels {
    async fn reached(&mut self, step: Step) {
        let _ = self.steps.send(step);
        let _ = self.proceed.recv().await;
    }
}

/// Parts in child processes: steps on stdout, go-aheads on stdin.
struct Stdio(tokio::io::Lines<BufReader<tokio::io::Stdin>>);

impl Barrier for Stdio {
    async fn reached(&mut self, step: Step) {
        println!("STEP {step:?}");
        let _ = self.0.next_line().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.part {
        Some(part) => run_as_part(&cli, part).await.map(|()| true),
        None => coordinate(&cli).await,
    };
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// A child process: steps on stdout, go-aheads on stdin, REPORT on stdout.
async fn run_as_part(cli: &Cli, part: u32) -> Result<()> {
    let target = Arc::new(cli.target(part, cli.run_id.as_deref().unwrap_or("x"))?);
    let progress = Arc::new(Progress::default());
    let ticker = tokio::spawn(print_progress(format!("part {part}"), progress.clone()));
    let mut barrier = Stdio(BufReader::new(tokio::io::stdin()).lines());
    let report = run_part(target, &cli.scenario, progress, &mut barrier).await?;
    ticker.abort();
    println!("REPORT {}", serde_json::to_string(&report)?);
    Ok(())
}

async fn coordinate(cli: &Cli) -> Result<bool> {
    let run_id = format!("{:x}", rookery_proto::id::now_ms() % 0xff_ffff);
    let mut parts: Vec<Part> = (0..cli.procs.max(1))
        .map(|k| {
            if cli.procs > 1 {
                spawn_child(k, &run_id)
            } else {
                in_process(cli, &run_id)
            }
        })
        .collect::<Result<_>>()?;
    for p in &mut parts {
        p.reached(Step::Prepared).await?;
    }
    let rss_before = cli.server_pid.and_then(procfs::rss_kib);
    go_on(&parts);
    for p in &mut parts {
        p.reached(Step::Connected).await?;
    }
    eprintln!("all parts connected; measuring");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_loaded = cli.server_pid.and_then(procfs::rss_kib);
    let ticks_start = cli.server_pid.and_then(procfs::cpu_ticks);
    let disk_start = cli.server_pid.and_then(procfs::disk_write_bytes);
    let counters_start = scrape_counters(cli).await;
    let others_start: Vec<Option<u64>> = cli
        .cpu_of
        .iter()
        .map(|(_, p)| procfs::cpu_ticks(*p))
        .collect();
    go_on(&parts);
    let active = cli.scenario.active_secs();
    let rss_peak = match cli.server_pid {
        Some(pid) => peak_rss(pid, Duration::from_secs(active)).await,
        None => {
            tokio::time::sleep(Duration::from_secs(active)).await;
            0
        }
    };
    let ticks_end = cli.server_pid.and_then(procfs::cpu_ticks);
    let disk_end = cli.server_pid.and_then(procfs::disk_write_bytes);
    let counters_end = scrape_counters(cli).await;
    let percent =
        |a: u64, b: u64| (b - a) as f64 / procfs::TICKS_PER_SEC / active.max(1) as f64 * 100.0;
    let process_cpu_percent = cli
        .cpu_of
        .iter()
        .zip(others_start)
        .filter_map(|((name, pid), start)| {
            let (a, b) = start.zip(procfs::cpu_ticks(*pid))?;
            Some((name.clone(), percent(a, b)))
        })
        .collect();
    let mut totals = PartReport::default();
    for p in parts {
        totals.merge(&p.report.await??);
    }
    let server = rss_before
        .zip(rss_loaded)
        .map(|(before, loaded)| ServerUsage {
            rss_before_kib: before,
            rss_loaded_kib: loaded,
            rss_peak_kib: rss_peak.max(loaded),
            rss_per_connection_bytes: loaded.saturating_sub(before) * 1024
                / totals.connections.max(1),
            cpu_percent: ticks_start
                .zip(ticks_end)
                .map_or(0.0, |(a, b)| percent(a, b)),
            disk_bytes_per_acked: disk_start.zip(disk_end).map_or(0.0, |(a, b)| {
                b.saturating_sub(a) as f64 / totals.acked.max(1) as f64
            }),
            write_path: counters_start
                .zip(counters_end)
                .map(|(a, b)| a.until(&b, active as f64)),
        });
    let params = serde_json::json!({
        "scenario": &cli.scenario, "procs": cli.procs, "sources": cli.sources, "encoding": cli.encoding, "zlib": cli.zlib,
    });
    let mut report = Report::new(cli.scenario.name(), params, active as f64, totals, server);
    report.process_cpu_percent = process_cpu_percent;
    std::fs::write(&cli.report, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("write {}", cli.report.display()))?;
    print_summary(&report, &cli.report);
    Ok(report.complete())
}

async fn scrape_counters(cli: &Cli) -> Option<Counters> {
    Counters::scrape(cli.server_metrics.as_deref()?).await
}

fn in_process(cli: &Cli, run_id: &str) -> Result<Part> {
    let target = Arc::new(cli.target(0, run_id)?);
    let (steps_tx, steps) = mpsc::unbounded_channel();
    let (proceed, proceed_rx) = mpsc::unbounded_channel();
    let (scenario, progress) = (cli.scenario.clone(), Arc::new(Progress::default()));
    let ticker = tokio::spawn(print_progress("run".into(), progress.clone()));
    let report = tokio::spawn(async move {
        let mut barrier = Channels {
            steps: steps_tx,
            proceed: proceed_rx,
        };
        let r = run_part(target, &scenario, progress, &mut barrier).await;
        ticker.abort();
        r
    });
    Ok(Part {
        steps,
        proceed,
        report,
    })
}

fn spawn_child(part: u32, run_id: &str) -> Result<Part> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    args.splice(
        0..0,
        [
            "--part".into(),
            part.to_string(),
            "--run-id".into(),
            run_id.into(),
        ],
    );
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("spawn a part")?;
    let (steps_tx, steps) = mpsc::unbounded_channel();
    let (proceed, mut proceed_rx) = mpsc::unbounded_channel::<()>();
    let (mut stdin, stdout) = (
        child.stdin.take().expect("piped"),
        child.stdout.take().expect("piped"),
    );
    let report = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(json) = line.strip_prefix("REPORT ") {
                child.wait().await?;
                return Ok(serde_json::from_str(json)?);
            }
            let step = match line.as_str() {
                "STEP Prepared" => Step::Prepared,
                "STEP Connected" => Step::Connected,
                _ => continue,
            };
            let _ = steps_tx.send(step);
            proceed_rx.recv().await.context("coordinator gone")?;
            stdin.write_all(b"GO\n").await?;
        }
        bail!("part {part} exited without a report")
    });
    Ok(Part {
        steps,
        proceed,
        report,
    })
}

/// The highest RSS of `pid` sampled every 100 ms for `span`, KiB.
async fn peak_rss(pid: u32, span: Duration) -> u64 {
    let end = tokio::time::Instant::now() + span;
    let mut peak = 0;
    while tokio::time::Instant::now() < end {
        peak = peak.max(procfs::rss_kib(pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(100).min(end - tokio::time::Instant::now())).await;
    }
    peak
}

async fn print_progress(label: String, p: Arc<Progress>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let started = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        eprintln!(
            "[{label} {:>3}s] connected={} sent={} acked={} delivered={}",
            started.elapsed().as_secs(),
            p.connected.load(Relaxed),
            p.sent.load(Relaxed),
            p.acked.load(Relaxed),
            p.delivered.load(Relaxed)
        );
    }
}

fn print_summary(r: &Report, path: &std::path::Path) {
    let t = &r.totals;
    println!(
        "scenario {}: {} connections ({} failed)",
        r.scenario, t.connections, t.connect_errors
    );
    println!(
        "  sent {} acked {} send_errors {} delivered {}/{} missing {} duplicates {}",
        t.sent, t.acked, t.send_errors, t.delivered, t.expected, t.missing, t.duplicates
    );
    println!(
        "  {:.0} acked/s, {:.0} deliveries/s over {:.0}s",
        r.acked_per_sec, r.deliveries_per_sec, r.measured_secs
    );
    let l = &r.delivery_latency_ms;
    println!(
        "  send→receive ms: p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} (n={})",
        l.p50, l.p90, l.p99, l.p999, l.max, l.count
    );
    let last = &r.last_delivery_latency_ms;
    println!(
        "  last member ms:   p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} (per message, n={})",
        last.p50, last.p90, last.p99, last.max, last.count
    );
    let a = &r.ack_latency_ms;
    println!(
        "  send→ack ms:     p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        a.p50, a.p90, a.p99, a.max
    );
    if t.history_reads + t.resumes + t.resume_failures > 0 {
        let h = &r.history_latency_ms;
        println!(
            "  history reads {} (p99 {:.2} ms), resumes {} (p99 {:.2} ms), resume failures {}",
            t.history_reads, h.p99, t.resumes, r.resume_latency_ms.p99, t.resume_failures
        );
    }
    if t.reidentifies > 0 {
        let back = &r.resume_latency_ms;
        println!(
            "  reconnected: {} resumed, {} identified again (resume failures {}); drop → live ms p50 {:.0} p99 {:.0} max {:.0}",
            t.resumes, t.reidentifies, t.resume_failures, back.p50, back.p99, back.max
        );
    }
    if let Some(s) = &r.server {
        println!(
            "  server RSS {} → {} KiB (peak {}): {} bytes/connection; CPU {:.1}% of a core",
            s.rss_before_kib,
            s.rss_loaded_kib,
            s.rss_peak_kib,
            s.rss_per_connection_bytes,
            s.cpu_percent
        );
        print!("  disk {:.0} bytes/acked msg", s.disk_bytes_per_acked);
        match &s.write_path {
            Some(w) => println!(
                "; bus group commits {:.0}/s ({:.1} records each), store syncs {:.0}/s",
                w.bus_commits_per_sec, w.records_per_bus_commit, w.store_syncs_per_sec
            ),
            None => println!(),
        }
    }
    if !r.process_cpu_percent.is_empty() {
        let each: Vec<String> = r
            .process_cpu_percent
            .iter()
            .map(|(name, cpu)| format!("{name} {cpu:.1}"))
            .collect();
        let total: f64 = r.process_cpu_percent.values().sum();
        println!("  CPU % of a core: {} (total {total:.1})", each.join(", "));
    }
    println!("  report: {}", path.display());
}

/// `name=pid`.
fn parse_named_pid(s: &str) -> std::result::Result<(String, u32), String> {
    let (name, pid) = s.split_once('=').ok_or("expected name=pid")?;
    let pid = pid.parse().map_err(|_| format!("{pid:?} is not a pid"))?;
    Ok((name.to_owned(), pid))
}
