//! Invites, with Discord's rules. Rookery's own `POST /guilds/{id}/invites`
//! makes a guild invite that never expires; Discord's
//! `POST /channels/{id}/invites` (CREATE_INSTANT_INVITE in the channel)
//! makes one for a channel, lasting `max_age` seconds (24 hours unless
//! asked) for at most `max_uses` joins. An expired or used-up invite is
//! unknown (10006) to everyone, and left out of the lists. Those who manage
//! invites list them (MANAGE_GUILD for the guild's, MANAGE_CHANNELS for a
//! channel's) and delete them (MANAGE_CHANNELS in the invite's channel, or
//! MANAGE_GUILD); creation and deletion go to the audit log. Joins are
//! counted by the writer, so concurrent joins may pass `max_uses` by the
//! few in flight.

use crate::{Applied, Edge, EdgeError};
use rookery_proto::UserId;
use rookery_proto::event::{AuditChange, Event, InviteDelete, MemberAdd};
use rookery_proto::id::{format_timestamp, now_ms};
use rookery_proto::model::{Channel, GuildState, Invite, User, audit_action};
use rookery_proto::permissions::Permissions;
use rookery_proto::rest::{
    CreateChannelInvite, DEFAULT_INVITE_AGE_SECS, InviteChannel, InviteMetadata, InvitePreview,
    MAX_INVITE_AGE_SECS, MAX_INVITE_USES,
};
use rookery_proto::{ChannelId, GuildId};

/// A new random code: 10 characters without look-alikes (0/O, 1/l/I).
fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..10)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Now, in milliseconds since the Unix epoch.
fn now() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

/// Checks a channel invite's body against Discord's limits and what exists
/// here; answers `(max_age, max_uses)`.
fn limits(body: &CreateChannelInvite) -> Result<(u32, u32), EdgeError> {
    let max_age = body.max_age.unwrap_or(DEFAULT_INVITE_AGE_SECS);
    let max_uses = body.max_uses.unwrap_or(0);
    let refuse = |why: String| Err(EdgeError::InvalidBody(why));
    if max_age > MAX_INVITE_AGE_SECS {
        return refuse(format!("max_age: 0 to {MAX_INVITE_AGE_SECS} seconds"));
    }
    if max_uses > MAX_INVITE_USES {
        return refuse(format!("max_uses: 0 to {MAX_INVITE_USES}"));
    }
    if body.temporary == Some(true) {
        return refuse("temporary: temporary membership does not exist here".into());
    }
    if body.flags.is_some_and(|f| f != 0) {
        return refuse("flags: guest invites do not exist here".into());
    }
    let targeted = body.target_type.is_some()
        || body.target_user_id.is_some()
        || body.target_application_id.is_some();
    if targeted {
        return refuse("target_type: stream and activity invites do not exist here".into());
    }
    Ok((max_age, max_uses))
}

/// The audit changes of an invite's creation (Discord's keys).
fn created(invite: &Invite) -> Vec<AuditChange> {
    let channel = invite.channel_id;
    [
        AuditChange::of("code", &None, &Some(invite.code.clone())),
        AuditChange::of("channel_id", &None, &channel),
        AuditChange::of("max_age", &None, &Some(invite.max_age)),
        AuditChange::of("max_uses", &None, &Some(invite.max_uses)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl Edge {
    /// Rookery's `POST /guilds/{id}/invites`: a guild invite that never
    /// expires (CREATE_INSTANT_INVITE in the guild).
    pub async fn create_invite(
        &self,
        user: &User,
        guild_id: GuildId,
    ) -> Result<(Invite, Applied), EdgeError> {
        let needed = Permissions::CREATE_INSTANT_INVITE;
        self.require_base(guild_id, user.id, needed).await?;
        let invite = self.new_invite(user, guild_id, None, (0, 0));
        let applied = self.publish_invite(user, &invite).await?;
        Ok((invite, applied))
    }

    /// `POST /channels/{id}/invites`.
    pub async fn create_channel_invite(
        &self,
        user: &User,
        channel: ChannelId,
        body: &CreateChannelInvite,
    ) -> Result<(InvitePreview, Applied), EdgeError> {
        let limits = limits(body)?;
        let (c, bits) = self.visible_channel(user.id, channel).await?;
        if c.is_private() {
            return Err(EdgeError::MissingPermissions(
                "invites lead to guild channels",
            ));
        }
        if !bits.contains(Permissions::CREATE_INSTANT_INVITE) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        let invite = self.new_invite(user, c.guild_id, Some(c.id), limits);
        let applied = self.publish_invite(user, &invite).await?;
        Ok((self.invite_object(invite, true).await?, applied))
    }

    fn new_invite(
        &self,
        user: &User,
        guild: GuildId,
        channel: Option<ChannelId>,
        limits: (u32, u32),
    ) -> Invite {
        Invite {
            code: new_code(),
            guild_id: guild,
            inviter_id: user.id,
            channel_id: channel,
            created_at_ms: now(),
            max_age: limits.0,
            max_uses: limits.1,
            uses: 0,
        }
    }

    async fn publish_invite(&self, user: &User, invite: &Invite) -> Result<Applied, EdgeError> {
        let by = (user.id, audit_action::INVITE_CREATE, invite.channel_id);
        let event = Event::InviteCreate(invite.clone());
        self.publish_changes(event, by, created(invite)).await
    }

    /// An invite that still lets someone join.
    async fn usable_invite(&self, code: &str) -> Result<Invite, EdgeError> {
        let found = self.store.invite(code).await?;
        found
            .filter(|i| i.usable_at(now()))
            .ok_or(EdgeError::UnknownInvite)
    }

    /// Joins the guild an invite leads to; joining twice is a no-op (and
    /// not counted as a use).
    pub async fn accept_invite(
        &self,
        (user, bot): (&User, bool),
        code: &str,
    ) -> Result<(GuildState, Applied), EdgeError> {
        let invite = self.usable_invite(code).await?;
        let state = self
            .hub
            .guild_state(invite.guild_id)
            .await
            .ok_or(EdgeError::UnknownGuild)?;
        if self.store.ban(invite.guild_id, user.id).await?.is_some() {
            return Err(EdgeError::Banned);
        }
        let perms = self.hub.perms();
        if perms.member(invite.guild_id, user.id).await?.is_some() {
            let visible = self.hub.visible_state(user.id, &state).await;
            return Ok((visible, Applied::Yes));
        }
        let add = MemberAdd {
            guild_id: invite.guild_id,
            user: user.clone(),
            invite_code: Some(invite.code),
            bot,
        };
        let applied = self.publish(Event::GuildMemberAdd(add), true).await?;
        // Once applied, the new member's view; before, none of its channels.
        Ok((self.hub.visible_state(user.id, &state).await, applied))
    }

    /// `GET /invites/{code}`: what an invite leads to, for anyone holding it.
    pub async fn invite_preview(&self, code: &str) -> Result<InvitePreview, EdgeError> {
        let invite = self.usable_invite(code).await?;
        self.invite_object(invite, false).await
    }

    /// `GET /guilds/{id}/invites` (MANAGE_GUILD).
    pub async fn guild_invites(
        &self,
        user: &User,
        guild: GuildId,
    ) -> Result<Vec<InvitePreview>, EdgeError> {
        self.require_base(guild, user.id, Permissions::MANAGE_GUILD)
            .await?;
        self.listed(guild, |_| true).await
    }

    /// `GET /channels/{id}/invites` (MANAGE_CHANNELS in the channel).
    pub async fn channel_invites(
        &self,
        user: &User,
        channel: ChannelId,
    ) -> Result<Vec<InvitePreview>, EdgeError> {
        let needed = Permissions::MANAGE_CHANNELS;
        let c = self.require_in_channel(user.id, channel, needed).await?;
        if c.is_private() {
            return Ok(Vec::new());
        }
        self.listed(c.guild_id, |i| i.channel_id == Some(channel))
            .await
    }

    async fn listed(
        &self,
        guild: GuildId,
        keep: impl Fn(&Invite) -> bool,
    ) -> Result<Vec<InvitePreview>, EdgeError> {
        let at = now();
        let mut out = Vec::new();
        for invite in self.store.guild_invites(guild).await? {
            if invite.usable_at(at) && keep(&invite) {
                out.push(self.invite_object(invite, true).await?);
            }
        }
        Ok(out)
    }

    /// `DELETE /invites/{code}`: MANAGE_CHANNELS in the invite's channel,
    /// or MANAGE_GUILD (the only way for a guild invite).
    pub async fn delete_invite(
        &self,
        user: &User,
        code: &str,
    ) -> Result<(InvitePreview, Applied), EdgeError> {
        let invite = self.usable_invite(code).await?;
        let guild = invite.guild_id;
        let (_, _, base) = self.require_base(guild, user.id, Permissions::NONE).await?;
        let in_channel = match invite.channel_id {
            Some(channel) => match self.visible_channel(user.id, channel).await {
                Ok((_, bits)) => bits.contains(Permissions::MANAGE_CHANNELS),
                // Out of sight, or deleted since: only MANAGE_GUILD will do.
                Err(EdgeError::MissingAccess | EdgeError::UnknownChannel) => false,
                Err(other) => return Err(other),
            },
            None => false,
        };
        if !in_channel && !base.contains(Permissions::MANAGE_GUILD) {
            return Err(EdgeError::MissingPermissions(
                "MANAGE_CHANNELS in the invite's channel, or MANAGE_GUILD",
            ));
        }
        let gone = InviteDelete {
            guild_id: invite.guild_id,
            channel_id: invite.channel_id,
            code: invite.code.clone(),
        };
        let by = (user.id, audit_action::INVITE_DELETE, invite.channel_id);
        let change = AuditChange::of("code", &Some(invite.code.clone()), &None);
        let event = Event::InviteDelete(gone);
        let applied = self
            .publish_changes(event, by, change.into_iter().collect())
            .await?;
        Ok((self.invite_object(invite, true).await?, applied))
    }

    /// Discord's invite object; with the inviter and the metadata for
    /// those who manage invites.
    async fn invite_object(
        &self,
        invite: Invite,
        managed: bool,
    ) -> Result<InvitePreview, EdgeError> {
        let guild = self.store.guild(invite.guild_id).await?;
        let guild = guild.ok_or(EdgeError::UnknownInvite)?;
        let channels = self.store.guild_channels(guild.id).await?;
        let lands_in = match invite.channel_id {
            Some(id) => channels.iter().find(|c| c.id == id),
            None => channels.iter().min_by_key(|c| (c.position, c.id)),
        };
        let inviter = match managed {
            true => self.inviter(invite.inviter_id).await?,
            false => None,
        };
        let metadata = managed.then(|| InviteMetadata {
            uses: invite.uses,
            max_uses: invite.max_uses,
            max_age: invite.max_age,
            temporary: false,
            created_at: format_timestamp(u64::try_from(invite.created_at_ms).unwrap_or(0)),
        });
        Ok(InvitePreview {
            kind: 0,
            expires_at: invite.expires_at_ms().map(|ms| format_timestamp(ms as u64)),
            code: invite.code,
            guild_id: guild.id,
            guild,
            channel: lands_in.map(invite_channel),
            inviter_id: invite.inviter_id,
            inviter,
            metadata,
        })
    }

    async fn inviter(
        &self,
        id: UserId,
    ) -> Result<Option<rookery_proto::rest::UserObject>, EdgeError> {
        match self.store.user(id).await? {
            Some(user) => Ok(Some(self.user_object(&user).await?)),
            None => Ok(None),
        }
    }
}

fn invite_channel(c: &Channel) -> InviteChannel {
    InviteChannel {
        id: c.id,
        kind: c.kind,
        name: c.name.clone(),
    }
}
