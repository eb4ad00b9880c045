//! Members per guild on ScyllaDB: an `int` on the guild's row, rewritten
//! by the guild's writer when a membership appears or goes (see
//! `schema/016_member_counts.cql`). A guild counted before 016 has none:
//! its members' partition is counted once, page by page.

use crate::session::backend;
use crate::store::{Inner, key};
use futures_util::TryStreamExt;
use rookery_proto::GuildId;
use rookery_store::{StoreError, WriteTime};

impl Inner {
    pub(crate) async fn is_member(&self, guild: i64, user: i64) -> Result<bool, StoreError> {
        let row = self.one::<(i64,)>(&self.s.select_member_exists, (guild, user));
        Ok(row.await?.is_some())
    }

    /// Counts the members' partition of `guild`, a page at a time.
    async fn count_partition(&self, guild: GuildId) -> Result<u64, StoreError> {
        let rows = self
            .session
            .execute_iter(self.s.select_member_ids.clone(), (key(guild),))
            .await
            .map_err(backend)?
            .rows_stream::<(i64,)>()
            .map_err(backend)?;
        rows.map_err(backend)
            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
            .await
    }

    /// Moves the count by `delta` (after the membership was written): an
    /// unknown guild (a DM's recipients share the member rows) has none,
    /// and a guild without a count is counted whole.
    pub(crate) async fn count_members(
        &self,
        at: WriteTime,
        guild: GuildId,
        delta: i64,
    ) -> Result<(), StoreError> {
        let row = self.one::<(Option<i32>,)>(&self.s.select_member_count, (key(guild),));
        let Some((stored,)) = row.await? else {
            return Ok(());
        };
        let n = match stored {
            Some(n) => (i64::from(n) + delta).max(0),
            None => self.count_partition(guild).await? as i64,
        };
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        self.exec(at, &self.s.set_member_count, (key(guild), n))
            .await
    }

    pub(crate) async fn member_count(&self, guild: GuildId) -> Result<u64, StoreError> {
        let row = self.one::<(Option<i32>,)>(&self.s.select_member_count, (key(guild),));
        match row.await? {
            None => Ok(0),
            Some((Some(n),)) => Ok(u64::try_from(n).unwrap_or(0)),
            Some((None,)) => self.count_partition(guild).await,
        }
    }
}
