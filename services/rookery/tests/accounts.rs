//! Token revocation over the public API: a password change and "log out
//! everywhere" refuse every token issued before them, on REST, IDENTIFY and
//! RESUME, and end the account's live and resumable sessions.

use reqwest::Method;
use rookery_client::{ClientError, Gateway};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, CloseCode, op};
use rookery_proto::rest::AuthResponse;
use rookery_testkit::{TestServer, TestUser};
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

async fn closed_with(g: &mut Gateway) -> u16 {
    rookery_testkit::close_code(g, T).await
}

/// The status `GET /users/@me/guilds` answers with `token`.
async fn status_with(server: &TestServer, token: &str) -> u16 {
    let api = server.api().with_token(token);
    let (status, _) = api
        .raw(Method::GET, "/users/@me/guilds", None)
        .await
        .unwrap();
    status.as_u16()
}

/// What a RESUME of `session_id` with `token` gets: a close code, or 0 for
/// INVALID_SESSION.
async fn resume_outcome(server: &TestServer, token: &str, session_id: &str) -> u16 {
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let resume = gw::Resume {
        token: token.into(),
        session_id: session_id.into(),
        seq: 1,
    };
    g.send_op(op::RESUME, &resume).await.unwrap();
    loop {
        match tokio::time::timeout(T, g.next()).await.expect("an answer") {
            Ok(f) if f.header.op == op::INVALID_SESSION => return 0,
            Ok(_) => continue,
            Err(ClientError::Closed { code, .. }) => return code,
            Err(e) => panic!("{e}"),
        }
    }
}

async fn second_token(server: &TestServer, user: &TestUser, password: &str) -> String {
    let auth = server.api().login(&user.user.username, password).await;
    auth.expect("login").token
}

#[tokio::test]
async fn a_password_change_revokes_every_older_token_and_ends_their_sessions() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let other_device = second_token(&server, &alice, "correct-horse").await;
    let mut live = server.gateway(&alice, Encoding::Json).await;
    let mut detached = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let detached_id = detached.identify(&other_device).await.unwrap().session_id;
    drop(detached);

    let change = |password: &str, new: &str| json!({"password": password, "new_password": new});
    let wrong = change("not-the-password", "battery-staple");
    let (status, _) = alice
        .call(Method::POST, "/auth/password", Some(wrong))
        .await;
    assert_eq!(status.as_u16(), 401, "the current password must match");
    let short = change("correct-horse", "short");
    let (status, _) = alice
        .call(Method::POST, "/auth/password", Some(short))
        .await;
    assert_eq!(status.as_u16(), 400);
    assert_eq!(
        status_with(&server, &other_device).await,
        200,
        "nothing revoked yet"
    );

    let body = Some(change("correct-horse", "battery-staple"));
    let changed: AuthResponse = alice.ok(Method::POST, "/auth/password", body).await;
    assert_eq!(
        closed_with(&mut live).await,
        CloseCode::AuthenticationFailed.code()
    );
    for old in [&alice.token, &other_device] {
        assert_eq!(status_with(&server, old).await, 401, "an older token");
        let auth_failed = CloseCode::AuthenticationFailed.code();
        assert_eq!(
            resume_outcome(&server, old, &detached_id).await,
            auth_failed
        );
        let mut g = Gateway::connect(&server.ws(), Encoding::Json)
            .await
            .unwrap();
        match g.identify(old).await {
            Err(ClientError::Closed { code, .. }) => assert_eq!(code, auth_failed),
            other => panic!("IDENTIFY with a revoked token: {other:?}"),
        }
    }
    assert_eq!(
        resume_outcome(&server, &changed.token, &detached_id).await,
        0,
        "a revoked session cannot be resumed even with a fresh token"
    );
    assert_eq!(status_with(&server, &changed.token).await, 200);
    let old_password = server
        .api()
        .login(&alice.user.username, "correct-horse")
        .await;
    assert!(matches!(
        old_password,
        Err(ClientError::Api { status: 401, .. })
    ));
    let fresh = second_token(&server, &alice, "battery-staple").await;
    assert_eq!(status_with(&server, &fresh).await, 200);
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    g.identify(&fresh).await.expect("a fresh token identifies");
    server.stop().await;
}

#[tokio::test]
async fn logging_out_everywhere_revokes_the_callers_token_too_and_nobody_elses() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let phone = second_token(&server, &alice, "correct-horse").await;
    let mut bobs = server.gateway(&bob, Encoding::Json).await;
    alice
        .no_content(Method::POST, "/auth/logout-everywhere", None)
        .await;
    assert_eq!(status_with(&server, &alice.token).await, 401);
    assert_eq!(status_with(&server, &phone).await, 401);
    let (status, _) = alice
        .call(Method::POST, "/auth/logout-everywhere", None)
        .await;
    assert_eq!(status.as_u16(), 401, "a revoked token cannot revoke again");
    assert_eq!(
        status_with(&server, &bob.token).await,
        200,
        "another account"
    );
    bobs.heartbeat().await.unwrap();
    bobs.op(op::HEARTBEAT_ACK, T)
        .await
        .expect("bob's session lives on");
    let again = second_token(&server, &alice, "correct-horse").await;
    assert_eq!(
        status_with(&server, &again).await,
        200,
        "logging in again works"
    );
    server.stop().await;
}
