//! Accounts: registration, login, and the revocation of an account's
//! tokens (log out everywhere, password change). Every authenticated call
//! goes through [`Edge::authenticate`], which refuses a token whose
//! account has revoked it ([`crate::access::generations`]).

use crate::access::auth::Verified;
use crate::{Edge, EdgeError};
use rookery_proto::event::{Event, TokensRevoked};
use rookery_proto::model::User;
use rookery_proto::rest::{AuthResponse, Credentials, PasswordChange};

const BAD_CREDENTIALS: EdgeError = EdgeError::Unauthorized("invalid username or password");

pub(crate) fn check_username(username: &str) -> Result<(), EdgeError> {
    let ok_name = (2..=32).contains(&username.chars().count())
        && username
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch));
    if !ok_name {
        return Err(EdgeError::InvalidBody(
            "username must be 2 to 32 of A-Z a-z 0-9 _ . -".into(),
        ));
    }
    Ok(())
}

fn check_password(field: &str, password: &str) -> Result<(), EdgeError> {
    if !(8..=128).contains(&password.chars().count()) {
        return Err(EdgeError::InvalidBody(format!(
            "{field} must be 8 to 128 characters"
        )));
    }
    Ok(())
}

impl Edge {
    /// The user of a valid token their account has not revoked.
    pub(crate) async fn authenticate(&self, token: &str) -> Result<Verified, EdgeError> {
        let verified = self.tokens.verify(token)?;
        let generations = &self.hub.generations;
        if generations
            .admits(verified.user.id, verified.generation)
            .await?
        {
            Ok(verified)
        } else {
            Err(EdgeError::Unauthorized("token revoked"))
        }
    }

    /// [`Edge::authenticate`], for an `Authorization` header: a bot's token
    /// goes with `Bot`, a user's with `Bearer`, as on Discord.
    pub(crate) async fn authenticate_as(
        &self,
        scheme: crate::transport::rest::Scheme,
        token: &str,
    ) -> Result<Verified, EdgeError> {
        use crate::transport::rest::Scheme;
        let verified = self.authenticate(token).await?;
        match (scheme, verified.bot) {
            (Scheme::Bearer, false) | (Scheme::Bot, true) => Ok(verified),
            (Scheme::Bearer, true) => Err(EdgeError::Unauthorized("a bot token goes with Bot")),
            (Scheme::Bot, false) => Err(EdgeError::Unauthorized("a user token goes with Bearer")),
        }
    }

    /// Creates an account and returns it with a token.
    pub async fn register(&self, c: Credentials) -> Result<AuthResponse, EdgeError> {
        check_username(&c.username)?;
        check_password("password", &c.password)?;
        let user = User {
            id: self.ids.next_id(),
            username: c.username,
        };
        let hash = self.hasher.hash(c.password).await?;
        self.store.create_account(&user, &hash).await?;
        // The account is stored; the event is for the log's readers.
        if let Err(e) = self.publish(Event::UserCreate(user.clone()), false).await {
            tracing::warn!(user = %user.id, error = %e, "account created but USER_CREATE not published");
        }
        Ok(AuthResponse {
            token: self.tokens.issue(&user, 0),
            user,
        })
    }

    /// Checks credentials and returns a fresh token.
    pub async fn login(&self, c: Credentials) -> Result<AuthResponse, EdgeError> {
        let user = self.check_credentials(&c.username, c.password).await?;
        let generation = self.hub.generations.load(user.id).await?;
        Ok(AuthResponse {
            token: self.tokens.issue(&user, generation),
            user,
        })
    }

    /// The account of `username` if `password` is its password. An
    /// unknown name costs a verification too: the answer's timing must not
    /// tell which names exist.
    async fn check_credentials(&self, username: &str, password: String) -> Result<User, EdgeError> {
        if let Some(checked) = self.store.check_password(username, &password).await {
            return checked?.ok_or(BAD_CREDENTIALS);
        }
        let account = self.store.account(username).await?;
        let hash = account.as_ref().map(|(_, h)| h.clone());
        let matches = self.hasher.verify(password, hash).await?;
        Ok(account.filter(|_| matches).ok_or(BAD_CREDENTIALS)?.0)
    }

    /// Changes `user`'s password (the current one must match) and revokes
    /// every token issued before; returns a fresh token.
    pub async fn change_password(
        &self,
        user: &User,
        change: PasswordChange,
    ) -> Result<AuthResponse, EdgeError> {
        check_password("new_password", &change.new_password)?;
        let checked = self
            .check_credentials(&user.username, change.password)
            .await;
        let current = checked.map_err(|_| EdgeError::Unauthorized("invalid password"))?;
        let hash = self.hasher.hash(change.new_password).await?;
        let generation = self.revoke(&current, Some(&hash)).await?;
        Ok(AuthResponse {
            token: self.tokens.issue(&current, generation),
            user: current,
        })
    }

    /// Revokes every token of `user` (log out everywhere).
    pub async fn log_out_everywhere(&self, user: &User) -> Result<(), EdgeError> {
        self.revoke(user, None).await.map(drop)
    }

    /// Moves the account's token generation (durably, before anything is
    /// answered), then tells every edge, which refuse older tokens and end
    /// the account's sessions. This edge learns it first: the caller's own
    /// next request must already be refused.
    pub(crate) async fn revoke(
        &self,
        user: &User,
        password_hash: Option<&str>,
    ) -> Result<u64, EdgeError> {
        let generation = self.store.revoke_tokens(user.id, password_hash).await?;
        self.hub.generations.learn(user.id, generation);
        let revoked = TokensRevoked {
            user_id: user.id,
            generation,
            password_changed: password_hash.is_some(),
        };
        self.publish(Event::TokensRevoked(revoked), true).await?;
        Ok(generation)
    }
}
