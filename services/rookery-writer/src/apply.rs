//! Events → store mutations.

use crate::metrics as m;
use rookery_proto::event::ReactionChange;
use rookery_proto::event::{Envelope, Event};
use rookery_proto::model::{AuditLogEntry, Member, User};
use rookery_proto::{ChannelId, GuildId};
use rookery_store::{Mutation, Reaction};

/// The mutations that materialise one event, counted by event type.
pub fn mutations(env: &Envelope) -> Vec<Mutation> {
    let (kind, out) = classified(env);
    if let Some(kind) = kind {
        metrics::counter!(m::EVENTS, "type" => kind).increment(1);
    }
    out
}

/// The mutations of one event, uncounted (a retried batch is built again
/// without counting its events twice).
pub fn mutations_uncounted(env: &Envelope) -> Vec<Mutation> {
    classified(env).1
}

/// The event's metric type (none for the ephemeral ones) and mutations.
fn classified(env: &Envelope) -> (Option<&'static str>, Vec<Mutation>) {
    let (kind, out) = match &env.event {
        Event::UserCreate(u) => ("user_create", vec![Mutation::User(u.clone())]),
        Event::GuildCreate(g) => {
            let mut out = vec![Mutation::Guild(g.guild.guild())];
            out.extend(g.guild.channels.iter().cloned().map(Mutation::Channel));
            out.extend(g.guild.roles.iter().map(|role| Mutation::Role {
                guild_id: g.guild.id,
                role: role.clone(),
            }));
            out.push(Mutation::Member(Member::joined(
                g.guild.id,
                g.owner.clone(),
                env.id.timestamp(),
            )));
            ("guild_create", out)
        }
        Event::ChannelCreate(c) if c.is_private() => (
            "channel_create",
            vec![Mutation::PrivateChannel {
                channel: c.clone(),
                joined_at: env.id.timestamp(),
            }],
        ),
        Event::ChannelCreate(c) => ("channel_create", vec![Mutation::Channel(c.clone())]),
        Event::ChannelDelete(c) => (
            "channel_delete",
            vec![Mutation::ChannelDelete {
                guild_id: c.guild_id,
                channel_id: c.id,
            }],
        ),
        Event::ChannelRecipientAdd(r) => (
            "channel_recipient_add",
            vec![
                Mutation::Recipient {
                    channel_id: r.channel_id,
                    user: r.user.clone(),
                    add: true,
                },
                recipient(env, r.channel_id, &r.user),
            ],
        ),
        Event::ChannelRecipientRemove(r) => (
            "channel_recipient_remove",
            vec![
                Mutation::Recipient {
                    channel_id: r.channel_id,
                    user: r.user.clone(),
                    add: false,
                },
                Mutation::MemberDelete {
                    guild_id: r.channel_id.as_scope(),
                    user_id: r.user.id,
                },
            ],
        ),
        Event::GuildUpdate(g) => ("guild_update", vec![Mutation::Guild(g.guild())]),
        Event::GuildDelete(g) => (
            "guild_delete",
            vec![Mutation::GuildDelete {
                guild_id: g.guild_id,
            }],
        ),
        Event::InviteCreate(i) => ("invite_create", vec![Mutation::Invite(i.clone())]),
        Event::InviteDelete(i) => (
            "invite_delete",
            vec![Mutation::InviteDelete {
                guild_id: i.guild_id,
                code: i.code.clone(),
            }],
        ),
        Event::GuildMemberAdd(a) => {
            let joined = a.member(env.id.timestamp());
            let mut out = vec![Mutation::Member(joined)];
            out.extend(
                a.invite_code
                    .iter()
                    .map(|code| Mutation::InviteUsed { code: code.clone() }),
            );
            ("guild_member_add", out)
        }
        Event::ChannelUpdate(c) => ("channel_update", vec![Mutation::Channel(c.clone())]),
        Event::GuildRoleCreate(r) | Event::GuildRoleUpdate(r) => (
            "guild_role_upsert",
            vec![Mutation::Role {
                guild_id: r.guild_id,
                role: r.role.clone(),
            }],
        ),
        Event::GuildRoleDelete(r) => (
            "guild_role_delete",
            vec![Mutation::RoleDelete {
                guild_id: r.guild_id,
                role_id: r.role_id,
            }],
        ),
        Event::GuildMemberUpdate(m) => ("guild_member_update", vec![Mutation::Member(m.clone())]),
        Event::MessageUpdate(msg) => ("message_update", vec![Mutation::MessageEdit(msg.clone())]),
        Event::MessageDelete(d) => (
            "message_delete",
            vec![Mutation::MessageDelete {
                channel_id: d.channel_id,
                message_id: d.id,
            }],
        ),
        Event::MessageDeleteBulk(d) => (
            "message_delete_bulk",
            d.ids
                .iter()
                .map(|&message_id| Mutation::MessageDelete {
                    channel_id: d.channel_id,
                    message_id,
                })
                .collect(),
        ),
        Event::GuildMemberRemove(m) => (
            "guild_member_remove",
            vec![Mutation::MemberDelete {
                guild_id: m.guild_id,
                user_id: m.user.id,
            }],
        ),
        Event::MessageCreate(msg) => ("message_create", vec![Mutation::Message(msg.clone())]),
        Event::ChannelPinsUpdate(p) => (
            "channel_pins_update",
            vec![Mutation::Pin {
                channel_id: p.channel_id,
                message_id: p.message_id,
                pinned: p.pinned,
            }],
        ),
        Event::GuildBanAdd(b) => (
            "guild_ban_add",
            vec![
                Mutation::Ban {
                    guild_id: b.guild_id,
                    user_id: b.user.id,
                    reason: b.reason.clone(),
                },
                Mutation::MemberDelete {
                    guild_id: b.guild_id,
                    user_id: b.user.id,
                },
            ],
        ),
        Event::GuildBanRemove(b) => (
            "guild_ban_remove",
            vec![Mutation::Unban {
                guild_id: b.guild_id,
                user_id: b.user.id,
            }],
        ),
        Event::MessageAck(a) => (
            "message_ack",
            vec![Mutation::ReadState {
                user_id: a.user_id,
                channel_id: a.channel_id,
                last_message_id: a.message_id,
            }],
        ),
        Event::MessageReactionAdd(r) => ("message_reaction_add", vec![reaction(r, true)]),
        Event::MessageReactionRemove(r) => ("message_reaction_remove", vec![reaction(r, false)]),
        Event::MessageReactionRemoveAll(r) | Event::MessageReactionRemoveEmoji(r) => (
            "message_reaction_clear",
            vec![Mutation::ReactionsClear {
                channel_id: r.channel_id,
                message_id: r.message_id,
                emoji: r.emoji.as_ref().map(|e| e.name.clone()),
            }],
        ),
        // The edge wrote the generation (and any new hash) to the store
        // before publishing: a revocation must hold before it is answered.
        Event::TokensRevoked(_) => ("tokens_revoked", Vec::new()),
        // Ephemeral events travel on their own topic and are never stored
        // (see `EphemeralRelay`).
        Event::TypingStart(_) | Event::PresenceUpdate(_) => return (None, Vec::new()),
    };
    let mut out = out;
    if let (Some(a), Some(guild_id)) = (&env.audit, env.event.scope()) {
        out.push(Mutation::Audit(AuditLogEntry {
            id: env.id,
            guild_id: GuildId::from(guild_id),
            user_id: a.user_id,
            action_type: a.action_type,
            target_id: a.target_id,
            reason: a.reason.clone(),
            changes: a.changes.clone(),
        }));
    }
    (Some(kind), out)
}

/// A recipient is a member of the private channel's scope (the channel's
/// id): that is what lists the channel under the user and what its
/// permissions and unread counts are computed from. (An opening writes
/// its recipients' memberships itself: see `Mutation::PrivateChannel`.)
fn recipient(env: &Envelope, channel: ChannelId, user: &User) -> Mutation {
    let scope = channel.as_scope();
    Mutation::Member(Member::joined(scope, user.clone(), env.id.timestamp()))
}

fn reaction(r: &ReactionChange, add: bool) -> Mutation {
    Mutation::Reaction(Reaction {
        channel_id: r.channel_id,
        message_id: r.message_id,
        emoji: r.emoji.name.clone(),
        user_id: r.user_id,
        add,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::Id;
    use rookery_proto::event::{RecipientChange, SCHEMA_VERSION};
    use rookery_proto::model::{CHANNEL_GROUP_DM, Channel};
    use rookery_proto::{ChannelId, GuildId, UserId};

    fn env(event: Event) -> Envelope {
        Envelope {
            v: SCHEMA_VERSION,
            id: Id(1 << 30),
            ts: 0,
            origin: 1,
            event,
            audit: None,
        }
    }

    fn user(id: u64) -> User {
        User {
            id: UserId(id),
            username: format!("u{id}"),
        }
    }

    /// Recipients are members of the channel's scope (an opening writes
    /// theirs with the channel): that is what lists the channel under them
    /// and grants them its permissions.
    #[test]
    fn private_channels_make_their_recipients_members_of_their_scope() {
        let group = Channel {
            id: ChannelId(7),
            guild_id: GuildId::NONE,
            name: String::new(),
            kind: CHANNEL_GROUP_DM,
            position: 0,
            permission_overwrites: Vec::new(),
            rate_limit_per_user: 0,
            recipients: vec![user(1), user(2)],
            owner_id: Some(UserId(1)),
        };
        let opened = env(Event::ChannelCreate(group.clone()));
        let out = mutations(&opened);
        let open = Mutation::PrivateChannel {
            channel: group,
            joined_at: opened.id.timestamp(),
        };
        assert_eq!(out, [open]);
        let added = RecipientChange {
            channel_id: ChannelId(7),
            user: user(3),
        };
        let out = mutations(&env(Event::ChannelRecipientAdd(added)));
        let member = out.iter().find_map(|m| match m {
            Mutation::Member(m) => Some((m.guild_id, m.user.id)),
            _ => None,
        });
        assert_eq!(member, Some((GuildId(7), UserId(3))));

        let change = RecipientChange {
            channel_id: ChannelId(7),
            user: user(2),
        };
        let out = mutations(&env(Event::ChannelRecipientRemove(change)));
        let gone = Mutation::MemberDelete {
            guild_id: GuildId(7),
            user_id: UserId(2),
        };
        assert_eq!(out.len(), 2);
        assert!(out.contains(&gone), "{out:?}");
    }
}
