//! Moderation records and read states on ScyllaDB: bans, the audit log
//! (in week-long `(guild, bucket)` partitions, walked newest first), and
//! the last message each user read per channel.

use crate::session::backend;
use crate::store::{Inner, id, key, unless};
use futures_util::{StreamExt, TryStreamExt};
use rookery_proto::Id;
use rookery_proto::id::now_ms;
use rookery_proto::model::AuditLogEntry;
use rookery_proto::{ChannelId, MessageId};
use rookery_proto::{GuildId, UserId};
use rookery_store::{
    AUDIT_RETENTION_MS, BanRecord, MAX_BANS_PAGE, Mutation, StoreError, WriteTime,
};

/// Width of an audit log partition: one week, the table's compaction
/// window, so a partition's entries expire together. Fixed, not the message
/// bucket width: a first page walks from this week down to the retention
/// limit, at most 14 partitions however narrow message buckets are.
pub(crate) const AUDIT_BUCKET_MS: u64 = 7 * 24 * 3600 * 1000;

/// Entry ids a little ahead of this node's clock (another edge minted them)
/// are still found by a first page.
const CLOCK_SKEW_MS: u64 = 60_000;

type BanRow = (i64, Option<String>);
type AuditRow = (i64, i64, i32, Option<i64>, Option<String>, Option<String>);

/// An entry from its row; `changes` is stored as JSON text.
fn entry(guild: GuildId, row: AuditRow) -> Result<AuditLogEntry, StoreError> {
    let (entry, user, action, target, reason, changes) = row;
    let changes = match changes {
        Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
            table: "audit_log",
            detail: e.to_string(),
        })?,
        None => Vec::new(),
    };
    Ok(AuditLogEntry {
        id: id(entry),
        guild_id: guild,
        user_id: id(user),
        action_type: action as u8,
        target_id: target.map(id),
        reason,
        changes,
    })
}

fn ban_record((user, reason): BanRow) -> BanRecord {
    BanRecord {
        user_id: id(user),
        reason,
    }
}

impl Inner {
    /// Writes a ban, an unban, a read state or an audit entry.
    pub(crate) async fn write_record(
        &self,
        at: WriteTime,
        mutation: &Mutation,
    ) -> Result<(), StoreError> {
        let s = &self.s;
        match mutation {
            Mutation::Ban {
                guild_id,
                user_id,
                reason,
            } => {
                let row = (
                    key(*guild_id),
                    key(*user_id),
                    unless(reason.is_none(), reason),
                );
                self.exec(at, &s.insert_ban, row).await
            }
            Mutation::Unban { guild_id, user_id } => {
                self.exec(at, &s.delete_ban, (key(*guild_id), key(*user_id)))
                    .await
            }
            Mutation::ReadState {
                user_id,
                channel_id,
                last_message_id,
            } => {
                let row = (key(*user_id), key(*channel_id), key(*last_message_id));
                self.exec(at, &s.insert_read_state, row).await
            }
            Mutation::Audit(a) => {
                let changes = serde_json::to_string(&a.changes).expect("changes are JSON");
                let row = (
                    key(a.guild_id),
                    i64::from(a.id.bucket(AUDIT_BUCKET_MS)),
                    key(a.id),
                    key(a.user_id),
                    i32::from(a.action_type),
                    unless(a.target_id.is_none(), a.target_id.map(key)),
                    unless(a.reason.is_none(), &a.reason),
                    unless(a.changes.is_empty(), changes),
                );
                self.exec(at, &s.insert_audit, row).await
            }
            other => unreachable!("not a record mutation: {other:?}"),
        }
    }

    /// One page of bans: a page size of `limit`, and no more rows taken.
    pub(crate) async fn bans(
        &self,
        guild: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<BanRecord>, StoreError> {
        let limit = limit.clamp(1, MAX_BANS_PAGE);
        let after = i64::try_from(after.0).unwrap_or(i64::MAX);
        let mut stmt = self.s.select_bans.clone();
        stmt.set_page_size(limit as i32);
        let rows: Vec<BanRow> = self
            .session
            .execute_iter(stmt, (key(guild), after))
            .await
            .map_err(backend)?
            .rows_stream::<BanRow>()
            .map_err(backend)?
            .take(limit)
            .try_collect()
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(ban_record).collect())
    }

    pub(crate) async fn ban(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<BanRecord>, StoreError> {
        let found = self.one::<BanRow>(&self.s.select_ban, (key(guild), key(user)));
        Ok(found.await?.map(ban_record))
    }

    pub(crate) async fn read_states(
        &self,
        user: UserId,
    ) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        let rows = self.all::<(i64, i64)>(&self.s.select_read_states, (key(user),));
        Ok(rows
            .await?
            .into_iter()
            .map(|(c, m)| (id(c), id(m)))
            .collect())
    }

    /// Walks the guild's partitions from `before`'s (or the present's, when
    /// `before` is later) down to the oldest one the retention keeps, newest
    /// entries first.
    pub(crate) async fn audit_log(
        &self,
        guild: GuildId,
        before: Id,
        limit: usize,
    ) -> Result<Vec<AuditLogEntry>, StoreError> {
        let limit = limit.clamp(1, 100);
        let oldest = Id::floor_of_ms(now_ms().saturating_sub(AUDIT_RETENTION_MS));
        let below = i64::try_from(before.0).unwrap_or(i64::MAX);
        let present = Id::floor_of_ms(now_ms() + CLOCK_SKEW_MS);
        let top = Id(before.0.saturating_sub(1)).min(present);
        let mut out = Vec::new();
        for bucket in (oldest.bucket(AUDIT_BUCKET_MS)..=top.bucket(AUDIT_BUCKET_MS)).rev() {
            let values = (key(guild), i64::from(bucket), below);
            let rows = self
                .session
                .execute_iter(self.s.select_audit.clone(), values)
                .await
                .map_err(backend)?
                .rows_stream::<AuditRow>()
                .map_err(backend)?;
            let wanted = limit - out.len();
            let rows: Vec<AuditRow> = rows.take(wanted).try_collect().await.map_err(backend)?;
            for row in rows {
                let e = entry(guild, row)?;
                if e.id >= oldest {
                    out.push(e);
                }
            }
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }
}
