//! Password checks on the writer that hosts the embedded store: edges send
//! the password of a login and get the user back, so password hashes never
//! cross the link.

use rookery_proto::model::User;
use rookery_store::{Store, StoreError};

/// The account's user if `password` matches its hash (an unknown name
/// costs a verification too: see [`rookery_store::password::verify`]).
pub(crate) async fn check(
    store: &dyn Store,
    username: &str,
    password: String,
) -> Result<Option<User>, StoreError> {
    let account = store.account(username).await?;
    let hash = account.as_ref().map(|(_, h)| h.clone());
    let matches = tokio::task::spawn_blocking(move || {
        rookery_store::password::verify(&password, hash.as_deref())
    })
    .await
    .map_err(|e| StoreError::Backend(format!("password check: {e}")))?;
    Ok(account.filter(|_| matches).map(|(user, _)| user))
}
