//! Session tokens (HS256 JWTs with a pinned algorithm) and password hashing
//! (argon2id, on a small dedicated pool: each hash costs tens of
//! milliseconds of CPU and ~19 MiB of memory by design).
//!
//! A token carries its account's token generation (`gen`) when it was
//! issued; [`crate::access::generations`] refuses it once the account's moves on.

use crate::EdgeError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rookery_proto::UserId;
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
    /// Not before: the issue time (a token is never valid before it was
    /// made, whatever clock skew the leeway allows).
    #[serde(default)]
    nbf: u64,
    exp: u64,
    /// The account's token generation at issue; tokens made before
    /// revocation existed carry none and count as generation 0.
    #[serde(default)]
    generation: u64,
    /// A bot's token (sent as `Authorization: Bot`), not a user's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    bot: bool,
}

/// How long a bot token is valid: long-lived, as Discord's, until the
/// application's owner resets it (which revokes it at once).
const BOT_TOKEN_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The user it names.
    pub user: User,
    /// The token generation it was issued under.
    pub generation: u64,
    /// Whether it is a bot's token.
    pub bot: bool,
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
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for `user` under the account's token `generation`.
    pub fn issue(&self, user: &User, generation: u64) -> String {
        self.sign(user, generation, None)
    }

    /// A bot's token: valid for years, until its generation moves on.
    pub fn issue_bot(&self, bot: &User, generation: u64) -> String {
        self.sign(bot, generation, Some(BOT_TOKEN_TTL))
    }

    fn sign(&self, user: &User, generation: u64, bot_ttl: Option<Duration>) -> String {
        let now = rookery_proto::id::now_ms() / 1000;
        let claims = Claims {
            sub: user.id.to_string(),
            name: user.username.clone(),
            iss: ISSUER.into(),
            iat: now,
            nbf: now,
            exp: now + bot_ttl.unwrap_or(self.ttl).as_secs(),
            generation,
            bot: bot_ttl.is_some(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// The user a validly signed, unexpired token names, and its
    /// generation (whether that is still current is the caller's check).
    pub fn verify(&self, token: &str) -> Result<Verified, EdgeError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| EdgeError::Unauthorized("invalid or expired token"))?;
        let id = data
            .claims
            .sub
            .parse::<UserId>()
            .map_err(|_| EdgeError::Unauthorized("invalid token subject"))?;
        Ok(Verified {
            user: User {
                id,
                username: data.claims.name,
            },
            generation: data.claims.generation,
            bot: data.claims.bot,
        })
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Password hashing on a few dedicated threads. Each argon2 hash needs about
/// 19 MiB; on the general blocking pool every thread that ever hashed keeps
/// its own allocator arena of that size (a registration burst grew a node
/// by over a gigabyte), while a fixed pool confines it to a few arenas and
/// bounds the CPU that logins can take.
pub struct Hasher {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

impl Hasher {
    /// A pool of `threads` hashing threads; they exit when it is dropped.
    pub fn new(threads: usize) -> Self {
        let (jobs, rx) = tokio::sync::mpsc::channel::<Job>(1024);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).blocking_recv();
                        match job {
                            Some(job) => job(),
                            None => return,
                        }
                    }
                })
                .expect("spawn hashing thread");
        }
        Self { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, EdgeError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let gone = || EdgeError::Unavailable("password hashing stopped".into());
        self.jobs.send(job).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }

    /// Hashes a password with argon2id and a random salt.
    pub async fn hash(&self, password: String) -> Result<String, EdgeError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| EdgeError::Unavailable(e.to_string()))
    }

    /// Checks a password against a stored hash (with none, against a
    /// stand-in: see [`rookery_store::password::verify`]).
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, EdgeError> {
        self.run(move || rookery_store::password::verify(&password, hash.as_deref()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::UserId;

    fn user() -> User {
        User {
            id: UserId(42),
            username: "ada".into(),
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let t = Tokens::new(b"secret-one", Duration::from_secs(60));
        let token = t.issue(&user(), 7);
        let verified = t.verify(&token).unwrap();
        assert_eq!((verified.user, verified.generation), (user(), 7));
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
            nbf: 0,
            exp: 1,
            generation: 0,
            bot: false,
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

    #[test]
    fn tokens_are_not_valid_before_their_nbf() {
        let t = Tokens::new(b"k", Duration::from_secs(60));
        let now = rookery_proto::id::now_ms() / 1000;
        let claims = |nbf| Claims {
            sub: "1".into(),
            name: "a".into(),
            iss: ISSUER.into(),
            iat: now,
            nbf,
            exp: now + 3600,
            generation: 0,
            bot: false,
        };
        let sign = |c: &Claims| {
            let key = EncodingKey::from_secret(b"k");
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), c, &key).unwrap()
        };
        assert!(
            t.verify(&sign(&claims(now + 600))).is_err(),
            "nbf in the future"
        );
        assert!(t.verify(&sign(&claims(now))).is_ok());
        let issued = t.issue(&user(), 0);
        let issued = jsonwebtoken::decode::<Claims>(&issued, &t.decoding, &t.validation)
            .unwrap()
            .claims;
        assert_eq!(issued.nbf, issued.iat, "issued tokens carry nbf");
    }

    #[tokio::test]
    async fn passwords_verify_only_with_the_right_password() {
        let hasher = Hasher::new(2);
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("x".into(), Some("not a hash".into()))
                .await
                .unwrap()
        );
    }
}
