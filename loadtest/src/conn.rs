//! One task per gateway connection: heartbeats, reads every frame, and —
//! depending on its role — sends at a fixed rate or acts like a chat user
//! (sends, history reads, drop-and-resume). It records what it sent, what was
//! acknowledged and every delivery, for the completeness check.

use crate::report::PartReport;
use crate::{Phase, Progress, Target};
use rookery_client::{Api, Gateway};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
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
    Sender { channel: ChannelId, every: Duration },
    /// Every `every` on average: 70 % send, 20 % read history, 10 % drop the
    /// connection and RESUME.
    Chatter {
        channel: ChannelId,
        every: Duration,
        api: Api,
        token: String,
        source: usize,
    },
    /// Reads; `drop_after` the start, drops its connection without a close
    /// frame (as every stormer does at that instant) and reconnects after a
    /// random wait of up to `backoff`: with RESUME if `resume`, else with
    /// IDENTIFY carrying the last message id it holds in `channel`.
    Stormer {
        channel: ChannelId,
        token: String,
        source: usize,
        drop_after: Duration,
        backoff: Duration,
        resume: bool,
    },
}

/// What one connection saw.
#[derive(Default)]
pub struct Outcome {
    pub acked: Vec<MessageId>,
    /// Each message received, with its send→receive latency in ns (0 if
    /// its content carried no send time).
    pub received: HashMap<MessageId, u64>,
    pub report: PartReport,
}

#[derive(Deserialize)]
struct Delivered {
    id: MessageId,
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
        Role::Listener | Role::Stormer { .. } => Duration::from_secs(3600),
        Role::Sender { every, .. } | Role::Chatter { every, .. } => *every,
    };
    let mut act = interval_at(
        tokio::time::Instant::now() + every.mul_f64(rand::random::<f64>()),
        every,
    );
    act.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let far = tokio::time::Instant::now() + Duration::from_secs(1 << 30);
    let mut storm_at = far;
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
        let active = *phase.borrow() == Phase::Go
            && !matches!(d.role, Role::Listener | Role::Stormer { .. });
        tokio::select! {
            biased;
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Stop {
                    break;
                }
                // Start at a random phase: ticks missed while waiting for GO
                // must not fire as one burst, nor all senders in lockstep.
                act.reset_after(every.mul_f64(rand::random::<f64>()));
                if let (Phase::Go, Role::Stormer { drop_after, .. }) = (*phase.borrow(), &d.role) {
                    storm_at = tokio::time::Instant::now() + *drop_after;
                }
            }
            () = tokio::time::sleep_until(storm_at) => {
                storm_at = far;
                // Dropped here, without a close frame, at the same instant
                // as every other stormer's.
                let (seq, last) = (d.g.last_seq().unwrap_or(0), d.last_ids());
                drop(d.g);
                let dropped = Instant::now();
                match storm(&d.role, &d.target, &d.session_id, seq, last).await {
                    Ok((g, None)) => {
                        d.g = g;
                        d.resuming = Some(dropped);
                    }
                    Ok((g, Some(session_id))) => {
                        d.g = g;
                        d.session_id = session_id;
                        d.out.report.reidentifies += 1;
                        d.out.report.resume_latency.record(dropped.elapsed());
                    }
                    Err(_) => break,
                }
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

/// Reconnects a stormer whose connection was just dropped: waits its
/// share of the backoff, then RESUMEs from `seq` (RESUMED completes it, in
/// [`Driver::handle`]) or IDENTIFYs asking for what came after `last`, and
/// returns the new session's id.
async fn storm(
    role: &Role,
    target: &Target,
    session_id: &str,
    seq: u64,
    last: std::collections::BTreeMap<ChannelId, MessageId>,
) -> rookery_client::Result<(Gateway, Option<String>)> {
    let Role::Stormer {
        token,
        source,
        backoff,
        resume,
        ..
    } = role
    else {
        unreachable!("only stormers storm");
    };
    tokio::time::sleep(backoff.mul_f64(rand::random::<f64>())).await;
    let from = Some(target.source(*source));
    let mut g = Gateway::connect_with(&target.ws(), target.encoding, from, target.zlib).await?;
    if *resume {
        let (token, session_id) = (token.clone(), session_id.to_owned());
        g.send_op(
            op::RESUME,
            &gw::Resume {
                token,
                session_id,
                seq,
            },
        )
        .await?;
        return Ok((g, None));
    }
    let session_id = target.identify_after(&mut g, token, last).await?.session_id;
    Ok((g, Some(session_id)))
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

    fn channel(&self) -> ChannelId {
        match &self.role {
            Role::Sender { channel, .. }
            | Role::Chatter { channel, .. }
            | Role::Stormer { channel, .. } => *channel,
            Role::Listener => ChannelId(0),
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

    /// After INVALID_SESSION: a new session on the same connection (a
    /// stormer asks for what it missed since the last message it holds).
    async fn identify_again(&mut self) -> rookery_client::Result<()> {
        self.needs_identify = false;
        let token = match &self.role {
            Role::Chatter { token, .. } | Role::Stormer { token, .. } => token.clone(),
            Role::Listener | Role::Sender { .. } => return Ok(()),
        };
        let last = self.last_ids();
        self.session_id = self
            .target
            .identify_after(&mut self.g, &token, last)
            .await?
            .session_id;
        Ok(())
    }

    /// The newest message this connection holds, by channel.
    fn last_ids(&self) -> std::collections::BTreeMap<ChannelId, MessageId> {
        let channel = self.channel();
        let newest = self.out.received.keys().max().copied();
        newest.map(|id| (channel, id)).into_iter().collect()
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
        if self.out.received.contains_key(&m.id) {
            self.out.report.duplicates += 1;
            return;
        }
        self.out.report.delivered += 1;
        self.progress.delivered.fetch_add(1, Relaxed);
        let mut latency = 0;
        if let Ok(sent) = m.content.parse::<u128>() {
            latency = now_nanos().saturating_sub(sent).min(u128::from(u64::MAX)) as u64;
            self.out
                .report
                .delivery_latency
                .record(Duration::from_nanos(latency));
        }
        self.out.received.insert(m.id, latency);
    }
}

/// Adds one channel's completeness: every member should have received every
/// message acknowledged in the channel.
pub fn account_channel(members: &[Outcome], total: &mut PartReport) {
    let acked: HashSet<MessageId> = members
        .iter()
        .flat_map(|m| m.acked.iter().copied())
        .collect();
    let mut last: HashMap<MessageId, u64> = HashMap::new();
    for m in members {
        total.merge(&m.report);
        total.expected += acked.len() as u64;
        for id in &acked {
            match m.received.get(id) {
                Some(&ns) => {
                    let slowest = last.entry(*id).or_default();
                    *slowest = (*slowest).max(ns);
                }
                None => total.missing += 1,
            }
        }
    }
    // The time until the channel's last member had each message.
    for ns in last.into_values().filter(|&ns| ns > 0) {
        total.last_delivery_latency.record(Duration::from_nanos(ns));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::MessageId;

    fn member(acked: &[u64], received: &[(u64, u64)]) -> Outcome {
        Outcome {
            acked: acked.iter().map(|&i| MessageId(i)).collect(),
            received: received
                .iter()
                .map(|&(i, ms)| (MessageId(i), ms * 1_000_000))
                .collect(),
            report: PartReport::default(),
        }
    }

    #[test]
    fn a_channel_counts_what_each_member_missed_and_when_the_last_one_had_each_message() {
        let sender = member(&[1, 2], &[(1, 5), (2, 3)]);
        let slow = member(&[], &[(1, 9)]);
        let mut total = PartReport::default();
        account_channel(&[sender, slow], &mut total);
        assert_eq!((total.expected, total.missing), (4, 1));
        let last = total.last_delivery_latency.summary();
        assert_eq!(last.count, 2, "one sample per message");
        assert!((8.9..=9.1).contains(&last.max), "{last:?}");
        assert!((2.9..=3.1).contains(&last.p50), "{last:?}");
    }
}
