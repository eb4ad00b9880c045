//! Replies and mentions end to end, over real HTTP and WebSocket clients:
//! what a message mentions under Discord's rules (membership, mentionable
//! roles, MENTION_EVERYONE, `allowed_mentions`), replies and their
//! refusals, and that both survive storage.

use reqwest::{Method, StatusCode};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway as gw;
use rookery_proto::model::{MESSAGE_DEFAULT, MESSAGE_REPLY, Message, Role};
use rookery_proto::permissions::Permissions;
use rookery_proto::rest::{AllowedMentions, ReplyTo};
use rookery_proto::{ChannelId, GuildId, MessageId};
use rookery_proto::{RoleId, UserId};
use rookery_testkit::{TestServer, TestUser, answer};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

async fn post(u: &TestUser, channel: ChannelId, body: Value) -> Message {
    let path = format!("/channels/{channel}/messages");
    u.ok(Method::POST, &path, Some(body)).await
}

async fn role(u: &TestUser, guild: GuildId, name: &str, mentionable: bool) -> Role {
    let body = json!({"name": name, "mentionable": mentionable});
    u.create_role(guild, body).await
}

fn mentioned(m: &Message) -> (Vec<UserId>, Vec<RoleId>, bool) {
    let users = m.mentions.iter().map(|u| u.id).collect();
    (users, m.mention_roles.clone(), m.mention_everyone)
}

#[tokio::test]
async fn mentions_follow_membership_roles_and_allowed_mentions() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let outsider = server.user("outsider").await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let (g, channel) = (guild.id, guild.channels[0].id);
    // @everyone loses MENTION_EVERYONE: only the owner keeps it.
    let everyone = Permissions::DEFAULT_EVERYONE.0 & !Permissions::MENTION_EVERYONE.0;
    alice.set_everyone(g, Permissions(everyone)).await;
    let (team, fans) = (
        role(&alice, g, "team", false).await,
        role(&alice, g, "fans", true).await,
    );
    fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
        v.sort();
        v
    }
    let content = format!(
        "<@{}> hi <@!{}> <@{}> <@{}> <@&{}> <@&{}> <@&{g}> @everyone",
        carol.user.id, alice.user.id, outsider.user.id, carol.user.id, team.id, fans.id
    );
    let people = sorted(vec![alice.user.id, carol.user.id]);

    // A member without MENTION_EVERYONE: members only, mentionable roles only.
    let m = post(&bob, channel, json!({"content": content})).await;
    assert_eq!(mentioned(&m), (people.clone(), vec![fans.id], false));
    // The owner: every role, and @everyone.
    let m = post(&alice, channel, json!({"content": content})).await;
    assert_eq!(
        mentioned(&m),
        (people.clone(), sorted(vec![team.id, fans.id]), true)
    );

    // allowed_mentions narrows: nothing, then users plus one listed role.
    let none = json!({"content": content, "allowed_mentions": {"parse": []}});
    assert_eq!(
        mentioned(&post(&alice, channel, none).await),
        (vec![], vec![], false)
    );
    let some =
        json!({"content": content, "allowed_mentions": {"parse": ["users"], "roles": [team.id]}});
    assert_eq!(
        mentioned(&post(&alice, channel, some).await),
        (people, vec![team.id], false)
    );
    let listed = json!({"content": content, "allowed_mentions": {"users": [carol.user.id]}});
    let m = post(&alice, channel, listed).await;
    assert_eq!(mentioned(&m), (vec![carol.user.id], vec![], false));

    // Contradictions and unknown kinds are refused.
    let messages = format!("/channels/{channel}/messages");
    for allowed in [
        json!({"parse": ["users"], "users": [carol.user.id]}),
        json!({"parse": ["roles"], "roles": [team.id]}),
        json!({"parse": ["channels"]}),
    ] {
        let body = json!({"content": "x", "allowed_mentions": allowed});
        let (status, answer) = alice.call(Method::POST, &messages, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{allowed}: {answer}");
    }

    // What was stored is what was sent.
    let stored = alice.api.history(channel, "limit=1").await.unwrap();
    assert_eq!(stored[0], m);
    server.stop().await;
}

#[tokio::test]
async fn replies_reference_a_message_of_the_channel_and_mention_its_author() {
    let server = TestServer::start_with(|c| c.channel_messages_per_5s = 0).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let (channel, other) = (guild.channels[0].id, ChannelId(1));
    let original = post(&alice, channel, json!({"content": "question?"})).await;
    let mut alice_gw = server.gateway(&alice, Encoding::MsgPack).await;
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;

    // Over the gateway: a reply, mentioning the replied-to author.
    let send = gw::Send {
        channel_id: channel,
        nonce: "r1".into(),
        content: "answer".into(),
        message_reference: Some(ReplyTo {
            message_id: original.id,
            channel_id: Some(channel),
            guild_id: None,
            fail_if_not_exists: true,
            kind: 0,
        }),
        allowed_mentions: None,
    };
    bob_gw.send_op(gw::op::SEND, &send).await.unwrap();
    let reply: Message = alice_gw
        .dispatch("MESSAGE_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(reply.kind, MESSAGE_REPLY);
    let reference = reply.message_reference.clone().expect("a reference");
    assert_eq!(
        (reference.message_id, reference.channel_id),
        (original.id, channel)
    );
    assert_eq!(mentioned(&reply).0, vec![alice.user.id]);
    assert_eq!(answer(&mut bob_gw).await, Ok(reply.id));

    // replied_user off: still a reply, nobody mentioned.
    let quiet = json!({
        "content": "quiet answer",
        "message_reference": {"message_id": original.id},
        "allowed_mentions": {"replied_user": false},
    });
    let m = post(&bob, channel, quiet).await;
    assert_eq!((m.kind, mentioned(&m).0), (MESSAGE_REPLY, vec![]));

    // Unknown targets refuse, unless told to send anyway; other channels refuse.
    let messages = format!("/channels/{channel}/messages");
    let to = |reference: Value| json!({"content": "re", "message_reference": reference});
    bob.refused(
        Method::POST,
        &messages,
        Some(to(json!({"message_id": "5"}))),
        (400, 50035),
    )
    .await;
    let anyway = to(json!({"message_id": "5", "fail_if_not_exists": false}));
    let plain = post(&bob, channel, anyway).await;
    assert_eq!(
        (plain.kind, plain.message_reference),
        (MESSAGE_DEFAULT, None)
    );
    let elsewhere = to(json!({"message_id": original.id, "channel_id": other}));
    bob.refused(Method::POST, &messages, Some(elsewhere), (400, 50035))
        .await;
    bob_gw
        .send_op(
            gw::op::SEND,
            &gw::Send {
                channel_id: channel,
                nonce: "r2".into(),
                content: "re".into(),
                message_reference: Some(ReplyTo {
                    message_id: MessageId(5),
                    channel_id: None,
                    guild_id: None,
                    fail_if_not_exists: true,
                    kind: 0,
                }),
                allowed_mentions: Some(AllowedMentions::default()),
            },
        )
        .await
        .unwrap();
    assert_eq!(answer(&mut bob_gw).await, Err(50035));

    // The reply is stored with its reference and mentions.
    let path = format!("/channels/{channel}/messages/{}", reply.id);
    let (_, fetched) = alice.call(Method::GET, &path, None).await;
    assert_eq!(serde_json::from_value::<Message>(fetched).unwrap(), reply);
    server.stop().await;
}
