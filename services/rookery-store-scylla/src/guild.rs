//! Channels, roles, permission overwrites and memberships on ScyllaDB.
//!
//! A channel's overwrites live in `channel_overwrites` (one row each), so
//! replacing the list reads the current targets and deletes the ones that
//! are gone: one row tombstone per removed overwrite, never a partition
//! delete racing the inserts at the same timestamp. The writer applies a
//! guild's events in order, so nothing else rewrites the list meanwhile.

use crate::session::backend;
use crate::store::{Inner, id, key, unless};
use futures_util::{StreamExt, TryStreamExt};
use rookery_proto::Id;
use rookery_proto::id::{format_timestamp, parse_timestamp};
use rookery_proto::model::{Channel, Member, Role, User};
use rookery_proto::permissions::{Overwrite, OverwriteKind, Permissions};
use rookery_proto::{ChannelId, GuildId, RoleId, UserId};
use rookery_store::{StoreError, WriteTime};
use scylla::value::CqlTimestamp;
use std::collections::HashSet;

fn kind_code(kind: OverwriteKind) -> i32 {
    match kind {
        OverwriteKind::Role => 0,
        OverwriteKind::Member => 1,
    }
}

fn bits(p: Permissions) -> i64 {
    p.0 as i64
}

/// Stored bits, minus any this build does not know (as on the wire).
fn permissions(v: i64) -> Permissions {
    Permissions(v as u64 & Permissions::ALL.0)
}

type RoleRow = (i64, String, i64, i32, i32, bool, bool);
type OverwriteRow = (i64, i32, i64, i64);

impl Inner {
    /// Upserts a channel under both keys and replaces its overwrites.
    pub(crate) async fn write_channel(&self, at: WriteTime, c: &Channel) -> Result<(), StoreError> {
        let s = &self.s;
        let (kind, pos) = (i32::from(c.kind), c.position as i32);
        let slow = c.rate_limit_per_user as i32;
        // Unset, not null, without an owner: a null is a tombstone.
        let owner = unless(c.owner_id.is_none(), c.owner_id.map(key));
        let by_id = (key(c.id), key(c.guild_id), &c.name, kind, pos, slow, owner);
        if c.is_private() {
            let adds = c
                .recipients
                .iter()
                .map(|u| self.write_recipient(at, c.id, u, true));
            futures_util::future::try_join_all(adds).await?;
            return self.exec(at, &s.insert_channel, by_id).await;
        }
        let by_guild = (key(c.guild_id), key(c.id), &c.name, kind, pos, slow);
        futures_util::try_join!(
            self.exec(at, &s.insert_channel, by_id),
            self.exec(at, &s.insert_guild_channel, by_guild),
            self.write_overwrites(at, c.id, &c.permission_overwrites)
        )?;
        Ok(())
    }

    /// Opens a private channel with its recipients' memberships, unless
    /// it is a DM whose pair already has another (the first opened wins:
    /// a lightweight transaction claims the pair).
    pub(crate) async fn open_private(
        &self,
        at: WriteTime,
        c: &Channel,
        joined_at: &str,
    ) -> Result<(), StoreError> {
        if let Some((low, high)) = c.dm_pair() {
            let claim = (key(low), key(high), key(c.id));
            let result = self.session.execute_unpaged(&self.s.claim_dm_pair, claim);
            let (claimed, _) =
                crate::migrate::lwt_outcome(result.await.map_err(crate::session::backend)?)?;
            // A retried claim of our own (a timeout after it was applied)
            // is ours; another channel's means this opening lost.
            if !claimed && self.dm_channel(low, high).await? != Some(c.id) {
                return Ok(());
            }
        }
        self.write_channel(at, c).await?;
        let members = c.recipients.iter().map(|user| {
            let member = Member::joined(c.id.as_scope(), user.clone(), joined_at.to_owned());
            async move { self.write_member(at, &member).await }
        });
        futures_util::future::try_join_all(members).await?;
        Ok(())
    }

    /// The DM of a pair of users, lower id first.
    pub(crate) async fn dm_channel(
        &self,
        low: UserId,
        high: UserId,
    ) -> Result<Option<ChannelId>, StoreError> {
        let row = self.one::<(i64,)>(&self.s.select_dm_pair, (key(low), key(high)));
        Ok(row.await?.map(|(c,)| id(c)))
    }

    pub(crate) async fn write_recipient(
        &self,
        at: WriteTime,
        channel: ChannelId,
        user: &User,
        add: bool,
    ) -> Result<(), StoreError> {
        let s = &self.s;
        if add {
            let row = (key(channel), key(user.id), &user.username);
            self.exec(at, &s.insert_recipient, row).await
        } else {
            self.exec(at, &s.delete_recipient, (key(channel), key(user.id)))
                .await
        }
    }

    async fn recipients(&self, channel: ChannelId) -> Result<Vec<User>, StoreError> {
        let stmt = &self.s.select_recipients;
        let rows = self.all::<(i64, String)>(stmt, (key(channel),)).await?;
        Ok(rows
            .into_iter()
            .map(|(u, username)| User {
                id: id(u),
                username,
            })
            .collect())
    }

    async fn write_overwrites(
        &self,
        at: WriteTime,
        channel: ChannelId,
        list: &[Overwrite],
    ) -> Result<(), StoreError> {
        let s = &self.s;
        let keep: HashSet<Id> = list.iter().map(|o| o.id).collect();
        for o in list {
            let row = (
                key(channel),
                key(o.id),
                kind_code(o.kind),
                bits(o.allow),
                bits(o.deny),
            );
            self.exec(at, &s.insert_overwrite, row).await?;
        }
        for (target, ..) in self.overwrite_rows(channel).await? {
            if !keep.contains(&id(target)) {
                self.exec(at, &s.delete_overwrite, (key(channel), target))
                    .await?;
            }
        }
        Ok(())
    }

    async fn overwrite_rows(&self, channel: ChannelId) -> Result<Vec<OverwriteRow>, StoreError> {
        self.all::<OverwriteRow>(&self.s.select_overwrites, (key(channel),))
            .await
    }

    /// A channel's overwrites; a row of an unknown type is corrupt.
    pub(crate) async fn overwrites(
        &self,
        channel: ChannelId,
    ) -> Result<Vec<Overwrite>, StoreError> {
        let mut out = Vec::new();
        for (target, kind, allow, deny) in self.overwrite_rows(channel).await? {
            let kind = match kind {
                0 => OverwriteKind::Role,
                1 => OverwriteKind::Member,
                n => {
                    return Err(StoreError::Corrupt {
                        table: "channel_overwrites",
                        detail: format!("target_type {n}"),
                    });
                }
            };
            out.push(Overwrite {
                id: id(target),
                kind,
                allow: permissions(allow),
                deny: permissions(deny),
            });
        }
        Ok(out)
    }

    /// Upserts a membership with its whole role set.
    /// Upserts a membership unless the user is banned: the writer applies
    /// a guild's events in order, so a join or role change that follows a
    /// ban finds it and writes nothing.
    pub(crate) async fn write_member(&self, at: WriteTime, mb: &Member) -> Result<(), StoreError> {
        let s = &self.s;
        let (g, u) = (key(mb.guild_id), key(mb.user.id));
        if self
            .one::<(i64, Option<String>)>(&s.select_ban, (g, u))
            .await?
            .is_some()
        {
            return Ok(());
        }
        let roles: Vec<i64> = mb.roles.iter().map(|r| key(*r)).collect();
        // The epoch stands for "no timeout": a null would be a tombstone.
        let until = mb.communication_disabled_until.as_deref();
        let until = CqlTimestamp(until.and_then(parse_timestamp).unwrap_or(0) as i64);
        let bot = crate::store::unless(!mb.bot, true);
        let row = (g, u, &mb.user.username, &mb.joined_at, roles, until, bot);
        let existed = self.is_member(g, u).await?;
        futures_util::try_join!(
            self.exec(at, &s.insert_member, row),
            self.exec(at, &s.insert_user_guild, (u, g))
        )?;
        if !existed {
            self.count_members(at, mb.guild_id, 1).await?;
        }
        Ok(())
    }

    /// Removes a membership from both tables.
    pub(crate) async fn delete_member(
        &self,
        at: WriteTime,
        guild: GuildId,
        user: UserId,
    ) -> Result<(), StoreError> {
        let s = &self.s;
        let existed = self.is_member(key(guild), key(user)).await?;
        futures_util::try_join!(
            self.exec(at, &s.delete_member, (key(guild), key(user))),
            self.exec(at, &s.delete_user_guild, (key(user), key(guild)))
        )?;
        if existed {
            self.count_members(at, guild, -1).await?;
        }
        Ok(())
    }

    pub(crate) async fn write_role(
        &self,
        at: WriteTime,
        guild: GuildId,
        r: &Role,
    ) -> Result<(), StoreError> {
        let row = (
            key(guild),
            key(r.id),
            &r.name,
            bits(r.permissions),
            r.position as i32,
            r.color as i32,
            r.hoist,
            r.mentionable,
        );
        self.exec(at, &self.s.insert_role, row).await
    }

    pub(crate) async fn delete_role(
        &self,
        at: WriteTime,
        guild: GuildId,
        role: RoleId,
    ) -> Result<(), StoreError> {
        self.exec(at, &self.s.delete_role, (key(guild), key(role)))
            .await
    }

    /// A guild's roles by position then id.
    pub(crate) async fn roles(&self, guild: GuildId) -> Result<Vec<Role>, StoreError> {
        let rows = self
            .all::<RoleRow>(&self.s.select_roles, (key(guild),))
            .await?;
        let mut out: Vec<Role> = rows
            .into_iter()
            .map(
                |(rid, name, perms, position, color, hoist, mentionable)| Role {
                    id: id(rid),
                    name,
                    color: color as u32,
                    hoist,
                    position: position as u32,
                    permissions: permissions(perms),
                    mentionable,
                },
            )
            .collect();
        out.sort_by_key(|r| (r.position, r.id));
        Ok(out)
    }
}

/// A `channels` row: id, guild, name, kind, position, slow mode, owner.
type ChannelRow = (i64, i64, String, i32, i32, Option<i32>, Option<i64>);

/// A `members` row: username, joined_at, roles, timeout end.
type MemberRow = (
    String,
    String,
    Option<Vec<i64>>,
    Option<CqlTimestamp>,
    Option<bool>,
);

fn member_of(guild_id: GuildId, user_id: UserId, row: MemberRow) -> Member {
    let (username, joined_at, roles, until, bot) = row;
    Member {
        bot: bot.unwrap_or(false),
        guild_id,
        user: User {
            id: user_id,
            username,
        },
        joined_at,
        roles: roles.unwrap_or_default().into_iter().map(id).collect(),
        communication_disabled_until: until
            .filter(|t| t.0 > 0)
            .map(|t| format_timestamp(t.0 as u64)),
    }
}

impl Inner {
    pub(crate) async fn guild_channels(
        &self,
        guild_id: GuildId,
    ) -> Result<Vec<Channel>, StoreError> {
        let stmt = &self.s.select_guild_channels;
        let rows = self
            .all::<(i64, String, i32, i32, Option<i32>)>(stmt, (key(guild_id),))
            .await?;
        // One overwrite read per channel, all at once.
        let overwrites = rows.iter().map(|(cid, ..)| self.overwrites(id(*cid)));
        let overwrites = futures_util::future::try_join_all(overwrites).await?;
        let mut out: Vec<Channel> = rows
            .into_iter()
            .zip(overwrites)
            .map(
                |((cid, name, kind, position, slow), permission_overwrites)| Channel {
                    id: id(cid),
                    guild_id,
                    name,
                    kind: kind as u8,
                    position: position as u32,
                    permission_overwrites,
                    rate_limit_per_user: slow.unwrap_or(0) as u32,
                    recipients: Vec::new(),
                    owner_id: None,
                },
            )
            .collect();
        out.sort_by_key(|c| (c.position, c.id));
        Ok(out)
    }

    pub(crate) async fn channel(&self, cid: ChannelId) -> Result<Option<Channel>, StoreError> {
        let stmt = &self.s.select_channel;
        let row = self.one::<ChannelRow>(stmt, (key(cid),));
        let Some((i, g, name, kind, position, slow, owner)) = row.await? else {
            return Ok(None);
        };
        let guild_id: GuildId = id(g);
        let recipients = match guild_id.is_none() {
            true => self.recipients(cid).await?,
            false => Vec::new(),
        };
        Ok(Some(Channel {
            id: id(i),
            guild_id,
            name,
            kind: kind as u8,
            position: position as u32,
            permission_overwrites: self.overwrites(cid).await?,
            rate_limit_per_user: slow.unwrap_or(0) as u32,
            recipients,
            owner_id: owner.map(id),
        }))
    }

    pub(crate) async fn guild_members(
        &self,
        guild_id: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        let limit = limit.clamp(1, rookery_store::MAX_MEMBERS_PAGE);
        let after = i64::try_from(after.0).unwrap_or(i64::MAX);
        let mut stmt = self.s.select_members.clone();
        stmt.set_page_size(limit as i32);
        type Row = (
            i64,
            String,
            String,
            Option<Vec<i64>>,
            Option<CqlTimestamp>,
            Option<bool>,
        );
        let rows: Vec<Row> = self
            .session
            .execute_iter(stmt, (key(guild_id), after))
            .await
            .map_err(backend)?
            .rows_stream::<Row>()
            .map_err(backend)?
            .take(limit)
            .try_collect()
            .await
            .map_err(backend)?;
        let member = |(user, username, joined_at, roles, until, bot): Row| {
            member_of(guild_id, id(user), (username, joined_at, roles, until, bot))
        };
        Ok(rows.into_iter().map(member).collect())
    }

    pub(crate) async fn member(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        let stmt = &self.s.select_member;
        let row = self.one::<MemberRow>(stmt, (key(guild_id), key(user_id)));
        Ok(row.await?.map(|row| member_of(guild_id, user_id, row)))
    }
}
