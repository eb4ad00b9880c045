//! Reads of a guild as Discord's libraries fetch them: the guild with the
//! channels the caller can see, its channels, one role; and an invite's
//! preview. Each is for the guild's members, but an invite, which anyone
//! holding its code may look at before joining.

use crate::{Edge, EdgeError};
use rookery_proto::Id;
use rookery_proto::model::{Channel, GuildState, Role, User};
use rookery_proto::rest::{InviteChannel, InvitePreview};

impl Edge {
    /// The guild as `user` (a member) sees it.
    pub async fn guild_for(&self, user: &User, guild: Id) -> Result<GuildState, EdgeError> {
        self.hub.perms().in_guild(guild, user.id).await?;
        let state = self
            .hub
            .guild_state(guild)
            .await
            .ok_or(EdgeError::UnknownGuild)?;
        Ok(self.hub.visible_state(user.id, &state).await)
    }

    /// The guild's channels `user` can see.
    pub async fn guild_channels_for(
        &self,
        user: &User,
        guild: Id,
    ) -> Result<Vec<Channel>, EdgeError> {
        Ok(self.guild_for(user, guild).await?.channels)
    }

    /// One of the guild's roles.
    pub async fn guild_role(&self, user: &User, guild: Id, role: Id) -> Result<Role, EdgeError> {
        let (access, _) = self.hub.perms().in_guild(guild, user.id).await?;
        access
            .roles
            .get(&role)
            .cloned()
            .ok_or(EdgeError::UnknownRole)
    }

    /// What an invite leads to.
    pub async fn invite_preview(&self, code: &str) -> Result<InvitePreview, EdgeError> {
        let invite = self
            .store
            .invite(code)
            .await?
            .ok_or(EdgeError::UnknownInvite)?;
        let guild = self
            .store
            .guild(invite.guild_id)
            .await?
            .ok_or(EdgeError::UnknownInvite)?;
        let channels = self.store.guild_channels(guild.id).await?;
        let first = channels.iter().min_by_key(|c| (c.position, c.id));
        Ok(InvitePreview {
            kind: 0,
            code: invite.code,
            guild_id: guild.id,
            guild,
            channel: first.map(|c| InviteChannel {
                id: c.id,
                kind: c.kind,
                name: c.name.clone(),
            }),
            inviter_id: invite.inviter_id,
            expires_at: None,
        })
    }
}
