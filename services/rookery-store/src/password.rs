//! Checking a password against an account's stored hash (an Argon2id PHC
//! string), wherever the hash is kept: on the edge over a store it reads
//! directly, on the writer for edges that read through the link.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

/// Whether `password` matches `hash`. With no hash (no such account) the
/// check runs against a stand-in and answers false, so it takes as long
/// either way and its timing does not tell which names exist. CPU-heavy
/// (tens of milliseconds): call it off the async runtime's threads.
pub fn verify(password: &str, hash: Option<&str>) -> bool {
    let real = hash.is_some();
    let hash = hash.unwrap_or_else(|| unknown_account_hash());
    let matches = PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    });
    real && matches
}

/// A hash with the parameters of real ones that no login is checked
/// against for real.
fn unknown_account_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let salt = argon2::password_hash::SaltString::from_b64("cm9va2VyeXVua25vd24")
            .expect("a valid salt");
        Argon2::default()
            .hash_password(b"no account has this password", &salt)
            .expect("hashing a constant")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_account_never_matches_even_with_the_stand_ins_password() {
        let salt = argon2::password_hash::SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap();
        let real = Argon2::default()
            .hash_password(b"hunter2", &salt)
            .unwrap()
            .to_string();
        assert!(verify("hunter2", Some(&real)));
        assert!(!verify("hunter3", Some(&real)));
        assert!(unknown_account_hash().starts_with("$argon2id$"));
        assert!(!verify("no account has this password", None));
    }
}
