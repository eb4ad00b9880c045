//! Invites end to end over real HTTP (issue 17): Discord's channel
//! invites with their age and use limits honoured, the lists and deletion
//! for those who manage invites, what is refused, and the audit log.

use reqwest::Method;
use rookery_proto::model::audit_action;
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::time::Duration;

/// The codes of an invite list.
async fn listed(u: &TestUser, path: &str) -> Vec<(String, u64)> {
    let list: Vec<Value> = u.ok(Method::GET, path, None).await;
    let mut codes: Vec<_> = list
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap().to_owned(),
                i["uses"].as_u64().unwrap(),
            )
        })
        .collect();
    codes.sort();
    codes
}

fn sorted(mut v: Vec<(String, u64)>) -> Vec<(String, u64)> {
    v.sort();
    v
}

#[tokio::test]
async fn channel_invites_keep_their_limits_and_managers_list_and_delete_them() {
    let server = TestServer::start().await;
    let [owner, bob, carol, dave] = server.users(["owner", "bob", "carol", "dave"]).await;
    // Not `server.guild`: it makes an invite of its own.
    let guild = owner.api.create_guild("invited").await.unwrap();
    let (g, channel) = (guild.id, guild.channels[0].id);
    let made: Value = owner
        .ok(
            Method::POST,
            &format!("/channels/{channel}/invites"),
            Some(json!({"max_age": 3600, "max_uses": 2, "temporary": false, "unique": true})),
        )
        .await;
    let code = made["code"].as_str().unwrap().to_owned();
    assert_eq!(made["channel"]["id"], json!(channel.to_string()));
    assert_eq!(made["inviter"]["id"], json!(owner.user.id.to_string()));
    assert_eq!(
        (made["max_uses"].clone(), made["uses"].clone()),
        (json!(2), json!(0))
    );
    assert!(made["expires_at"].is_string(), "{made}");
    let guild_code = owner.api.create_invite(g).await.unwrap();

    bob.api.accept_invite(&code).await.unwrap();
    let guild_list = format!("/guilds/{g}/invites");
    let channel_list = format!("/channels/{channel}/invites");
    let expected = sorted(vec![(code.clone(), 1), (guild_code.clone(), 0)]);
    assert_eq!(listed(&owner, &guild_list).await, expected);
    assert_eq!(listed(&owner, &channel_list).await, vec![(code.clone(), 1)]);
    // A member without MANAGE_GUILD or MANAGE_CHANNELS sees neither list,
    // and deletes nothing.
    bob.refused(Method::GET, &guild_list, None, (403, 50013))
        .await;
    bob.refused(Method::GET, &channel_list, None, (403, 50013))
        .await;
    let delete = |c: &str| format!("/invites/{c}");
    bob.refused(Method::DELETE, &delete(&code), None, (403, 50013))
        .await;

    // The second use is the last: the invite is then unknown to everyone.
    carol.api.accept_invite(&code).await.unwrap();
    let preview = format!("/invites/{code}");
    dave.refused(Method::POST, &preview, None, (404, 10006))
        .await;
    dave.refused(Method::GET, &preview, None, (404, 10006))
        .await;
    assert_eq!(
        listed(&owner, &guild_list).await,
        vec![(guild_code.clone(), 0)]
    );

    let gone: Value = owner.ok(Method::DELETE, &delete(&guild_code), None).await;
    assert_eq!(gone["code"], json!(guild_code));
    owner
        .refused(Method::DELETE, &delete(&guild_code), None, (404, 10006))
        .await;
    let joined_by_deleted = format!("/invites/{guild_code}");
    dave.refused(Method::POST, &joined_by_deleted, None, (404, 10006))
        .await;
    assert!(listed(&owner, &guild_list).await.is_empty());

    let log: Value = owner
        .ok(Method::GET, &format!("/guilds/{g}/audit-logs"), None)
        .await;
    let actions: Vec<u64> = log["audit_log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_type"].as_u64().unwrap())
        .collect();
    let count = |a: u8| actions.iter().filter(|&&x| x == u64::from(a)).count();
    assert_eq!(count(audit_action::INVITE_CREATE), 2, "{log}");
    assert_eq!(count(audit_action::INVITE_DELETE), 1, "{log}");
    server.stop().await;
}

#[tokio::test]
async fn an_invite_past_its_age_lets_nobody_in() {
    let server = TestServer::start().await;
    let [owner, late] = server.users(["owner", "late"]).await;
    let guild = server.guild(&[&owner]).await;
    let channel = guild.channels[0].id;
    let made: Value = owner
        .ok(
            Method::POST,
            &format!("/channels/{channel}/invites"),
            Some(json!({"max_age": 2})),
        )
        .await;
    let path = format!("/invites/{}", made["code"].as_str().unwrap());
    // Within its two seconds (the answer above came after it was made).
    let _: Value = late.ok(Method::GET, &path, None).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    late.refused(Method::GET, &path, None, (404, 10006)).await;
    late.refused(Method::POST, &path, None, (404, 10006)).await;
    server.stop().await;
}

#[tokio::test]
async fn invite_bodies_outside_discords_limits_or_rookerys_features_are_refused() {
    let server = TestServer::start().await;
    let owner = server.user("owner").await;
    let guild = server.guild(&[&owner]).await;
    let path = format!("/channels/{}/invites", guild.channels[0].id);
    for body in [
        json!({"max_age": 604_801}),
        json!({"max_uses": 101}),
        json!({"temporary": true}),
        json!({"target_type": 1}),
        json!({"flags": 1}),
        json!({"max_age": -1}),
        json!({"no_such_field": 1}),
    ] {
        let (status, answer) = owner.call(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(status.as_u16(), 400, "{body}: {answer}");
    }
    // Absent fields are Discord's defaults: 24 hours, unlimited.
    let made: Value = owner.ok(Method::POST, &path, Some(json!({}))).await;
    assert_eq!(
        (made["max_age"].clone(), made["max_uses"].clone()),
        (json!(86_400), json!(0))
    );
    server.stop().await;
}
