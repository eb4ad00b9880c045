//! The send path's nonce cache, and the hit/miss counter every cache of
//! the edge reports to (permissions are in [`crate::access::perms`]).
//!
//! Nonces map `(user, nonce)` to the message they created and coalesce
//! concurrent retries of the same send into one publish. Slow mode maps
//! `(channel, user)` to when the member may send there again; each entry
//! expires at that time, so a present entry is a refusal.

use crate::EdgeError;
use crate::metrics as m;
use moka::future::Cache;
use rookery_proto::model::Message;
use rookery_proto::{ChannelId, UserId};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Caches {
    pub nonces: Nonces,
    pub slow_mode: Cache<(ChannelId, UserId), Instant>,
}

/// A slow-mode entry lives until the member may send again.
struct UntilAllowed;

impl moka::Expiry<(ChannelId, UserId), Instant> for UntilAllowed {
    fn expire_after_create(
        &self,
        _: &(ChannelId, UserId),
        until: &Instant,
        now: Instant,
    ) -> Option<Duration> {
        Some(until.saturating_duration_since(now))
    }
}

impl Caches {
    /// Caches whose nonce entries weigh at most `nonce_bytes` together.
    pub fn new(nonce_bytes: u64) -> Self {
        Self {
            nonces: Nonces::new(nonce_bytes),
            slow_mode: Cache::builder()
                .max_capacity(1_000_000)
                .expire_after(UntilAllowed)
                .build(),
        }
    }
}

/// How long a send's answer is kept for its retries; later ones read the
/// store's nonce table.
const NONCE_TTL: Duration = Duration::from_secs(600);

/// Sends by `(author, nonce)`. Every send with a nonce looks here once and
/// most insert: quick_cache does both under one shard lock, where moka's
/// `try_get_with` (waiter map, write log, housekeeping) was ~4 % of the
/// server's CPU at 10,000 msgs/s (loadtest/README.md, "The write path,
/// second pass").
pub struct Nonces {
    sent: quick_cache::sync::Cache<(UserId, String), Sent, ByWeight>,
}

#[derive(Clone)]
struct Sent {
    at: Instant,
    message: Arc<Message>,
}

/// What a nonce entry holds, in bytes (the message's text dominates).
#[derive(Clone)]
struct ByWeight;

impl quick_cache::Weighter<(UserId, String), Sent> for ByWeight {
    fn weight(&self, (_, nonce): &(UserId, String), sent: &Sent) -> u64 {
        (256 + nonce.len() + sent.message.content.len()) as u64
    }
}

impl Nonces {
    /// Entries weighing at most `bytes` together.
    fn new(bytes: u64) -> Self {
        let items = usize::try_from(bytes / 512).unwrap_or(usize::MAX).max(64);
        Self {
            sent: quick_cache::sync::Cache::with_weighter(items, bytes.max(1), ByWeight),
        }
    }

    /// The message `key`'s send created, else `send`'s. Concurrent calls
    /// with one key wait for the first; if it fails (or is dropped), the
    /// next runs its own `send`.
    pub async fn get_or_send(
        &self,
        key: (UserId, String),
        send: impl Future<Output = Result<Arc<Message>, EdgeError>>,
    ) -> Result<Arc<Message>, EdgeError> {
        let guard = loop {
            match self.sent.get_value_or_guard_async(&key).await {
                Ok(sent) if sent.at.elapsed() < NONCE_TTL => return Ok(sent.message),
                Ok(_) => {
                    self.sent
                        .remove_if(&key, |sent| sent.at.elapsed() >= NONCE_TTL);
                }
                Err(guard) => break guard,
            }
        };
        let message = send.await?;
        let sent = Sent {
            at: Instant::now(),
            message: message.clone(),
        };
        let _ = guard.insert(sent);
        Ok(message)
    }
}

/// Counts a lookup in `cache`.
pub fn record(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!(m::CACHE_REQUESTS, "cache" => cache, "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::model::User;
    use rookery_proto::{ChannelId, GuildId, MessageId, UserId};

    fn message(id: u64, content: String) -> Arc<Message> {
        let author = User {
            id: UserId(1),
            username: "u".into(),
        };
        Arc::new(Message::new(
            MessageId(id),
            (GuildId(1), ChannelId(2)),
            author,
            content,
        ))
    }

    #[tokio::test]
    async fn nonce_entries_are_bounded_by_their_weight_not_their_count() {
        let nonces = Nonces::new(64 * 1024);
        for i in 0..100 {
            let sent = message(i, "x".repeat(2000));
            let key = (UserId(1), i.to_string());
            nonces.get_or_send(key, async { Ok(sent) }).await.unwrap();
        }
        let weight = nonces.sent.weight();
        assert!(weight <= 64 * 1024, "{weight} bytes held");
        assert!(nonces.sent.len() < 100);
    }

    #[tokio::test]
    async fn a_repeat_gets_the_first_answer_and_a_failed_send_is_not_kept() {
        let nonces = Nonces::new(1 << 20);
        let key = || (UserId(1), "n".to_owned());
        let refused = nonces
            .get_or_send(key(), async { Err(EdgeError::EmptyMessage) })
            .await;
        assert!(refused.is_err());
        let first = nonces
            .get_or_send(key(), async { Ok(message(7, "first".into())) })
            .await
            .unwrap();
        let again = nonces
            .get_or_send(key(), async { Ok(message(8, "again".into())) })
            .await
            .unwrap();
        assert_eq!((first.id, again.id), (MessageId(7), MessageId(7)));
    }

    #[tokio::test]
    async fn concurrent_repeats_share_one_send() {
        let nonces = Arc::new(Nonces::new(1 << 20));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let nonces = nonces.clone();
            async move {
                let send = async {
                    wait.await.unwrap();
                    Ok(message(1, "first".into()))
                };
                nonces.get_or_send((UserId(1), "n".into()), send).await
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let repeat = tokio::spawn({
            let nonces = nonces.clone();
            async move {
                let send = async { Ok(message(2, "second".into())) };
                nonces.get_or_send((UserId(1), "n".into()), send).await
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!repeat.is_finished(), "the repeat waits for the first send");
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap().id, MessageId(1));
        assert_eq!(repeat.await.unwrap().unwrap().id, MessageId(1));
    }
}
