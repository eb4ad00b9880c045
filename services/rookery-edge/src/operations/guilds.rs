//! Reads of a guild as Discord's libraries fetch them: the guild with the
//! channels the caller can see, its channels, one role (each for the
//! guild's members); and Discord's `PATCH` and `DELETE /guilds/{id}`.

use crate::{Applied, Edge, EdgeError};
use rookery_proto::discord_json;
use rookery_proto::event::{AuditChange, Event, GuildDeleted};
use rookery_proto::model::{Channel, Guild, GuildState, GuildUpdate, Role, User, audit_action};
use rookery_proto::permissions::Permissions;
use rookery_proto::{GuildId, RoleId};
use serde_json::{Map, Value};

impl Edge {
    /// The guild as `user` (a member) sees it.
    pub async fn guild_for(&self, user: &User, guild: GuildId) -> Result<GuildState, EdgeError> {
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
        guild: GuildId,
    ) -> Result<Vec<Channel>, EdgeError> {
        Ok(self.guild_for(user, guild).await?.channels)
    }

    /// One of the guild's roles.
    pub async fn guild_role(
        &self,
        user: &User,
        guild: GuildId,
        role: RoleId,
    ) -> Result<Role, EdgeError> {
        let (access, _) = self.hub.perms().in_guild(guild, user.id).await?;
        access
            .roles
            .get(&role)
            .cloned()
            .ok_or(EdgeError::UnknownRole)
    }
}

/// The guild a `PATCH /guilds/{id}` body asks for, from `current`: the
/// name honoured, the owner kept (a transfer is not built), and every
/// other Discord guild field accepted at the value Rookery shows for it
/// ([`discord_json::guild_default`]) and refused otherwise.
fn modified(current: &Guild, body: &Map<String, Value>) -> Result<Guild, EdgeError> {
    let mut out = current.clone();
    for (field, value) in body {
        match field.as_str() {
            "name" => {
                let name = value
                    .as_str()
                    .ok_or(EdgeError::InvalidBody("name must be a string".into()))?;
                out.name = crate::operations::domain::name_of("name", name)?;
            }
            "owner_id" => {
                let same = value.as_str() == Some(&current.owner_id.to_string())
                    || value.as_u64() == Some(current.owner_id.0);
                if !same {
                    let why = "owner_id: transferring a guild is not supported by Rookery yet";
                    return Err(EdgeError::InvalidBody(why.into()));
                }
            }
            other => match discord_json::guild_default(other) {
                Some(shown) if shown == *value => {}
                Some(shown) => {
                    let why = format!("{other}: Rookery has no such setting; only {shown}");
                    return Err(EdgeError::InvalidBody(why));
                }
                None => return Err(EdgeError::InvalidJson(format!("unknown field `{other}`"))),
            },
        }
    }
    Ok(out)
}

impl Edge {
    /// `PATCH /guilds/{id}` (MANAGE_GUILD): the guild as the caller then
    /// sees it. A change publishes GUILD_UPDATE (the guild with its roles)
    /// and an audit entry; a body that changes nothing publishes nothing.
    pub async fn modify_guild(
        &self,
        user: &User,
        guild: GuildId,
        body: &Map<String, Value>,
    ) -> Result<(GuildState, Applied), EdgeError> {
        let (access, _, _) = self
            .require_base(guild, user.id, Permissions::MANAGE_GUILD)
            .await?;
        let current = self.store.guild(guild).await?;
        let current = current.ok_or(EdgeError::UnknownGuild)?;
        let updated = modified(&current, body)?;
        let mut applied = Applied::Yes;
        if updated != current {
            let mut roles: Vec<Role> = access.roles.values().cloned().collect();
            roles.sort_by_key(|r| (r.position, r.id));
            let event = Event::GuildUpdate(GuildUpdate {
                id: guild,
                name: updated.name.clone(),
                owner_id: updated.owner_id,
                roles,
            });
            let change = AuditChange::of("name", &current.name, &updated.name);
            let by = (user.id, audit_action::GUILD_UPDATE, Some(guild));
            applied = self
                .publish_changes(event, by, change.into_iter().collect())
                .await?;
        }
        Ok((self.guild_for(user, guild).await?, applied))
    }
}

impl Edge {
    /// `DELETE /guilds/{id}`: its owner only (as on Discord). Every member
    /// is sent GUILD_DELETE and the guild is gone with everything in it.
    pub async fn delete_guild(&self, user: &User, guild: GuildId) -> Result<Applied, EdgeError> {
        let (access, _, _) = self.require_base(guild, user.id, Permissions::NONE).await?;
        if access.owner_id != user.id {
            return Err(EdgeError::MissingPermissions(
                "only its owner deletes a guild",
            ));
        }
        let gone = GuildDeleted { guild_id: guild };
        self.publish(Event::GuildDelete(gone), true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::GuildId;
    use rookery_proto::UserId;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_guild_patch_honours_the_name_and_accepts_only_what_is_shown() {
        let current = Guild {
            id: GuildId(1),
            name: "old".into(),
            owner_id: UserId(7),
        };
        let shown = json!({"name": "new", "owner_id": "7", "icon": null, "afk_timeout": 300,
            "preferred_locale": "en-US", "verification_level": 0, "features": []});
        let out = modified(&current, &body(shown)).unwrap();
        assert_eq!((out.name.as_str(), out.owner_id), ("new", UserId(7)));
        assert_eq!(modified(&current, &body(json!({}))).unwrap(), current);
        for refused in [
            json!({"owner_id": "8"}),
            json!({"verification_level": 2}),
            json!({"icon": "abc"}),
            json!({"name": ""}),
            json!({"name": 5}),
        ] {
            let err = modified(&current, &body(refused.clone()));
            assert!(matches!(err, Err(EdgeError::InvalidBody(_))), "{refused}");
        }
        let unknown = modified(&current, &body(json!({"colour": 1})));
        assert!(matches!(unknown, Err(EdgeError::InvalidJson(_))));
    }
}
