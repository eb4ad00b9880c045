//! `rookery`: one binary for every role.

use clap::{Parser, Subcommand};
use rookery::{EdgeRoleConfig, MigrateConfig, ServeConfig, TopicsConfig, WriterRoleConfig};
use std::process::ExitCode;

/// mimalloc returns freed memory to the OS; with glibc's allocator the 19 MiB
/// argon2 buffers stayed resident in per-thread arenas (hundreds of MB after
/// a burst of registrations) and fragmentation raised per-connection RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rookery",
    version,
    about = "Real-time messaging: gateway, REST, bus and store in one binary."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every role in one process on the embedded bus and store.
    Serve(ServeConfig),
    /// Run the edge role: gateway and REST, publishing to Kafka, fan-out from
    /// the writers (cluster shape).
    Edge(EdgeRoleConfig),
    /// Run the writer role: consume Kafka, apply to the store, push to the
    /// edges (cluster shape).
    Writer(WriterRoleConfig),
    /// Apply the ScyllaDB schema (`schema/`) and record it; safe to repeat.
    Migrate(MigrateConfig),
    /// Kafka topics.
    #[command(subcommand)]
    Topics(TopicsCommand),
}

#[derive(Subcommand)]
enum TopicsCommand {
    /// Create the topics of `kafka/topics.json` that are missing and check
    /// the others (partitions, configuration); fails on any difference.
    Ensure(TopicsConfig),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    rookery::init_logging();
    without_huge_pages();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::from(e)),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(config) => serve(config).await,
            Command::Migrate(config) => migrate(config).await,
            Command::Edge(config) => {
                let node = rookery::start_edge(config).await?;
                shutdown_signal().await;
                tracing::info!("shutting down");
                node.stop().await
            }
            Command::Writer(config) => {
                let node = rookery::start_writer(config).await?;
                let failed = node.failed();
                tokio::select! {
                    () = shutdown_signal() => {}
                    reason = failed => anyhow::bail!(reason),
                }
                tracing::info!("shutting down");
                node.stop().await
            }
            Command::Topics(TopicsCommand::Ensure(config)) => {
                let report = rookery::ensure_topics(&config).await?;
                tracing::info!(created = ?report.created, matching = ?report.matching, "topics up to date");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Serves until SIGINT/SIGTERM, or fails (exit 1) as soon as a role dies:
/// acknowledging sends that nothing applies would lose them.
async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let server = rookery::start(config).await?;
    let failed = server.failed();
    tokio::select! {
        () = shutdown_signal() => {}
        reason = failed => anyhow::bail!(reason),
    }
    tracing::info!("shutting down");
    server.stop().await
}

/// Turns transparent huge pages off for this process. mimalloc asks for
/// them on its arenas, and under steady load the kernel kept faulting in
/// fresh 2 MiB pages, each zeroed whole on first touch (10 % of the server's
/// CPU samples at 10,000 msgs/s in `clear_page_erms`, and the stalls were
/// the send→ack p99: 7.8 ms with them, 3.3 ms without; loadtest/README.md,
/// "Huge pages"). The allocator's small pages cost no measurable CPU.
fn without_huge_pages() {
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::warn!(%error, "cannot turn transparent huge pages off");
    }
}

async fn migrate(config: MigrateConfig) -> anyhow::Result<()> {
    let report = rookery::migrate(&config).await?;
    let engine = report.engine.as_ref().map(ToString::to_string);
    let engine = engine.as_deref().unwrap_or("embedded store");
    tracing::info!(engine, applied = ?report.applied, already = ?report.skipped, "schema up to date");
    Ok(())
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    // One line: the context chain joined.
    eprintln!("rookery: {e:#}");
    ExitCode::FAILURE
}
