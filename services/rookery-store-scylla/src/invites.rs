//! Invites on ScyllaDB: one row by code (what a join reads) and one entry
//! under the guild (what its list reads). The row is written before the
//! entry and the entry deleted before the row, so a listed code leads to an
//! invite for no longer than a crash between two writes (and the list
//! skips a code whose row is gone).

use crate::store::{Inner, id, key};
use futures_util::TryStreamExt;
use futures_util::stream::{self, StreamExt};
use rookery_proto::GuildId;
use rookery_proto::model::Invite;
use rookery_store::{StoreError, WriteTime};

/// An `invites` row as [`crate::cql::SELECT_INVITE`] reads it; the
/// columns of 015 are null on invites made before it.
type InviteRow = (
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i32>,
    Option<i32>,
    Option<i32>,
);

fn count(v: Option<i32>) -> u32 {
    v.map_or(0, |n| u32::try_from(n).unwrap_or(0))
}

fn invite(code: &str, row: InviteRow) -> Invite {
    let (guild, inviter, channel, created_at, max_age, max_uses, uses) = row;
    Invite {
        code: code.to_owned(),
        guild_id: id(guild),
        inviter_id: id(inviter),
        channel_id: channel.map(id),
        created_at_ms: created_at.unwrap_or(0),
        max_age: count(max_age),
        max_uses: count(max_uses),
        uses: count(uses),
    }
}

/// An `int` column from a count (all of Discord's limits fit).
fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Inner {
    pub(crate) async fn invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        let row = self
            .one::<InviteRow>(&self.s.select_invite, (code,))
            .await?;
        Ok(row.map(|r| invite(code, r)))
    }

    /// A guild's invites, read by code `write_concurrency` at a time (the bound on requests in flight).
    pub(crate) async fn guild_invites(&self, guild: GuildId) -> Result<Vec<Invite>, StoreError> {
        let codes = self
            .all::<(String,)>(&self.s.select_guild_invites, (key(guild),))
            .await?;
        let reads = codes
            .into_iter()
            .map(|(code,)| async move { self.invite(&code).await });
        let found: Vec<Option<Invite>> = stream::iter(reads)
            .buffered(self.write_concurrency)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    pub(crate) async fn write_invite(&self, at: WriteTime, i: &Invite) -> Result<(), StoreError> {
        let row = (
            &i.code,
            key(i.guild_id),
            key(i.inviter_id),
            i.channel_id.map(key),
            i.created_at_ms,
            int(i.max_age),
            int(i.max_uses),
        );
        self.exec(at, &self.s.insert_invite, row).await?;
        let entry = (key(i.guild_id), &i.code);
        self.exec(at, &self.s.insert_guild_invite, entry).await
    }

    pub(crate) async fn delete_invite(
        &self,
        at: WriteTime,
        guild: GuildId,
        code: &str,
    ) -> Result<(), StoreError> {
        let entry = (key(guild), code);
        self.exec(at, &self.s.delete_guild_invite, entry).await?;
        self.exec(at, &self.s.delete_invite, (code,)).await
    }

    /// Counts a join: read, then rewrite (the guild's writer is the only
    /// one), and only while the invite exists (an upsert would bring a
    /// deleted one back).
    pub(crate) async fn count_invite_use(
        &self,
        at: WriteTime,
        code: &str,
    ) -> Result<(), StoreError> {
        let Some(found) = self.invite(code).await? else {
            return Ok(());
        };
        let uses = int(found.uses.saturating_add(1));
        self.exec(at, &self.s.set_invite_uses, (code, uses)).await
    }
}
