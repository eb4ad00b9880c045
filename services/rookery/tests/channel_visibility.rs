//! A member who gains or loses sight of a channel through a permission
//! change is told, as in Discord: CHANNEL_DELETE when an overwrite or a
//! lost role hides it, CHANNEL_CREATE when a role shows it; members whose
//! sight did not change are told nothing, and a hidden channel's messages
//! stop.

use reqwest::Method;
use rookery_client::Gateway;
use rookery_proto::Id;
use rookery_proto::codec::Encoding;
use rookery_proto::model::{Channel, Message};
use rookery_proto::permissions::Permissions;
use rookery_testkit::{TestServer, TestUser, bits};
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

async fn channel_event(g: &mut Gateway, t: &str) -> Channel {
    g.dispatch(t, T).await.unwrap().d().unwrap()
}

/// Posts `content` in `channel` as `author` and waits for `g` to receive
/// it; returns every dispatch name `g` got before it, in order.
async fn names_until_message(g: &mut Gateway, author: &TestUser, channel: Id) -> Vec<String> {
    let posted = author
        .api
        .post_message(channel, "marker", None)
        .await
        .unwrap();
    let mut names = Vec::new();
    loop {
        let f = tokio::time::timeout(T, g.next()).await.unwrap().unwrap();
        if f.t() == Some("MESSAGE_CREATE") && f.d::<Message>().unwrap().id == posted.id {
            return names;
        }
        names.extend(f.t().map(str::to_owned));
    }
}

#[tokio::test]
async fn members_are_told_when_they_gain_or_lose_sight_of_a_channel() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let (g, general) = (guild.id, guild.channels[0].id);
    let secret = alice.api.create_channel(g, "secret").await.unwrap().id;
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let mut carol_gw = server.gateway(&carol, Encoding::MsgPack).await;
    let overwrite = |target: Id| format!("/channels/{secret}/permissions/{target}");

    // @everyone loses sight of the channel: both are told, once.
    let hide = json!({"type": 0, "deny": bits(Permissions::VIEW_CHANNEL)});
    alice
        .no_content(Method::PUT, &overwrite(g), Some(hide))
        .await;
    for gw in [&mut bob_gw, &mut carol_gw] {
        assert_eq!(channel_event(gw, "CHANNEL_DELETE").await.id, secret);
    }

    // A role that may see it: nobody holds it yet, so nobody is told.
    let insiders = alice.create_role(g, json!({"name": "insiders"})).await;
    let allow = json!({"type": 0, "allow": bits(Permissions::VIEW_CHANNEL)});
    alice
        .no_content(Method::PUT, &overwrite(insiders.id), Some(allow))
        .await;
    let member_role = format!("/guilds/{g}/members/{}/roles/{}", bob.user.id, insiders.id);
    alice.no_content(Method::PUT, &member_role, None).await;
    let shown = channel_event(&mut bob_gw, "CHANNEL_CREATE").await;
    assert_eq!((shown.id, shown.permission_overwrites.len()), (secret, 2));
    // Bob reads it again; Carol, who never regained sight, got nothing of
    // it (neither the channel nor its messages).
    let inside = alice
        .api
        .post_message(secret, "inside", None)
        .await
        .unwrap();
    let m: Message = bob_gw
        .dispatch("MESSAGE_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(m.id, inside.id);
    let carol_saw = names_until_message(&mut carol_gw, &alice, general).await;
    assert!(
        !carol_saw
            .iter()
            .any(|t| t == "CHANNEL_CREATE" || t == "MESSAGE_CREATE"),
        "{carol_saw:?}"
    );

    // Bob loses the role, and with it the channel.
    alice.no_content(Method::DELETE, &member_role, None).await;
    assert_eq!(
        channel_event(&mut bob_gw, "CHANNEL_DELETE").await.id,
        secret
    );
    let bob_saw = names_until_message(&mut bob_gw, &alice, general).await;
    assert!(
        !bob_saw.iter().any(|t| t == "CHANNEL_CREATE"),
        "{bob_saw:?}"
    );
    server.stop().await;
}
