//! The audit log on the embedded store: entries keyed `guild | entry id`,
//! read newest first. Entries past the retention are skipped on read (the
//! ScyllaDB table drops them by TTL).

use super::{EmbeddedStore, backend, decode, keys};
use crate::{AUDIT_RETENTION_MS, StoreError};
use rookery_proto::GuildId;
use rookery_proto::Id;
use rookery_proto::id::now_ms;
use rookery_proto::model::AuditLogEntry;

impl EmbeddedStore {
    pub(super) fn audit_page(
        &self,
        guild: GuildId,
        before: Id,
        limit: usize,
    ) -> Result<Vec<AuditLogEntry>, StoreError> {
        let oldest = Id::floor_of_ms(now_ms().saturating_sub(AUDIT_RETENTION_MS));
        let range = keys::pair(guild, oldest)..keys::pair(guild, before);
        let mut out = Vec::new();
        for row in self
            .0
            .t
            .audit_log
            .range(range)
            .rev()
            .take(limit.clamp(1, 100))
        {
            out.push(decode("audit_log", &row.value().map_err(backend)?)?);
        }
        Ok(out)
    }
}
