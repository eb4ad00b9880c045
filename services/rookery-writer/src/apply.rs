//! Events → store mutations.

use crate::metrics as m;
use rookery_proto::event::{Envelope, Event};
use rookery_proto::model::Member;
use rookery_store::Mutation;

/// The mutations that materialise one event.
pub fn mutations(env: &Envelope) -> Vec<Mutation> {
    let (kind, out) = match &env.event {
        Event::UserCreate(u) => ("user_create", vec![Mutation::User(u.clone())]),
        Event::GuildCreate(g) => {
            let mut out = vec![Mutation::Guild(g.guild.guild())];
            out.extend(g.guild.channels.iter().cloned().map(Mutation::Channel));
            out.push(Mutation::Member(Member {
                guild_id: g.guild.id,
                user: g.owner.clone(),
                joined_at: env.id.timestamp(),
            }));
            ("guild_create", out)
        }
        Event::ChannelCreate(c) => ("channel_create", vec![Mutation::Channel(c.clone())]),
        Event::InviteCreate(i) => ("invite_create", vec![Mutation::Invite(i.clone())]),
        Event::GuildMemberAdd(a) => (
            "guild_member_add",
            vec![Mutation::Member(Member {
                guild_id: a.guild_id,
                user: a.user.clone(),
                joined_at: env.id.timestamp(),
            })],
        ),
        Event::MessageCreate(msg) => ("message_create", vec![Mutation::Message(msg.clone())]),
    };
    metrics::counter!(m::EVENTS, "type" => kind).increment(1);
    out
}
