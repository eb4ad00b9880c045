//! The gateway half of the matrix: every op a client may send
//! (`rookery_proto::gateway::op::CLIENT_OPS`, which the decoder is checked
//! against), by each caller, on a guild channel and on the DM where a
//! channel is involved.

use super::world::{CALLERS, Caller, Scope, World, server, users};
use rookery_client::{ClientError, Gateway};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, op};
use rookery_proto::presence::{PresenceSet, Status};
use rookery_testkit::TestServer;
use std::collections::BTreeSet;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// What an op got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Done (SEND_ACK, READY, RESUMED, HEARTBEAT_ACK, or no refusal).
    Done,
    /// SEND_ERROR with this code.
    Refused(u32),
    /// INVALID_SESSION.
    Invalid,
}

use Outcome::{Done, Invalid, Refused};

/// One decision: `[owner, member, timed-out, outsider, banned]`.
struct OpRow {
    op: u8,
    scope: Scope,
    expect: [Outcome; 5],
}

fn decisions() -> Vec<OpRow> {
    use Scope::*;
    let row = |op, scope, expect| OpRow { op, scope, expect };
    let denied = Refused(50001);
    vec![
        row(op::HEARTBEAT, Own, [Done; 5]),
        row(op::IDENTIFY, Own, [Done; 5]),
        row(op::PRESENCE_UPDATE, Own, [Done; 5]),
        // Only the owner may resume the owner's session.
        row(op::RESUME, Own, [Done, Invalid, Invalid, Invalid, Invalid]),
        // The guild's members, for its members (a timed-out one reads).
        row(
            op::REQUEST_GUILD_MEMBERS,
            Guild,
            [Done, Done, Done, denied, denied],
        ),
        // A timed-out member may read, not write.
        row(
            op::SEND,
            Channel,
            [Done, Done, Refused(50013), denied, denied],
        ),
        row(op::SEND, Dm, [Done, Done, denied, denied, denied]),
        row(op::ACK, Channel, [Done, Done, Done, denied, denied]),
        row(op::ACK, Dm, [Done, Done, denied, denied, denied]),
    ]
}

fn expected(row: &OpRow, caller: Caller) -> Outcome {
    let [owner, member, timed_out, outsider, banned] = row.expect;
    match caller {
        Caller::Owner => owner,
        Caller::Member => member,
        Caller::TimedOut => timed_out,
        Caller::Outsider => outsider,
        Caller::Banned => banned,
    }
}

/// Sends a heartbeat and reads up to its ACK: a SEND_ERROR queued before it
/// is the answer to what was sent first.
async fn answer_before_heartbeat(g: &mut Gateway) -> Outcome {
    g.heartbeat().await.unwrap();
    loop {
        let f = tokio::time::timeout(T, g.next())
            .await
            .expect("an answer")
            .unwrap();
        match f.header.op {
            op::HEARTBEAT_ACK => return Done,
            op::SEND_ERROR => return Refused(f.d::<gw::SendError>().unwrap().code),
            _ => continue,
        }
    }
}

async fn connect(server: &TestServer) -> Gateway {
    Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap()
}

/// What `caller` gets for `row` in `world`; `owners_session` is resumable.
async fn outcome(
    server: &TestServer,
    world: &World<'_>,
    row: &OpRow,
    caller: Caller,
    owners_session: &str,
) -> Outcome {
    let token = &world.users.of(caller).token;
    let mut g = connect(server).await;
    if row.op == op::RESUME {
        let resume = gw::Resume {
            token: token.clone(),
            session_id: owners_session.into(),
            seq: 1,
        };
        g.send_op(op::RESUME, &resume).await.unwrap();
        loop {
            let f = tokio::time::timeout(T, g.next())
                .await
                .expect("an answer")
                .unwrap();
            match (f.header.op, f.t()) {
                (op::INVALID_SESSION, _) => return Invalid,
                (op::DISPATCH, Some("RESUMED")) => return Done,
                _ => continue,
            }
        }
    }
    match g.identify(token).await {
        Ok(_) => {}
        Err(ClientError::Closed { code, .. }) => panic!("IDENTIFY closed with {code}"),
        Err(e) => panic!("{e}"),
    }
    let (channel, message) = match row.scope {
        Scope::Dm => (world.dm, world.messages[2].id),
        _ => (world.channel, world.messages[0].id),
    };
    match row.op {
        op::HEARTBEAT | op::IDENTIFY => answer_before_heartbeat(&mut g).await,
        op::PRESENCE_UPDATE => {
            let idle = PresenceSet {
                status: Status::Idle,
                ..Default::default()
            };
            g.set_presence(&idle).await.unwrap();
            answer_before_heartbeat(&mut g).await
        }
        op::SEND => match rookery_testkit::send_answer(&mut g, channel, "matrix").await {
            Ok(_) => Done,
            Err(code) => Refused(code),
        },
        op::REQUEST_GUILD_MEMBERS => {
            let request = gw::RequestGuildMembers {
                guild_id: world.guild.id,
                query: Some(String::new()),
                nonce: Some("members".into()),
                ..Default::default()
            };
            g.send_op(op::REQUEST_GUILD_MEMBERS, &request)
                .await
                .unwrap();
            loop {
                let f = tokio::time::timeout(T, g.next())
                    .await
                    .expect("an answer")
                    .unwrap();
                match (f.header.op, f.t()) {
                    (op::DISPATCH, Some("GUILD_MEMBERS_CHUNK")) => return Done,
                    (op::SEND_ERROR, _) => return Refused(f.d::<gw::SendError>().unwrap().code),
                    _ => continue,
                }
            }
        }
        op::ACK => {
            let ack = gw::Ack {
                channel_id: channel,
                message_id: message,
                nonce: Some("ack".into()),
            };
            g.send_op(op::ACK, &ack).await.unwrap();
            answer_before_heartbeat(&mut g).await
        }
        other => panic!("op {other} has no driver here"),
    }
}

#[test]
fn every_client_op_has_a_decision() {
    let decided: BTreeSet<u8> = decisions().iter().map(|r| r.op).collect();
    let ops: BTreeSet<u8> = op::CLIENT_OPS.into_iter().collect();
    assert_eq!(
        decided, ops,
        "ops without a decision, or decisions for no op"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_gets_the_decided_answer_on_every_op() {
    let server = server().await;
    let users = users(&server).await;
    let mut wrong = Vec::new();
    let mut checked = 0;
    for row in decisions() {
        let world = World::new(&users).await;
        let mut owners = connect(&server).await;
        let owners_session = owners
            .identify(&users.owner.token)
            .await
            .unwrap()
            .session_id;
        drop(owners); // no close frame: the session stays resumable
        for caller in CALLERS {
            let got = outcome(&server, &world, &row, caller, &owners_session).await;
            checked += 1;
            let expected = expected(&row, caller);
            if got != expected {
                wrong.push(format!(
                    "op {} ({:?}) as {caller:?}: expected {expected:?}, got {got:?}",
                    row.op, row.scope
                ));
            }
        }
    }
    println!("authorization matrix (gateway): {checked} ops checked");
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    server.stop().await;
}
