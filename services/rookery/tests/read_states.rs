//! Read states end to end, over real HTTP and WebSocket clients: acks over
//! REST and the gateway, MESSAGE_ACK to the reader's other sessions, and
//! READY's unread flags and mention counts compared with a brute-force
//! count over the whole history, written here from the message contents
//! alone (who is named, which role, `@everyone`).

use reqwest::Method;
use rookery_client::Gateway;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::model::ReadState;
use rookery_proto::{ChannelId, UserId};
use rookery_proto::{MessageId, RoleId};
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// A small deterministic generator (the test must be reproducible).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Posted messages: (channel, id, author, content).
type Posted = Vec<(ChannelId, MessageId, UserId, String)>;

/// The count a reader should see, from contents alone.
fn brute_force(
    posted: &Posted,
    reader: UserId,
    team: Option<RoleId>,
    acks: &BTreeMap<ChannelId, MessageId>,
    channel: ChannelId,
) -> (bool, u32) {
    let last = acks.get(&channel).copied().unwrap_or(MessageId(0));
    let after = posted
        .iter()
        .filter(|(c, id, ..)| *c == channel && *id > last);
    let mut unread = false;
    let mut mentions = 0;
    for (_, _, author, content) in after {
        unread = true;
        let named = content.contains(&format!("<@{reader}>"));
        let by_role = team.is_some_and(|t| content.contains(&format!("<@&{t}>")));
        if *author != reader && (named || by_role || content.contains("@everyone")) {
            mentions += 1;
        }
    }
    (unread, mentions)
}

async fn read_states(u: &TestUser) -> BTreeMap<ChannelId, ReadState> {
    let states: Vec<ReadState> = u.ok(Method::GET, "/users/@me/read-states", None).await;
    states.into_iter().map(|s| (s.id, s)).collect()
}

#[tokio::test]
async fn unread_flags_and_mention_counts_match_a_brute_force_count() {
    let server = TestServer::start_with(|c| c.channel_messages_per_5s = 0).await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let g = guild.id;
    let channels = [
        guild.channels[0].id,
        alice.api.create_channel(g, "random").await.unwrap().id,
    ];
    let team = alice
        .create_role(g, json!({"name": "team", "mentionable": true}))
        .await;
    let path = format!("/guilds/{g}/members/{}/roles/{}", carol.user.id, team.id);
    alice.no_content(Method::PUT, &path, None).await;

    let users = [&alice, &bob, &carol];
    let pieces = [
        format!("<@{}>", bob.user.id),
        format!("<@{}>", carol.user.id),
        format!("<@&{}>", team.id),
        "@everyone".into(),
        "hi".into(),
    ];
    let mut rng = Lcg(7);
    let (mut posted, mut acks): (Posted, BTreeMap<(UserId, ChannelId), MessageId>) =
        (Vec::new(), BTreeMap::new());
    for _ in 0..90 {
        let channel = channels[rng.below(2) as usize];
        let in_channel: Vec<MessageId> = posted
            .iter()
            .filter(|p| p.0 == channel)
            .map(|p| p.1)
            .collect();
        if rng.below(5) == 0 && !in_channel.is_empty() {
            let reader = [&bob, &carol][rng.below(2) as usize];
            let read = in_channel[rng.below(in_channel.len() as u64) as usize];
            let ack = format!("/channels/{channel}/messages/{read}/ack");
            reader.no_content(Method::POST, &ack, None).await;
            acks.insert((reader.user.id, channel), read);
            continue;
        }
        let author = users[rng.below(3) as usize];
        let content: Vec<&str> = (0..1 + rng.below(2))
            .map(|_| pieces[rng.below(5) as usize].as_str())
            .collect();
        let content = content.join(" ");
        let m = author
            .api
            .post_message(channel, &content, None)
            .await
            .unwrap();
        posted.push((channel, m.id, author.user.id, content));
    }

    for (reader, role) in [(&bob, None), (&carol, Some(team.id))] {
        let mine: BTreeMap<ChannelId, MessageId> = acks
            .iter()
            .filter(|((u, _), _)| *u == reader.user.id)
            .map(|((_, c), m)| (*c, *m))
            .collect();
        let states = read_states(reader).await;
        let mut g = Gateway::connect(&server.ws(), Encoding::MsgPack)
            .await
            .unwrap();
        let ready = g.identify(&reader.token).await.unwrap();
        let in_ready: BTreeMap<ChannelId, ReadState> =
            ready.read_state.into_iter().map(|s| (s.id, s)).collect();
        assert_eq!(in_ready, states, "READY and REST agree");
        for channel in channels {
            let s = &states[&channel];
            let expected = brute_force(&posted, reader.user.id, role, &mine, channel);
            assert_eq!(
                (s.unread, s.mention_count),
                expected,
                "{} in {channel}",
                reader.user.username
            );
            if let Some(acked) = mine.get(&channel) {
                assert_eq!(s.last_message_id, *acked);
            }
        }
    }
    let counted: u32 = read_states(&bob)
        .await
        .values()
        .map(|s| s.mention_count)
        .sum();
    assert!(counted > 0, "the sequence mentions bob unread somewhere");

    // A deleted mention no longer counts; reading to the end clears all.
    let (channel, id, ..) = posted
        .iter()
        .rev()
        .find(|(c, id, a, text)| {
            *a != bob.user.id
                && text.contains("@everyone")
                && acks.get(&(bob.user.id, *c)).is_none_or(|r| id > r)
        })
        .cloned()
        .expect("an unread @everyone for bob");
    let before = read_states(&bob).await[&channel].mention_count;
    alice
        .no_content(
            Method::DELETE,
            &format!("/channels/{channel}/messages/{id}"),
            None,
        )
        .await;
    assert_eq!(read_states(&bob).await[&channel].mention_count, before - 1);
    let last = posted
        .iter()
        .filter(|p| p.0 == channel)
        .map(|p| p.1)
        .max()
        .unwrap();
    bob.no_content(
        Method::POST,
        &format!("/channels/{channel}/messages/{last}/ack"),
        None,
    )
    .await;
    let s = &read_states(&bob).await[&channel];
    assert_eq!(
        (s.unread, s.mention_count, s.last_message_id),
        (false, 0, last)
    );
    server.stop().await;
}

#[tokio::test]
async fn acks_reach_the_readers_other_sessions_and_refusals_are_clear() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    let m = alice
        .api
        .post_message(channel, "read me", None)
        .await
        .unwrap()
        .id;
    let mut phone = server.gateway(&bob, Encoding::Json).await;
    let mut laptop = server.gateway(&bob, Encoding::MsgPack).await;
    let mut alice_gw = server.gateway(&alice, Encoding::Json).await;

    let ack = gw::Ack {
        channel_id: channel,
        message_id: m,
        nonce: None,
    };
    phone.send_op(op::ACK, &ack).await.unwrap();
    let seen: Value = laptop
        .dispatch("MESSAGE_ACK", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(
        (&seen["channel_id"], &seen["message_id"]),
        (&json!(channel.0), &json!(m.0))
    );
    assert_eq!(seen["user_id"], json!(bob.user.id.0));
    // Alice's sessions are not told what bob read.
    alice
        .api
        .post_message(channel, "marker", None)
        .await
        .unwrap();
    let next = alice_gw
        .next_matching("a dispatch", T, |f| {
            f.header.op == op::DISPATCH && f.t() != Some("READY")
        })
        .await
        .unwrap();
    assert_eq!(next.t(), Some("MESSAGE_CREATE"));

    let stranger = server.user("stranger").await;
    let path = format!("/channels/{channel}/messages/{m}/ack");
    stranger
        .refused(Method::POST, &path, None, (403, 50001))
        .await;
    bob.refused(
        Method::POST,
        &format!("/channels/5/messages/{m}/ack"),
        None,
        (404, 10003),
    )
    .await;
    let bad = gw::Ack {
        channel_id: ChannelId(5),
        message_id: m,
        nonce: Some("k".into()),
    };
    phone.send_op(op::ACK, &bad).await.unwrap();
    let refused: gw::SendError = phone.op(op::SEND_ERROR, T).await.unwrap().d().unwrap();
    assert_eq!((refused.nonce.as_str(), refused.code), ("k", 10003));
    server.stop().await;
}
