//! `PATCH /guilds/{id}/channels`: Discord's reordering of a guild's
//! channels, for members with MANAGE_CHANNELS in the guild. Each channel
//! whose position changes gets its own CHANNEL_UPDATE (the whole channel,
//! as a rename does) and audit entry; a move to where a channel already is
//! publishes nothing. A move names each channel once, and only the
//! guild's; positions need not be distinct (ties are ordered by id, as
//! Discord does).

use crate::{Applied, Edge, EdgeError};
use rookery_proto::GuildId;
use rookery_proto::event::{AuditChange, Event};
use rookery_proto::model::{Channel, User, audit_action};
use rookery_proto::permissions::Permissions;
use rookery_proto::rest::ChannelPosition;
use std::collections::HashSet;

/// The channels `moves` put somewhere new, each as it will be.
fn moved(channels: &[Channel], moves: &[ChannelPosition]) -> Result<Vec<Channel>, EdgeError> {
    let refuse = |why: &str| Err(EdgeError::InvalidBody(why.to_owned()));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for mv in moves {
        if !seen.insert(mv.id) {
            return refuse("id: each channel at most once");
        }
        if mv.parent_id.is_some() {
            return refuse("parent_id: categories do not exist here; only null");
        }
        let Some(channel) = channels.iter().find(|c| c.id == mv.id) else {
            return refuse("id: not a channel of this guild");
        };
        match mv.position {
            Some(position) if position != channel.position => out.push(Channel {
                position,
                ..channel.clone()
            }),
            _ => {}
        }
    }
    Ok(out)
}

impl Edge {
    /// Moves channels of `guild`; answers whether every move was applied
    /// in time.
    pub async fn move_channels(
        &self,
        user: &User,
        guild: GuildId,
        moves: &[ChannelPosition],
    ) -> Result<Applied, EdgeError> {
        let needed = Permissions::MANAGE_CHANNELS;
        self.require_base(guild, user.id, needed).await?;
        let channels = self.store.guild_channels(guild).await?;
        let mut applied = Applied::Yes;
        for channel in moved(&channels, moves)? {
            let before = channels.iter().find(|c| c.id == channel.id);
            let from = before.map(|c| c.position);
            let change = AuditChange::of("position", &from, &Some(channel.position));
            let by = (user.id, audit_action::CHANNEL_UPDATE, Some(channel.id));
            let event = Event::ChannelUpdate(channel);
            let done = self
                .publish_changes(event, by, change.into_iter().collect())
                .await?;
            if done == Applied::Pending {
                applied = Applied::Pending;
            }
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::ChannelId;
    use rookery_proto::GuildId;
    use rookery_proto::Id;

    fn at(id: u64, position: Option<u32>) -> ChannelPosition {
        ChannelPosition {
            id: ChannelId(id),
            position,
            lock_permissions: None,
            parent_id: None,
        }
    }

    #[test]
    fn only_real_moves_of_the_guilds_own_channels_count() {
        let channels = [
            Channel::guild_text(ChannelId(1), GuildId(9), "a", 0),
            Channel::guild_text(ChannelId(2), GuildId(9), "b", 1),
        ];
        let out = moved(&channels, &[at(1, Some(1)), at(2, Some(1))]).unwrap();
        let ids: Vec<_> = out.iter().map(|c| (c.id, c.position)).collect();
        assert_eq!(ids, [(ChannelId(1), 1)], "b is where it was");
        assert!(moved(&channels, &[at(2, None)]).unwrap().is_empty());
        for bad in [
            vec![at(1, Some(2)), at(1, Some(3))],
            vec![at(3, Some(0))],
            vec![ChannelPosition {
                parent_id: Some(Id(5)),
                ..at(1, Some(0))
            }],
        ] {
            assert!(
                matches!(moved(&channels, &bad), Err(EdgeError::InvalidBody(_))),
                "{bad:?}"
            );
        }
    }
}
