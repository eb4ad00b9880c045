//! Snowflake ids: 42 bits of milliseconds since [`EPOCH_MS`], 10 bits of
//! worker id, 12 bits of sequence. Ids sort by creation time, so history can be
//! paged by id and bucketed by the time inside the id.
//!
//! On the wire an [`Id`] is a decimal string in human-readable encodings (JSON:
//! JavaScript numbers lose precision above 2^53) and an integer in MessagePack.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Rookery's epoch: 2025-01-01T00:00:00Z, in milliseconds since the Unix epoch.
pub const EPOCH_MS: u64 = 1_735_689_600_000;
/// Largest worker id (10 bits).
pub const MAX_WORKER: u16 = (1 << 10) - 1;
const SEQ_BITS: u32 = 12;
const WORKER_BITS: u32 = 10;

/// A snowflake id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id(pub u64);

impl Id {
    /// No id: a guild id a private channel's objects do not have (left
    /// out of their encodings, as Discord leaves it out).
    pub const NONE: Id = Id(0);

    /// Whether this is [`Id::NONE`].
    pub fn is_none(&self) -> bool {
        self.0 == 0
    }

    /// This id, or `other` if this is [`Id::NONE`].
    pub fn or(self, other: Id) -> Id {
        if self.is_none() { other } else { self }
    }

    /// Milliseconds since the Unix epoch at which this id was minted.
    pub fn unix_ms(self) -> u64 {
        (self.0 >> (SEQ_BITS + WORKER_BITS)) + EPOCH_MS
    }

    /// The smallest id that could be minted at `unix_ms`; useful as a bound.
    pub fn floor_of_ms(unix_ms: u64) -> Id {
        Id(unix_ms.saturating_sub(EPOCH_MS) << (SEQ_BITS + WORKER_BITS))
    }

    /// The time bucket of this id for buckets of `bucket_ms` milliseconds.
    pub fn bucket(self, bucket_ms: u64) -> u32 {
        bucket_of_ms(self.unix_ms() - EPOCH_MS, bucket_ms)
    }

    /// RFC 3339 timestamp (millisecond precision) of the id's creation time.
    pub fn timestamp(self) -> String {
        format_timestamp(self.unix_ms())
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp (UTC, `Z`).
pub fn parse_timestamp(s: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339_weak(s).ok()?;
    let ms = t.duration_since(UNIX_EPOCH).ok()?.as_millis();
    u64::try_from(ms).ok()
}

/// The RFC 3339 timestamp (milliseconds, UTC) of `unix_ms`.
pub fn format_timestamp(unix_ms: u64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_millis(unix_ms);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Bucket number of a point `ms_since_epoch` milliseconds after [`EPOCH_MS`].
pub fn bucket_of_ms(ms_since_epoch: u64, bucket_ms: u64) -> u32 {
    u32::try_from(ms_since_epoch / bucket_ms.max(1)).unwrap_or(u32::MAX)
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl FromStr for Id {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Id)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(&self.0)
        } else {
            s.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a snowflake id as an unsigned integer or a decimal string")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                u64::try_from(v).map(Id).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A lock-free snowflake generator for one worker id.
///
/// The state packs `(ms << 12) | seq`; each id takes `max(state + 1, now << 12)`.
/// A burst of more than 4096 ids in one millisecond therefore borrows the next
/// millisecond instead of blocking, and a clock that steps back never yields a
/// smaller id.
#[derive(Debug)]
pub struct Snowflake {
    worker: u64,
    state: AtomicU64,
}

impl Snowflake {
    /// A generator for `worker` (0..=[`MAX_WORKER`]).
    pub fn new(worker: u16) -> Result<Self, InvalidWorker> {
        if worker > MAX_WORKER {
            return Err(InvalidWorker(worker));
        }
        Ok(Self {
            worker: u64::from(worker),
            state: AtomicU64::new(0),
        })
    }

    /// The next id, strictly greater than every id this generator returned,
    /// as the kind of id the caller mints (an [`Id`] or a typed one).
    pub fn next_id<T: From<Id>>(&self) -> T {
        T::from(self.next_at(now_ms()))
    }

    fn next_at(&self, unix_ms: u64) -> Id {
        let floor = unix_ms.saturating_sub(EPOCH_MS) << SEQ_BITS;
        let prev = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some((s + 1).max(floor))
            })
            .expect("closure always returns Some");
        let state = (prev + 1).max(floor);
        let ms = state >> SEQ_BITS;
        let seq = state & ((1 << SEQ_BITS) - 1);
        Id((ms << (SEQ_BITS + WORKER_BITS)) | (self.worker << SEQ_BITS) | seq)
    }
}

/// A worker id outside 0..=1023.
#[derive(Debug, thiserror::Error)]
#[error("worker id {0} is out of range 0..=1023")]
pub struct InvalidWorker(pub u16);

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_time_and_worker() {
        let g = Snowflake::new(5).unwrap();
        let t = EPOCH_MS + 123_456;
        let id = g.next_at(t);
        assert_eq!(id.unix_ms(), t);
        assert_eq!((id.0 >> 12) & 0x3ff, 5);
        assert_eq!(id.0 & 0xfff, 0);
    }

    #[test]
    fn ids_strictly_increase_within_a_millisecond_and_overflow_borrows_next_ms() {
        let g = Snowflake::new(1).unwrap();
        let t = EPOCH_MS + 1_000;
        let ids: Vec<Id> = (0..5000).map(|_| g.next_at(t)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[4095].unix_ms(), t);
        assert_eq!(
            ids[4096].unix_ms(),
            t + 1,
            "sequence overflow moves to the next ms"
        );
    }

    #[test]
    fn clock_stepping_back_never_yields_smaller_ids() {
        let g = Snowflake::new(1).unwrap();
        let a = g.next_at(EPOCH_MS + 10_000);
        let b = g.next_at(EPOCH_MS + 5_000);
        assert!(b > a);
    }

    #[test]
    fn concurrent_generation_is_unique() {
        let g = std::sync::Arc::new(Snowflake::new(3).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || (0..20_000).map(|_| g.next_id()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<Id> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn worker_out_of_range_is_refused() {
        assert!(Snowflake::new(1024).is_err());
        assert!(Snowflake::new(1023).is_ok());
    }

    #[test]
    fn bucket_math() {
        let day = 86_400_000;
        let ten_days = 10 * day;
        assert_eq!(Id::floor_of_ms(EPOCH_MS).bucket(ten_days), 0);
        assert_eq!(Id::floor_of_ms(EPOCH_MS + ten_days - 1).bucket(ten_days), 0);
        assert_eq!(Id::floor_of_ms(EPOCH_MS + ten_days).bucket(ten_days), 1);
        assert_eq!(Id::floor_of_ms(EPOCH_MS + 25 * day).bucket(ten_days), 2);
        // The last id of a millisecond stays in that millisecond's bucket.
        let last_of_ms = Id(Id::floor_of_ms(EPOCH_MS + ten_days).0 - 1);
        assert_eq!(last_of_ms.bucket(ten_days), 0);
    }

    #[test]
    fn timestamp_is_rfc3339() {
        assert_eq!(
            Id::floor_of_ms(EPOCH_MS + 1_500).timestamp(),
            "2025-01-01T00:00:01.500Z"
        );
    }

    #[test]
    fn id_is_string_in_json_and_integer_in_msgpack() {
        let id = Id(1 << 60);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            format!("\"{}\"", 1u64 << 60)
        );
        let mp = rmp_serde::to_vec(&id).unwrap();
        assert_eq!(rmp_serde::from_slice::<Id>(&mp).unwrap(), id);
        assert_eq!(mp[0], 0xcf, "msgpack uint64 marker");
        // Lenient on input: JSON numbers are accepted too.
        assert_eq!(serde_json::from_str::<Id>("42").unwrap(), Id(42));
        assert!(serde_json::from_str::<Id>("\"x1\"").is_err());
        assert!(serde_json::from_str::<Id>("-1").is_err());
    }
}
