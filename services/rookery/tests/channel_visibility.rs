//! A member who gains or loses sight of a channel through a permission
//! change is told, as in Discord: CHANNEL_DELETE when an overwrite or a
//! lost role hides it, CHANNEL_CREATE when a role shows it; members whose
//! sight did not change are told nothing, and a hidden channel's messages
//! stop.

use reqwest::Method;
use rookery_client::Gateway;
use rookery_proto::ChannelId;
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
async fn names_until_message(
    g: &mut Gateway,
    author: &TestUser,
    channel: ChannelId,
) -> Vec<String> {
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
        .no_content(Method::PUT, &overwrite(g.everyone().raw()), Some(hide))
        .await;
    for gw in [&mut bob_gw, &mut carol_gw] {
        assert_eq!(channel_event(gw, "CHANNEL_DELETE").await.id, secret);
    }

    // A role that may see it: nobody holds it yet, so nobody is told.
    let insiders = alice.create_role(g, json!({"name": "insiders"})).await;
    let allow = json!({"type": 0, "allow": bits(Permissions::VIEW_CHANNEL)});
    alice
        .no_content(Method::PUT, &overwrite(insiders.id.raw()), Some(allow))
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

#[tokio::test]
async fn a_deleted_channel_is_gone_for_its_viewers_and_hidden_from_others() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let (g, general) = (guild.id, guild.channels[0].id);
    let doomed = alice.api.create_channel(g, "doomed").await.unwrap().id;
    // Carol cannot see it: she must not learn it existed, even now.
    let hide = json!({"type": 1, "deny": bits(Permissions::VIEW_CHANNEL)});
    let carol_overwrite = format!("/channels/{doomed}/permissions/{}", carol.user.id);
    alice
        .no_content(Method::PUT, &carol_overwrite, Some(hide))
        .await;
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let mut carol_gw = server.gateway(&carol, Encoding::MsgPack).await;
    alice
        .api
        .post_message(doomed, "before", None)
        .await
        .unwrap();

    let path = format!("/channels/{doomed}");
    bob.refused(Method::DELETE, &path, None, (403, 50013)).await;
    carol
        .refused(Method::DELETE, &path, None, (403, 50001))
        .await;
    let gone: Channel = alice.ok(Method::DELETE, &path, None).await;
    assert_eq!((gone.id, gone.name.as_str()), (doomed, "doomed"));
    assert_eq!(
        channel_event(&mut bob_gw, "CHANNEL_DELETE").await.id,
        doomed
    );
    let names = names_until_message(&mut carol_gw, &alice, general).await;
    assert!(!names.contains(&"CHANNEL_DELETE".to_owned()), "{names:?}");

    // Nothing of it can be read or written any more.
    let messages = format!("/channels/{doomed}/messages");
    bob.refused(Method::GET, &messages, None, (404, 10003))
        .await;
    let body = Some(json!({"content": "anyone?"}));
    alice
        .refused(Method::POST, &messages, body, (404, 10003))
        .await;
    alice
        .refused(Method::DELETE, &path, None, (404, 10003))
        .await;
    let ready = Gateway::connect(&server.ws(), Encoding::Json).await;
    let ready = ready.unwrap().identify(&bob.token).await.unwrap();
    let channels: Vec<ChannelId> = ready.guilds[0].channels.iter().map(|c| c.id).collect();
    assert_eq!(channels, vec![general]);
    // The audit log records it (Discord's CHANNEL_DELETE, 12).
    let log: serde_json::Value = alice
        .ok(
            Method::GET,
            &format!("/guilds/{g}/audit-logs?action_type=12"),
            None,
        )
        .await;
    let entry = &log["audit_log_entries"][0];
    assert_eq!(entry["target_id"], json!(doomed.to_string()));
    assert_eq!(entry["user_id"], json!(alice.user.id.to_string()));
    server.stop().await;
}

/// Discord's `PATCH /guilds/{id}/channels`: MANAGE_CHANNELS reorders the
/// guild's channels, each moved one told once as CHANNEL_UPDATE, one left
/// where it was told nothing; bad moves change nothing.
#[tokio::test]
async fn managers_reorder_channels_and_members_see_each_move_once() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let general = guild.channels[0].clone();
    let random = alice.api.create_channel(guild.id, "random").await.unwrap();
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let path = format!("/guilds/{}/channels", guild.id);
    let order = async |u: &TestUser| {
        let channels: Vec<Channel> = u.ok(Method::GET, &path, None).await;
        channels.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    assert_eq!(order(&bob).await, [general.id, random.id]);

    // random stays where it is; general goes after it.
    let moves = json!([
        {"id": random.id, "position": random.position, "lock_permissions": false, "parent_id": null},
        {"id": general.id, "position": random.position + 1},
    ]);
    bob.refused(Method::PATCH, &path, Some(moves.clone()), (403, 50013))
        .await;
    for bad in [
        json!([{"id": general.id, "position": 1}, {"id": general.id, "position": 2}]),
        json!([{"id": 42, "position": 1}]),
        json!([{"id": general.id, "position": 1, "parent_id": random.id}]),
    ] {
        alice
            .refused(Method::PATCH, &path, Some(bad.clone()), (400, 50035))
            .await;
    }
    let negative = json!([{"id": general.id, "position": -1}]);
    let (status, _) = alice.call(Method::PATCH, &path, Some(negative)).await;
    assert_eq!(status.as_u16(), 400);
    alice.no_content(Method::PATCH, &path, Some(moves)).await;
    let moved = channel_event(&mut bob_gw, "CHANNEL_UPDATE").await;
    assert_eq!(
        (moved.id, moved.position),
        (general.id, random.position + 1)
    );
    assert_eq!(order(&bob).await, [random.id, general.id]);
    // random did not move: nothing else was sent before this message.
    let names = names_until_message(&mut bob_gw, &alice, general.id).await;
    assert!(!names.iter().any(|n| n == "CHANNEL_UPDATE"), "{names:?}");
    server.stop().await;
}
