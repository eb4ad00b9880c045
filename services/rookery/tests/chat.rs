//! End to end over real WebSocket and HTTP clients: two users in one guild
//! chat in both encodings; history, nonce dedup and access control.

use rookery_client::ClientError;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::model::{GuildState, Message};
use rookery_testkit::TestServer;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

async fn two_users_chat(encoding: Encoding) {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;

    let mut a = server.gateway(&alice, encoding).await;
    let mut a2 = server.gateway(&alice, encoding).await;
    let mut b = Gateway::connect(&server.ws(), encoding).await.unwrap();
    let ready = b.identify(&bob.token).await.unwrap();
    assert_eq!(ready.user, bob.user);
    assert_eq!(
        ready.guilds.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![guild.id]
    );
    assert_eq!(ready.guilds[0].channels[0].name, "general");

    a.send_message(channel, "n-1", "hello bob ✓").await.unwrap();
    let ack: gw::SendAck = a.op(op::SEND_ACK, T).await.unwrap().d().unwrap();
    assert_eq!(ack.nonce, "n-1");

    for g in [&mut b, &mut a2, &mut a] {
        let frame = g.dispatch("MESSAGE_CREATE", T).await.unwrap();
        let m: Message = frame.d().unwrap();
        assert_eq!(
            (m.id, m.channel_id, m.guild_id),
            (ack.id, channel, guild.id)
        );
        assert_eq!(
            (m.content.as_str(), m.nonce.as_deref()),
            ("hello bob ✓", Some("n-1"))
        );
        assert_eq!(m.author, alice.user);
        assert!(frame.header.s.is_some());
    }

    let history = bob.api.history(channel, "limit=10").await.unwrap();
    assert_eq!(
        history.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ack.id]
    );
    server.stop().await;
}

use rookery_client::Gateway;

#[tokio::test]
async fn two_users_chat_over_json() {
    two_users_chat(Encoding::Json).await;
}

#[tokio::test]
async fn two_users_chat_over_msgpack() {
    two_users_chat(Encoding::MsgPack).await;
}

#[tokio::test]
async fn a_repeated_nonce_returns_the_same_id_and_creates_one_message() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let guild = server.guild(&[&alice]).await;
    let channel = guild.channels[0].id;
    let mut a = server.gateway(&alice, Encoding::Json).await;
    a.send_message(channel, "same", "first").await.unwrap();
    a.send_message(channel, "same", "retry").await.unwrap();
    let first: gw::SendAck = a.op(op::SEND_ACK, T).await.unwrap().d().unwrap();
    let second: gw::SendAck = a.op(op::SEND_ACK, T).await.unwrap().d().unwrap();
    assert_eq!(first.id, second.id);
    // REST shares the dedup: same user, same nonce.
    let via_rest = alice
        .api
        .post_message(channel, "third", Some("same"))
        .await
        .unwrap();
    assert_eq!(via_rest.id, first.id);
    assert_eq!(via_rest.content, "first");
    let other = alice
        .api
        .post_message(channel, "other", Some("different"))
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    let history = alice.api.history(channel, "").await.unwrap();
    assert_eq!(
        history.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![other.id, first.id]
    );
    server.stop().await;
}

fn api_code(e: ClientError) -> (u16, u32) {
    match e {
        ClientError::Api { status, code, .. } => (status, code),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn non_members_and_unknown_ids_are_refused() {
    let server = TestServer::start().await;
    let (alice, eve) = (server.user("alice").await, server.user("eve").await);
    let guild: GuildState = server.guild(&[&alice]).await;
    let channel = guild.channels[0].id;
    alice
        .api
        .post_message(channel, "secret", None)
        .await
        .unwrap();

    assert_eq!(
        api_code(eve.api.history(channel, "").await.unwrap_err()),
        (403, 50001)
    );
    assert_eq!(
        api_code(eve.api.post_message(channel, "hi", None).await.unwrap_err()),
        (403, 50001)
    );
    assert_eq!(
        api_code(eve.api.create_channel(guild.id, "x").await.unwrap_err()),
        (403, 50001)
    );
    assert_eq!(
        api_code(eve.api.create_invite(guild.id).await.unwrap_err()),
        (403, 50001)
    );
    let unknown = rookery_proto::Id(12345);
    assert_eq!(
        api_code(alice.api.history(unknown.into(), "").await.unwrap_err()),
        (404, 10003)
    );
    assert_eq!(
        api_code(
            alice
                .api
                .create_channel(unknown.into(), "x")
                .await
                .unwrap_err()
        ),
        (404, 10004)
    );
    assert_eq!(
        api_code(alice.api.accept_invite("nope").await.unwrap_err()),
        (404, 10006)
    );
    assert_eq!(
        api_code(server.api().history(channel, "").await.unwrap_err()),
        (401, 40001)
    );
    assert_eq!(
        api_code(
            alice
                .api
                .post_message(channel, "   ", None)
                .await
                .unwrap_err()
        ),
        (400, 50006)
    );
    assert_eq!(
        api_code(
            alice
                .api
                .post_message(channel, &"x".repeat(2001), None)
                .await
                .unwrap_err()
        ),
        (400, 50035)
    );
    assert_eq!(
        api_code(alice.api.history(channel, "limit=101").await.unwrap_err()),
        (400, 50035)
    );

    // Over the gateway a refused send is a SEND_ERROR, and the session lives on.
    let mut e = server.gateway(&eve, Encoding::MsgPack).await;
    e.send_message(channel, "x1", "let me in").await.unwrap();
    let err: gw::SendError = e.op(op::SEND_ERROR, T).await.unwrap().d().unwrap();
    assert_eq!((err.nonce.as_str(), err.code), ("x1", 50001));
    e.send_message(unknown.into(), "x2", "anyone?")
        .await
        .unwrap();
    let err: gw::SendError = e.op(op::SEND_ERROR, T).await.unwrap().d().unwrap();
    assert_eq!(err.code, 10003);
    e.heartbeat().await.unwrap();
    e.op(op::HEARTBEAT_ACK, T).await.unwrap();
    assert_eq!(
        alice.api.history(channel, "").await.unwrap().len(),
        1,
        "nothing was posted"
    );
    server.stop().await;
}

#[tokio::test]
async fn accounts_guilds_channels_and_invites() {
    let server = TestServer::start().await;
    let api = server.api();
    let reg = api.register("Carol", "long-enough").await.unwrap();
    assert_eq!(
        api_code(api.register("carol", "long-enough").await.unwrap_err()),
        (409, 40009)
    );
    assert_eq!(
        api_code(api.register("c", "long-enough").await.unwrap_err()),
        (400, 50035)
    );
    assert_eq!(
        api_code(api.register("dave", "short").await.unwrap_err()),
        (400, 50035)
    );
    assert_eq!(
        api_code(api.login("carol", "wrong-password").await.unwrap_err()),
        (401, 40001)
    );
    assert_eq!(
        api_code(api.login("nobody", "long-enough").await.unwrap_err()),
        (401, 40001)
    );
    let login = api.login("CAROL", "long-enough").await.unwrap();
    assert_eq!(login.user, reg.user);

    let carol = api.with_token(&login.token);
    let guild = carol.create_guild("  Carol's place ").await.unwrap();
    assert_eq!(
        (guild.name.as_str(), guild.owner_id),
        ("Carol's place", reg.user.id)
    );
    let mut gw = server
        .gateway(
            &rookery_testkit::TestUser {
                user: reg.user.clone(),
                token: login.token.clone(),
                api: carol.clone(),
            },
            Encoding::Json,
        )
        .await;
    let random = carol.create_channel(guild.id, "random").await.unwrap();
    assert_eq!(random.position, 1);
    let created: rookery_proto::model::Channel =
        gw.dispatch("CHANNEL_CREATE", T).await.unwrap().d().unwrap();
    assert_eq!(created, random);

    let dave = server.user("dave").await;
    let mut dave_gw = server.gateway(&dave, Encoding::MsgPack).await;
    let code = carol.create_invite(guild.id).await.unwrap();
    let joined = dave.api.accept_invite(&code).await.unwrap();
    assert_eq!(joined.channels.len(), 2);
    assert_eq!(
        dave.api.accept_invite(&code).await.unwrap().id,
        guild.id,
        "joining twice is a no-op"
    );
    let live: GuildState = dave_gw
        .dispatch("GUILD_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(live.id, guild.id);
    let member: rookery_proto::model::Member = gw
        .dispatch("GUILD_MEMBER_ADD", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(member.user, dave.user);
    assert_eq!(
        dave.api
            .my_guilds()
            .await
            .unwrap()
            .iter()
            .map(|g| g.id)
            .collect::<Vec<_>>(),
        vec![guild.id]
    );

    // Dave's live session now receives the guild's messages.
    carol
        .post_message(random.id, "welcome", None)
        .await
        .unwrap();
    let m: Message = dave_gw
        .dispatch("MESSAGE_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(m.content, "welcome");
    server.stop().await;
}
