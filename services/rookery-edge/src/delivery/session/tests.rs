//! A session: READY first, holds, replay and resume, slow consumers and
//! overflow, revocation, and which connection it is attached to.

use super::*;
use rookery_proto::ChannelId;
use rookery_proto::GuildId;
use rookery_proto::MessageId;
use rookery_proto::UserId;
use rookery_proto::codec::{DispatchData, Empty};

fn d(name: &'static str) -> Arc<Dispatch> {
    Arc::new(Dispatch::new(name, DispatchData::Resumed(Empty {})))
}

fn conn(id: u64, cap: usize) -> (Conn, Arc<Outlet>) {
    Conn::queue_only(id, cap)
}

fn drain(rx: &Outlet) -> Vec<(u64, &'static str)> {
    let mut out = Vec::new();
    while let Ok(Outbound::Dispatch(s, d)) = rx.try_recv() {
        out.push((s, d.name()));
    }
    out
}

fn session() -> Arc<Session> {
    Session::new(
        User {
            id: UserId(1),
            username: "u".into(),
        },
        4,
    )
}

#[test]
fn ready_comes_first_then_early_dispatches() {
    let s = session();
    s.dispatch(&d("EARLY"));
    let (c, rx) = conn(1, 16);
    s.attach_ready(c, d("READY"), vec![]);
    s.dispatch(&d("LATE"));
    assert_eq!(drain(&rx), vec![(1, "READY"), (2, "EARLY"), (3, "LATE")]);
}

fn message(id: u64) -> Arc<Dispatch> {
    crate::delivery::holds::tests::message(2, id)
}

#[test]
fn caught_up_messages_follow_ready_and_live_copies_are_dropped() {
    let s = session();
    // Applied while READY was being built: both live and in the store.
    s.dispatch(&message(11));
    s.dispatch(&message(12));
    let (c, rx) = conn(1, 16);
    s.attach_ready(c, d("READY"), vec![message(10), message(11)]);
    let mut ids = Vec::new();
    while let Ok(Outbound::Dispatch(_, d)) = rx.try_recv() {
        ids.push(d.message_id());
    }
    assert_eq!(
        ids,
        [
            None,
            Some(MessageId(10)),
            Some(MessageId(11)),
            Some(MessageId(12))
        ]
    );
}

#[test]
fn resume_replays_the_gap_then_resumed() {
    let s = session();
    let (c, rx) = conn(1, 16);
    s.attach_ready(c, d("READY"), vec![]);
    s.detach(1);
    s.dispatch(&d("A"));
    s.dispatch(&d("B"));
    assert!(s.detached_at().is_some());
    let (c2, rx2) = conn(2, 16);
    s.resume(c2, 1, d("RESUMED")).unwrap();
    assert_eq!(drain(&rx), vec![(1, "READY")]);
    assert_eq!(drain(&rx2), vec![(2, "A"), (3, "B"), (4, "RESUMED")]);
    assert!(s.detached_at().is_none());
}

#[test]
fn resume_refuses_gaps_the_buffer_lost_and_seqs_never_sent() {
    let s = session();
    let (c, _rx) = conn(1, 64);
    s.attach_ready(c, d("READY"), vec![]);
    for _ in 0..6 {
        s.dispatch(&d("X"));
    }
    // Buffer of 4 holds seqs 4..=7.
    let (c2, _rx2) = conn(2, 64);
    assert_eq!(
        s.resume(c2.clone(), 1, d("RESUMED")),
        Err(ResumeError::GapTooOld)
    );
    assert_eq!(
        s.resume(c2.clone(), 8, d("RESUMED")),
        Err(ResumeError::SeqAhead)
    );
    assert_eq!(s.resume(c2, 3, d("RESUMED")), Ok(()));
}

#[test]
fn a_full_queue_disconnects_the_slow_consumer_but_keeps_the_replay() {
    let s = session();
    let (c, rx) = conn(1, 2);
    s.attach_ready(c, d("READY"), vec![]);
    s.dispatch(&d("A"));
    s.dispatch(&d("B"));
    assert_eq!(rx.close_asked(), Some(CloseCode::SlowConsumer));
    assert!(s.detached_at().is_some());
    assert_eq!(drain(&rx).len(), 2);
    let (c2, rx2) = conn(2, 16);
    s.resume(c2, 2, d("RESUMED")).unwrap();
    assert_eq!(drain(&rx2), vec![(3, "B"), (4, "RESUMED")]);
}

#[test]
fn a_detached_session_overflows_once_its_buffer_drops_what_the_client_never_got() {
    let s = session();
    let (c, _rx) = conn(1, 64);
    s.attach_ready(c, d("READY"), vec![]);
    s.dispatch(&d("A"));
    s.detach(1);
    // The buffer (4) drops seq 2, which the client had: still resumable.
    for _ in 0..4 {
        s.dispatch(&d("X"));
    }
    assert!(!s.overflowed());
    let (c2, _rx2) = conn(2, 64);
    s.dispatch(&d("Y"));
    assert!(s.overflowed(), "seq 3 was never delivered and is gone");
    assert_eq!(s.resume(c2, 2, d("RESUMED")), Err(ResumeError::Ended));
    let (c3, _rx3) = conn(3, 64);
    let last = 7;
    assert_eq!(
        s.resume(c3, last, d("RESUMED")),
        Err(ResumeError::Ended),
        "even a client that claims to have everything cannot attach to it"
    );
}

#[test]
fn a_revoked_session_closes_with_4004_and_takes_nothing_more() {
    let s = session();
    let (c, rx) = conn(1, 64);
    s.attach_ready(c, d("READY"), vec![]);
    s.dispatch(&d("A"));
    s.revoke();
    assert_eq!(rx.close_asked(), Some(CloseCode::AuthenticationFailed));
    s.dispatch(&d("B"));
    assert_eq!(drain(&rx), vec![(1, "READY"), (2, "A")]);
    assert!(s.revoked() && s.overflowed());
    let (c2, _rx2) = conn(2, 64);
    assert_eq!(s.resume(c2, 2, d("RESUMED")), Err(ResumeError::Ended));
}

#[test]
fn a_session_that_never_gets_ready_buffers_at_most_its_replay_size() {
    let s = session();
    for _ in 0..4 {
        s.dispatch(&d("EARLY"));
    }
    assert!(!s.overflowed());
    s.dispatch(&d("EARLY"));
    assert!(s.overflowed());
}

#[test]
fn dispatches_the_client_did_not_ask_for_take_no_room_before_ready() {
    use rookery_proto::intents::bit;
    use rookery_proto::presence::{Presence, PresenceUser, Status};
    let user = User {
        id: UserId(1),
        username: "u".into(),
    };
    let intents = Intents(bit::GUILDS | bit::GUILD_MESSAGES);
    let s = Session::with_intents(user, 4, intents);
    let presence = Arc::new(Dispatch::new(
        "PRESENCE_UPDATE",
        DispatchData::Presence(Presence {
            user: PresenceUser { id: UserId(2) },
            guild_id: GuildId(9),
            status: Status::Online,
            activities: Vec::new(),
        }),
    ));
    for _ in 0..10 {
        s.dispatch(&presence);
    }
    assert!(!s.overflowed(), "ten presences it never asked for");
    let (c, rx) = conn(1, 16);
    s.attach_ready(c, d("READY"), vec![]);
    assert_eq!(drain(&rx), vec![(1, "READY")]);
}

#[test]
fn a_channel_held_past_the_replay_size_overflows_the_session() {
    let s = session();
    let (c, rx) = conn(1, 64);
    s.attach_ready(c, d("READY"), vec![]);
    s.hold(&[ChannelId(2)]);
    for id in 10..14 {
        s.dispatch(&message(id));
    }
    assert!(!s.overflowed(), "four held, the buffer's size");
    s.dispatch(&message(14));
    assert!(s.overflowed());
    assert_eq!(rx.close_asked(), Some(CloseCode::UnknownError));
}

#[test]
fn session_ids_read_back_only_in_the_form_they_are_sent() {
    let id = SessionId(0xabc);
    let text = id.to_string();
    assert_eq!(text, format!("{}abc", "0".repeat(29)));
    assert_eq!(SessionId::parse(&text), Some(id));
    for bad in [
        &text.to_uppercase()[..],
        &text[1..],
        "",
        "+0000000000000000000000000000abc",
        "zz",
    ] {
        assert_eq!(SessionId::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn a_stale_connection_cannot_detach_a_newer_one() {
    let s = session();
    let (c, _rx) = conn(1, 16);
    s.attach_ready(c, d("READY"), vec![]);
    let (c2, rx2) = conn(2, 16);
    s.resume(c2, 1, d("RESUMED")).unwrap();
    s.detach(1);
    assert!(s.detached_at().is_none());
    assert_eq!(rx2.close_asked(), None, "the newer connection stays open");
}
