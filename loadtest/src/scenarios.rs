//! The scenarios, as run by one part: set up through REST, open and identify
//! connections, signal ready, run the measured phase on `go`, drain, and
//! account for every acknowledged message.

use crate::conn::{self, Outcome, Role};
use crate::report::PartReport;
use crate::setup::{self, Account};
use crate::{Phase, Progress, Target};
use anyhow::Result;
use rookery_client::Gateway;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// A workload.
#[derive(Debug, Clone, clap::Subcommand, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// N identified, heartbeating connections: server RSS per connection and idle CPU.
    Idle {
        /// Connections in total (over all parts).
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// Accounts the connections identify as (sessions share them).
        #[arg(long, default_value_t = 20)]
        users: usize,
        /// Seconds to hold the connections open while measuring.
        #[arg(long, default_value_t = 10)]
        hold_secs: u64,
    },
    /// C channels with S subscribers each; M messages/s offered in total.
    Fanout {
        /// Channels (one guild each).
        #[arg(long, default_value_t = 50)]
        channels: usize,
        /// Subscribers per channel, the sender included.
        #[arg(long, default_value_t = 20)]
        subscribers: usize,
        /// Messages per second offered, over all channels.
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
        /// Seconds of sending.
        #[arg(long, default_value_t = 10)]
        duration_secs: u64,
    },
    /// Reconnect storm: fan-out channels whose listeners all drop their
    /// connections at once and reconnect with jittered backoff, half with
    /// RESUME, half with IDENTIFY and the last message id they hold.
    Storm {
        /// Channels (one guild each).
        #[arg(long, default_value_t = 50)]
        channels: usize,
        /// Members per channel, the sender (who stays connected) included.
        #[arg(long, default_value_t = 20)]
        subscribers: usize,
        /// Messages per second offered, over all channels, throughout.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Seconds from the start to the drop.
        #[arg(long, default_value_t = 3)]
        drop_after_secs: u64,
        /// Each listener reconnects after a random wait of up to this.
        #[arg(long, default_value_t = 2000)]
        backoff_ms: u64,
        /// Seconds of the whole measured phase.
        #[arg(long, default_value_t = 15)]
        duration_secs: u64,
    },
    /// A chat mix: every user sends, reads history and drops/resumes.
    Chat {
        /// Users in total.
        #[arg(long, default_value_t = 200)]
        users: usize,
        /// Guilds the users are spread over.
        #[arg(long, default_value_t = 10)]
        guilds: usize,
        /// Actions per user per second (70 % send, 20 % history, 10 % resume).
        #[arg(long, default_value_t = 0.5)]
        actions_per_sec: f64,
        /// Seconds of activity.
        #[arg(long, default_value_t = 10)]
        duration_secs: u64,
    },
}

impl Scenario {
    /// Name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Idle { .. } => "idle",
            Scenario::Fanout { .. } => "fanout",
            Scenario::Chat { .. } => "chat",
            Scenario::Storm { .. } => "storm",
        }
    }

    /// Seconds of the measured phase.
    pub fn active_secs(&self) -> u64 {
        match self {
            Scenario::Idle { hold_secs, .. } => *hold_secs,
            Scenario::Fanout { duration_secs, .. }
            | Scenario::Chat { duration_secs, .. }
            | Scenario::Storm { duration_secs, .. } => *duration_secs,
        }
    }
}

/// One connection to open: who, in which role, accounted in which group.
struct Spec {
    token: String,
    role: Role,
    group: usize,
}

/// A point where a part tells the coordinator where it is and waits for the
/// go-ahead, so all parts connect together and start together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Accounts and guilds exist; no connection is open yet.
    Prepared,
    /// Every connection is identified.
    Connected,
}

/// How a part meets the coordinator at each [`Step`].
pub trait Barrier {
    /// Reports `step` and waits until the coordinator says to go on.
    fn reached(&mut self, step: Step) -> impl Future<Output = ()>;
}

/// Runs this part of `scenario`, meeting the coordinator after setup and
/// after connecting, then runs the measured phase, drains and reports.
pub async fn run_part(
    target: Arc<Target>,
    scenario: &Scenario,
    progress: Arc<Progress>,
    barrier: &mut impl Barrier,
) -> Result<PartReport> {
    let specs = prepare(&target, scenario).await?;
    barrier.reached(Step::Prepared).await;
    let (phase_tx, phase) = watch::channel(Phase::Setup);
    let (opened, mut report) = open_all(&target, specs, &progress).await;
    let groups = opened.iter().map(|(g, ..)| *g + 1).max().unwrap_or(0);
    let mut tasks = JoinSet::new();
    for (group, gateway, session, role) in opened {
        let (target, progress, phase) = (target.clone(), progress.clone(), phase.clone());
        tasks.spawn(async move {
            (
                group,
                conn::drive(gateway, session, role, target, progress, phase).await,
            )
        });
    }
    barrier.reached(Step::Connected).await;
    phase_tx.send_replace(Phase::Go);
    tokio::time::sleep(Duration::from_secs(scenario.active_secs())).await;
    phase_tx.send_replace(Phase::Drain);
    if !matches!(scenario, Scenario::Idle { .. }) {
        tokio::time::sleep(target.drain).await;
    }
    phase_tx.send_replace(Phase::Stop);
    let mut by_group: Vec<Vec<Outcome>> = (0..groups).map(|_| Vec::new()).collect();
    while let Some(done) = tasks.join_next().await {
        let (group, outcome) = done?;
        by_group[group].push(outcome);
    }
    for members in &by_group {
        conn::account_channel(members, &mut report);
    }
    Ok(report)
}

/// Accounts, guilds and roles for this part's share of the scenario.
async fn prepare(target: &Target, scenario: &Scenario) -> Result<Vec<Spec>> {
    let mut specs = Vec::new();
    match *scenario {
        Scenario::Idle {
            connections, users, ..
        } => {
            let n = target.share(connections);
            let accounts = setup::accounts(target, "i", users.clamp(1, n.max(1))).await?;
            for i in 0..n {
                let token = accounts[i % accounts.len()].token.clone();
                specs.push(Spec {
                    token,
                    role: Role::Listener,
                    group: i,
                });
            }
        }
        Scenario::Fanout {
            channels,
            subscribers,
            rate,
            ..
        } => fanout_specs(target, channels, subscribers, rate, None, &mut specs).await?,
        Scenario::Storm {
            channels,
            subscribers,
            rate,
            drop_after_secs,
            backoff_ms,
            ..
        } => {
            let storm = Storm {
                drop_after: Duration::from_secs(drop_after_secs),
                backoff: Duration::from_millis(backoff_ms),
            };
            fanout_specs(target, channels, subscribers, rate, Some(storm), &mut specs).await?
        }
        Scenario::Chat {
            users,
            guilds,
            actions_per_sec,
            ..
        } => {
            let every = Duration::from_secs_f64(1.0 / actions_per_sec.max(0.001));
            let per_guild = (users / guilds.max(1)).max(1);
            for group in 0..target.share(guilds) {
                let members = setup::accounts(target, &format!("c{group}"), per_guild).await?;
                let channel = setup::guild(&members).await?.channels[0].id;
                for (j, Account { api, token }) in members.into_iter().enumerate() {
                    let source = group * per_guild + j;
                    let role = Role::Chatter {
                        channel,
                        every,
                        api,
                        token: token.clone(),
                        source,
                    };
                    specs.push(Spec { token, role, group });
                }
            }
        }
    }
    Ok(specs)
}

/// When and how a storm's listeners drop and come back.
struct Storm {
    drop_after: Duration,
    backoff: Duration,
}

/// This part's fan-out channels: one guild each, its first member sending
/// `rate / channels` messages/s, the others listening (or storming).
async fn fanout_specs(
    target: &Target,
    channels: usize,
    subscribers: usize,
    rate: f64,
    storm: Option<Storm>,
    specs: &mut Vec<Spec>,
) -> Result<()> {
    let every = Duration::from_secs_f64(channels as f64 / rate.max(0.001));
    for group in 0..target.share(channels) {
        let members = setup::accounts(target, &format!("f{group}"), subscribers.max(1)).await?;
        let channel = setup::guild(&members).await?.channels[0].id;
        for (j, m) in members.iter().enumerate() {
            let role = match &storm {
                _ if j == 0 => Role::Sender { channel, every },
                None => Role::Listener,
                Some(s) => Role::Stormer {
                    channel,
                    token: m.token.clone(),
                    source: group * subscribers + j,
                    drop_after: s.drop_after,
                    backoff: s.backoff,
                    resume: j % 2 == 0,
                },
            };
            specs.push(Spec {
                token: m.token.clone(),
                role,
                group,
            });
        }
    }
    Ok(())
}

type Opened = (usize, Gateway, String, Role);

/// Connects and identifies every spec, a bounded number at a time (a burst
/// of thousands of SYNs overflows the listen backlog).
async fn open_all(
    target: &Arc<Target>,
    specs: Vec<Spec>,
    progress: &Arc<Progress>,
) -> (Vec<Opened>, PartReport) {
    let limit = Arc::new(Semaphore::new(128));
    let mut tasks = JoinSet::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let (target, limit, progress) = (target.clone(), limit.clone(), progress.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await.expect("semaphore open");
            let source = match &spec.role {
                Role::Chatter { source, .. } | Role::Stormer { source, .. } => *source,
                _ => i,
            };
            let from = Some(target.source(source));
            let mut g =
                Gateway::connect_with(&target.ws(), target.encoding, from, target.zlib).await?;
            let ready = target.identify(&mut g, &spec.token).await?;
            progress.connected.fetch_add(1, Relaxed);
            Ok::<_, rookery_client::ClientError>((spec.group, g, ready.session_id, spec.role))
        });
    }
    let (mut opened, mut report) = (Vec::new(), PartReport::default());
    while let Some(done) = tasks.join_next().await {
        match done.expect("connect task") {
            Ok(o) => opened.push(o),
            Err(e) => {
                report.connect_errors += 1;
                if report.connect_errors <= 3 {
                    eprintln!("connect failed: {e}");
                }
            }
        }
    }
    report.connections = opened.len() as u64;
    (opened, report)
}
