//! DMs and group DMs end to end, over real HTTP and WebSocket clients on
//! the embedded default: opening one (once per pair for a DM), Discord's
//! shapes (no `guild_id`, the other recipients listed), messages, typing,
//! reactions, pins and read states on the guild path but for recipients
//! only, READY's `private_channels`, group recipients added and removed,
//! and the refusals.

use reqwest::Method;
use rookery_client::Gateway;
use rookery_proto::codec::Encoding;
use rookery_proto::event::RecipientChange;
use rookery_proto::model::{CHANNEL_DM, CHANNEL_GROUP_DM, Channel, Message};
use rookery_proto::{ChannelId, GuildId, UserId};
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

async fn open(user: &TestUser, body: Value) -> Channel {
    user.ok(Method::POST, "/users/@me/channels", Some(body))
        .await
}

/// The next dispatch named `t`, as raw JSON (to see which keys it has).
async fn raw(g: &mut Gateway, t: &str) -> Value {
    g.dispatch(t, T).await.unwrap().d().unwrap()
}

fn others(c: &Channel) -> Vec<UserId> {
    let mut ids: Vec<UserId> = c.recipients.iter().map(|u| u.id).collect();
    ids.sort();
    ids
}

fn sorted<const N: usize>(ids: [UserId; N]) -> Vec<UserId> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_dm_opens_once_and_only_its_recipients_take_part() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    // Carol shares a guild with both, so a leak would reach her.
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let mut carol_gw = server.gateway(&carol, Encoding::MsgPack).await;

    let (status, body) = alice
        .call(
            Method::POST,
            "/users/@me/channels",
            Some(json!({"recipient_id": bob.user.id})),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert!(body.get("guild_id").is_none(), "{body}");
    let dm: Channel = serde_json::from_value(body).unwrap();
    assert_eq!((dm.kind, others(&dm)), (CHANNEL_DM, vec![bob.user.id]));
    // Bob is told, and shown Alice.
    let created = raw(&mut bob_gw, "CHANNEL_CREATE").await;
    assert!(created.get("guild_id").is_none(), "{created}");
    let created: Channel = serde_json::from_value(created).unwrap();
    assert_eq!((created.id, others(&created)), (dm.id, vec![alice.user.id]));
    // Once per pair, from either side.
    let again = open(&alice, json!({"recipient_id": bob.user.id})).await;
    let back = open(&bob, json!({"recipient_id": alice.user.id})).await;
    assert_eq!((again.id, back.id), (dm.id, dm.id));

    let path = format!("/channels/{}/messages", dm.id);
    let body = json!({"content": format!("hi <@{}> and <@{}>", bob.user.id, carol.user.id)});
    let sent: Message = alice.ok(Method::POST, &path, Some(body)).await;
    let live = raw(&mut bob_gw, "MESSAGE_CREATE").await;
    assert!(live.get("guild_id").is_none(), "{live}");
    let live: Message = serde_json::from_value(live).unwrap();
    // Only recipients can be mentioned in a DM.
    let mentioned: Vec<UserId> = live.mentions.iter().map(|u| u.id).collect();
    assert_eq!((live.id, mentioned), (sent.id, vec![bob.user.id]));

    let typing = format!("/channels/{}/typing", dm.id);
    bob.no_content(Method::POST, &typing, None).await;
    let react = format!(
        "/channels/{}/messages/{}/reactions/%F0%9F%91%8D/@me",
        dm.id, sent.id
    );
    bob.no_content(Method::PUT, &react, None).await;
    // Any recipient may pin; only the author deletes.
    let pin = format!("/channels/{}/pins/{}", dm.id, sent.id);
    bob.no_content(Method::PUT, &pin, None).await;
    let one = format!("/channels/{}/messages/{}", dm.id, sent.id);
    bob.refused(Method::DELETE, &one, None, (403, 50013)).await;

    // Alice connects now: READY lists the DM, showing Bob.
    let mut alice_gw = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let ready = alice_gw.identify(&alice.token).await.unwrap();
    let listed: Vec<(ChannelId, Vec<UserId>)> = ready
        .private_channels
        .iter()
        .map(|c| (c.id, others(c)))
        .collect();
    assert_eq!(listed, vec![(dm.id, vec![bob.user.id])]);
    let guilds: Vec<GuildId> = ready.guilds.iter().map(|g| g.id).collect();
    assert_eq!(guilds, vec![guild.id]);
    bob.no_content(Method::POST, &typing, None).await;
    let t = raw(&mut alice_gw, "TYPING_START").await;
    assert_eq!(t["channel_id"], json!(dm.id.to_string()));
    assert!(t.get("guild_id").is_none(), "{t}");

    // Bob's READY: the mention is unread and counted.
    let mut bob_again = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let ready = bob_again.identify(&bob.token).await.unwrap();
    let state = ready
        .read_state
        .iter()
        .find(|r| r.id == dm.id)
        .expect("dm read state");
    assert_eq!((state.unread, state.mention_count), (true, 1));

    // Carol never saw any of it, and may not touch it.
    let marker = guild.channels[0].id;
    alice
        .api
        .post_message(marker, "marker", None)
        .await
        .unwrap();
    let first: Message = carol_gw
        .dispatch("MESSAGE_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(first.content, "marker");
    let of_dm = |f: &rookery_client::ServerFrame| {
        let d: Value = f.d().unwrap_or_default();
        // JSON carries ids as strings, MessagePack as integers.
        let is_dm = |v: &Value| *v == json!(dm.id.to_string()) || *v == json!(dm.id.0);
        is_dm(&d["channel_id"]) || is_dm(&d["id"])
    };
    let leak = carol_gw.next_matching("a dm event", Duration::from_millis(300), of_dm);
    assert!(leak.await.is_err(), "carol got an event of the dm");
    carol.refused(Method::GET, &path, None, (403, 50001)).await;
    let body = Some(json!({"content": "let me in"}));
    carol.refused(Method::POST, &path, body, (403, 50001)).await;
    carol
        .refused(Method::POST, &typing, None, (403, 50001))
        .await;
    // A DM is no guild.
    let guild_route = format!("/guilds/{}/channels", dm.id);
    let body = Some(json!({"name": "x"}));
    alice
        .refused(Method::POST, &guild_route, body, (404, 10004))
        .await;
    let recipients = format!("/channels/{}/recipients/{}", dm.id, carol.user.id);
    alice
        .refused(Method::PUT, &recipients, None, (403, 50003))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn opening_refuses_what_makes_no_channel() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let path = "/users/@me/channels";
    let me = json!({"recipient_id": alice.user.id});
    alice
        .refused(Method::POST, path, Some(me), (400, 50035))
        .await;
    let nobody = json!({"recipient_id": "4242"});
    alice
        .refused(Method::POST, path, Some(nobody), (404, 10013))
        .await;
    let both = json!({"recipient_id": bob.user.id, "recipients": [bob.user.id]});
    alice
        .refused(Method::POST, path, Some(both), (400, 50035))
        .await;
    let neither = json!({});
    alice
        .refused(Method::POST, path, Some(neither), (400, 50035))
        .await;
    let twice = json!({"recipients": [bob.user.id, bob.user.id]});
    alice
        .refused(Method::POST, path, Some(twice), (400, 50035))
        .await;
    let crowd: Vec<UserId> = (0..10).map(|_| bob.user.id).collect();
    let crowd = json!({"recipients": crowd});
    alice
        .refused(Method::POST, path, Some(crowd), (400, 50035))
        .await;
    let (status, _) = server.api().raw(Method::GET, path, None).await.unwrap();
    assert_eq!(status.as_u16(), 401);
    let none: Vec<Channel> = alice.ok(Method::GET, path, None).await;
    assert!(none.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn group_dm_recipients_come_and_go() {
    let server = TestServer::start().await;
    let [alice, bob, carol, dave] = server.users(["alice", "bob", "carol", "dave"]).await;
    let mut bob_gw = server.gateway(&bob, Encoding::MsgPack).await;
    let mut dave_gw = server.gateway(&dave, Encoding::Json).await;
    let body = json!({"recipients": [bob.user.id, carol.user.id], "name": "trip"});
    let group = open(&alice, body).await;
    assert_eq!(group.kind, CHANNEL_GROUP_DM);
    assert_eq!(
        (group.name.as_str(), group.owner_id),
        ("trip", Some(alice.user.id))
    );
    assert_eq!(others(&group), sorted([bob.user.id, carol.user.id]));
    let listed: Vec<Channel> = carol.ok(Method::GET, "/users/@me/channels", None).await;
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![group.id]
    );
    let _: Channel = bob_gw
        .dispatch("CHANNEL_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();

    // Any recipient adds; the added user is told of the whole group.
    let member = |u: &TestUser| format!("/channels/{}/recipients/{}", group.id, u.user.id);
    bob.no_content(Method::PUT, &member(&dave), None).await;
    let joined: Channel = dave_gw
        .dispatch("CHANNEL_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    let want = sorted([alice.user.id, bob.user.id, carol.user.id]);
    assert_eq!((joined.id, others(&joined)), (group.id, want));
    let added: RecipientChange = bob_gw
        .dispatch("CHANNEL_RECIPIENT_ADD", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!((added.channel_id, added.user.id), (group.id, dave.user.id));
    let path = format!("/channels/{}/messages", group.id);
    let sent = dave
        .api
        .post_message(group.id, "hello all", None)
        .await
        .unwrap();
    let seen: Message = bob_gw
        .dispatch("MESSAGE_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(seen.id, sent.id);

    // Only the owner removes others; anyone leaves.
    bob.refused(Method::DELETE, &member(&carol), None, (403, 50013))
        .await;
    let leave = format!("/channels/{}", group.id);
    let left: Channel = bob.ok(Method::DELETE, &leave, None).await;
    assert_eq!(left.id, group.id);
    let gone: Channel = bob_gw
        .dispatch("CHANNEL_DELETE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(gone.id, group.id);
    let left: RecipientChange = dave_gw
        .dispatch("CHANNEL_RECIPIENT_REMOVE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(left.user.id, bob.user.id);
    bob.refused(Method::GET, &path, None, (403, 50001)).await;
    alice
        .no_content(Method::DELETE, &member(&carol), None)
        .await;
    carol.refused(Method::GET, &path, None, (403, 50001)).await;
    alice
        .refused(Method::DELETE, &member(&carol), None, (404, 10013))
        .await;
    let now: Channel = alice.ok(Method::GET, &leave, None).await;
    assert_eq!(others(&now), vec![dave.user.id]);

    // Bob hears nothing more of it; Dave does.
    let after = alice
        .api
        .post_message(group.id, "just us", None)
        .await
        .unwrap();
    let seen: Message = dave_gw
        .dispatch("MESSAGE_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    let seen = if seen.id == sent.id {
        dave_gw
            .dispatch("MESSAGE_CREATE", T)
            .await
            .unwrap()
            .d()
            .unwrap()
    } else {
        seen
    };
    assert_eq!(seen.id, after.id);
    let stray = bob_gw
        .next_matching("a stray message", Duration::from_millis(500), |f| {
            f.t() == Some("MESSAGE_CREATE")
        })
        .await;
    assert!(stray.is_err(), "{stray:?}");
    server.stop().await;
}

#[tokio::test]
async fn two_users_opening_their_dm_at_once_get_the_same_one() {
    let server = TestServer::start().await;
    for _ in 0..5 {
        let [ann, bo] = server.users(["ann", "bo"]).await;
        let (a, b) = tokio::join!(
            open(&ann, json!({"recipient_id": bo.user.id})),
            open(&bo, json!({"recipient_id": ann.user.id})),
        );
        assert_eq!(a.id, b.id);
        for u in [&ann, &bo] {
            let listed: Vec<Channel> = u.ok(Method::GET, "/users/@me/channels", None).await;
            assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a.id]);
        }
    }
    server.stop().await;
}
