//! Discord's gateway shape, for connections that ask for it with `?v=9` or
//! `?v=10`: READY lists the guilds as unavailable, and one GUILD_CREATE per
//! guild follows it, as Discord sends them and as its libraries wait for
//! before they call a bot ready. Rookery's own clients (no `v`) keep a
//! READY that carries the guilds, their channels and read states.

use crate::Edge;
use rookery_proto::codec::{Dispatch, DispatchData};
use rookery_proto::gateway::{self as gw, CloseCode, event_name as ev};
use rookery_proto::model::{Channel, GuildState, UnavailableGuild, User};
use rookery_proto::rest::UserObject;
use std::sync::Arc;

/// The gateway versions served in Discord's shape.
pub(crate) const VERSIONS: [u8; 2] = [9, 10];

/// What a connection asked of Discord's gateway.
#[derive(Debug, Clone)]
pub(crate) struct Dialect {
    /// `?v=`.
    pub version: u8,
    /// READY's `resume_gateway_url`: the URL this connection came in by.
    pub resume_url: String,
}

/// What READY is built from.
pub(super) struct Subscribed {
    pub user: User,
    pub bot: bool,
    pub session_id: String,
    pub guilds: Vec<GuildState>,
    pub private_channels: Vec<Channel>,
}

/// READY in Discord's shape, and the GUILD_CREATEs that follow it.
pub(super) async fn ready(
    edge: &Edge,
    dialect: &Dialect,
    s: Subscribed,
) -> Result<(Arc<Dispatch>, Vec<Arc<Dispatch>>), CloseCode> {
    let listed = s.guilds.iter().map(|g| UnavailableGuild {
        id: g.id,
        unavailable: true,
    });
    let ready = gw::DiscordReady {
        v: dialect.version,
        user: UserObject::of(&s.user, s.bot),
        guilds: listed.collect(),
        session_id: s.session_id,
        resume_gateway_url: dialect.resume_url.clone(),
        application: s.bot.then_some(gw::ReadyApplication {
            // A bot's application has its user's id.
            id: s.user.id.raw(),
            flags: 0,
        }),
        private_channels: s.private_channels,
        presences: [],
    };
    let mut creates = Vec::with_capacity(s.guilds.len());
    for guild in s.guilds {
        let member = edge.store.member(guild.id, s.user.id).await;
        // A guild left since the subscription has no membership: its
        // GUILD_DELETE follows instead.
        let Some(member) = member.map_err(|_| CloseCode::UnknownError)? else {
            continue;
        };
        let member_count = edge.store.member_count(guild.id).await;
        let create = gw::GuildCreate {
            member_count: member_count.map_err(|_| CloseCode::UnknownError)?,
            presences: edge.hub.presences_in(&[guild.id], s.user.id),
            joined_at: member.joined_at.clone(),
            members: vec![member],
            guild,
            large: false,
            unavailable: false,
            threads: [],
            voice_states: [],
            stage_instances: [],
            guild_scheduled_events: [],
        };
        let d = DispatchData::GuildCreate(Box::new(create));
        creates.push(Arc::new(Dispatch::new(ev::GUILD_CREATE, d)));
    }
    let ready = DispatchData::DiscordReady(Box::new(ready));
    Ok((Arc::new(Dispatch::new(ev::READY, ready)), creates))
}
