//! The audit log, read as Discord's `GET /guilds/{id}/audit-logs`:
//! VIEW_AUDIT_LOG; entries newest first, before `before`, at most `limit`,
//! optionally only one user's or one action type's. With a filter, up to
//! [`FILTER_PAGES`] store pages are read to fill the answer.
//!
//! Entries are written by the writer from the `audit` part of the events
//! the edge publishes for moderation, role, overwrite and channel changes
//! (see `docs/protocol.md` for the list); they are kept 90 days.

use crate::{Edge, EdgeError};
use rookery_proto::Id;
use rookery_proto::model::{AuditLogEntry, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::{GuildId, UserId};

/// Store pages read at most for one filtered answer.
const FILTER_PAGES: usize = 10;

/// What to list.
#[derive(Debug, Clone, Copy)]
pub struct AuditQuery {
    /// Entries with ids below this.
    pub before: Option<Id>,
    /// At most this many (1..=100).
    pub limit: usize,
    /// Only this user's changes.
    pub user_id: Option<UserId>,
    /// Only this action type.
    pub action_type: Option<u8>,
}

impl Edge {
    /// A page of a guild's audit log.
    pub async fn audit_log(
        &self,
        user: &User,
        guild: GuildId,
        q: AuditQuery,
    ) -> Result<Vec<AuditLogEntry>, EdgeError> {
        self.require_base(guild, user.id, Permissions::VIEW_AUDIT_LOG)
            .await?;
        let keep = |e: &AuditLogEntry| {
            q.user_id.is_none_or(|u| e.user_id == u)
                && q.action_type.is_none_or(|a| e.action_type == a)
        };
        let mut before = q.before.unwrap_or(Id(i64::MAX as u64));
        let mut out = Vec::new();
        for _ in 0..FILTER_PAGES {
            let page = self.store.audit_log(guild, before, 100).await?;
            let Some(last) = page.last() else { break };
            before = last.id;
            let full = page.len() == 100;
            out.extend(page.into_iter().filter(keep));
            if out.len() >= q.limit || !full {
                break;
            }
        }
        out.truncate(q.limit);
        Ok(out)
    }
}
