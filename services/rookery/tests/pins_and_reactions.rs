//! Pins and reactions end to end, over real HTTP and WebSocket clients:
//! who may pin and react (Discord's rules), the events the channel's
//! sessions receive (once per change), listing, and that both go with a
//! deleted message.

use reqwest::Method;
use rookery_client::Gateway;
use rookery_proto::Id;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::op;
use rookery_proto::model::{Message, User};
use rookery_proto::permissions::Permissions;
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// The next dispatch whose name starts with `prefix`: name and payload.
async fn next(g: &mut Gateway, prefix: &str) -> (String, Value) {
    let f = g
        .next_matching(prefix, T, |f| {
            f.header.op == op::DISPATCH && f.t().is_some_and(|t| t.starts_with(prefix))
        })
        .await
        .unwrap();
    (f.t().unwrap().to_owned(), f.d().unwrap())
}

async fn reactors_of(u: &TestUser, base: &str, query: &str) -> Vec<Id> {
    let (_, users) = u
        .call(Method::GET, &format!("{base}/👍{query}"), None)
        .await;
    let users: Vec<User> = serde_json::from_value(users).unwrap();
    users.into_iter().map(|u| u.id).collect()
}

async fn pinned(u: &TestUser, channel: Id) -> Vec<Id> {
    let (_, pins) = u
        .call(Method::GET, &format!("/channels/{channel}/pins"), None)
        .await;
    let pins: Vec<Message> = serde_json::from_value(pins).unwrap();
    assert!(pins.iter().all(|m| m.pinned));
    pins.into_iter().map(|m| m.id).collect()
}

#[tokio::test]
async fn moderators_pin_and_everyone_sees_the_pins() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    let mut bob_gw = server.gateway(&bob, Encoding::MsgPack).await;
    let mut ids = Vec::new();
    for text in ["first", "second"] {
        ids.push(
            alice
                .api
                .post_message(channel, text, None)
                .await
                .unwrap()
                .id,
        );
    }
    let pin = |m: Id| format!("/channels/{channel}/pins/{m}");

    bob.refused(Method::PUT, &pin(ids[0]), None, (403, 50013))
        .await;
    alice.no_content(Method::PUT, &pin(ids[0]), None).await;
    let (_, update) = next(&mut bob_gw, "CHANNEL_PINS_UPDATE").await;
    assert_eq!(update["message_id"], json!(ids[0].0));
    assert_eq!(update["pinned"], json!(true));
    assert!(update["last_pin_timestamp"].is_string(), "{update}");
    alice.no_content(Method::PUT, &pin(ids[1]), None).await;
    alice.no_content(Method::PUT, &pin(ids[1]), None).await;
    assert_eq!(pinned(&bob, channel).await, vec![ids[1], ids[0]]);
    let message = format!("/channels/{channel}/messages/{}", ids[0]);
    assert_eq!(
        bob.call(Method::GET, &message, None).await.1["pinned"],
        json!(true)
    );

    // A second pin of the same message is no change: the next update is the unpin.
    alice.no_content(Method::DELETE, &pin(ids[0]), None).await;
    let (_, second) = next(&mut bob_gw, "CHANNEL_PINS_UPDATE").await;
    assert_eq!(second["message_id"], json!(ids[1].0));
    let (_, unpin) = next(&mut bob_gw, "CHANNEL_PINS_UPDATE").await;
    assert_eq!(
        (&unpin["message_id"], &unpin["pinned"]),
        (&json!(ids[0].0), &json!(false))
    );
    assert_eq!(pinned(&bob, channel).await, vec![ids[1]]);

    alice
        .refused(Method::PUT, &pin(Id(5)), None, (404, 10008))
        .await;
    alice
        .no_content(
            Method::DELETE,
            &format!("/channels/{channel}/messages/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(pinned(&bob, channel).await, Vec::<Id>::new());
    server.stop().await;
}

#[tokio::test]
async fn reactions_need_add_reactions_for_a_new_emoji_and_are_told_once() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let (g, channel) = (guild.id, guild.channels[0].id);
    // @everyone loses ADD_REACTIONS: only the owner can start a reaction.
    let everyone = Permissions::DEFAULT_EVERYONE.0 & !Permissions::ADD_REACTIONS.0;
    alice.set_everyone(g, Permissions(everyone)).await;
    let mut carol_gw = server.gateway(&carol, Encoding::Json).await;
    let m = alice
        .api
        .post_message(channel, "react to me", None)
        .await
        .unwrap()
        .id;
    let base = format!("/channels/{channel}/messages/{m}/reactions");
    let mine = |emoji: &str| format!("{base}/{emoji}/@me");

    bob.refused(Method::PUT, &mine("👍"), None, (403, 50013))
        .await;
    alice.no_content(Method::PUT, &mine("👍"), None).await;
    bob.no_content(Method::PUT, &mine("👍"), None).await;
    bob.no_content(Method::PUT, &mine("👍"), None).await;
    bob.refused(Method::PUT, &mine("👍🏽"), None, (403, 50013))
        .await;
    let mut reactors = vec![alice.user.id, bob.user.id];
    reactors.sort();
    assert_eq!(reactors_of(&carol, &base, "").await, reactors);
    assert_eq!(
        reactors_of(&carol, &base, &format!("?after={}&limit=1", reactors[0])).await,
        vec![reactors[1]]
    );
    carol
        .refused(
            Method::GET,
            &format!("{base}/👍?limit=0"),
            None,
            (400, 50035),
        )
        .await;

    // Removing: one's own, or anyone's with MANAGE_MESSAGES.
    let theirs = format!("{base}/👍/{}", alice.user.id);
    bob.refused(Method::DELETE, &theirs, None, (403, 50013))
        .await;
    bob.no_content(Method::DELETE, &mine("👍"), None).await;
    bob.no_content(Method::DELETE, &mine("👍"), None).await;
    alice.no_content(Method::DELETE, &theirs, None).await;
    assert_eq!(reactors_of(&carol, &base, "").await, Vec::<Id>::new());

    // Each change was told once, in order.
    let mut told = Vec::new();
    for _ in 0..4 {
        let (t, d) = next(&mut carol_gw, "MESSAGE_REACTION").await;
        assert_eq!(d["emoji"], json!({"id": null, "name": "👍"}));
        assert_eq!(d["message_id"], json!(m.to_string()));
        told.push((t, d["user_id"].as_str().unwrap().parse::<u64>().unwrap()));
    }
    let (a, b) = (alice.user.id.0, bob.user.id.0);
    let expected = [("ADD", a), ("ADD", b), ("REMOVE", b), ("REMOVE", a)]
        .map(|(t, u)| (format!("MESSAGE_REACTION_{t}"), u));
    assert_eq!(told, expected);

    // Refusals: not an emoji, no such message; reactions go with their message.
    alice
        .refused(Method::PUT, &mine("abc"), None, (400, 10014))
        .await;
    let unknown = format!("/channels/{channel}/messages/5/reactions/👍/@me");
    alice
        .refused(Method::PUT, &unknown, None, (404, 10008))
        .await;
    alice.no_content(Method::PUT, &mine("🎉"), None).await;
    alice
        .no_content(
            Method::DELETE,
            &format!("/channels/{channel}/messages/{m}"),
            None,
        )
        .await;
    carol
        .refused(Method::GET, &format!("{base}/🎉"), None, (404, 10008))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_channel_holds_at_most_fifty_pins() {
    // Unlimited REST budget: the test makes a hundred calls at once.
    let server = TestServer::start_with(|c| c.rest_requests_per_second = 0).await;
    let alice = server.user("alice").await;
    let channel = server.guild(&[&alice]).await.channels[0].id;
    let mut ids = Vec::new();
    for i in 0..51 {
        let text = format!("m{i}");
        ids.push(
            alice
                .api
                .post_message(channel, &text, None)
                .await
                .unwrap()
                .id,
        );
    }
    let pin = |m: Id| format!("/channels/{channel}/pins/{m}");
    for &m in &ids[..50] {
        alice.no_content(Method::PUT, &pin(m), None).await;
    }
    alice
        .refused(Method::PUT, &pin(ids[50]), None, (400, 30003))
        .await;
    alice.no_content(Method::DELETE, &pin(ids[0]), None).await;
    alice.no_content(Method::PUT, &pin(ids[50]), None).await;
    assert_eq!(pinned(&alice, channel).await.len(), 50);
    server.stop().await;
}
