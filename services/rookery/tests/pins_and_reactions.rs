//! Pins and reactions end to end, over real HTTP and WebSocket clients:
//! who may pin and react (Discord's rules), the events the channel's
//! sessions receive (once per change), listing, and that both go with a
//! deleted message.

use reqwest::Method;
use rookery_client::Gateway;
use rookery_proto::UserId;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::op;
use rookery_proto::model::{Message, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::{ChannelId, MessageId};
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

async fn reactors_of(u: &TestUser, base: &str, query: &str) -> Vec<UserId> {
    let (_, users) = u
        .call(Method::GET, &format!("{base}/👍{query}"), None)
        .await;
    let users: Vec<User> = serde_json::from_value(users).unwrap();
    users.into_iter().map(|u| u.id).collect()
}

/// Posts each text in turn: the messages' ids.
async fn post_all<const N: usize>(
    u: &TestUser,
    channel: ChannelId,
    texts: [impl AsRef<str>; N],
) -> [MessageId; N] {
    let mut ids = [MessageId(0); N];
    for (id, text) in ids.iter_mut().zip(texts) {
        let posted = u.api.post_message(channel, text.as_ref(), None).await;
        *id = posted.unwrap().id;
    }
    ids
}

async fn pinned(u: &TestUser, channel: ChannelId) -> Vec<MessageId> {
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
    let ids = post_all(&alice, channel, ["first", "second"]).await;
    let pin = |m: MessageId| format!("/channels/{channel}/pins/{m}");

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
        .refused(Method::PUT, &pin(MessageId(5)), None, (404, 10008))
        .await;
    alice
        .no_content(
            Method::DELETE,
            &format!("/channels/{channel}/messages/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(pinned(&bob, channel).await, Vec::<MessageId>::new());
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
    assert_eq!(reactors_of(&carol, &base, "").await, Vec::<UserId>::new());

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
    let server = TestServer::start_with(|c| {
        c.rest_requests_per_second = 0;
        c.channel_messages_per_5s = 0;
    })
    .await;
    let alice = server.user("alice").await;
    let channel = server.guild(&[&alice]).await.channels[0].id;
    let ids: [MessageId; 51] =
        post_all(&alice, channel, std::array::from_fn(|i| format!("m{i}"))).await;
    let pin = |m: MessageId| format!("/channels/{channel}/pins/{m}");
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

/// A message's id and its reactions' `(emoji, count, me)`.
type Counted = (String, Vec<(String, u64, bool)>);

/// [`Counted`] of each message in `messages`, in their order.
fn counts_of(messages: &Value) -> Vec<Counted> {
    let of = |m: &Value| {
        let reactions = m.get("reactions").map(|r| r.as_array().unwrap().clone());
        let counted = reactions.unwrap_or_default().into_iter().map(|r| {
            let name = r["emoji"]["name"].as_str().unwrap().to_owned();
            (
                name,
                r["count"].as_u64().unwrap(),
                r["me"].as_bool().unwrap(),
            )
        });
        (m["id"].as_str().unwrap().to_owned(), counted.collect())
    };
    messages.as_array().unwrap().iter().map(of).collect()
}

fn counted(id: MessageId, reactions: &[(&str, u64, bool)]) -> (String, Vec<(String, u64, bool)>) {
    let r = reactions.iter().map(|&(e, n, me)| (e.to_owned(), n, me));
    (id.to_string(), r.collect())
}

#[tokio::test]
async fn messages_carry_reaction_counts_with_the_readers_own() {
    // Unlimited REST budget: the test reacts twenty times in a row.
    let server = TestServer::start_with(|c| c.rest_requests_per_second = 0).await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let channel = server.guild(&[&alice, &bob, &carol]).await.channels[0].id;
    let mut carol_gw = server.gateway(&carol, Encoding::Json).await;
    let [m1, m2, m3] = post_all(&alice, channel, ["one", "two", "three"]).await;
    let react = |m: MessageId, emoji: &str| {
        format!("/channels/{channel}/messages/{m}/reactions/{emoji}/@me")
    };
    alice.no_content(Method::PUT, &react(m1, "👍"), None).await;
    bob.no_content(Method::PUT, &react(m1, "👍"), None).await;
    bob.no_content(Method::PUT, &react(m1, "🎉"), None).await;
    bob.no_content(Method::PUT, &react(m1, "🎉"), None).await;
    carol.no_content(Method::PUT, &react(m3, "🎉"), None).await;

    let history = format!("/channels/{channel}/messages?limit=10");
    let page = async |u: &TestUser| counts_of(&u.call(Method::GET, &history, None).await.1);
    assert_eq!(
        page(&bob).await,
        [
            counted(m3, &[("🎉", 1, false)]),
            counted(m2, &[]),
            counted(m1, &[("🎉", 1, true), ("👍", 2, true)]),
        ]
    );
    assert_eq!(
        page(&carol).await,
        [
            counted(m3, &[("🎉", 1, true)]),
            counted(m2, &[]),
            counted(m1, &[("🎉", 1, false), ("👍", 2, false)]),
        ]
    );
    // Discord's whole reaction object, and no `reactions` without any.
    let (_, one) = alice
        .call(
            Method::GET,
            &format!("/channels/{channel}/messages/{m1}"),
            None,
        )
        .await;
    assert_eq!(
        one["reactions"][1],
        json!({"count": 2, "count_details": {"burst": 0, "normal": 2}, "me": true,
               "me_burst": false, "emoji": {"id": null, "name": "👍"}, "burst_colors": []})
    );
    let (_, two) = alice
        .call(
            Method::GET,
            &format!("/channels/{channel}/messages/{m2}"),
            None,
        )
        .await;
    assert!(two.get("reactions").is_none(), "{two}");

    // A removal counts down; pins and an edit's answer carry the counts,
    // the MESSAGE_UPDATE event none.
    bob.no_content(Method::DELETE, &react(m1, "👍"), None).await;
    alice
        .no_content(Method::PUT, &format!("/channels/{channel}/pins/{m1}"), None)
        .await;
    let (_, pins) = bob
        .call(Method::GET, &format!("/channels/{channel}/pins"), None)
        .await;
    let expected = counted(m1, &[("🎉", 1, true), ("👍", 1, false)]);
    assert_eq!(counts_of(&pins), [expected]);
    let edit = json!({"content": "one, edited"});
    let (_, edited) = alice
        .call(
            Method::PATCH,
            &format!("/channels/{channel}/messages/{m1}"),
            Some(edit),
        )
        .await;
    let answer = counts_of(&json!([edited]));
    assert_eq!(answer, [counted(m1, &[("🎉", 1, false), ("👍", 1, true)])]);
    let (_, update) = next(&mut carol_gw, "MESSAGE_UPDATE").await;
    assert_eq!(update["content"], json!("one, edited"));
    assert!(update.get("reactions").is_none(), "{update}");

    // At most twenty distinct emoji; more of one already there is fine.
    let emoji = "😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗🤩".chars();
    let emoji: Vec<String> = emoji.map(String::from).collect();
    for e in &emoji[..20] {
        alice.no_content(Method::PUT, &react(m2, e), None).await;
    }
    alice
        .refused(Method::PUT, &react(m2, &emoji[20]), None, (400, 30010))
        .await;
    bob.no_content(Method::PUT, &react(m2, &emoji[0]), None)
        .await;
    let (_, two) = bob
        .call(
            Method::GET,
            &format!("/channels/{channel}/messages/{m2}"),
            None,
        )
        .await;
    let [(_, two)] = &counts_of(&json!([two]))[..] else {
        panic!("one message");
    };
    assert_eq!(two.len(), 20);
    let firsts: Vec<_> = two.iter().filter(|(_, n, _)| *n == 2).collect();
    assert_eq!(firsts, [&(emoji[0].clone(), 2, true)]);
    server.stop().await;
}

/// The counts on a message as a member reads it.
async fn counts(u: &TestUser, channel: ChannelId, message: MessageId) -> Vec<(String, u64)> {
    let path = format!("/channels/{channel}/messages/{message}");
    let m: Value = u.ok(Method::GET, &path, None).await;
    let reactions = m["reactions"].as_array().cloned().unwrap_or_default();
    let pairs = reactions.iter().map(|r| {
        let name = r["emoji"]["name"].as_str().unwrap().to_owned();
        (name, r["count"].as_u64().unwrap())
    });
    pairs.collect()
}

#[tokio::test]
async fn moderators_clear_one_emoji_or_every_reaction_and_members_are_told() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    let [id] = post_all(&alice, channel, ["react to me"]).await;
    let base = format!("/channels/{channel}/messages/{id}/reactions");
    for (who, emoji) in [(&alice, "👍"), (&bob, "👍"), (&bob, "🎉")] {
        who.no_content(Method::PUT, &format!("{base}/{emoji}/@me"), None)
            .await;
    }
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;

    // Clearing needs MANAGE_MESSAGES, even one's own emoji.
    bob.refused(Method::DELETE, &base, None, (403, 50013)).await;
    bob.refused(Method::DELETE, &format!("{base}/🎉"), None, (403, 50013))
        .await;
    alice
        .refused(Method::DELETE, &format!("{base}/nope"), None, (400, 10014))
        .await;

    alice
        .no_content(Method::DELETE, &format!("{base}/👍"), None)
        .await;
    let (t, d) = next(&mut bob_gw, "MESSAGE_REACTION_REMOVE").await;
    assert_eq!(t, "MESSAGE_REACTION_REMOVE_EMOJI");
    assert_eq!(d["emoji"]["name"], json!("👍"));
    assert_eq!(d["message_id"], json!(id.to_string()));
    assert_eq!(counts(&bob, channel, id).await, [("🎉".to_owned(), 1)]);
    assert!(reactors_of(&bob, &base, "").await.is_empty());

    alice.no_content(Method::DELETE, &base, None).await;
    let (t, d) = next(&mut bob_gw, "MESSAGE_REACTION_REMOVE").await;
    assert_eq!(t, "MESSAGE_REACTION_REMOVE_ALL");
    assert!(d.get("emoji").is_none(), "{d}");
    assert!(counts(&bob, channel, id).await.is_empty());

    // Nothing left to clear publishes nothing: the next event bob hears
    // is the message after.
    alice.no_content(Method::DELETE, &base, None).await;
    alice
        .no_content(Method::DELETE, &format!("{base}/👍"), None)
        .await;
    post_all(&alice, channel, ["after"]).await;
    let (t, _) = next(&mut bob_gw, "MESSAGE_").await;
    assert_eq!(t, "MESSAGE_CREATE");
    bob.no_content(Method::PUT, &format!("{base}/👍/@me"), None)
        .await;
    assert_eq!(counts(&bob, channel, id).await, [("👍".to_owned(), 1)]);
    server.stop().await;
}
