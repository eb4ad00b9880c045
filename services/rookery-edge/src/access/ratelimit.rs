//! Token buckets: a connection's inbound frame budget on the gateway, and
//! each user's REST budget ([`RestLimits`]), answered as Discord does: HTTP
//! 429 with `retry_after` and the `X-RateLimit-*` headers.

use rookery_proto::UserId;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `burst` tokens, refilled evenly over `window`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

/// The state of a bucket after a take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Taken {
    /// Whether a token was taken.
    pub allowed: bool,
    /// The bucket's size.
    pub limit: u32,
    /// Whole tokens left.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset_after: Duration,
    /// Until the next token (zero if one is there).
    pub retry_after: Duration,
}

impl TokenBucket {
    pub(crate) fn new(burst: u32, window: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            tokens: burst,
            burst,
            per_sec: burst / window.as_secs_f64().max(0.001),
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self) -> Taken {
        self.take_at(Instant::now())
    }

    /// What is left, without taking any.
    pub(crate) fn peek(&mut self) -> Taken {
        self.refill(Instant::now());
        self.report(self.tokens >= 1.0)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = now;
    }

    fn take_at(&mut self, now: Instant) -> Taken {
        self.refill(now);
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        self.report(allowed)
    }

    fn report(&self, allowed: bool) -> Taken {
        let secs = |tokens: f64| Duration::from_secs_f64((tokens / self.per_sec).max(0.0));
        Taken {
            allowed,
            limit: self.burst as u32,
            remaining: self.tokens as u32,
            reset_after: secs(self.burst - self.tokens),
            retry_after: secs(1.0 - self.tokens),
        }
    }
}

/// A budget per key (a user, an address, a username); idle keys' buckets
/// are dropped.
pub(crate) struct Keyed<K> {
    burst: u32,
    window: Duration,
    buckets: moka::sync::Cache<K, Arc<Mutex<TokenBucket>>>,
}

/// Per-user REST budgets.
pub(crate) type RestLimits = Keyed<UserId>;

impl<K: std::hash::Hash + Eq + Send + Sync + 'static> Keyed<K> {
    /// `burst` per key, refilled over `window`; `None` when `burst` is 0
    /// (no limit).
    pub(crate) fn new(burst: u32, window: Duration) -> Option<Self> {
        (burst > 0).then(|| Self {
            burst,
            window,
            buckets: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(window.max(Duration::from_secs(1)))
                .build(),
        })
    }

    /// What is left of `key`'s budget, without taking any.
    pub(crate) fn peek(&self, key: &K) -> Taken {
        match self.buckets.get(key) {
            Some(bucket) => bucket.lock().unwrap_or_else(|p| p.into_inner()).peek(),
            None => TokenBucket::new(self.burst, self.window).peek(),
        }
    }

    /// Takes one from `key`'s budget.
    pub(crate) fn take(&self, key: K) -> Taken {
        let bucket = self.buckets.get_with(key, || {
            Arc::new(Mutex::new(TokenBucket::new(self.burst, self.window)))
        });
        let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
        bucket.take()
    }
}

/// Budgets of the unauthenticated routes: logins per source address and
/// per username (guessing one account from many addresses), registrations
/// per source address.
pub(crate) struct AuthLimits {
    logins_by_address: Option<Keyed<IpAddr>>,
    logins_by_username: Option<Keyed<String>>,
    registrations_by_address: Option<Keyed<IpAddr>>,
}

impl AuthLimits {
    pub(crate) fn new(config: &crate::EdgeConfig) -> Self {
        let minute = Duration::from_secs(60);
        Self {
            logins_by_address: Keyed::new(config.logins_per_minute_per_address, minute),
            logins_by_username: Keyed::new(config.logins_per_minute_per_username, minute),
            registrations_by_address: Keyed::new(
                config.registrations_per_hour_per_address,
                Duration::from_secs(3600),
            ),
        }
    }

    /// Spends a login attempt of `address` and of `username` (case-folded,
    /// as names are unique); the refusal if either is spent.
    pub(crate) fn login(&self, address: IpAddr, username: &str) -> Result<(), Taken> {
        if let Some(limits) = &self.logins_by_address {
            refuse_unless_allowed(limits.take(address))?;
        }
        if let Some(limits) = &self.logins_by_username {
            refuse_unless_allowed(limits.take(username.to_lowercase()))?;
        }
        Ok(())
    }

    /// Spends a registration of `address`.
    pub(crate) fn register(&self, address: IpAddr) -> Result<(), Taken> {
        match &self.registrations_by_address {
            Some(limits) => refuse_unless_allowed(limits.take(address)),
            None => Ok(()),
        }
    }
}

fn refuse_unless_allowed(taken: Taken) -> Result<(), Taken> {
    if taken.allowed { Ok(()) } else { Err(taken) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::UserId;

    #[test]
    fn a_bucket_empties_then_refills_evenly() {
        let start = Instant::now();
        let mut b = TokenBucket::new(2, Duration::from_secs(2));
        b.last = start;
        let first = b.take_at(start);
        assert!(first.allowed);
        assert_eq!((first.limit, first.remaining), (2, 1));
        assert_eq!(first.reset_after, Duration::from_secs(1));
        assert!(b.take_at(start).allowed);
        let refused = b.take_at(start);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert_eq!(refused.reset_after, Duration::from_secs(2));
        // Half a window later one token is back.
        let later = b.take_at(start + Duration::from_secs(1));
        assert!(later.allowed);
        assert!(!b.take_at(start + Duration::from_secs(1)).allowed);
    }

    #[test]
    fn logins_are_budgeted_per_address_and_per_case_folded_username() {
        let mut config = crate::EdgeConfig::new(vec![0; 32]);
        config.logins_per_minute_per_address = 2;
        config.logins_per_minute_per_username = 2;
        config.registrations_per_hour_per_address = 1;
        let limits = AuthLimits::new(&config);
        let (home, away) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        assert!(limits.login(home, "Ada").is_ok());
        assert!(limits.login(away, "ada").is_ok());
        // Ada's name is spent, from any address; the address is not.
        assert!(limits.login(away, "ADA").is_err());
        assert!(limits.login(home, "grace").is_ok());
        assert!(limits.login(home, "linus").is_err(), "the address is spent");
        assert!(limits.register(home).is_ok());
        assert!(limits.register(home).is_err());
        assert!(limits.register(away).is_ok());
    }

    #[test]
    fn users_have_separate_budgets_and_zero_means_unlimited() {
        assert!(RestLimits::new(0, Duration::from_secs(1)).is_none());
        let limits = RestLimits::new(1, Duration::from_secs(60)).unwrap();
        assert!(limits.take(UserId(1)).allowed);
        assert!(!limits.take(UserId(1)).allowed);
        assert!(limits.take(UserId(2)).allowed);
    }
}
