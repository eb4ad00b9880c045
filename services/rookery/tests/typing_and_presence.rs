//! Typing and presence end to end, over real HTTP and WebSocket clients on
//! the embedded default: who receives TYPING_START (the channel's viewers
//! only) and who may send it; PRESENCE_UPDATE to members sharing a guild
//! (and nobody else), READY's `presences`, invisible shown as offline, and
//! offline only after the grace that follows the last connection.

use reqwest::Method;
use rookery_client::{ClientError, Gateway};
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::codec::Encoding;
use rookery_proto::event::TypingStart;
use rookery_proto::gateway::{self as gw, CloseCode, op};
use rookery_proto::permissions::Permissions;
use rookery_proto::presence::{ACTIVITY_CUSTOM, Activity, Presence, PresenceSet, Status};
use rookery_testkit::{TestServer, bits, presence_of};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const T: Duration = Duration::from_secs(10);

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn typing_reaches_the_channels_viewers_and_needs_send_messages() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let (g, general) = (guild.id, guild.channels[0].id);
    let secret = alice.api.create_channel(g, "secret").await.unwrap().id;
    let overwrite = |c: ChannelId, target: Id| format!("/channels/{c}/permissions/{target}");
    let hide = json!({"type": 0, "deny": bits(Permissions::VIEW_CHANNEL)});
    alice
        .no_content(
            Method::PUT,
            &overwrite(secret, g.everyone().raw()),
            Some(hide),
        )
        .await;
    // Carol reads the general channel but may not send there.
    let mute = json!({"type": 1, "deny": bits(Permissions::SEND_MESSAGES)});
    alice
        .no_content(
            Method::PUT,
            &overwrite(general, carol.user.id.raw()),
            Some(mute),
        )
        .await;
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let mut carol_gw = server.gateway(&carol, Encoding::MsgPack).await;

    let typing = |c: ChannelId| format!("/channels/{c}/typing");
    let before = unix_secs();
    alice.no_content(Method::POST, &typing(secret), None).await;
    alice.no_content(Method::POST, &typing(general), None).await;
    // The hidden channel's typing went first; the first one Bob gets is
    // the visible channel's.
    for g_w in [&mut bob_gw, &mut carol_gw] {
        let t: TypingStart = g_w.dispatch("TYPING_START", T).await.unwrap().d().unwrap();
        assert_eq!(
            (t.channel_id, t.guild_id, t.user_id),
            (general, g, alice.user.id)
        );
        assert!((before..=unix_secs()).contains(&t.timestamp), "{t:?}");
    }

    bob.refused(Method::POST, &typing(secret), None, (403, 50001))
        .await;
    carol
        .refused(Method::POST, &typing(general), None, (403, 50013))
        .await;
    bob.refused(Method::POST, &typing(ChannelId(4242)), None, (404, 10003))
        .await;
    let (status, _) = server
        .api()
        .raw(Method::POST, &typing(general), None)
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 401);
    // Typing is never stored.
    assert!(alice.api.history(general, "").await.unwrap().is_empty());
    server.stop().await;
}

fn presence(status: Status, custom: Option<&str>) -> PresenceSet {
    PresenceSet {
        status,
        activities: custom
            .map(|text| Activity {
                name: "Custom Status".into(),
                kind: ACTIVITY_CUSTOM,
                state: Some(text.into()),
            })
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

async fn identify_as(
    server: &TestServer,
    token: &str,
    p: Option<PresenceSet>,
) -> (Gateway, gw::Ready) {
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let identify = gw::Identify {
        token: token.to_owned(),
        last_message_ids: Default::default(),
        presence: p,
        intents: None,
    };
    let ready = g.identify_with(&identify).await.unwrap();
    (g, ready)
}

#[tokio::test]
async fn presence_reaches_members_sharing_a_guild_and_invisible_shows_offline() {
    let grace = Duration::from_millis(300);
    let server = TestServer::start_with(|c| c.presence_grace_ms = grace.as_millis() as u64).await;
    let [alice, bob, carol, dave] = server.users(["alice", "bob", "carol", "dave"]).await;
    let guild = server.guild(&[&alice, &bob]).await;
    server.guild(&[&carol, &dave]).await;
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let mut carol_gw = server.gateway(&carol, Encoding::MsgPack).await;

    let dnd = presence(Status::Dnd, Some("writing tests"));
    let (mut alice_gw, _) = identify_as(&server, &alice.token, Some(dnd.clone())).await;
    let seen = presence_of(&mut bob_gw, alice.user.id, None).await;
    assert_eq!(
        (seen.guild_id, seen.status, &seen.activities),
        (guild.id, Status::Dnd, &dnd.activities)
    );
    // A new session of Bob finds Alice in READY (and not itself, nor
    // Carol, who shares no guild with Bob).
    let (_, ready) = identify_as(&server, &bob.token, None).await;
    assert_eq!(ready.presences, vec![seen.clone()]);

    // Carol shares no guild with Alice: the presences she gets before
    // Dave's change (made after Alice's was delivered) are not Alice's.
    let (mut dave_gw, _) = identify_as(&server, &dave.token, None).await;
    dave_gw
        .set_presence(&presence(Status::Idle, None))
        .await
        .unwrap();
    loop {
        let f = carol_gw.dispatch("PRESENCE_UPDATE", T).await.unwrap();
        let p: Presence = f.d().unwrap();
        assert_ne!(p.user.id, alice.user.id, "carol shares no guild with alice");
        if p.user.id == dave.user.id && p.status == Status::Idle {
            break;
        }
    }

    // Invisible is offline to others, without activities.
    let invisible = presence(Status::Invisible, Some("hidden"));
    alice_gw.set_presence(&invisible).await.unwrap();
    let hidden = presence_of(&mut bob_gw, alice.user.id, None).await;
    assert_eq!(
        (hidden.status, hidden.activities.len()),
        (Status::Offline, 0)
    );
    let (_, ready) = identify_as(&server, &bob.token, None).await;
    assert!(ready.presences.is_empty(), "{:?}", ready.presences);
    alice_gw
        .set_presence(&presence(Status::Online, None))
        .await
        .unwrap();
    let online = presence_of(&mut bob_gw, alice.user.id, None).await;
    assert_eq!(online.status, Status::Online);

    // The last connection closes: offline, but only after the grace.
    let closed = Instant::now();
    alice_gw.close(1000).await.unwrap();
    let gone = presence_of(&mut bob_gw, alice.user.id, None).await;
    assert_eq!(gone.status, Status::Offline);
    assert!(closed.elapsed() >= grace, "offline before the grace ended");
    server.stop().await;
}

#[tokio::test]
async fn a_resume_within_the_grace_shows_nothing_and_bad_presences_close_4002() {
    let server = TestServer::start_with(|c| c.presence_grace_ms = 1500).await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    server.guild(&[&alice, &bob]).await;
    let mut bob_gw = server.gateway(&bob, Encoding::MsgPack).await;
    let (alice_gw, ready) = identify_as(&server, &alice.token, None).await;
    assert_eq!(
        presence_of(&mut bob_gw, alice.user.id, None).await.status,
        Status::Online
    );

    // Alice's connection drops without a close frame; she resumes at once.
    drop(alice_gw);
    let mut alice_gw = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let resume = gw::Resume {
        token: alice.token.clone(),
        session_id: ready.session_id,
        seq: 1,
    };
    alice_gw.send_op(op::RESUME, &resume).await.unwrap();
    alice_gw.dispatch("RESUMED", T).await.unwrap();
    // Past the grace, her next change is the first presence Bob sees: no
    // offline blip came in between.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    alice_gw
        .set_presence(&presence(Status::Idle, None))
        .await
        .unwrap();
    assert_eq!(
        presence_of(&mut bob_gw, alice.user.id, None).await.status,
        Status::Idle
    );

    alice_gw
        .send_raw(alice_gw.frame_message(br#"{"op":3,"d":{"status":"away"}}"#.to_vec()))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(T, alice_gw.next()).await.unwrap() {
            Err(ClientError::Closed { code, .. }) => {
                assert_eq!(code, CloseCode::DecodeError.code());
                break;
            }
            Err(other) => panic!("{other}"),
            Ok(_) => continue,
        }
    }
    server.stop().await;
}

/// A user already connected who then creates a guild (or joins one) is
/// shown online to its members within a second, not only at the next
/// refresh of their presence (a minute): found by the web client, whose
/// member list showed the guild's creator offline to the first joiner.
#[tokio::test]
async fn a_guild_made_while_connected_shows_its_maker_online_there_at_once() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let (_alice_gw, _) = identify_as(&server, &alice.token, None).await;
    let guild = server.guild(&[&alice, &bob]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, ready) = identify_as(&server, &bob.token, None).await;
        let shown = ready.presences.iter().any(|p| {
            (p.user.id, p.guild_id, p.status) == (alice.user.id, guild.id, Status::Online)
        });
        if shown {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "alice is not shown online in the guild she made: {:?}",
            ready.presences
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
}
