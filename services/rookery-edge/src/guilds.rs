//! Reads of a guild as Discord's libraries fetch them: the guild with the
//! channels the caller can see, its channels, one role. Each is for the
//! guild's members.

use crate::{Edge, EdgeError};
use rookery_proto::Id;
use rookery_proto::model::{Channel, GuildState, Role, User};

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
}
