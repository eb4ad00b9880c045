//! [`ScyllaStore`]: the [`Store`] on ScyllaDB, prepared statements only.
//!
//! Ids are `bigint`: a snowflake is below 2^63 until 2094, and the cast
//! round-trips every u64 anyway. A batch's mutations are written
//! concurrently (bounded by `write_concurrency`), not as one multi-partition
//! logged batch (a reaction alone is one: its row, its index row and the
//! counts, see `edits.rs`); each write is durable at the configured
//! consistency when it returns, so [`Store::sync`] has nothing to do.

use crate::ScyllaConfig;
use crate::cql;
use crate::metrics::DriverMetrics;
use crate::migrate::lwt_outcome;
use crate::session::{backend, connect, first_row, profile};
use crate::write::LocalClock;
use futures_util::TryStreamExt;
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_store::{StoreError, WriteTime};
use scylla::client::session::Session;
use scylla::deserialize::row::DeserializeRow;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::MaybeUnset;
use std::sync::Arc;
use std::time::Duration;

mod calls;

/// `value`, or unset when `skip`: an unset column writes nothing, where a
/// null would write a tombstone.
pub(crate) fn unless<T>(skip: bool, value: T) -> MaybeUnset<T> {
    if skip {
        MaybeUnset::Unset
    } else {
        MaybeUnset::Set(value)
    }
}

/// Id to `bigint`.
pub(crate) fn key(id: impl Into<Id>) -> i64 {
    id.into().0 as i64
}

/// `bigint` to an id of the kind the column holds.
pub(crate) fn id<T: From<Id>>(v: i64) -> T {
    T::from(Id(v as u64))
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct ScyllaStore(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) session: Arc<Session>,
    pub(crate) s: Statements,
    keyspace: String,
    pub(crate) bucket_ms: u64,
    pub(crate) write_concurrency: usize,
    /// Most new-message rows of one partition per request.
    pub(crate) batch_rows: usize,
    /// `(channel, bucket)` rows this process has written: every message
    /// would otherwise rewrite its bucket's row.
    pub(crate) known_buckets: moka::future::Cache<(ChannelId, u32), ()>,
    /// Times of the writes that come without one.
    pub(crate) clock: LocalClock,
    _metrics: DriverMetrics,
}

macro_rules! prepared {
    ($($field:ident = $cql:ident),* $(,)?) => {
        /// The prepared statements, one field each.
        pub(crate) struct Statements { $(pub(crate) $field: PreparedStatement,)* }

        impl Statements {
            async fn prepare(session: &Session, keyspace: &str) -> Result<Self, StoreError> {
                Ok(Self { $($field: prepare(session, &cql::qualify(keyspace, cql::$cql)).await?,)* })
            }
        }
    };
}

prepared! {
    insert_user = INSERT_USER, select_user = SELECT_USER,
    insert_credentials = INSERT_CREDENTIALS, select_credentials = SELECT_CREDENTIALS,
    select_token_generation = SELECT_TOKEN_GENERATION,
    insert_application = INSERT_APPLICATION, select_application = SELECT_APPLICATION,
    insert_webhook = INSERT_WEBHOOK, insert_webhook_id = INSERT_WEBHOOK_ID,
    select_webhook_id = SELECT_WEBHOOK_ID, select_webhook = SELECT_WEBHOOK,
    select_channel_webhooks = SELECT_CHANNEL_WEBHOOKS, select_guild_webhooks = SELECT_GUILD_WEBHOOKS,
    delete_webhook = DELETE_WEBHOOK, delete_webhook_id = DELETE_WEBHOOK_ID,
    delete_application = DELETE_APPLICATION,
    insert_token_generation = INSERT_TOKEN_GENERATION,
    insert_password_change = INSERT_PASSWORD_CHANGE,
    claim_username = CLAIM_USERNAME, select_username = SELECT_USERNAME,
    insert_guild = INSERT_GUILD, select_guild = SELECT_GUILD, delete_guild = DELETE_GUILD,
    insert_channel = INSERT_CHANNEL, insert_guild_channel = INSERT_GUILD_CHANNEL,
    select_channel = SELECT_CHANNEL, select_guild_channels = SELECT_GUILD_CHANNELS,
    insert_recipient = INSERT_RECIPIENT, delete_recipient = DELETE_RECIPIENT,
    select_recipients = SELECT_RECIPIENTS, delete_channel = DELETE_CHANNEL,
    delete_guild_channel = DELETE_GUILD_CHANNEL, claim_dm_pair = CLAIM_DM_PAIR,
    select_dm_pair = SELECT_DM_PAIR,
    insert_overwrite = INSERT_OVERWRITE, select_overwrites = SELECT_OVERWRITES,
    delete_overwrite = DELETE_OVERWRITE, insert_role = INSERT_ROLE,
    select_roles = SELECT_ROLES, delete_role = DELETE_ROLE,
    insert_member = INSERT_MEMBER, delete_member = DELETE_MEMBER,
    delete_user_guild = DELETE_USER_GUILD, insert_user_guild = INSERT_USER_GUILD,
    select_member_exists = SELECT_MEMBER_EXISTS, select_member_ids = SELECT_MEMBER_IDS,
    select_member_count = SELECT_MEMBER_COUNT, set_member_count = SET_MEMBER_COUNT,
    select_member = SELECT_MEMBER, select_members = SELECT_MEMBERS, select_user_guilds = SELECT_USER_GUILDS,
    insert_invite = INSERT_INVITE, select_invite = SELECT_INVITE,
    set_invite_uses = SET_INVITE_USES, delete_invite = DELETE_INVITE,
    insert_guild_invite = INSERT_GUILD_INVITE, delete_guild_invite = DELETE_GUILD_INVITE,
    select_guild_invites = SELECT_GUILD_INVITES,
    insert_ban = INSERT_BAN, delete_ban = DELETE_BAN,
    select_ban = SELECT_BAN, select_bans = SELECT_BANS,
    insert_read_state = INSERT_READ_STATE, select_read_states = SELECT_READ_STATES,
    insert_audit = INSERT_AUDIT, select_audit = SELECT_AUDIT,
    insert_message = INSERT_MESSAGE, insert_bucket = INSERT_BUCKET,
    edit_message = EDIT_MESSAGE, pin_message = PIN_MESSAGE,
    select_message_id = SELECT_MESSAGE_ID, select_message = SELECT_MESSAGE,
    delete_message = DELETE_MESSAGE, insert_pin = INSERT_PIN, delete_pin = DELETE_PIN,
    select_pins = SELECT_PINS, insert_reaction = INSERT_REACTION,
    delete_reaction = DELETE_REACTION, delete_reactions = DELETE_REACTIONS,
    select_reactions = SELECT_REACTIONS, select_reaction = SELECT_REACTION,
    select_message_reactions = SELECT_MESSAGE_REACTIONS,
    select_emoji_reactions = SELECT_EMOJI_REACTIONS,
    select_reaction_counts = SELECT_REACTION_COUNTS, set_reaction_counts = SET_REACTION_COUNTS,
    insert_user_reaction = INSERT_USER_REACTION, delete_user_reaction = DELETE_USER_REACTION,
    select_user_reactions = SELECT_USER_REACTIONS,
    insert_user_mention = INSERT_USER_MENTION, delete_user_mention = DELETE_USER_MENTION,
    select_user_mentions = SELECT_USER_MENTIONS,
    insert_broadcast_mention = INSERT_BROADCAST_MENTION,
    delete_broadcast_mention = DELETE_BROADCAST_MENTION,
    select_broadcast_mentions = SELECT_BROADCAST_MENTIONS,
    insert_nonce = INSERT_NONCE, select_nonce = SELECT_NONCE,
    buckets_down = SELECT_BUCKETS_DOWN, buckets_up = SELECT_BUCKETS_UP,
    buckets_between = SELECT_BUCKETS_BETWEEN,
    messages_before = SELECT_MESSAGES_BEFORE, messages_after = SELECT_MESSAGES_AFTER,
    pin_meta = PIN_META, select_meta = SELECT_META,
}

async fn prepare(session: &Session, text: &str) -> Result<PreparedStatement, StoreError> {
    let mut stmt = session
        .prepare(text)
        .await
        .map_err(|e| StoreError::Config(format!("cannot prepare {text:?}: {e}")))?;
    // Upserts and reads may be retried and speculatively executed; the
    // lightweight transactions may not.
    stmt.set_is_idempotent(!text.contains(" IF "));
    // Bucket lists are walked a page at a time; history reads set their own.
    stmt.set_page_size(64);
    Ok(stmt)
}

impl ScyllaStore {
    /// Connects to a migrated keyspace, prepares every statement and pins the
    /// bucket width. A keyspace that was never migrated fails here, naming
    /// the statement that could not be prepared.
    pub async fn connect(config: &ScyllaConfig) -> Result<Self, StoreError> {
        let session = Arc::new(connect(config, profile(config)).await?);
        let s = Statements::prepare(&session, &config.keyspace).await?;
        pin_bucket_width(&session, &s, config.bucket_ms).await?;
        let inner = Inner {
            _metrics: DriverMetrics::spawn(&session),
            session,
            s,
            keyspace: config.keyspace.clone(),
            bucket_ms: config.bucket_ms,
            write_concurrency: config.write_concurrency,
            batch_rows: config.batch_rows.max(1),
            clock: LocalClock::default(),
            known_buckets: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        };
        Ok(Self(Arc::new(inner)))
    }
}

/// Pins the bucket width on first use, or checks the pinned one. Reads
/// first: only a keyspace that has none yet takes a lightweight
/// transaction, so a store opens while Paxos cannot reach a quorum.
async fn pin_bucket_width(
    session: &Session,
    s: &Statements,
    bucket_ms: u64,
) -> Result<(), StoreError> {
    let ours = bucket_ms.to_string();
    let pinned = session
        .execute_unpaged(&s.select_meta, ("bucket_ms",))
        .await
        .map_err(backend)?;
    let pinned = first_row::<(String,)>(pinned)?;
    let stored = match pinned {
        Some((stored,)) => Some(stored),
        None => {
            let claim = session.execute_unpaged(&s.pin_meta, ("bucket_ms", &ours));
            match lwt_outcome(claim.await.map_err(backend)?)? {
                (true, _) => None,
                (false, stored) => Some(stored.unwrap_or_default()),
            }
        }
    };
    match stored {
        Some(stored) if stored != ours => Err(StoreError::Config(format!(
            "store was created with {stored} ms buckets, configured {bucket_ms} ms"
        ))),
        _ => Ok(()),
    }
}

impl Inner {
    /// One write, at `at` (a clone of the prepared statement carries the
    /// timestamp; the clone shares the preparation).
    pub(crate) async fn exec(
        &self,
        at: WriteTime,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<(), StoreError> {
        let mut stmt = stmt.clone();
        stmt.set_timestamp(Some(at.0));
        self.session
            .execute_unpaged(&stmt, values)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// At most one row, deserialised.
    pub(crate) async fn one<R>(
        &self,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Option<R>, StoreError>
    where
        R: for<'f, 'm> DeserializeRow<'f, 'm>,
    {
        let result = self.session.execute_unpaged(stmt, values).await;
        first_row(result.map_err(backend)?)
    }

    /// Every row of one partition.
    pub(crate) async fn all<R>(
        &self,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Vec<R>, StoreError>
    where
        R: for<'f, 'm> DeserializeRow<'f, 'm> + 'static,
    {
        self.session
            .execute_iter(stmt.clone(), values)
            .await
            .map_err(backend)?
            .rows_stream::<R>()
            .map_err(backend)?
            .map_err(backend)
            .try_collect()
            .await
    }
}

impl std::fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScyllaStore")
            .field("keyspace", &self.0.keyspace)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_bigint_and_keep_order_below_2_pow_63() {
        for v in [0, 1, 1 << 22, i64::MAX as u64, u64::MAX] {
            assert_eq!(id::<Id>(key(Id(v))), Id(v));
        }
        let (a, b) = (Id(1 << 40), Id((1 << 62) + 5));
        assert!(key(a) < key(b));
    }
}
