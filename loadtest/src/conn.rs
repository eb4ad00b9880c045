//! One task per gateway connection: heartbeats, reads every frame, and —
//! depending on its role — sends at a fixed rate or acts like a chat user
//! (sends, history reads, drop-and-resume). It records what it sent, what was
//! acknowledged and every delivery, for the completeness check.

use crate::report::PartReport;
use crate::{Phase, Progress, Target};
use rookery_client::{Api, Gateway};
use rookery_proto::Id;
use rookery_proto::gateway::{self as gw, op};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::time::{MissedTickBehavior, interval_at};

/// What a connection does besides listening.
#[derive(Clone)]
pub enum Role {
    /// Only reads.
    Listener,
    /// Sends to `channel` every `every`.
    Sender { channel: Id, every: Duration },
    /// Every `every` on average: 70 % send, 20 % read history, 10 % drop the
    /// connection and RESUME.
    Chatter {
        channel: Id,
        every: Duration,
        api: Api,
        token: String,
        source: usize,
    },
}

/// What one connection saw.
#[derive(Default)]
pub struct Outcome {
    pub acked: Vec<Id>,
    pub received: HashSet<Id>,
    pub report: PartReport,
}

#[derive(Deserialize)]
struct Delivered {
    id: Id,
    content: String,
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

struct Driver {
    g: Gateway,
    role: Role,
    target: Arc<Target>,
    progress: Arc<Progress>,
    session_id: String,
    pending: HashMap<String, Instant>,
    resuming: Option<Instant>,
    needs_identify: bool,
    seq: u64,
    out: Outcome,
}

/// Runs until the phase is `Stop` or the connection dies.
pub async fn drive(
    g: Gateway,
    session_id: String,
    role: Role,
    target: Arc<Target>,
    progress: Arc<Progress>,
    mut phase: watch::Receiver<Phase>,
) -> Outcome {
    let hb = Duration::from_millis(g.hello.heartbeat_interval.max(1000));
    let mut heartbeat = interval_at(
        tokio::time::Instant::now() + hb.mul_f64(rand::random::<f64>()),
        hb,
    );
    let every = match &role {
        Role::Listener => Duration::from_secs(3600),
        Role::Sender { every, .. } | Role::Chatter { every, .. } => *every,
    };
    let mut act = interval_at(
        tokio::time::Instant::now() + every.mul_f64(rand::random::<f64>()),
        every,
    );
    act.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut d = Driver {
        g,
        role,
        target,
        progress,
        session_id,
        pending: HashMap::new(),
        resuming: None,
        needs_identify: false,
        seq: 0,
        out: Outcome::default(),
    };
    loop {
        let active = *phase.borrow() == Phase::Go && !matches!(d.role, Role::Listener);
        tokio::select! {
            biased;
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Stop {
                    break;
                }
                // Start at a random phase: ticks missed while waiting for GO
                // must not fire as one burst, nor all senders in lockstep.
                act.reset_after(every.mul_f64(rand::random::<f64>()));
            }
            _ = heartbeat.tick() => if d.g.heartbeat().await.is_err() { break },
            _ = act.tick(), if active => if d.act().await.is_err() { break },
            frame = d.g.next() => match frame {
                Ok(f) => {
                    d.handle(&f);
                    if d.needs_identify && d.identify_again().await.is_err() {
                        break;
                    }
                }
                Err(_) => break,
            },
        }
    }
    d.out.report.send_errors += d.pending.len() as u64;
    d.out
}

impl Driver {
    async fn act(&mut self) -> rookery_client::Result<()> {
        let chatter = match &self.role {
            Role::Chatter {
                api, token, source, ..
            } => Some((api.clone(), token.clone(), *source)),
            _ => None,
        };
        let roll = rand::random::<f64>();
        match chatter {
            Some((api, _, _)) if roll < 0.2 => {
                let started = Instant::now();
                if api.history(self.channel(), "limit=50").await.is_ok() {
                    self.out.report.history_reads += 1;
                    self.out.report.history_latency.record(started.elapsed());
                }
                Ok(())
            }
            Some((_, token, source)) if roll < 0.3 && self.resuming.is_none() => {
                self.resume(&token, source).await
            }
            _ => self.send().await,
        }
    }

    fn channel(&self) -> Id {
        match &self.role {
            Role::Sender { channel, .. } | Role::Chatter { channel, .. } => *channel,
            Role::Listener => Id(0),
        }
    }

    async fn send(&mut self) -> rookery_client::Result<()> {
        self.seq += 1;
        let nonce = format!("{}", self.seq);
        self.pending.insert(nonce.clone(), Instant::now());
        self.out.report.sent += 1;
        self.progress.sent.fetch_add(1, Relaxed);
        self.g
            .send_message(self.channel(), &nonce, &now_nanos().to_string())
            .await
    }

    /// Drops the connection without a close frame and resumes on a new one.
    async fn resume(&mut self, token: &str, source: usize) -> rookery_client::Result<()> {
        let started = Instant::now();
        let seq = self.g.last_seq().unwrap_or(0);
        let mut g = Gateway::connect_with(
            &self.target.ws(),
            self.target.encoding,
            Some(self.target.source(source)),
            self.target.zlib,
        )
        .await?;
        g.send_op(
            op::RESUME,
            &gw::Resume {
                token: token.into(),
                session_id: self.session_id.clone(),
                seq,
            },
        )
        .await?;
        // Sends in flight on the old connection lose their acks.
        self.out.report.send_errors += self.pending.len() as u64;
        self.pending.clear();
        self.g = g;
        self.resuming = Some(started);
        Ok(())
    }

    /// After INVALID_SESSION: a new session on the same connection.
    async fn identify_again(&mut self) -> rookery_client::Result<()> {
        self.needs_identify = false;
        let Role::Chatter { token, .. } = &self.role else {
            return Ok(());
        };
        let token = token.clone();
        self.session_id = self.g.identify(&token).await?.session_id;
        Ok(())
    }

    fn handle(&mut self, f: &rookery_client::ServerFrame) {
        match (f.header.op, f.t()) {
            (op::SEND_ACK, _) => {
                let Ok(ack) = f.d::<gw::SendAck>() else {
                    return;
                };
                if let Some(sent) = self.pending.remove(&ack.nonce) {
                    self.out.report.ack_latency.record(sent.elapsed());
                }
                self.out.report.acked += 1;
                self.out.acked.push(ack.id);
                self.progress.acked.fetch_add(1, Relaxed);
            }
            (op::SEND_ERROR, _) => {
                if let Ok(e) = f.d::<gw::SendError>() {
                    self.pending.remove(&e.nonce);
                }
                self.out.report.send_errors += 1;
            }
            (op::DISPATCH, Some("MESSAGE_CREATE")) => self.delivered(f),
            (op::DISPATCH, Some("RESUMED")) => {
                if let Some(started) = self.resuming.take() {
                    self.out.report.resume_latency.record(started.elapsed());
                    self.out.report.resumes += 1;
                }
            }
            (op::INVALID_SESSION, _) => {
                self.resuming = None;
                self.needs_identify = true;
                self.out.report.resume_failures += 1;
            }
            _ => {}
        }
    }

    fn delivered(&mut self, f: &rookery_client::ServerFrame) {
        let Ok(m) = f.d::<Delivered>() else { return };
        if !self.out.received.insert(m.id) {
            self.out.report.duplicates += 1;
            return;
        }
        self.out.report.delivered += 1;
        self.progress.delivered.fetch_add(1, Relaxed);
        if let Ok(sent) = m.content.parse::<u128>() {
            let nanos = now_nanos().saturating_sub(sent).min(u128::from(u64::MAX)) as u64;
            self.out
                .report
                .delivery_latency
                .record(Duration::from_nanos(nanos));
        }
    }
}

/// Adds one channel's completeness: every member should have received every
/// message acknowledged in the channel.
pub fn account_channel(members: &[Outcome], total: &mut PartReport) {
    let acked: HashSet<Id> = members
        .iter()
        .flat_map(|m| m.acked.iter().copied())
        .collect();
    for m in members {
        total.merge(&m.report);
        total.expected += acked.len() as u64;
        total.missing += acked.difference(&m.received).count() as u64;
    }
}
