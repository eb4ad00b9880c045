//! Bans end to end, over real HTTP and WebSocket clients: who may ban, what
//! a ban removes (the membership, the sessions' view, the purge window's
//! messages), that a banned user cannot come back until unbanned, and the
//! refusals.

use reqwest::{Method, StatusCode};
use rookery_proto::ChannelId;
use rookery_proto::UserId;
use rookery_proto::codec::Encoding;
use rookery_proto::model::Ban;
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// PUT a ban with Discord's reason header.
async fn ban_with_reason(
    server: &TestServer,
    by: &TestUser,
    path: &str,
    body: Value,
    reason: &str,
) {
    let url = format!("{}/api/v1{path}", server.http());
    let answer = reqwest::Client::new()
        .put(url)
        .bearer_auth(&by.token)
        .header("X-Audit-Log-Reason", reason)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
}

async fn authors(u: &TestUser, channel: ChannelId) -> Vec<UserId> {
    let page = u.api.history(channel, "limit=100").await.unwrap();
    page.into_iter().map(|m| m.author.id).collect()
}

#[tokio::test]
async fn a_ban_removes_the_member_purges_their_messages_and_keeps_them_out() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let g = guild.id;
    let general = guild.channels[0].id;
    let random = alice.api.create_channel(g, "random").await.unwrap().id;
    for (u, channel) in [
        (&carol, general),
        (&bob, general),
        (&carol, general),
        (&carol, random),
    ] {
        u.api.post_message(channel, "hello", None).await.unwrap();
    }
    let mut carol_gw = server.gateway(&carol, Encoding::Json).await;
    let mut bob_gw = server.gateway(&bob, Encoding::MsgPack).await;
    let bans = format!("/guilds/{g}/bans");
    let carol_ban = format!("{bans}/{}", carol.user.id);

    // Only BAN_MEMBERS; never the owner; sane windows; known users.
    bob.refused(Method::PUT, &carol_ban, None, (403, 50013))
        .await;
    bob.refused(Method::GET, &bans, None, (403, 50013)).await;
    let owner = format!("{bans}/{}", alice.user.id);
    alice.refused(Method::PUT, &owner, None, (403, 50013)).await;
    let week = Some(json!({"delete_message_seconds": 604_801}));
    alice
        .refused(Method::PUT, &carol_ban, week, (400, 50035))
        .await;
    alice
        .refused(Method::PUT, &format!("{bans}/5"), None, (404, 10013))
        .await;

    let purge = json!({"delete_message_seconds": 3600});
    ban_with_reason(&server, &alice, &carol_ban, purge, "spam%20bot").await;
    let gone: Value = carol_gw
        .dispatch("GUILD_DELETE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(gone["id"], json!(g.to_string()));
    let removed: Value = bob_gw
        .dispatch("GUILD_MEMBER_REMOVE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(removed["user"]["id"], json!(carol.user.id.0));
    for _ in 0..2 {
        bob_gw.dispatch("MESSAGE_DELETE_BULK", T).await.unwrap();
    }
    assert_eq!(authors(&alice, general).await, vec![bob.user.id]);
    assert_eq!(authors(&alice, random).await, Vec::<UserId>::new());

    let (_, listed) = alice.call(Method::GET, &bans, None).await;
    let listed: Vec<Ban> = serde_json::from_value(listed).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].user.id, listed[0].reason.as_deref()),
        (carol.user.id, Some("spam bot"))
    );
    let (status, one) = alice.call(Method::GET, &carol_ban, None).await;
    assert_eq!(
        (status, serde_json::from_value::<Ban>(one).unwrap()),
        (StatusCode::OK, listed[0].clone())
    );
    let bob_ban = format!("{bans}/{}", bob.user.id);
    alice
        .refused(Method::GET, &bob_ban, None, (404, 10026))
        .await;

    // Out, and kept out; a user who never joined can be banned too.
    let messages = format!("/channels/{general}/messages");
    carol
        .refused(Method::GET, &messages, None, (403, 50001))
        .await;
    let code = alice.api.create_invite(g).await.unwrap();
    carol
        .refused(
            Method::POST,
            &format!("/invites/{code}"),
            None,
            (403, 40007),
        )
        .await;
    let stranger = server.user("stranger").await;
    alice
        .no_content(Method::PUT, &format!("{bans}/{}", stranger.user.id), None)
        .await;
    stranger
        .refused(
            Method::POST,
            &format!("/invites/{code}"),
            None,
            (403, 40007),
        )
        .await;

    // Unbanned, carol may join again (her purged messages stay gone).
    alice
        .refused(Method::DELETE, &bob_ban, None, (404, 10026))
        .await;
    alice.no_content(Method::DELETE, &carol_ban, None).await;
    alice
        .refused(Method::GET, &carol_ban, None, (404, 10026))
        .await;
    carol.api.accept_invite(&code).await.unwrap();
    assert_eq!(authors(&carol, general).await, vec![bob.user.id]);
    server.stop().await;
}

/// The ban list is paged as Discord's: by user id, above `after`, at most
/// `limit` (1 to 1000); a limit outside that range is refused.
#[tokio::test]
async fn the_ban_list_is_paged_by_user_id() {
    let server = TestServer::start().await;
    let [alice, bob, carol, dave] = server.users(["alice", "bob", "carol", "dave"]).await;
    let g = server.guild(&[&alice]).await.id;
    let bans = format!("/guilds/{g}/bans");
    let mut banned = [bob.user.id, carol.user.id, dave.user.id];
    banned.sort();
    for user in banned {
        alice
            .no_content(Method::PUT, &format!("{bans}/{user}"), None)
            .await;
    }
    let page = |query: String| {
        let path = format!("{bans}?{query}");
        let alice = &alice;
        async move {
            let listed: Vec<Ban> = alice.ok(Method::GET, &path, None).await;
            listed
                .into_iter()
                .map(|b| b.user.id)
                .collect::<Vec<UserId>>()
        }
    };
    assert_eq!(page("limit=2".into()).await, banned[..2]);
    assert_eq!(
        page(format!("after={}&limit=2", banned[1])).await,
        banned[2..]
    );
    assert_eq!(
        page(format!("after={}", banned[2])).await,
        Vec::<UserId>::new()
    );
    for bad in ["limit=0", "limit=1001"] {
        let path = format!("{bans}?{bad}");
        alice.refused(Method::GET, &path, None, (400, 50035)).await;
    }
}
