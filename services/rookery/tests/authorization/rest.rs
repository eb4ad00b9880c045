//! The REST half of the matrix: every route of `rookery_edge::API_ROUTES`.

use super::world::{CALLERS, Caller, Scope, World, server, users};
use reqwest::{Method, StatusCode};
use rookery_proto::id::{format_timestamp, now_ms};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

const OK: u16 = 2;

/// One decision: the status each caller gets, in the order
/// owner, member, timed-out member, outsider, banned user.
struct Row {
    method: &'static str,
    path: &'static str,
    scope: Scope,
    expect: [u16; 5],
    body: fn(&World, Caller) -> Option<Value>,
    /// Revokes the caller's tokens: log everyone in again afterwards.
    revokes: bool,
}

fn row(method: &'static str, path: &'static str, scope: Scope, expect: [u16; 5]) -> Row {
    Row {
        method,
        path,
        scope,
        expect,
        body: |_, _| None,
        revokes: false,
    }
}

impl Row {
    fn body(mut self, body: fn(&World, Caller) -> Option<Value>) -> Self {
        self.body = body;
        self
    }

    fn revokes(mut self) -> Self {
        self.revokes = true;
        self
    }

    fn expected(&self, caller: Caller) -> u16 {
        let [owner, member, timed_out, outsider, banned] = self.expect;
        match caller {
            Caller::Owner => owner,
            Caller::Member => member,
            Caller::TimedOut => timed_out,
            Caller::Outsider => outsider,
            Caller::Banned => banned,
        }
    }
}

static NAMES: AtomicU32 = AtomicU32::new(0);

fn text(content: &str) -> Option<Value> {
    Some(json!({ "content": content }))
}

/// Every decision, `[owner, member, timed-out, outsider, banned]` (a
/// table: kept one row a line).
#[rustfmt::skip]
fn matrix() -> Vec<Row> {
    use Scope::*;
    const READ: [u16; 5] = [OK, OK, OK, 403, 403];
    const WRITE: [u16; 5] = [OK, OK, 403, 403, 403];
    const OWNER_ONLY: [u16; 5] = [OK, 403, 403, 403, 403];
    const DM_READ: [u16; 5] = [OK, OK, 403, 403, 403];
    const EVERYONE: [u16; 5] = [OK; 5];
    const NOBODY: [u16; 5] = [403; 5];
    // Recipients are a group DM's: a guild channel is not one.
    const NOT_A_GROUP: [u16; 5] = [404, 404, 404, 403, 403];
    let overwrite = |_: &World, _: Caller| Some(json!({"type": 0, "allow": "0", "deny": "0"}));
    vec![
        row("POST", "/auth/register", Own, [201; 5]).body(|_, _| {
            let n = NAMES.fetch_add(1, Ordering::Relaxed);
            Some(json!({"username": format!("matrix{n}"), "password": "correct-horse"}))
        }),
        row("POST", "/auth/login", Own, EVERYONE).body(|w, c| {
            let name = &w.users.of(c).user.username;
            Some(json!({"username": name, "password": "correct-horse"}))
        }),
        row("POST", "/auth/password", Own, EVERYONE).revokes()
            .body(|_, _| Some(json!({"password": "correct-horse", "new_password": "correct-horse"}))),
        row("POST", "/auth/logout-everywhere", Own, [204; 5]).revokes(),
        row("POST", "/guilds", Own, EVERYONE).body(|_, _| Some(json!({"name": "mine"}))),
        row("GET", "/users/@me/guilds", Own, EVERYONE),
        row("GET", "/gateway", Own, EVERYONE),
        row("GET", "/gateway/bot", Own, EVERYONE),
        row("GET", "/users/@me", Own, EVERYONE),
        // Any user's public profile, as Discord answers it.
        row("GET", "/users/{id}", Own, EVERYONE),
        // Any user may make an application; only its owner resets its bot's
        // token; only a bot's token names an application.
        row("POST", "/applications", Own, [201; 5]).body(|_, _| {
            let n = NAMES.fetch_add(1, Ordering::Relaxed);
            Some(json!({"name": format!("matrixbot{n}")}))
        }),
        row("POST", "/applications/{id}/bot/reset", Own, OWNER_ONLY),
        row("GET", "/applications/@me", Own, [404; 5]),
        row("GET", "/oauth2/applications/@me", Own, [404; 5]),
        row("GET", "/users/@me/read-states", Own, EVERYONE),
        row("GET", "/users/@me/channels", Own, EVERYONE),
        row("POST", "/users/@me/channels", Own, EVERYONE)
            .body(|w, _| Some(json!({"recipient_id": w.users.target.user.id}))),
        // A member joining again is a no-op; the banned user may not.
        row("POST", "/invites/{code}", Own, [OK, OK, OK, OK, 403]),
        // An invite's preview is for whoever holds the code.
        row("GET", "/invites/{code}", Own, EVERYONE),
        row("GET", "/guilds/{id}", Guild, READ),
        // MANAGE_GUILD (the owner's alone here).
        row("PATCH", "/guilds/{id}", Guild, OWNER_ONLY).body(|_, _| Some(json!({"name": "renamed"}))),
        // Its owner alone (the last caller: the others find it still there).
        row("DELETE", "/guilds/{id}", Guild, OWNER_ONLY),
        row("GET", "/guilds/{id}/channels", Guild, READ),
        row("GET", "/guilds/{id}/roles/{role}", Guild, READ),
        // The owner cannot leave (they delete the guild or hand it over).
        row("DELETE", "/users/@me/guilds/{id}", Guild, [400, 204, 204, 403, 403]),
        row("POST", "/guilds/{id}/channels", Guild, OWNER_ONLY).body(|_, _| Some(json!({"name": "new"}))),
        row("PATCH", "/guilds/{id}/channels", Guild, [204, 403, 403, 403, 403])
            .body(|w, _| Some(json!([{"id": w.channel, "position": 3}]))),
        row("POST", "/guilds/{id}/invites", Guild, WRITE),
        // Listing and deleting invites: MANAGE_GUILD (the owner's alone
        // here; the world's invite is a guild invite, so MANAGE_CHANNELS
        // would not do).
        row("GET", "/guilds/{id}/invites", Guild, OWNER_ONLY),
        row("DELETE", "/invites/{code}", Own, OWNER_ONLY),
        row("GET", "/guilds/{id}/roles", Guild, READ),
        row("POST", "/guilds/{id}/roles", Guild, OWNER_ONLY).body(|_, _| Some(json!({"name": "new role"}))),
        row("PATCH", "/guilds/{id}/roles", Guild, OWNER_ONLY)
            .body(|w, _| Some(json!([{"id": w.role.id, "position": 1}]))),
        row("PATCH", "/guilds/{id}/roles/{role}", Guild, OWNER_ONLY).body(|_, _| Some(json!({"name": "renamed"}))),
        row("DELETE", "/guilds/{id}/roles/{role}", Guild, OWNER_ONLY),
        row("GET", "/guilds/{id}/members/{user}", Guild, READ),
        row("GET", "/guilds/{id}/members", Guild, READ),
        // A timeout needs MODERATE_MEMBERS (an empty body changes nothing
        // and reads the member as GET does: `hardening.rs`).
        row("PATCH", "/guilds/{id}/members/{user}", Guild, OWNER_ONLY).body(|_, _| {
            let until = format_timestamp(now_ms() + 60_000);
            Some(json!({"communication_disabled_until": until}))
        }),
        row("DELETE", "/guilds/{id}/members/{user}", Guild, OWNER_ONLY),
        row("PUT", "/guilds/{id}/members/{user}/roles/{role}", Guild, OWNER_ONLY),
        row("DELETE", "/guilds/{id}/members/{user}/roles/{role}", Guild, OWNER_ONLY),
        row("GET", "/guilds/{id}/bans", Guild, OWNER_ONLY),
        row("GET", "/guilds/{id}/bans/{user}", Guild, OWNER_ONLY),
        row("PUT", "/guilds/{id}/bans/{user}", Guild, OWNER_ONLY),
        row("DELETE", "/guilds/{id}/bans/{user}", Guild, OWNER_ONLY),
        row("GET", "/guilds/{id}/audit-logs", Guild, OWNER_ONLY),
        // A guild channel.
        row("GET", "/channels/{id}", Channel, READ),
        row("PATCH", "/channels/{id}", Channel, OWNER_ONLY).body(|_, _| Some(json!({"name": "renamed"}))),
        row("DELETE", "/channels/{id}", Channel, OWNER_ONLY),
        row("GET", "/channels/{id}/messages", Channel, READ),
        row("POST", "/channels/{id}/messages", Channel, WRITE).body(|_, _| text("hello")),
        row("GET", "/channels/{id}/messages/{message}", Channel, READ),
        row("PATCH", "/channels/{id}/messages/{message}", Channel, OWNER_ONLY).body(|_, _| text("edited")),
        row("DELETE", "/channels/{id}/messages/{message}", Channel, OWNER_ONLY),
        row("POST", "/channels/{id}/messages/bulk-delete", Channel, OWNER_ONLY)
            .body(|w, _| Some(json!({"messages": [w.messages[0].id, w.messages[1].id]}))),
        row("POST", "/channels/{id}/messages/{message}/ack", Channel, READ),
        row("POST", "/channels/{id}/typing", Channel, WRITE),
        row("GET", "/channels/{id}/pins", Channel, READ),
        row("PUT", "/channels/{id}/pins/{message}", Channel, OWNER_ONLY),
        row("DELETE", "/channels/{id}/pins/{message}", Channel, OWNER_ONLY),
        row("GET", "/channels/{id}/messages/{message}/reactions/{emoji}", Channel, READ),
        row("PUT", "/channels/{id}/messages/{message}/reactions/{emoji}/{user}", Channel, WRITE),
        row("DELETE", "/channels/{id}/messages/{message}/reactions/{emoji}/{user}", Channel, READ),
        row("DELETE", "/channels/{id}/messages/{message}/reactions", Channel, OWNER_ONLY),
        row("DELETE", "/channels/{id}/messages/{message}/reactions/{emoji}", Channel, OWNER_ONLY),
        row("GET", "/channels/{id}/invites", Channel, OWNER_ONLY),
        row("POST", "/channels/{id}/invites", Channel, WRITE).body(|_, _| Some(json!({"max_age": 60}))),
        row("PUT", "/channels/{id}/permissions/{target}", Channel, OWNER_ONLY).body(overwrite),
        row("DELETE", "/channels/{id}/permissions/{target}", Channel, OWNER_ONLY),
        row("PUT", "/channels/{id}/recipients/{user}", Channel, NOT_A_GROUP),
        row("DELETE", "/channels/{id}/recipients/{user}", Channel, NOT_A_GROUP),
        // The owner's and the member's DM: the others are non-recipients.
        row("GET", "/channels/{id}", Dm, DM_READ),
        row("PATCH", "/channels/{id}", Dm, NOBODY).body(|_, _| Some(json!({"name": "renamed"}))),
        // A DM is never deleted (Discord's "close" is a client's matter).
        row("DELETE", "/channels/{id}", Dm, NOBODY),
        row("GET", "/channels/{id}/messages", Dm, DM_READ),
        row("POST", "/channels/{id}/messages", Dm, DM_READ).body(|_, _| text("hello")),
        row("GET", "/channels/{id}/messages/{message}", Dm, DM_READ),
        row("PATCH", "/channels/{id}/messages/{message}", Dm, OWNER_ONLY).body(|_, _| text("edited")),
        row("DELETE", "/channels/{id}/messages/{message}", Dm, OWNER_ONLY),
        row("POST", "/channels/{id}/messages/bulk-delete", Dm, NOBODY)
            .body(|w, _| Some(json!({"messages": [w.messages[2].id, w.messages[3].id]}))),
        row("POST", "/channels/{id}/messages/{message}/ack", Dm, DM_READ),
        row("POST", "/channels/{id}/typing", Dm, DM_READ),
        row("GET", "/channels/{id}/pins", Dm, DM_READ),
        row("PUT", "/channels/{id}/pins/{message}", Dm, DM_READ),
        row("DELETE", "/channels/{id}/pins/{message}", Dm, DM_READ),
        row("GET", "/channels/{id}/messages/{message}/reactions/{emoji}", Dm, DM_READ),
        row("PUT", "/channels/{id}/messages/{message}/reactions/{emoji}/{user}", Dm, DM_READ),
        row("DELETE", "/channels/{id}/messages/{message}/reactions/{emoji}/{user}", Dm, DM_READ),
        // Nobody manages messages in a DM, and invites lead to guilds.
        row("DELETE", "/channels/{id}/messages/{message}/reactions", Dm, NOBODY),
        row("DELETE", "/channels/{id}/messages/{message}/reactions/{emoji}", Dm, NOBODY),
        row("GET", "/channels/{id}/invites", Dm, NOBODY),
        row("POST", "/channels/{id}/invites", Dm, NOBODY).body(|_, _| Some(json!({"max_age": 60}))),
        row("PUT", "/channels/{id}/permissions/{target}", Dm, NOBODY).body(overwrite),
        row("DELETE", "/channels/{id}/permissions/{target}", Dm, NOBODY),
        row("PUT", "/channels/{id}/recipients/{user}", Dm, NOBODY),
        row("DELETE", "/channels/{id}/recipients/{user}", Dm, NOBODY),
        // Webhooks: MANAGE_WEBHOOKS (the owner's alone here), guild channels
        // only; one in a channel the caller cannot see is unknown to them.
        row("POST", "/channels/{id}/webhooks", Channel, OWNER_ONLY).body(|_, _| Some(json!({"name": "new hook"}))),
        row("GET", "/channels/{id}/webhooks", Channel, OWNER_ONLY),
        row("POST", "/channels/{id}/webhooks", Dm, NOBODY).body(|_, _| Some(json!({"name": "new hook"}))),
        row("GET", "/channels/{id}/webhooks", Dm, NOBODY),
        row("GET", "/guilds/{id}/webhooks", Guild, OWNER_ONLY),
        row("GET", "/webhooks/{id}", Webhook, [OK, 403, 403, 404, 404]),
        row("DELETE", "/webhooks/{id}", Webhook, [204, 403, 403, 404, 404]),
        row("PATCH", "/webhooks/{id}", Webhook, [OK, 403, 403, 404, 404])
            .body(|_, _| Some(json!({"name": "renamed hook"}))),
        // The token in the URL is the credential, whoever sends it.
        row("GET", "/webhooks/{id}/{token}", Webhook, EVERYONE),
        row("POST", "/webhooks/{id}/{token}", Webhook, EVERYONE).body(|_, _| text("hooked")),
        row("PATCH", "/webhooks/{id}/{token}", Webhook, EVERYONE)
            .body(|_, _| Some(json!({"name": "renamed hook"}))),
        // Its own messages, for whoever holds the URL.
        row("GET", "/webhooks/{id}/{token}/messages/{message}", Webhook, EVERYONE),
        row("PATCH", "/webhooks/{id}/{token}/messages/{message}", Webhook, EVERYONE)
            .body(|_, _| text("edited through the hook")),
        // The first caller (the member) deletes it; the others find it gone.
        row("DELETE", "/webhooks/{id}/{token}/messages/{message}", Webhook, [404, 204, 404, 404, 404]),
        row("DELETE", "/webhooks/{id}/{token}", Webhook, [404, 204, 404, 404, 404]),
    ]
}

/// The accounts every row uses.
fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("an HTTP method")
}

fn matches(expected: u16, got: StatusCode) -> bool {
    match expected {
        OK => got.is_success(),
        code => got.as_u16() == code,
    }
}

#[test]
fn every_route_has_a_decision_and_every_decision_a_route() {
    let served: BTreeSet<(&str, &str)> = rookery_edge::API_ROUTES.iter().copied().collect();
    let rows = matrix();
    let decided: BTreeSet<(&str, &str)> = rows.iter().map(|r| (r.method, r.path)).collect();
    let undecided: Vec<_> = served.difference(&decided).collect();
    assert!(
        undecided.is_empty(),
        "routes with no row in the matrix: {undecided:?}"
    );
    let stale: Vec<_> = decided.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "rows for routes the router does not serve: {stale:?}"
    );
    let channel_routes = served
        .iter()
        .filter(|(_, p)| p.starts_with("/channels/{id}"));
    for route in channel_routes {
        let scopes: BTreeSet<_> = rows
            .iter()
            .filter(|r| (r.method, r.path) == *route)
            .map(|r| format!("{:?}", r.scope))
            .collect();
        assert_eq!(
            scopes.len(),
            2,
            "{route:?} needs a guild channel row and a DM row"
        );
    }
}

#[tokio::test]
async fn every_route_refuses_a_missing_or_forged_token() {
    let server = server().await;
    // The webhook token routes are authenticated by the token in the URL
    // (`tests/webhooks.rs` checks a wrong one is refused).
    let public = [
        ("POST", "/auth/register"),
        ("POST", "/auth/login"),
        ("GET", "/gateway"),
        ("GET", "/webhooks/{id}/{token}"),
        ("POST", "/webhooks/{id}/{token}"),
        ("DELETE", "/webhooks/{id}/{token}"),
        ("PATCH", "/webhooks/{id}/{token}"),
        ("GET", "/webhooks/{id}/{token}/messages/{message}"),
        ("PATCH", "/webhooks/{id}/{token}/messages/{message}"),
        ("DELETE", "/webhooks/{id}/{token}/messages/{message}"),
    ];
    let anonymous = server.api();
    let forged = server.api().with_token("eyJhbGciOiJIUzI1NiJ9.e30.forged");
    for &(name, template) in rookery_edge::API_ROUTES {
        if public.contains(&(name, template)) {
            continue;
        }
        let path = template
            .replace("{code}", "abc")
            .replace("{emoji}", "x")
            .replace('{', "1")
            .replace('}', "");
        for api in [&anonymous, &forged] {
            let (status, body) = api.raw(method(name), &path, None).await.unwrap();
            assert_eq!(status.as_u16(), 401, "{name} {path}: {body}");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_gets_the_decided_answer_on_every_route() {
    let server = server().await;
    let mut users = users(&server).await;
    let mut wrong = Vec::new();
    let mut checked = 0;
    for row in matrix() {
        let world = World::new(&users).await;
        let path = world.path(row.method, row.path, row.scope);
        for caller in CALLERS {
            let body = (row.body)(&world, caller);
            let user = users.of(caller);
            let (got, answer) = user.call(method(row.method), &path, body).await;
            checked += 1;
            let expected = row.expected(caller);
            if !matches(expected, got) {
                wrong.push(format!(
                    "{} {} ({:?}) as {caller:?}: expected {expected}, got {got}: {answer}",
                    row.method, row.path, row.scope
                ));
            }
        }
        drop(world);
        if row.revokes {
            users.log_in_again(&server).await;
        }
    }
    println!("authorization matrix: {checked} calls checked");
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    server.stop().await;
}
