//! Moderation: kicking, leaving, and timeouts (Discord's rules).
//!
//! - Kicking needs KICK_MEMBERS, timeouts MODERATE_MEMBERS; the target
//!   must rank below the caller's highest role, and the owner can be
//!   neither kicked nor timed out. Members with ADMINISTRATOR cannot be
//!   timed out.
//! - A timeout lasts at most 28 days. While it runs the member can read
//!   but not write (permissions are cut to VIEW_CHANNEL and
//!   READ_MESSAGE_HISTORY); the permission caches keep such an entry only
//!   until the timeout ends.
//! - Leaving or being kicked is one `GUILD_MEMBER_REMOVE` event; the
//!   member's sessions get GUILD_DELETE and nothing more of the guild.

use crate::{Applied, Edge, EdgeError};
use rookery_proto::event::{AuditChange, Event, MemberRemove};
use rookery_proto::id::{format_timestamp, now_ms, parse_timestamp};
use rookery_proto::model::{Member, User, audit_action};
use rookery_proto::permissions::Permissions;
use rookery_proto::rest::MemberParams;
use rookery_proto::{GuildId, UserId};

/// The longest timeout Discord allows.
const MAX_TIMEOUT_MS: u64 = 28 * 24 * 3600 * 1000;

impl Edge {
    async fn target(&self, guild: GuildId, user: UserId) -> Result<Member, EdgeError> {
        let member = self.hub.perms().member(guild, user).await?;
        Ok((*member.ok_or(EdgeError::UnknownMember)?).clone())
    }

    /// Kicks a member below the caller.
    pub async fn kick(
        &self,
        user: &User,
        guild: GuildId,
        target: UserId,
    ) -> Result<Applied, EdgeError> {
        let m = self
            .manager_with(guild, user.id, Permissions::KICK_MEMBERS)
            .await?;
        let member = self.target(guild, target).await?;
        m.outranks_member(&member)?;
        let event = Event::GuildMemberRemove(MemberRemove {
            guild_id: guild,
            user: member.user,
        });
        let by = (user.id, audit_action::MEMBER_KICK, Some(target));
        self.publish_by(event, by).await
    }

    /// Leaves a guild; its owner cannot.
    pub async fn leave_guild(&self, user: &User, guild: GuildId) -> Result<Applied, EdgeError> {
        let (access, _) = self.hub.perms().in_guild(guild, user.id).await?;
        if access.owner_id == user.id {
            return Err(EdgeError::InvalidBody(
                "the owner cannot leave the guild".into(),
            ));
        }
        let event = Event::GuildMemberRemove(MemberRemove {
            guild_id: guild,
            user: user.clone(),
        });
        self.publish(event, true).await
    }

    /// Changes a member's timeout (the only field PATCH takes so far).
    pub async fn update_member(
        &self,
        user: &User,
        guild: GuildId,
        target: UserId,
        p: MemberParams,
    ) -> Result<(Member, Applied), EdgeError> {
        let Some(until) = p.communication_disabled_until else {
            // Nothing to change: the member as GET shows it, to whoever GET
            // would show it.
            return Ok((self.guild_member(user, guild, target).await?, Applied::Yes));
        };
        let m = self
            .manager_with(guild, user.id, Permissions::MODERATE_MEMBERS)
            .await?;
        let mut member = self.target(guild, target).await?;
        m.outranks_member(&member)?;
        if m.access.base(&member).contains(Permissions::ADMINISTRATOR) {
            return Err(EdgeError::MissingPermissions(
                "administrators cannot be timed out",
            ));
        }
        let before = member.communication_disabled_until.take();
        member.communication_disabled_until = until.map(|t| timeout_end(&t)).transpose()?;
        let key = "communication_disabled_until";
        let change = AuditChange::of(key, &before, &member.communication_disabled_until);
        let by = (user.id, audit_action::MEMBER_UPDATE, Some(target));
        let event = Event::GuildMemberUpdate(member.clone());
        let applied = self
            .publish_changes(event, by, change.into_iter().collect())
            .await?;
        Ok((member, applied))
    }
}

/// A timeout's end, normalised, if it is a time at most 28 days ahead
/// (a past time ends the timeout, as Discord treats it).
fn timeout_end(raw: &str) -> Result<String, EdgeError> {
    let bad = || {
        EdgeError::InvalidBody(
            "communication_disabled_until must be an RFC 3339 time at most 28 days ahead".into(),
        )
    };
    let ms = parse_timestamp(raw).ok_or_else(bad)?;
    if ms > now_ms() + MAX_TIMEOUT_MS {
        return Err(bad());
    }
    Ok(format_timestamp(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_rfc3339_and_at_most_28_days_ahead() {
        let soon = format_timestamp(now_ms() + 60_000);
        assert_eq!(timeout_end(&soon).unwrap(), soon);
        assert!(timeout_end(&format_timestamp(now_ms() + MAX_TIMEOUT_MS + 60_000)).is_err());
        assert!(timeout_end("tomorrow").is_err());
        assert!(
            timeout_end("2020-01-01T00:00:00Z").is_ok(),
            "a past time ends a timeout"
        );
    }
}
