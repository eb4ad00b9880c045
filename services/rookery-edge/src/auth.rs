//! Session tokens (HS256 JWTs with a pinned algorithm) and password hashing
//! (argon2id, on the blocking pool since each hash costs tens of
//! milliseconds of CPU by design).

use crate::EdgeError;
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rookery_proto::Id;
use rookery_proto::model::User;
use serde::{Deserialize, Serialize};
use std::time::Duration;

const ISSUER: &str = "rookery";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    name: String,
    iss: String,
    iat: u64,
    exp: u64,
}

/// Issues and verifies session tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl Tokens {
    /// Tokens signed with `secret`, valid for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for `user`.
    pub fn issue(&self, user: &User) -> String {
        let now = rookery_proto::id::now_ms() / 1000;
        let claims = Claims {
            sub: user.id.to_string(),
            name: user.username.clone(),
            iss: ISSUER.into(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// The user a valid token names.
    pub fn verify(&self, token: &str) -> Result<User, EdgeError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| EdgeError::Unauthorized("invalid or expired token"))?;
        let id = data
            .claims
            .sub
            .parse::<Id>()
            .map_err(|_| EdgeError::Unauthorized("invalid token subject"))?;
        Ok(User {
            id,
            username: data.claims.name,
        })
    }
}

/// Hashes a password with argon2id and a random salt.
pub async fn hash_password(password: String) -> Result<String, EdgeError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| EdgeError::Unavailable(e.to_string()))?
    .map_err(|e| EdgeError::Unavailable(e.to_string()))
}

/// Checks a password against a stored hash.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: Id(42),
            username: "ada".into(),
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let t = Tokens::new(b"secret-one", Duration::from_secs(60));
        let token = t.issue(&user());
        assert_eq!(t.verify(&token).unwrap(), user());
        let other = Tokens::new(b"secret-two", Duration::from_secs(60));
        assert!(other.verify(&token).is_err(), "wrong key");
        assert!(t.verify("not.a.token").is_err());
        let mut forged = token.clone();
        forged.pop();
        assert!(t.verify(&forged).is_err(), "bad signature");
    }

    #[test]
    fn expired_tokens_and_other_algorithms_are_refused() {
        let t = Tokens::new(b"k", Duration::from_secs(0));
        let mut claims = Claims {
            sub: "1".into(),
            name: "a".into(),
            iss: ISSUER.into(),
            iat: 0,
            exp: 1,
        };
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert!(t.verify(&expired).is_err());
        claims.exp = u64::MAX / 2;
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert!(t.verify(&hs512).is_err(), "algorithm is pinned to HS256");
    }

    #[tokio::test]
    async fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse".into(), hash.clone()).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }
}
