//! The lock that lets one `rookery migrate` at a time change the schema: a
//! row claimed by a lightweight transaction with a lease (a TTL), renewed
//! by its holder every third of the lease, so a long migration keeps it and
//! a crashed holder frees it within one lease.

use crate::cql;
use crate::migrate::lwt_outcome;
use crate::session::backend;
use rookery_store::StoreError;
use scylla::client::session::Session;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;

/// A held lock. Its renewal stops when it is released or dropped.
pub struct SchemaLock {
    session: Arc<Session>,
    owner: String,
    lost: Arc<AtomicBool>,
    renewal: JoinHandle<()>,
}

impl SchemaLock {
    /// Takes the lock as `owner`, waiting up to `wait` for another holder,
    /// with a lease of `lease` renewed until release.
    pub async fn acquire(
        session: Arc<Session>,
        owner: &str,
        lease: Duration,
        wait: Duration,
    ) -> Result<Self, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        let ttl = lease_secs(lease);
        loop {
            let result = session
                .query_unpaged(cql::ACQUIRE_LOCK, (owner, ttl))
                .await
                .map_err(backend)?;
            let (applied, holder) = lwt_outcome(result)?;
            if applied {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Locked(format!(
                    "schema_lock held by {}",
                    holder.unwrap_or_default()
                )));
            }
            tracing::info!(holder, "another migrator holds the lock; waiting");
            tokio::time::sleep(Duration::from_secs(1).min(wait)).await;
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = tokio::spawn(renew(
            session.clone(),
            owner.to_owned(),
            lease,
            lost.clone(),
        ));
        Ok(Self {
            session,
            owner: owner.to_owned(),
            lost,
            renewal,
        })
    }

    /// Fails once a renewal found the lock gone (expired or taken): the
    /// migration must stop before its next statement.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.lost.load(Ordering::Acquire) {
            return Err(StoreError::Locked(format!(
                "lost the schema lock held as {}",
                self.owner
            )));
        }
        Ok(())
    }

    /// Stops renewing and frees the lock (only if still ours).
    pub async fn release(self) -> Result<(), StoreError> {
        self.renewal.abort();
        self.session
            .query_unpaged(cql::RELEASE_LOCK, (&self.owner,))
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl Drop for SchemaLock {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

fn lease_secs(lease: Duration) -> i32 {
    i32::try_from(lease.as_secs().max(1)).unwrap_or(i32::MAX)
}

/// Renews every third of the lease; a renewal that finds another owner (or
/// none) marks the lock lost. An error is retried at the next tick: two
/// more chances before the lease runs out.
async fn renew(session: Arc<Session>, owner: String, lease: Duration, lost: Arc<AtomicBool>) {
    let ttl = lease_secs(lease);
    let mut tick = tokio::time::interval(lease / 3);
    tick.tick().await;
    loop {
        tick.tick().await;
        let renewed = session
            .query_unpaged(cql::RENEW_LOCK, (ttl, &owner, &owner))
            .await
            .map_err(backend)
            .and_then(lwt_outcome);
        match renewed {
            Ok((true, _)) => {}
            Ok((false, holder)) => {
                tracing::error!(owner, holder, "the schema lock was lost");
                lost.store(true, Ordering::Release);
                return;
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew the schema lock; retrying"),
        }
    }
}
