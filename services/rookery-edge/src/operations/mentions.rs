//! What a new message mentions, by Discord's rules.
//!
//! The content is scanned for `<@id>` / `<@!id>` (users), `<@&id>` (roles)
//! and `@everyone` / `@here`. A user mention counts if the user is a member
//! of the guild; a role mention if the role exists and is mentionable, or
//! the author holds MENTION_EVERYONE; `@everyone` only with
//! MENTION_EVERYONE. `allowed_mentions`, when given, narrows that: only the
//! kinds in `parse`, or the ids in `users` / `roles`, and the replied-to
//! author only with `replied_user`. Without it, a reply mentions the author
//! of the message replied to. Mentions are kept in id order.

use crate::access::perms::GuildAccess;
use crate::{Edge, EdgeError};
use rookery_proto::GuildId;
use rookery_proto::model::{Message, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::rest::{AllowedMentions, MentionKind};
use rookery_proto::{RoleId, UserId};

/// Ids may be listed in `allowed_mentions` at most this many times each.
const MAX_ALLOWED_IDS: usize = 100;

/// Mentions as written in the content, before any rule.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Written {
    pub users: Vec<UserId>,
    pub roles: Vec<RoleId>,
    pub everyone: bool,
}

/// Scans content for mentions.
pub(crate) fn written(content: &str) -> Written {
    let mut out = Written {
        everyone: content.contains("@everyone") || content.contains("@here"),
        ..Written::default()
    };
    let mut rest = content;
    while let Some(at) = rest.find("<@") {
        rest = &rest[at + 2..];
        let (is_role, body) = match rest.as_bytes().first() {
            Some(b'&') => (true, &rest[1..]),
            Some(b'!') => (false, &rest[1..]),
            _ => (false, rest),
        };
        let Some(end) = body.find('>') else { break };
        let Ok(id) = body[..end].parse::<u64>() else {
            continue;
        };
        if is_role && !out.roles.contains(&RoleId(id)) {
            out.roles.push(RoleId(id));
        } else if !is_role && !out.users.contains(&UserId(id)) {
            out.users.push(UserId(id));
        }
    }
    out
}

/// Refuses contradictory or oversized `allowed_mentions` (Discord's rules).
pub(crate) fn check_allowed(allowed: &AllowedMentions) -> Result<(), EdgeError> {
    let both = |kind, listed: bool| allowed.parse.contains(&kind) && listed;
    let (users, roles) = (!allowed.users.is_empty(), !allowed.roles.is_empty());
    if both(MentionKind::Users, users) || both(MentionKind::Roles, roles) {
        let why = "allowed_mentions: parse and an id list of the same kind are mutually exclusive";
        return Err(EdgeError::InvalidBody(why.into()));
    }
    if allowed.users.len() > MAX_ALLOWED_IDS || allowed.roles.len() > MAX_ALLOWED_IDS {
        let why = format!("allowed_mentions: at most {MAX_ALLOWED_IDS} users and roles");
        return Err(EdgeError::InvalidBody(why));
    }
    Ok(())
}

impl Edge {
    /// Fills in `message`'s mentions from its content. `bits` are the
    /// author's permissions in the channel; `replied` the author of the
    /// message replied to.
    pub(crate) async fn resolve_mentions(
        &self,
        message: &mut Message,
        bits: Permissions,
        allowed: Option<&AllowedMentions>,
        replied: Option<&User>,
    ) -> Result<(), EdgeError> {
        let w = written(&message.content);
        let may_user = |id: UserId| {
            allowed.is_none_or(|a| a.parse.contains(&MentionKind::Users) || a.users.contains(&id))
        };
        let may_role = |id: RoleId| {
            allowed.is_none_or(|a| a.parse.contains(&MentionKind::Roles) || a.roles.contains(&id))
        };
        let perms = self.hub.perms();
        // Mentionable users are the scope's members: a guild's, or a
        // private channel's recipients.
        let scope = GuildId::from(message.scope());
        let mut users = Vec::new();
        for id in w.users {
            if may_user(id)
                && let Some(member) = perms.member(scope, id).await?
            {
                users.push(member.user.clone());
            }
        }
        if let Some(author) = replied
            && allowed.is_none_or(|a| a.replied_user)
            && !users.iter().any(|u| u.id == author.id)
            && perms.member(scope, author.id).await?.is_some()
        {
            users.push(author.clone());
        }
        users.sort_by_key(|u| u.id);
        let any_role = bits.contains(Permissions::MENTION_EVERYONE);
        let mut roles: Vec<RoleId> = Vec::new();
        // Most messages mention no role: no guild lookup for them. A
        // private channel has no roles.
        if !w.roles.is_empty() && !message.guild_id.is_none() {
            let guild = perms.guild(message.guild_id).await?;
            roles = w
                .roles
                .into_iter()
                .filter(|&r| mentionable(&guild, r, any_role) && may_role(r))
                .collect();
        }
        roles.sort();
        message.mentions = users;
        message.mention_roles = roles;
        message.mention_everyone = w.everyone
            && any_role
            && allowed.is_none_or(|a| a.parse.contains(&MentionKind::Everyone));
        Ok(())
    }
}

/// A role of the guild (not @everyone) the author may mention.
fn mentionable(guild: &GuildAccess, role: RoleId, any_role: bool) -> bool {
    role != guild.id.everyone()
        && guild
            .roles
            .get(&role)
            .is_some_and(|r| r.mentionable || any_role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::{RoleId, UserId};

    #[test]
    fn mentions_are_read_from_the_content_in_order_without_repeats() {
        let w = written("hi <@12> and <@!34>, <@&56> <@12> <@&x> <@> <@7");
        assert_eq!(w.users, [UserId(12), UserId(34)]);
        assert_eq!(w.roles, [RoleId(56)]);
        assert!(!w.everyone);
        assert!(written("ping @here").everyone);
        assert!(written("@everyone").everyone);
        assert_eq!(written("no mentions at all"), Written::default());
    }

    #[test]
    fn contradictory_or_oversized_allowed_mentions_are_refused() {
        let ok = AllowedMentions {
            parse: vec![MentionKind::Users],
            roles: vec![RoleId(1)],
            ..AllowedMentions::default()
        };
        assert!(check_allowed(&ok).is_ok());
        let both = AllowedMentions {
            users: vec![UserId(1)],
            ..ok.clone()
        };
        assert!(check_allowed(&both).is_err());
        let many = AllowedMentions {
            users: (0..101).map(UserId).collect(),
            ..AllowedMentions::default()
        };
        assert!(check_allowed(&many).is_err());
    }
}
