//! A guild's members, listed: `GET /guilds/{id}/members` (a page, as
//! Discord pages it) and the gateway's op 8 REQUEST_GUILD_MEMBERS (answered
//! in `GUILD_MEMBERS_CHUNK`s). Both are for the guild's members only.

use crate::{Edge, EdgeError};
use rookery_proto::GuildId;
use rookery_proto::UserId;
use rookery_proto::gateway::{GuildMembersChunk, RequestGuildMembers};
use rookery_proto::model::{Member, User};
use rookery_store::MAX_MEMBERS_PAGE;

/// Members one op 8 answers with at most (100 chunks): a guild's whole
/// member list is read a page at a time, and held until it is chunked.
pub const MAX_REQUESTED_MEMBERS: usize = 100_000;
/// `user_ids` one op 8 may name (Discord's limit).
pub const MAX_REQUESTED_IDS: usize = 100;

impl Edge {
    /// A page of `guild`'s members above `after`, for one of them.
    pub async fn list_members(
        &self,
        user: &User,
        guild: GuildId,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Member>, EdgeError> {
        self.hub.perms().in_guild(guild, user.id).await?;
        Ok(self.store.guild_members(guild, after, limit).await?)
    }

    /// The chunks answering an op 8 of `user`, a member of the guild.
    pub(crate) async fn member_chunks(
        &self,
        user: &User,
        request: RequestGuildMembers,
    ) -> Result<Vec<GuildMembersChunk>, EdgeError> {
        let guild = request.guild_id;
        self.hub.perms().in_guild(guild, user.id).await?;
        if request.nonce.as_ref().is_some_and(|n| n.len() > 32) {
            return Err(EdgeError::InvalidBody("nonce: at most 32 bytes".into()));
        }
        let (members, not_found) = match request.user_ids {
            Some(ids) => self.members_named(guild, ids).await?,
            None => {
                let query = request.query.unwrap_or_default().to_lowercase();
                let limit = request.limit as usize;
                (
                    self.members_matching(guild, &query, limit).await?,
                    Vec::new(),
                )
            }
        };
        Ok(chunked(guild, members, not_found, request.nonce))
    }

    async fn members_named(
        &self,
        guild: GuildId,
        ids: Vec<UserId>,
    ) -> Result<(Vec<Member>, Vec<UserId>), EdgeError> {
        if ids.len() > MAX_REQUESTED_IDS {
            let why = format!("user_ids: at most {MAX_REQUESTED_IDS}");
            return Err(EdgeError::InvalidBody(why));
        }
        let (mut found, mut not_found) = (Vec::new(), Vec::new());
        for id in ids {
            match self.store.member(guild, id).await? {
                Some(member) => found.push(member),
                None => not_found.push(id),
            }
        }
        Ok((found, not_found))
    }

    /// Members whose username starts with `query` (lowercase), by user id,
    /// at most `limit` (0: up to [`MAX_REQUESTED_MEMBERS`]).
    async fn members_matching(
        &self,
        guild: GuildId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Member>, EdgeError> {
        let limit = match limit {
            0 => MAX_REQUESTED_MEMBERS,
            n => n.min(MAX_REQUESTED_MEMBERS),
        };
        let (mut out, mut after) = (Vec::new(), UserId(0));
        loop {
            let page = self
                .store
                .guild_members(guild, after, MAX_MEMBERS_PAGE)
                .await?;
            let full = page.len() == MAX_MEMBERS_PAGE;
            after = page.last().map_or(after, |m| m.user.id);
            let matching = page
                .into_iter()
                .filter(|m| m.user.username.to_lowercase().starts_with(query));
            out.extend(matching.take(limit - out.len()));
            if !full || out.len() >= limit {
                return Ok(out);
            }
        }
    }
}

/// The answer in chunks of at most a page; one (empty) chunk if nothing
/// matched, as Discord answers.
fn chunked(
    guild: GuildId,
    members: Vec<Member>,
    not_found: Vec<UserId>,
    nonce: Option<String>,
) -> Vec<GuildMembersChunk> {
    let pages: Vec<Vec<Member>> = match members.is_empty() {
        true => vec![Vec::new()],
        false => members
            .chunks(MAX_MEMBERS_PAGE)
            .map(<[Member]>::to_vec)
            .collect(),
    };
    let count = pages.len() as u32;
    pages
        .into_iter()
        .enumerate()
        .map(|(index, members)| GuildMembersChunk {
            guild_id: guild,
            members,
            chunk_index: index as u32,
            chunk_count: count,
            not_found: if index == 0 {
                not_found.clone()
            } else {
                Vec::new()
            },
            nonce: nonce.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::{GuildId, UserId};

    fn member(id: u64) -> Member {
        let user = User {
            id: UserId(id),
            username: format!("u{id}"),
        };
        Member::joined(GuildId(1), user, "2026-01-01T00:00:00Z".into())
    }

    #[test]
    fn answers_come_in_chunks_of_a_page_and_an_empty_answer_in_one() {
        let members: Vec<Member> = (1..=2_500).map(member).collect();
        let chunks = chunked(GuildId(1), members, vec![UserId(9)], Some("n".into()));
        let shape: Vec<(u32, u32, usize)> = chunks
            .iter()
            .map(|c| (c.chunk_index, c.chunk_count, c.members.len()))
            .collect();
        assert_eq!(shape, [(0, 3, 1000), (1, 3, 1000), (2, 3, 500)]);
        assert_eq!(chunks[0].not_found, [UserId(9)]);
        assert!(chunks[1].not_found.is_empty());
        assert!(chunks.iter().all(|c| c.nonce.as_deref() == Some("n")));
        let empty = chunked(GuildId(1), Vec::new(), Vec::new(), None);
        assert_eq!((empty.len(), empty[0].chunk_count), (1, 1));
    }
}
