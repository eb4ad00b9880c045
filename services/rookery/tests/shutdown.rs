//! Graceful shutdown of the real binary on SIGTERM: every session gets
//! RECONNECT and then close 4102, the writer commits its last batch, the
//! process exits 0, and the restart has nothing to replay and every
//! acknowledged message in history.

use rookery_client::{Api, ClientError, Gateway};
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{self as gw, CloseCode, op};
use rookery_testkit::ChildServer;
use std::collections::BTreeSet;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_rookery");
const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn sigterm_sends_reconnect_commits_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let bulk = [
        "--frames-per-minute",
        "100000",
        "--channel-messages-per-5s",
        "0",
    ];
    let mut node = ChildServer::spawn(BIN, dir.path(), &bulk);
    let api = Api::new(format!("http://{}", node.addr));
    let auth = api.register("graceful", "long-enough").await.unwrap();
    let alice = api.with_token(&auth.token);
    let channel = alice.create_guild("drain").await.unwrap().channels[0].id;
    let ws = format!("ws://{}", node.addr);
    let mut g = Gateway::connect(&ws, Encoding::Json).await.unwrap();
    g.identify(&auth.token).await.unwrap();
    let mut idle = Gateway::connect(&ws, Encoding::MsgPack).await.unwrap();

    let mut acked = BTreeSet::new();
    for i in 0..50 {
        g.send_message(channel, &format!("n{i}"), "before the drain")
            .await
            .unwrap();
        let ack: gw::SendAck = g.op(op::SEND_ACK, T).await.unwrap().d().unwrap();
        acked.insert(ack.id);
    }
    node.signal("TERM");

    // The dispatches still queued, then RECONNECT, then the close.
    let mut last_op = None;
    let code = loop {
        match tokio::time::timeout(T, g.next()).await.unwrap() {
            Ok(frame) => last_op = Some(frame.header.op),
            Err(ClientError::Closed { code, .. }) => break code,
            Err(e) => panic!("expected a close, got {e:?}"),
        }
    };
    assert_eq!(
        last_op,
        Some(op::RECONNECT),
        "RECONNECT right before the close"
    );
    assert_eq!(code, CloseCode::ServerShutdown.code());
    let reconnect = tokio::time::timeout(T, idle.next()).await.unwrap().unwrap();
    assert_eq!(reconnect.header.op, op::RECONNECT);
    match tokio::time::timeout(T, idle.next()).await.unwrap() {
        Err(ClientError::Closed { code, .. }) => assert_eq!(code, CloseCode::ServerShutdown.code()),
        other => panic!("an unidentified connection is closed too, got {other:?}"),
    }
    let status = node.wait_exit(T).expect("exits after draining");
    assert!(status.success(), "exit status {status}");

    let restarted = ChildServer::spawn(BIN, dir.path(), &[]);
    assert!(
        restarted
            .startup
            .iter()
            .any(|l| l.contains("bus backlog applied replayed=0")),
        "the writer committed before exiting: {:#?}",
        restarted.startup
    );
    let alice = Api::new(format!("http://{}", restarted.addr)).with_token(&auth.token);
    let stored: BTreeSet<_> = alice
        .history(channel, "limit=100")
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(stored, acked);
}
