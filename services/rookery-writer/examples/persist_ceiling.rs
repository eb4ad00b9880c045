//! The embedded persist path on its own, without the gateway: publishers
//! post `MESSAGE_CREATE` events to the embedded bus (each acked after the
//! group commit's fsync), and a writer applies them to the embedded store
//! and hands them to a link that only counts them. It answers what the bus
//! and store can carry on this machine and what each acked message costs
//! them, apart from sockets, sessions and permission checks.
//!
//! ```sh
//! cargo run --release -p rookery-writer --example persist_ceiling -- \
//!     [publishers=200] [secs=10] [linger_us=1000] [channels=100]
//! ```
//!
//! Publishers each keep one message in flight (closed loop), like a
//! client waiting for its ack; more publishers, more offered load.

use async_trait::async_trait;
use rookery_bus::{Bus, EdgeLink, EmbeddedBus, EmbeddedBusConfig, FanoutBatch, LinkError, Record};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
use rookery_proto::event::{Envelope, Event, SCHEMA_VERSION};
use rookery_proto::id::Snowflake;
use rookery_proto::model::{Message, User};
use rookery_proto::{GuildId, UserId};
use rookery_store::{EmbeddedConfig, EmbeddedStore};
use rookery_writer::{Writer, WriterConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Counts what the writer hands on.
#[derive(Default)]
struct Counted(AtomicU64);

#[async_trait]
impl EdgeLink for Counted {
    async fn push(&self, batch: FanoutBatch) -> Result<(), LinkError> {
        self.0.fetch_add(batch.events.len() as u64, Relaxed);
        Ok(())
    }
}

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU of this process, in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime: fields 14 and 15 of the line, 11 and 12 from the state.
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let ticks = field(11).unwrap_or(0) + field(12).unwrap_or(0);
    ticks as f64 / 100.0
}

fn event(ids: &Snowflake, channel: ChannelId, author: &User) -> Record {
    let id: MessageId = ids.next_id();
    let mut message = Message::new(id, (GuildId(1), channel), author.clone(), "x".repeat(64));
    message.nonce = Some(format!("n{}", id.0));
    let envelope = Envelope {
        v: SCHEMA_VERSION,
        id: id.raw(),
        ts: id.unix_ms(),
        origin: 0,
        event: Event::MessageCreate(message),
        audit: None,
    };
    Record {
        key: channel.0,
        payload: envelope.to_bytes(),
    }
}

/// One publisher: a message at a time until `stop`; its ack latencies.
async fn publish(bus: EmbeddedBus, n: u64, channels: u64, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let ids = Snowflake::new((n % 1000) as u16).expect("worker id");
    let author = User {
        id: UserId(1_000 + n),
        username: format!("p{n}"),
    };
    let channel = ChannelId(10_000 + n % channels);
    let mut latencies = Vec::new();
    while !stop.load(Relaxed) {
        let started = Instant::now();
        bus.publish(event(&ids, channel, &author))
            .await
            .expect("publish");
        latencies.push(started.elapsed());
    }
    latencies
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (publishers, secs, linger_us, channels) =
        (arg(1, 200), arg(2, 10), arg(3, 1000), arg(4, 100).max(1));
    let dir = tempfile::tempdir().expect("temp dir");
    let bus = EmbeddedBus::open(&EmbeddedBusConfig {
        commit_linger: Duration::from_micros(linger_us),
        ..EmbeddedBusConfig::new(dir.path().join("bus"))
    })
    .expect("bus");
    let store = EmbeddedStore::open(&EmbeddedConfig::new(dir.path().join("store"))).expect("store");
    let link = Arc::new(Counted::default());
    let config = WriterConfig::default();
    let writer = Writer::new(&bus, Arc::new(store), link.clone(), &config)
        .await
        .expect("writer");
    let (stop_writer, stopped) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(writer.run(async {
        let _ = stopped.await;
    }));

    let stop = Arc::new(AtomicBool::new(false));
    let (cpu0, started) = (cpu_secs(), Instant::now());
    let tasks: Vec<_> = (0..publishers)
        .map(|n| tokio::spawn(publish(bus.clone(), n, channels, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("publisher"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let acked = latencies.len() as u64;
    while link.0.load(Relaxed) < acked {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Until the last acked message is applied: its cost counts too.
    let (busy, cpu) = (started.elapsed().as_secs_f64(), cpu_secs() - cpu0);
    let _ = stop_writer.send(());
    writer.await.expect("writer task").expect("writer");
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "publishers {publishers} linger {linger_us} us: {:.0} acked msgs/s, all {} applied; \
         CPU {:.1} % of a core, {:.1} us per acked msg; ack p50 {:.2} p99 {:.2} ms",
        acked as f64 / elapsed,
        link.0.load(Relaxed),
        cpu / busy * 100.0,
        cpu / acked.max(1) as f64 * 1e6,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}
