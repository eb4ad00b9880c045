//! Bans (Discord's rules).
//!
//! - Banning, unbanning and reading bans need BAN_MEMBERS. The owner cannot
//!   be banned; a member can be banned only from above (their highest role
//!   below the caller's); a user who is not a member can be banned too.
//! - A ban is one GUILD_BAN_ADD event on the guild's partition: the writer
//!   stores the ban and removes the membership; the guild's sessions get
//!   GUILD_MEMBER_REMOVE and the user's own sessions GUILD_DELETE. While the
//!   ban stands the user cannot join (40007), and the stores refuse to
//!   write the membership even if a join raced the ban.
//! - `delete_message_seconds` (at most 7 days) deletes the user's messages
//!   of that window in every channel of the guild, as MESSAGE_DELETE_BULK
//!   events of up to 100 ids, after the ban. Finding them walks each
//!   channel's history of the window.

use crate::{Applied, Edge, EdgeError};
use rookery_proto::MessageId;
use rookery_proto::event::{Audit, BanChange, Event, MessageDeleteBulk};
use rookery_proto::id::now_ms;
use rookery_proto::model::{Ban, User, audit_action};
use rookery_proto::permissions::Permissions;
use rookery_proto::rest::CreateBan;
use rookery_proto::{ChannelId, GuildId, UserId};
use rookery_store::{BanRecord, Cursor};

/// The longest purge window (Discord's: 7 days).
const MAX_PURGE_SECONDS: u32 = 604_800;
/// The longest ban reason.
const MAX_REASON_CHARS: usize = 512;

impl Edge {
    /// Bans `target`, removing them if a member, then purges their recent
    /// messages. Answers with how many messages were purged.
    pub async fn ban(
        &self,
        user: &User,
        (guild, target): (GuildId, UserId),
        body: CreateBan,
        reason: Option<String>,
    ) -> Result<(Applied, usize), EdgeError> {
        if body.delete_message_seconds > MAX_PURGE_SECONDS {
            let why = format!("delete_message_seconds must be 0 to {MAX_PURGE_SECONDS}");
            return Err(EdgeError::InvalidBody(why));
        }
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
        {
            let why = format!("the reason must be at most {MAX_REASON_CHARS} characters");
            return Err(EdgeError::InvalidBody(why));
        }
        let m = self
            .manager_with(guild, user.id, Permissions::BAN_MEMBERS)
            .await?;
        let banned = match self.hub.perms().member(guild, target).await? {
            Some(member) => {
                m.outranks_member(&member)?;
                member.user.clone()
            }
            None => self
                .store
                .user(target)
                .await?
                .ok_or(EdgeError::UnknownUser)?,
        };
        let audit = Audit {
            user_id: user.id,
            action_type: audit_action::MEMBER_BAN_ADD,
            target_id: Some(target.raw()),
            reason: reason.clone(),
            changes: Vec::new(),
        };
        let change = BanChange {
            guild_id: guild,
            user: banned,
            reason,
        };
        let event = Event::GuildBanAdd(change);
        let applied = self.publish_audited(event, Some(audit), true).await?;
        let purged = match body.delete_message_seconds {
            0 => 0,
            seconds => self.purge(guild, target, seconds).await?,
        };
        Ok((applied, purged))
    }

    /// Lifts a ban.
    pub async fn unban(
        &self,
        user: &User,
        guild: GuildId,
        target: UserId,
    ) -> Result<Applied, EdgeError> {
        self.require_base(guild, user.id, Permissions::BAN_MEMBERS)
            .await?;
        self.store
            .ban(guild, target)
            .await?
            .ok_or(EdgeError::UnknownBan)?;
        let banned = self
            .store
            .user(target)
            .await?
            .ok_or(EdgeError::UnknownUser)?;
        let change = BanChange {
            guild_id: guild,
            user: banned,
            reason: None,
        };
        let by = (user.id, audit_action::MEMBER_BAN_REMOVE, Some(target));
        self.publish_by(Event::GuildBanRemove(change), by).await
    }

    /// A page of a guild's bans, by user id: those above `after`, at most
    /// `limit`.
    pub async fn bans(
        &self,
        user: &User,
        guild: GuildId,
        (after, limit): (UserId, usize),
    ) -> Result<Vec<Ban>, EdgeError> {
        self.require_base(guild, user.id, Permissions::BAN_MEMBERS)
            .await?;
        let mut out = Vec::new();
        for record in self.store.bans(guild, after, limit).await? {
            out.extend(self.ban_of(record).await?);
        }
        Ok(out)
    }

    /// One ban.
    pub async fn get_ban(
        &self,
        user: &User,
        guild: GuildId,
        target: UserId,
    ) -> Result<Ban, EdgeError> {
        self.require_base(guild, user.id, Permissions::BAN_MEMBERS)
            .await?;
        let record = self.store.ban(guild, target).await?;
        let ban = match record {
            Some(record) => self.ban_of(record).await?,
            None => None,
        };
        ban.ok_or(EdgeError::UnknownBan)
    }

    async fn ban_of(&self, record: BanRecord) -> Result<Option<Ban>, EdgeError> {
        let user = self.store.user(record.user_id).await?;
        Ok(user.map(|user| Ban {
            reason: record.reason,
            user,
        }))
    }

    /// Deletes `author`'s messages of the last `seconds` in every channel.
    async fn purge(
        &self,
        guild: GuildId,
        author: UserId,
        seconds: u32,
    ) -> Result<usize, EdgeError> {
        let since = MessageId::floor_of_ms(now_ms().saturating_sub(u64::from(seconds) * 1000));
        let mut purged = 0;
        for channel in self.store.guild_channels(guild).await? {
            let ids = self.authored_since(channel.id, author, since).await?;
            for chunk in ids.chunks(100) {
                let bulk = MessageDeleteBulk {
                    ids: chunk.to_vec(),
                    channel_id: channel.id,
                    guild_id: guild,
                };
                self.publish(Event::MessageDeleteBulk(bulk), true).await?;
            }
            purged += ids.len();
        }
        Ok(purged)
    }

    /// Ids of `author`'s messages in a channel at or after `since`.
    async fn authored_since(
        &self,
        channel: ChannelId,
        author: UserId,
        since: MessageId,
    ) -> Result<Vec<MessageId>, EdgeError> {
        let (mut ids, mut cursor) = (Vec::new(), Cursor::Latest);
        loop {
            let page = self.store.messages(channel, cursor, 100).await?;
            let recent = page.iter().take_while(|m| m.id >= since);
            ids.extend(recent.filter(|m| m.author.id == author).map(|m| m.id));
            match page.last() {
                Some(last) if last.id >= since && page.len() == 100 => {
                    cursor = Cursor::Before(last.id);
                }
                _ => return Ok(ids),
            }
        }
    }
}
