//! Accounts on the embedded store: username claims, password hashes and
//! token generations. Every account write is fsynced before it returns:
//! a registration, password change or revocation is answered only once a
//! crash cannot undo it.

use super::{Inner, backend, encode, keys};
use crate::{StoreError, next_token_generation};
use fjall::PersistMode;
use rookery_proto::UserId;
use rookery_proto::model::{Application, User};

impl Inner {
    pub(super) fn create_account(&self, user: &User, hash: &str) -> Result<(), StoreError> {
        self.claim(user, hash, None)
    }

    /// A bot's account and its application, in one batch: a crash leaves
    /// both or neither.
    pub(super) fn create_application(&self, app: &Application) -> Result<(), StoreError> {
        let bot = User {
            id: UserId::from(app.id),
            username: app.name.clone(),
        };
        self.claim(&bot, crate::NO_PASSWORD, Some(app))
    }

    /// Claims `user`'s name (case-insensitively) and writes the account,
    /// with `app` when it is a bot's; fsynced before it returns.
    fn claim(&self, user: &User, hash: &str, app: Option<&Application>) -> Result<(), StoreError> {
        let _claim = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let name = user.username.to_lowercase();
        if self.t.usernames.contains_key(&name).map_err(backend)? {
            return Err(StoreError::Conflict(format!(
                "username {:?} is taken",
                user.username
            )));
        }
        let mut b = self.db.batch();
        b.insert(&self.t.users, keys::id(user.id), encode(user));
        b.insert(&self.t.usernames, name, keys::id(user.id));
        b.insert(&self.t.credentials, keys::id(user.id), hash.as_bytes());
        if let Some(app) = app {
            b.insert(&self.t.applications, keys::id(app.id), encode(app));
        }
        b.commit().map_err(backend)?;
        self.db.persist(PersistMode::SyncAll).map_err(backend)
    }

    pub(super) fn password_hash(&self, user_id: UserId) -> Result<Option<String>, StoreError> {
        let hash = self.t.credentials.get(keys::id(user_id)).map_err(backend)?;
        Ok(hash.map(|h| String::from_utf8_lossy(&h).into_owned()))
    }

    pub(super) fn token_generation(&self, user_id: UserId) -> Result<u64, StoreError> {
        let Some(bytes) = self
            .t
            .token_generations
            .get(keys::id(user_id))
            .map_err(backend)?
        else {
            return Ok(0);
        };
        let bytes: [u8; 8] = bytes[..].try_into().map_err(|_| StoreError::Corrupt {
            table: "token_generations",
            detail: format!("{} bytes, not 8", bytes.len()),
        })?;
        Ok(u64::from_be_bytes(bytes))
    }

    pub(super) fn revoke_tokens(
        &self,
        user_id: UserId,
        password_hash: Option<&str>,
    ) -> Result<u64, StoreError> {
        // Held so two revocations of one account cannot both read the same
        // generation (each would still revoke, but one generation is clearer).
        let _serialised = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let generation = next_token_generation(self.token_generation(user_id)?);
        let mut b = self.db.batch();
        b.insert(
            &self.t.token_generations,
            keys::id(user_id),
            generation.to_be_bytes(),
        );
        if let Some(hash) = password_hash {
            b.insert(&self.t.credentials, keys::id(user_id), hash.as_bytes());
        }
        b.commit().map_err(backend)?;
        self.db.persist(PersistMode::SyncAll).map_err(backend)?;
        Ok(generation)
    }
}
