//! A chatting client for the real-cluster test: one task per connection
//! that sends when told (a nonce per send, never reused), heartbeats, and
//! records every acknowledgement, refusal and delivery of its channel, so
//! the test can check that every acknowledged message reached every member.

use rookery_client::{Api, Gateway};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::model::Message;
use rookery_proto::rest::AuthResponse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// What one client saw.
#[derive(Default)]
struct Seen {
    acked: BTreeSet<MessageId>,
    /// Message id → how many times it was delivered.
    received: BTreeMap<MessageId, u32>,
    refused: u64,
}

/// One member on one edge.
pub struct Chatter {
    /// The edge it is on (0 or 1).
    pub edge: usize,
    auth: AuthResponse,
    channel: ChannelId,
    seen: Arc<Mutex<Seen>>,
    sending: Arc<AtomicBool>,
    nonces: Arc<AtomicU64>,
    /// Messages acknowledged in its channel that it had not received when
    /// it moved to another edge.
    missed_when_moved: BTreeSet<MessageId>,
    task: Option<JoinHandle<()>>,
}

impl Chatter {
    /// Identifies on `edge_addr` and starts the connection's task.
    pub async fn connect(
        edge_addr: &str,
        auth: AuthResponse,
        channel: ChannelId,
        edge: usize,
    ) -> Self {
        let mut chatter = Self {
            edge,
            auth,
            channel,
            seen: Arc::default(),
            sending: Arc::default(),
            nonces: Arc::default(),
            missed_when_moved: BTreeSet::new(),
            task: None,
        };
        chatter.start(edge_addr, BTreeMap::new()).await;
        chatter
    }

    async fn start(&mut self, edge_addr: &str, last_message_ids: BTreeMap<ChannelId, MessageId>) {
        let mut g = Gateway::connect(&format!("ws://{edge_addr}"), Encoding::MsgPack)
            .await
            .unwrap();
        g.identify_after(&self.auth.token, last_message_ids)
            .await
            .unwrap();
        let me = Loop {
            channel: self.channel,
            name: self.auth.user.username.clone(),
            seen: self.seen.clone(),
            sending: self.sending.clone(),
            nonces: self.nonces.clone(),
        };
        self.task = Some(tokio::spawn(me.run(g)));
    }

    /// Moves to another edge, asking for what it missed since the last
    /// message it holds.
    pub async fn reconnect(&mut self, edge_addr: &str) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let last = self
            .seen
            .lock()
            .unwrap()
            .received
            .keys()
            .next_back()
            .copied();
        let since = last.map(|id| BTreeMap::from([(self.channel, id)]));
        self.start(edge_addr, since.unwrap_or_default()).await;
        self.edge = 1 - self.edge;
    }

    /// Starts or stops sending (one message every 150 ms).
    pub fn set_sending(&self, on: bool) {
        self.sending.store(on, Ordering::Release);
    }

    fn acked(&self) -> BTreeSet<MessageId> {
        self.seen.lock().unwrap().acked.clone()
    }

    fn refused(&self) -> u64 {
        self.seen.lock().unwrap().refused
    }
}

/// The connection's task.
struct Loop {
    channel: ChannelId,
    name: String,
    seen: Arc<Mutex<Seen>>,
    sending: Arc<AtomicBool>,
    nonces: Arc<AtomicU64>,
}

impl Loop {
    async fn run(self, mut g: Gateway) {
        let mut tick = tokio::time::interval(Duration::from_millis(150));
        let mut beat = tokio::time::interval(Duration::from_secs(10));
        loop {
            tokio::select! {
                frame = g.next() => match frame {
                    Ok(frame) => self.record(&frame),
                    Err(_) => return,
                },
                _ = tick.tick() => {
                    if self.sending.load(Ordering::Acquire) {
                        let n = self.nonces.fetch_add(1, Ordering::Relaxed);
                        let nonce = format!("{}-{n}", self.name);
                        if g.send_message(self.channel, &nonce, "load").await.is_err() {
                            return;
                        }
                    }
                }
                _ = beat.tick() => {
                    if g.heartbeat().await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    fn record(&self, frame: &rookery_client::ServerFrame) {
        let mut seen = self.seen.lock().unwrap();
        match frame.header.op {
            op::SEND_ACK => {
                let ack: gw::SendAck = frame.d().unwrap();
                seen.acked.insert(ack.id);
            }
            op::SEND_ERROR => seen.refused += 1,
            _ if frame.t() == Some("MESSAGE_CREATE") => {
                let m: Message = frame.d().unwrap();
                if m.channel_id == self.channel {
                    *seen.received.entry(m.id).or_default() += 1;
                }
            }
            _ => {}
        }
    }
}

/// Every acknowledged message of each channel, by channel.
fn acked_by_channel(chatters: &[Chatter]) -> BTreeMap<ChannelId, BTreeSet<MessageId>> {
    let mut out: BTreeMap<ChannelId, BTreeSet<MessageId>> = BTreeMap::new();
    for c in chatters {
        out.entry(c.channel).or_default().extend(c.acked());
    }
    out
}

/// What a phase of the test measured.
#[derive(Debug, Default)]
pub struct Tally {
    /// Messages acknowledged so far.
    pub acked: usize,
    /// Deliveries counted (every member, every message).
    pub delivered: u64,
    /// Deliveries beyond the first of a message to a member.
    pub duplicates: u64,
    /// Messages the moved clients missed and then received.
    pub recovered: usize,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} acked, {} deliveries ({} duplicates), {} recovered after moving",
            self.acked, self.delivered, self.duplicates, self.recovered
        )
    }
}

/// Waits until every member received every acknowledged message of its
/// channel; panics with what is missing after `limit`.
pub async fn settle(chatters: &[Chatter], limit: Duration) {
    // Answers to the last sends are still on their way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deadline = Instant::now() + limit;
    loop {
        let acked = acked_by_channel(chatters);
        let missing: Vec<(String, usize)> = chatters
            .iter()
            .map(|c| {
                let seen = c.seen.lock().unwrap();
                let gone = acked[&c.channel]
                    .iter()
                    .filter(|id| !seen.received.contains_key(id))
                    .count();
                (c.auth.user.username.clone(), gone)
            })
            .filter(|(_, gone)| *gone > 0)
            .collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "acknowledged but never delivered: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Reads each channel's whole history through `base` and checks every
/// acknowledged message is stored; tallies the deliveries.
pub async fn check_history(chatters: &[Chatter], base: &str) -> Tally {
    let acked = acked_by_channel(chatters);
    let mut tally = Tally::default();
    for (channel, ids) in &acked {
        let reader = chatters.iter().find(|c| c.channel == *channel).unwrap();
        let api = Api::new(base).with_token(&reader.auth.token);
        let mut stored = BTreeSet::new();
        let mut query = "limit=100".to_owned();
        loop {
            let page = api.history(*channel, &query).await.unwrap();
            let Some(oldest) = page.last().map(|m| m.id) else {
                break;
            };
            stored.extend(page.iter().map(|m| m.id));
            query = format!("limit=100&before={oldest}");
        }
        let lost: Vec<&MessageId> = ids.difference(&stored).collect();
        assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
        tally.acked += ids.len();
    }
    for c in chatters {
        let seen = c.seen.lock().unwrap();
        tally.delivered += seen.received.values().map(|n| u64::from(*n)).sum::<u64>();
        tally.duplicates += seen
            .received
            .values()
            .map(|n| u64::from(n - 1))
            .sum::<u64>();
        tally.recovered += c
            .missed_when_moved
            .iter()
            .filter(|id| seen.received.contains_key(id))
            .count();
    }
    tally
}

/// Notes, for clients about to move, what of their channel they have not
/// received yet (what `last_message_ids` must bring them).
pub fn note_missed(chatters: &mut [Chatter], moving: usize) {
    let acked = acked_by_channel(chatters);
    for c in chatters.iter_mut().filter(|c| c.edge == moving) {
        let seen = c.seen.lock().unwrap();
        let missed = acked[&c.channel]
            .iter()
            .filter(|id| !seen.received.contains_key(id))
            .copied()
            .collect();
        drop(seen);
        c.missed_when_moved = missed;
    }
}

/// Sends for `period` with the broker down and returns how many sends were
/// refused (each within the producer's message timeout).
pub async fn send_while_down(chatters: &mut [Chatter], period: Duration) -> u64 {
    let before: u64 = chatters.iter().map(Chatter::refused).sum();
    let acked: usize = chatters.iter().map(|c| c.acked().len()).sum();
    for c in chatters.iter() {
        c.set_sending(true);
    }
    tokio::time::sleep(period).await;
    for c in chatters.iter() {
        c.set_sending(false);
    }
    // The last sends are refused once their message timeout passes.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after: usize = chatters.iter().map(|c| c.acked().len()).sum();
    assert_eq!(
        after, acked,
        "nothing is acknowledged while the broker is down"
    );
    chatters.iter().map(Chatter::refused).sum::<u64>() - before
}

/// After the broker is back: sends until one is acknowledged again.
pub async fn until_acked_again(chatters: &mut [Chatter], limit: Duration) {
    let acked = |cs: &[Chatter]| cs.iter().map(|c| c.acked().len()).sum::<usize>();
    let before = acked(chatters);
    chatters[0].set_sending(true);
    let deadline = Instant::now() + limit;
    while acked(chatters) == before {
        assert!(
            Instant::now() < deadline,
            "no send acknowledged after the broker came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    chatters[0].set_sending(false);
}
