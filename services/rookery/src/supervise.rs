//! Role supervision: a role task (the writer, the ephemeral relay) that
//! fails, panics or returns before the process was asked to stop marks the
//! process failed. `main` then exits non-zero and `/readyz` answers 503, so
//! an orchestrator restarts the process instead of routing clients to a
//! node that acknowledges sends it no longer applies.

use std::fmt::Display;
use std::future::Future;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the process failed, once it has.
#[derive(Clone)]
pub(crate) struct Failure {
    tx: watch::Sender<Option<String>>,
}

impl Failure {
    pub(crate) fn new() -> Self {
        Self {
            tx: watch::channel(None).0,
        }
    }

    /// Records the first failure; later ones are logged only.
    fn fail(&self, reason: String) {
        tracing::error!(%reason, "a role stopped; the process is failing");
        self.tx
            .send_if_modified(|f| f.is_none() && f.replace(reason).is_none());
    }

    /// Whether a role has failed.
    pub(crate) fn has_failed(&self) -> bool {
        self.tx.borrow().is_some()
    }

    /// Resolves with the reason once a role has failed.
    pub(crate) fn failed(&self) -> impl Future<Output = String> + use<> {
        let mut rx = self.tx.subscribe();
        async move {
            let reason = match rx.wait_for(Option::is_some).await {
                Ok(reason) => reason.clone(),
                Err(_) => None,
            };
            match reason {
                Some(reason) => reason,
                // The sender lives as long as the server; never here.
                None => std::future::pending().await,
            }
        }
    }
}

/// Spawns `role` and watches it: an error, a panic, or an end before
/// `stopped` turned true is a failure.
pub(crate) fn spawn<E>(
    name: &'static str,
    role: impl Future<Output = Result<(), E>> + Send + 'static,
    stopped: watch::Receiver<bool>,
    failure: &Failure,
) -> JoinHandle<anyhow::Result<()>>
where
    E: Display + Send + 'static,
{
    let inner = tokio::spawn(role);
    let failure = failure.clone();
    tokio::spawn(async move {
        let outcome = match inner.await {
            Ok(Ok(())) if *stopped.borrow() => return Ok(()),
            Ok(Ok(())) => format!("{name} stopped unexpectedly"),
            Ok(Err(e)) => format!("{name} failed: {e}"),
            Err(join) if join.is_panic() => format!("{name} panicked"),
            Err(join) => format!("{name} was cancelled: {join}"),
        };
        failure.fail(outcome.clone());
        Err(anyhow::anyhow!(outcome))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn failed_within(failure: &Failure) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(5), failure.failed())
            .await
            .ok()
    }

    #[tokio::test]
    async fn a_panicking_or_failing_role_fails_the_process() {
        let (_stop, stopped) = watch::channel(false);
        let failure = Failure::new();
        let role = async { panic!("applying a batch") };
        let handle = spawn::<String>("writer", role, stopped.clone(), &failure);
        assert_eq!(
            failed_within(&failure).await.as_deref(),
            Some("writer panicked")
        );
        assert!(handle.await.unwrap().is_err());

        let failure = Failure::new();
        let role = async { Err::<(), _>("store unreachable") };
        spawn("writer", role, stopped, &failure);
        let reason = failed_within(&failure).await.unwrap();
        assert_eq!(reason, "writer failed: store unreachable");
    }

    #[tokio::test]
    async fn a_role_ending_early_fails_but_ending_at_stop_does_not() {
        let (stop, stopped) = watch::channel(false);
        let failure = Failure::new();
        spawn::<String>("relay", async { Ok(()) }, stopped.clone(), &failure);
        let reason = failed_within(&failure).await.unwrap();
        assert_eq!(reason, "relay stopped unexpectedly");

        let failure = Failure::new();
        let mut until = stopped.clone();
        let role = async move {
            let _ = until.wait_for(|s| *s).await;
            Ok::<(), String>(())
        };
        let handle = spawn("writer", role, stopped, &failure);
        stop.send_replace(true);
        handle.await.unwrap().unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(100), failure.failed()).await;
        assert!(quiet.is_err(), "a stop is not a failure");
    }
}
