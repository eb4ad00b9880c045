//! Account checks: usernames claimed once, token generations, and the
//! bot account an application owns.

use super::{fresh, user};
use crate::{Store, StoreError};
use rookery_proto::Id;
use rookery_proto::model::{Application, User};

/// Usernames are claimed once, case-insensitively.
pub async fn accounts_claim_usernames(store: &dyn Store, _bucket_ms: u64) {
    let ada = user("Ada");
    store.create_account(&ada, "hash-1").await.unwrap();
    let clash = User {
        id: fresh(),
        username: ada.username.to_uppercase(),
    };
    assert!(matches!(
        store.create_account(&clash, "hash-2").await,
        Err(StoreError::Conflict(_))
    ));
    let (found, hash) = store
        .account(&ada.username.to_lowercase())
        .await
        .unwrap()
        .expect("account");
    assert_eq!((found, hash.as_str()), (ada.clone(), "hash-1"));
    assert_eq!(store.user(ada.id).await.unwrap(), Some(ada));
    assert!(store.account("nobody-at-all").await.unwrap().is_none());
    assert!(store.user(fresh()).await.unwrap().is_none());
}

/// Each revocation leaves a generation no earlier token carries, and a
/// password change replaces the hash in the same write.
pub async fn revocations_move_the_token_generation(store: &dyn Store, _bucket_ms: u64) {
    let ada = user("revoked");
    store.create_account(&ada, "hash-1").await.unwrap();
    let first = store.token_generation(ada.id).await.unwrap();
    assert_eq!(first, 0, "a new account's tokens were never revoked");
    let second = store.revoke_tokens(ada.id, None).await.unwrap();
    assert!(second > first);
    assert_eq!(store.token_generation(ada.id).await.unwrap(), second);
    let (_, hash) = store
        .account(&ada.username)
        .await
        .unwrap()
        .expect("account");
    assert_eq!(hash, "hash-1", "logging out everywhere keeps the password");
    let third = store.revoke_tokens(ada.id, Some("hash-2")).await.unwrap();
    assert!(
        third > second,
        "every revocation moves on: {third} > {second}"
    );
    assert_eq!(store.token_generation(ada.id).await.unwrap(), third);
    let (_, hash) = store
        .account(&ada.username)
        .await
        .unwrap()
        .expect("account");
    assert_eq!(hash, "hash-2", "a password change replaces the hash");
    let other = user("unrevoked");
    store.create_account(&other, "hash-3").await.unwrap();
    assert_eq!(store.token_generation(other.id).await.unwrap(), 0);
}

/// An application claims its name as its bot's username; the bot's
/// account has a hash no password matches.
pub async fn applications_own_a_bot_account_no_password_opens(store: &dyn Store, _bucket_ms: u64) {
    let owner = user("maker");
    store.create_account(&owner, "hash-1").await.unwrap();
    let app = Application {
        id: fresh(),
        name: format!("bot{}", fresh::<Id>().0 % 1_000_000_007),
        owner_id: owner.id,
    };
    store.create_application(&app).await.unwrap();
    assert_eq!(store.application(app.id).await.unwrap(), Some(app.clone()));
    assert_eq!(
        store.application(owner.id.raw()).await.unwrap(),
        None,
        "a user is no application"
    );
    let (bot, hash) = store
        .account(&app.name)
        .await
        .unwrap()
        .expect("the bot's account");
    assert_eq!(
        (bot.id.raw(), bot.username.as_str()),
        (app.id, app.name.as_str())
    );
    assert!(
        !crate::password::verify("", Some(&hash)),
        "no password opens it"
    );
    let clash = Application {
        id: fresh(),
        name: app.name.to_uppercase(),
        owner_id: owner.id,
    };
    assert!(matches!(
        store.create_application(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.application(clash.id).await.unwrap(), None);
}
