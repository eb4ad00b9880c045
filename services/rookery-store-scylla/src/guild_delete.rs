//! A guild's deletion on ScyllaDB: every row under the guild and every
//! row that points back at it, one row delete each (no partition or range
//! tombstones, as everywhere), `write_concurrency` at a time. The guild's
//! own row goes last: a crash midway leaves it, and the replayed deletion
//! reads what is left and finishes.

use crate::session::backend;
use crate::store::{Inner, key};
use futures_util::{TryStreamExt, stream};
use rookery_proto::GuildId;
use rookery_proto::UserId;
use rookery_store::{MAX_BANS_PAGE, StoreError, WriteTime};

impl Inner {
    pub(crate) async fn delete_guild(
        &self,
        at: WriteTime,
        guild: GuildId,
    ) -> Result<(), StoreError> {
        let (s, g) = (&self.s, key(guild));
        let concurrency = self.write_concurrency;
        let channels = self.guild_channels(guild).await?;
        stream::iter(channels.iter().map(Ok))
            .try_for_each_concurrent(concurrency, |c| async move {
                futures_util::try_join!(
                    self.exec(at, &s.delete_channel, (key(c.id),)),
                    self.exec(at, &s.delete_guild_channel, (g, key(c.id))),
                )
                .map(drop)
            })
            .await?;
        self.delete_memberships(at, guild).await?;
        for role in self.roles(guild).await? {
            self.delete_role(at, guild, role.id).await?;
        }
        loop {
            let page = self.bans(guild, UserId(0), MAX_BANS_PAGE).await?;
            for ban in &page {
                self.exec(at, &s.delete_ban, (g, key(ban.user_id))).await?;
            }
            if page.len() < MAX_BANS_PAGE {
                break;
            }
        }
        for invite in self.guild_invites(guild).await? {
            self.delete_invite(at, guild, &invite.code).await?;
        }
        for hook in self.webhooks(guild, None).await? {
            self.delete_webhook(&hook).await?;
        }
        self.exec(at, &s.delete_guild, (g,)).await
    }

    /// Each member's row and its entry in the member's guild list, read a
    /// page at a time (a guild of millions costs bounded memory).
    async fn delete_memberships(&self, at: WriteTime, guild: GuildId) -> Result<(), StoreError> {
        let (s, g) = (&self.s, key(guild));
        self.session
            .execute_iter(s.select_member_ids.clone(), (g,))
            .await
            .map_err(backend)?
            .rows_stream::<(i64,)>()
            .map_err(backend)?
            .map_err(backend)
            .try_for_each_concurrent(self.write_concurrency, |(user,)| async move {
                futures_util::try_join!(
                    self.exec(at, &s.delete_member, (g, user)),
                    self.exec(at, &s.delete_user_guild, (user, g)),
                )
                .map(drop)
            })
            .await?;
        Ok(())
    }
}
