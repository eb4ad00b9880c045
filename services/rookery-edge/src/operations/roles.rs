//! Roles, member roles and channel permission overwrites: Discord's rules
//! for who may change them. Each change is one event on the guild's
//! partition, so a guild's permission changes apply in the order made.
//!
//! - Managing roles needs MANAGE_ROLES, and a role (to edit, delete,
//!   move, assign or remove) must rank below the caller's highest role;
//!   the owner outranks every role.
//! - Nobody grants what they do not have: a role's or overwrite's bits
//!   must be a subset of the caller's own (in the guild, or the channel).
//! - Member role lists are replaced whole (last write wins, as Discord's
//!   member PATCH); role ids of deleted roles are ignored by permission
//!   checks.

use crate::access::perms::{GuildAccess, rank};
use crate::{Applied, Edge, EdgeError};
use rookery_proto::Id;
use rookery_proto::event::{AuditChange, Event, GuildRole, GuildRoleDelete};
use rookery_proto::model::{Channel, Member, Role, User, audit_action};
use rookery_proto::permissions::{Overwrite, OverwriteKind, Permissions};
use rookery_proto::rest::{OverwriteParams, RoleParams, RolePosition};
use rookery_proto::{ChannelId, GuildId, RoleId, UserId};
use std::sync::Arc;

/// What a manager (of roles, or a moderator) may touch.
pub(crate) struct Manager {
    pub(crate) access: Arc<GuildAccess>,
    base: Permissions,
    owner: bool,
    top: (u32, std::cmp::Reverse<RoleId>),
}

impl Manager {
    /// Refuses a member who is the owner or whose highest role is not
    /// below the caller's.
    pub(crate) fn outranks_member(&self, target: &Member) -> Result<(), EdgeError> {
        if target.user.id == self.access.owner_id {
            return Err(EdgeError::MissingPermissions(
                "the owner cannot be moderated",
            ));
        }
        if self.owner || self.access.top(target) < self.top {
            return Ok(());
        }
        Err(EdgeError::MissingPermissions(
            "the member is not below your highest role",
        ))
    }

    /// Refuses a role at or above the caller's highest role.
    fn outranks(&self, role: &Role) -> Result<(), EdgeError> {
        if self.owner || rank(role) < self.top {
            return Ok(());
        }
        Err(EdgeError::MissingPermissions(
            "the role is not below your highest role",
        ))
    }

    /// Refuses to grant bits the caller does not have.
    fn grants(&self, bits: Permissions) -> Result<(), EdgeError> {
        if self.base.contains(bits) {
            return Ok(());
        }
        Err(EdgeError::MissingPermissions(
            "cannot grant permissions you do not have",
        ))
    }

    fn role(&self, id: RoleId) -> Result<&Role, EdgeError> {
        self.access.roles.get(&id).ok_or(EdgeError::UnknownRole)
    }
}

fn role_name(name: &str) -> Result<String, EdgeError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(EdgeError::InvalidBody(
            "name must be 1 to 100 characters".into(),
        ));
    }
    Ok(name.to_owned())
}

impl Edge {
    async fn manager(&self, guild: GuildId, user: UserId) -> Result<Manager, EdgeError> {
        self.manager_with(guild, user, Permissions::MANAGE_ROLES)
            .await
    }

    /// The caller as a manager holding `needed`.
    pub(crate) async fn manager_with(
        &self,
        guild: GuildId,
        user: UserId,
        needed: Permissions,
    ) -> Result<Manager, EdgeError> {
        let (access, member, base) = self.require_base(guild, user, needed).await?;
        Ok(Manager {
            owner: access.owner_id == user,
            top: access.top(&member),
            access,
            base,
        })
    }

    /// A guild's roles, for its members.
    pub async fn guild_roles(&self, user: &User, guild: GuildId) -> Result<Vec<Role>, EdgeError> {
        let (access, _) = self.hub.perms().in_guild(guild, user.id).await?;
        let mut roles: Vec<Role> = access.roles.values().cloned().collect();
        roles.sort_by_key(|r| (r.position, r.id));
        Ok(roles)
    }

    /// Creates a role at position 1, just above @everyone.
    pub async fn create_role(
        &self,
        user: &User,
        guild: GuildId,
        p: RoleParams,
    ) -> Result<(Role, Applied), EdgeError> {
        let m = self.manager(guild, user.id).await?;
        let permissions = p.permissions.unwrap_or(Permissions::NONE);
        m.grants(permissions)?;
        let role = Role {
            id: self.ids.next_id(),
            name: role_name(p.name.as_deref().unwrap_or("new role"))?,
            color: p.color.unwrap_or(0),
            hoist: p.hoist.unwrap_or(false),
            position: 1,
            permissions,
            mentionable: p.mentionable.unwrap_or(false),
        };
        let event = Event::GuildRoleCreate(GuildRole {
            guild_id: guild,
            role: role.clone(),
        });
        let by = (user.id, audit_action::ROLE_CREATE, Some(role.id));
        Ok((role, self.publish_by(event, by).await?))
    }

    /// Edits a role below the caller's highest (or @everyone's bits).
    pub async fn update_role(
        &self,
        user: &User,
        guild: GuildId,
        role: RoleId,
        p: RoleParams,
    ) -> Result<(Role, Applied), EdgeError> {
        let m = self.manager(guild, user.id).await?;
        let before = m.role(role)?.clone();
        let mut role = before.clone();
        if role.id != guild.everyone() {
            m.outranks(&role)?;
        }
        if let Some(bits) = p.permissions {
            // Only the bits that change need to be the caller's.
            m.grants(Permissions(bits.0 ^ role.permissions.0))?;
            role.permissions = bits;
        }
        if let Some(name) = p.name {
            role.name = role_name(&name)?;
        }
        role.color = p.color.unwrap_or(role.color);
        role.hoist = p.hoist.unwrap_or(role.hoist);
        role.mentionable = p.mentionable.unwrap_or(role.mentionable);
        let changes = role_changes(&before, &role);
        let event = Event::GuildRoleUpdate(GuildRole {
            guild_id: guild,
            role: role.clone(),
        });
        let by = (user.id, audit_action::ROLE_UPDATE, Some(role.id));
        Ok((role, self.publish_changes(event, by, changes).await?))
    }

    /// Deletes a role below the caller's highest; @everyone cannot go.
    pub async fn delete_role(
        &self,
        user: &User,
        guild: GuildId,
        role: RoleId,
    ) -> Result<Applied, EdgeError> {
        let m = self.manager(guild, user.id).await?;
        let target = m.role(role)?;
        if role == guild.everyone() {
            return Err(EdgeError::InvalidBody("@everyone cannot be deleted".into()));
        }
        m.outranks(target)?;
        let event = Event::GuildRoleDelete(GuildRoleDelete {
            guild_id: guild,
            role_id: role,
        });
        self.publish_by(event, (user.id, audit_action::ROLE_DELETE, Some(role)))
            .await
    }

    /// Moves roles; each, before and after, must rank below the caller.
    pub async fn move_roles(
        &self,
        user: &User,
        guild: GuildId,
        moves: Vec<RolePosition>,
    ) -> Result<(Vec<Role>, Applied), EdgeError> {
        let m = self.manager(guild, user.id).await?;
        let mut changed = Vec::new();
        for mv in moves {
            let role = m.role(mv.id)?;
            if mv.id == guild.everyone() || mv.position == 0 {
                return Err(EdgeError::InvalidBody(
                    "@everyone stays at position 0".into(),
                ));
            }
            m.outranks(role)?;
            let moved = Role {
                position: mv.position,
                ..role.clone()
            };
            m.outranks(&moved)?;
            changed.push(moved);
        }
        let mut applied = Applied::Yes;
        for role in &changed {
            let event = Event::GuildRoleUpdate(GuildRole {
                guild_id: guild,
                role: role.clone(),
            });
            let by = (user.id, audit_action::ROLE_UPDATE, Some(role.id));
            if self.publish_by(event, by).await? == Applied::Pending {
                applied = Applied::Pending;
            }
        }
        let mut roles: Vec<Role> = m.access.roles.values().cloned().collect();
        roles.retain(|r| !changed.iter().any(|c| c.id == r.id));
        roles.extend(changed);
        roles.sort_by_key(|r| (r.position, r.id));
        Ok((roles, applied))
    }

    /// Gives (`add`) or takes a role from a member.
    pub async fn member_role(
        &self,
        user: &User,
        guild: GuildId,
        target: UserId,
        role: RoleId,
        add: bool,
    ) -> Result<Applied, EdgeError> {
        let m = self.manager(guild, user.id).await?;
        let r = m.role(role)?;
        if role == guild.everyone() {
            return Err(EdgeError::InvalidBody("everyone has @everyone".into()));
        }
        m.outranks(r)?;
        let perms = self.hub.perms();
        let mut member = (*perms
            .member(guild, target)
            .await?
            .ok_or(EdgeError::UnknownMember)?)
        .clone();
        let had = member.roles.contains(&role);
        if had == add {
            return Ok(Applied::Yes);
        }
        if add {
            member.roles.push(role);
        } else {
            member.roles.retain(|r| *r != role);
        }
        // Discord's keys for a role given or taken.
        let change = AuditChange {
            key: if add { "$add" } else { "$remove" }.into(),
            old_value: None,
            new_value: Some(serde_json::json!([{"id": role, "name": r.name}])),
        };
        let by = (user.id, audit_action::MEMBER_ROLE_UPDATE, Some(target));
        let event = Event::GuildMemberUpdate(member);
        self.publish_changes(event, by, vec![change]).await
    }

    /// A member of a guild the caller belongs to.
    pub async fn guild_member(
        &self,
        user: &User,
        guild: GuildId,
        target: UserId,
    ) -> Result<Member, EdgeError> {
        let perms = self.hub.perms();
        perms.in_guild(guild, user.id).await?;
        let member = perms.member(guild, target).await?;
        Ok((*member.ok_or(EdgeError::UnknownMember)?).clone())
    }

    /// A channel the caller can see.
    pub async fn get_channel(&self, user: &User, channel: ChannelId) -> Result<Channel, EdgeError> {
        Ok(self
            .visible_channel(user.id, channel)
            .await?
            .0
            .seen_by(user.id))
    }

    /// Sets (`Some`) or removes the overwrite for `target` (a role or a
    /// member, as its kind says) in a channel:
    /// MANAGE_ROLES there, and only bits the caller has there.
    pub async fn overwrite(
        &self,
        user: &User,
        channel: ChannelId,
        target: Id,
        params: Option<OverwriteParams>,
    ) -> Result<Applied, EdgeError> {
        let (c, bits) = self.visible_channel(user.id, channel).await?;
        if !bits.contains(Permissions::MANAGE_ROLES) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        let mut updated = (*c).clone();
        updated.permission_overwrites.retain(|o| o.id != target);
        let old = c.permission_overwrites.iter().find(|o| o.id == target);
        let existed = old.is_some();
        let mut new = None;
        let action = if let Some(p) = params {
            let o = self.checked_overwrite(&c, bits, target, p).await?;
            new = Some(o);
            updated.permission_overwrites.push(o);
            match existed {
                true => audit_action::CHANNEL_OVERWRITE_UPDATE,
                false => audit_action::CHANNEL_OVERWRITE_CREATE,
            }
        } else if existed {
            audit_action::CHANNEL_OVERWRITE_DELETE
        } else {
            return Ok(Applied::Yes);
        };
        let bits_of = |o: Option<&Overwrite>| o.map(|o| (o.allow, o.deny));
        let (was, now) = (bits_of(old), bits_of(new.as_ref()));
        let changes = [
            AuditChange::of("allow", &was.map(|b| b.0), &now.map(|b| b.0)),
            AuditChange::of("deny", &was.map(|b| b.1), &now.map(|b| b.1)),
        ];
        let by = (user.id, action, Some(channel));
        let event = Event::ChannelUpdate(updated);
        self.publish_changes(event, by, changes.into_iter().flatten().collect())
            .await
    }

    async fn checked_overwrite(
        &self,
        c: &Channel,
        bits: Permissions,
        target: Id,
        p: OverwriteParams,
    ) -> Result<Overwrite, EdgeError> {
        let (allow, deny) = (p.allow.unwrap_or_default(), p.deny.unwrap_or_default());
        if !bits.contains(allow.union(deny)) {
            return Err(EdgeError::MissingPermissions(
                "cannot set permissions you do not have",
            ));
        }
        let perms = self.hub.perms();
        let exists = match p.kind {
            OverwriteKind::Role => {
                let role = RoleId::from(target);
                perms.guild(c.guild_id).await?.roles.contains_key(&role)
            }
            OverwriteKind::Member => {
                let member = UserId::from(target);
                perms.member(c.guild_id, member).await?.is_some()
            }
        };
        if !exists {
            return Err(match p.kind {
                OverwriteKind::Role => EdgeError::UnknownRole,
                OverwriteKind::Member => EdgeError::UnknownMember,
            });
        }
        Ok(Overwrite {
            id: target,
            kind: p.kind,
            allow,
            deny,
        })
    }
}

/// What an edit changed in a role, field by field.
fn role_changes(before: &Role, after: &Role) -> Vec<AuditChange> {
    [
        AuditChange::of("name", &before.name, &after.name),
        AuditChange::of("permissions", &before.permissions, &after.permissions),
        AuditChange::of("color", &before.color, &after.color),
        AuditChange::of("hoist", &before.hoist, &after.hoist),
        AuditChange::of("mentionable", &before.mentionable, &after.mentionable),
    ]
    .into_iter()
    .flatten()
    .collect()
}
