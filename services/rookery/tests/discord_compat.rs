//! What Discord's libraries ask first, answered Discord's way: the API under
//! `/api/v10`, user objects, and the gateway's URL with the caller's
//! identify budget, and bot accounts (issue 17, its first parts).

use futures_util::StreamExt;
use reqwest::Method;
use rookery_client::Gateway;
use rookery_proto::UserId;
use rookery_proto::codec::Encoding;
use rookery_proto::gateway::{CloseCode, op};
use rookery_proto::rest::{BotGatewayInfo, BotToken, GatewayInfo, UserObject};
use rookery_testkit::TestServer;
use serde_json::{Value, json};
use std::time::Duration;

/// How long an expected event may take.
const T: Duration = Duration::from_secs(10);

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}{path}", server.http()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn the_api_answers_under_discords_v10_path_too() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let token = Some(alice.token.as_str());
    let v1 = get(&server, "/api/v1/users/@me", token).await;
    let v10 = get(&server, "/api/v10/users/@me", token).await;
    assert_eq!((v1.0, &v1.1), (200, &v10.1));
    assert_eq!(get(&server, "/api/v10/users/@me", None).await.0, 401);
    assert_eq!(get(&server, "/api/v9/users/@me", token).await.0, 404);
    server.stop().await;
}

#[tokio::test]
async fn users_are_discords_user_objects() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let me: Value = alice.ok(Method::GET, "/users/@me", None).await;
    let expected = json!({
        "id": alice.user.id.to_string(),
        "username": alice.user.username,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": false,
        "public_flags": 0,
        "flags": 0,
        "primary_guild": null,
    });
    assert_eq!(me, expected);
    let other: UserObject = alice
        .ok(Method::GET, &format!("/users/{}", bob.user.id), None)
        .await;
    assert_eq!(
        (other.id, other.username),
        (bob.user.id, bob.user.username.clone())
    );
    for unknown in ["1", "not-an-id"] {
        let path = format!("/users/{unknown}");
        alice.refused(Method::GET, &path, None, (404, 10013)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn the_gateway_url_leads_to_the_gateway_and_the_bot_gateway_reports_the_identify_budget() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let (status, info) = get(&server, "/api/v10/gateway", None).await;
    assert_eq!(status, 200);
    let info: GatewayInfo = serde_json::from_value(info).unwrap();
    assert_eq!(info.url, format!("{}/gateway", server.ws()));
    // As Discord's libraries connect: the URL with their query.
    let url = format!("{}?v=10&encoding=json", info.url);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&hello).unwrap()["op"], 10);

    let bot: BotGatewayInfo = alice.ok(Method::GET, "/gateway/bot", None).await;
    let limit = &bot.session_start_limit;
    assert_eq!((bot.url, bot.shards), (info.url, 1));
    assert_eq!(
        (limit.total, limit.remaining, limit.max_concurrency),
        (1000, 1000, 1)
    );
    server.gateway(&alice, Encoding::Json).await;
    let after: BotGatewayInfo = alice.ok(Method::GET, "/gateway/bot", None).await;
    assert_eq!(
        after.session_start_limit.remaining, 999,
        "an IDENTIFY spent one"
    );
    assert!(after.session_start_limit.reset_after > 0);
    // A Host that is not a plain host[:port] is not echoed.
    let forged = reqwest::Client::new()
        .get(format!("{}/api/v1/gateway", server.http()))
        .header("host", "evil.example/<x>")
        .send()
        .await
        .unwrap();
    let forged: GatewayInfo = forged.json().await.unwrap();
    assert_eq!(forged.url, "ws://localhost/gateway");
    server.stop().await;
}

#[tokio::test]
async fn a_configured_gateway_url_is_what_clients_are_told() {
    let public = "wss://chat.example.com/gateway";
    let server = TestServer::start_with(|c| c.gateway_url = Some(public.into())).await;
    let (_, info) = get(&server, "/api/v1/gateway", None).await;
    assert_eq!(info["url"], public);
    server.stop().await;
}

/// `method path` with `Authorization: <scheme> <token>`.
async fn call_as(
    server: &TestServer,
    (scheme, token): (&str, &str),
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/api/v10{path}", server.http());
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("authorization", format!("{scheme} {token}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_bot_authenticates_with_its_token_joins_by_invite_and_its_owner_can_reset_it() {
    let server = TestServer::start().await;
    let [alice, carol] = server.users(["alice", "carol"]).await;
    let made: BotToken = {
        let (status, body) = alice
            .call(
                Method::POST,
                "/applications",
                Some(json!({"name": "helper"})),
            )
            .await;
        assert_eq!(status.as_u16(), 201, "{body}");
        serde_json::from_value(body).unwrap()
    };
    let app = &made.application;
    assert_eq!(
        (app.owner.id, app.bot.id, app.bot.bot),
        (alice.user.id, UserId::from(app.id), true)
    );
    let bot = ("Bot", made.token.as_str());
    let (status, me) = call_as(&server, bot, Method::GET, "/users/@me", None).await;
    assert_eq!(
        (status, me["bot"].clone(), me["username"].clone()),
        (200, json!(true), json!("helper"))
    );
    for path in ["/applications/@me", "/oauth2/applications/@me"] {
        let (status, mine) = call_as(&server, bot, Method::GET, path, None).await;
        assert_eq!(
            (status, mine["id"].clone()),
            (200, json!(app.id.to_string())),
            "{path}"
        );
    }
    // A bot token goes with Bot, a user's with Bearer.
    let wrong = call_as(
        &server,
        ("Bearer", &made.token),
        Method::GET,
        "/users/@me",
        None,
    )
    .await;
    assert_eq!(wrong.0, 401);
    let wrong = call_as(
        &server,
        ("Bot", &alice.token),
        Method::GET,
        "/users/@me",
        None,
    )
    .await;
    assert_eq!(wrong.0, 401);
    let seen: UserObject = carol
        .ok(Method::GET, &format!("/users/{}", app.id), None)
        .await;
    assert!(seen.bot, "others see a bot");
    let no_password = server.api().login("helper", "correct-horse").await;
    assert!(no_password.is_err(), "a bot's account has no password");
    let taken = alice
        .call(
            Method::POST,
            "/applications",
            Some(json!({"name": "HELPER"})),
        )
        .await;
    assert_eq!(
        (taken.0.as_u16(), taken.1["code"].clone()),
        (409, json!(40009))
    );

    // It joins by invite, posts, and hears the guild on the gateway.
    let guild = alice.api.create_guild("with a bot").await.unwrap();
    let code = alice.api.create_invite(guild.id).await.unwrap();
    let joined = call_as(
        &server,
        bot,
        Method::POST,
        &format!("/invites/{code}"),
        None,
    )
    .await;
    assert_eq!(joined.0, 200, "{}", joined.1);
    let channel = guild.channels[0].id;
    let posted = call_as(
        &server,
        bot,
        Method::POST,
        &format!("/channels/{channel}/messages"),
        Some(json!({"content": "beep"})),
    )
    .await;
    assert_eq!(posted.0, 200, "{}", posted.1);
    let mut g = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    g.identify(&made.token)
        .await
        .expect("a bot identifies with its token");
    alice
        .api
        .post_message(channel, "hello bot", None)
        .await
        .unwrap();
    let heard = g
        .dispatch("MESSAGE_CREATE", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(heard.d::<Value>().unwrap()["content"], "hello bot");

    // Only the owner resets it; the old token stops at once, sessions too.
    let reset = format!("/applications/{}/bot/reset", app.id);
    carol
        .refused(Method::POST, &reset, None, (403, 50013))
        .await;
    let fresh: BotToken = alice.ok(Method::POST, &reset, None).await;
    let closed = rookery_testkit::close_code(&mut g, Duration::from_secs(10)).await;
    assert_eq!(closed, CloseCode::AuthenticationFailed.code());
    assert_eq!(
        call_as(&server, bot, Method::GET, "/users/@me", None)
            .await
            .0,
        401
    );
    let renewed = call_as(
        &server,
        ("Bot", &fresh.token),
        Method::GET,
        "/users/@me",
        None,
    )
    .await;
    assert_eq!(renewed.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn discords_request_fields_are_accepted_and_what_cannot_be_honoured_is_refused() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let guild = alice.api.create_guild("fields").await.unwrap();
    let channel = guild.channels[0].id;
    let path = format!("/channels/{channel}/messages");
    let first = alice
        .api
        .post_message(channel, "first", None)
        .await
        .unwrap();
    // As discord.js sends `channel.send()`: every field, most of them empty.
    let send = json!({
        "content": "hello", "tts": false, "nonce": 1_234_567_890_u64, "enforce_nonce": true,
        "embeds": [], "components": [], "attachments": [], "sticker_ids": [], "flags": 0,
        "allowed_mentions": {"parse": ["users", "roles", "everyone"]},
        "message_reference": {"message_id": first.id.to_string(), "channel_id": channel.to_string(),
            "guild_id": guild.id.to_string(), "fail_if_not_exists": true, "type": 0},
    });
    let sent: Value = alice.ok(Method::POST, &path, Some(send.clone())).await;
    assert_eq!(sent["content"], "hello");
    assert_eq!(
        sent["nonce"], "1234567890",
        "an integer nonce is taken as its digits"
    );
    let again: Value = alice.ok(Method::POST, &path, Some(send)).await;
    assert_eq!(again["id"], sent["id"], "the nonce still de-duplicates");
    let edit = json!({"content": "edited", "embeds": [], "components": [], "attachments": [],
        "flags": 0, "allowed_mentions": {"parse": []}});
    let message = format!("{path}/{}", sent["id"].as_str().unwrap());
    let edited: Value = alice.ok(Method::PATCH, &message, Some(edit)).await;
    assert_eq!(edited["content"], "edited");

    // What Rookery cannot do is refused, not dropped; unknown fields too.
    let refusals = [
        (
            json!({"content": "x", "embeds": [{"title": "t"}]}),
            (400, 50035),
        ),
        (
            json!({"content": "x", "components": [{"type": 1}]}),
            (400, 50035),
        ),
        (
            json!({"content": "x", "poll": {"question": {"text": "?"}}}),
            (400, 50035),
        ),
        (
            json!({"content": "x", "message_reference": {"message_id": first.id.to_string(), "type": 1}}),
            (400, 50035),
        ),
        (json!({"content": "x", "frobnicate": true}), (400, 50109)),
        (json!({"tts": false}), (400, 50006)),
    ];
    for (body, expected) in refusals {
        alice
            .refused(Method::POST, &path, Some(body), expected)
            .await;
    }
    let embed_edit = json!({"content": "x", "embeds": [{"title": "t"}]});
    alice
        .refused(Method::PATCH, &message, Some(embed_edit), (400, 50035))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn objects_leave_out_what_discord_leaves_out_and_reactions_carry_their_type() {
    let server = TestServer::start().await;
    let [alice, bob] = server.users(["alice", "bob"]).await;
    let channel = server.guild(&[&alice, &bob]).await.channels[0].id;
    let mut g = server.gateway(&bob, Encoding::Json).await;
    let sent = alice
        .api
        .post_message(channel, "plain", None)
        .await
        .unwrap();
    let live = g
        .dispatch("MESSAGE_CREATE", Duration::from_secs(10))
        .await
        .unwrap();
    let live: Value = live.d().unwrap();
    assert!(
        live.get("message_reference").is_none(),
        "no reply, no key: {live}"
    );
    let page: Value = alice
        .ok(Method::GET, &format!("/channels/{channel}/messages"), None)
        .await;
    assert!(page[0].get("message_reference").is_none(), "{page}");
    let react = format!(
        "/channels/{channel}/messages/{}/reactions/%F0%9F%91%8D/@me",
        sent.id
    );
    alice.no_content(Method::PUT, &react, None).await;
    let added = g
        .dispatch("MESSAGE_REACTION_ADD", Duration::from_secs(10))
        .await
        .unwrap();
    let added: Value = added.d().unwrap();
    assert_eq!(
        (added["type"].clone(), added["burst"].clone()),
        (json!(0), json!(false))
    );
    server.stop().await;
}

#[tokio::test]
async fn members_are_listed_by_page_and_by_op_8_in_chunks() {
    let server = TestServer::start().await;
    let [alice, bob, carol, dave] = server.users(["alice", "bob", "carol", "dave"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let path = format!("/guilds/{}/members", guild.id);
    let one: Vec<Value> = alice.ok(Method::GET, &path, None).await;
    assert_eq!(one.len(), 1, "Discord's default limit is 1");
    let all: Vec<Value> = alice
        .ok(Method::GET, &format!("{path}?limit=1000"), None)
        .await;
    let ids: Vec<String> = all
        .iter()
        .map(|m| m["user"]["id"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: Vec<String> = [&alice, &bob, &carol]
        .iter()
        .map(|u| u.user.id.to_string())
        .collect();
    expected.sort_by_key(|id| id.parse::<u64>().unwrap());
    assert_eq!(ids, expected, "by user id");
    let after: Vec<Value> = alice
        .ok(
            Method::GET,
            &format!("{path}?limit=1000&after={}", expected[0]),
            None,
        )
        .await;
    assert_eq!(after.len(), 2);
    alice
        .refused(
            Method::GET,
            &format!("{path}?limit=1001"),
            None,
            (400, 50035),
        )
        .await;
    dave.refused(Method::GET, &path, None, (403, 50001)).await;

    let mut g = server.gateway(&bob, Encoding::Json).await;
    let by_name = json!({"guild_id": guild.id.to_string(), "query": carol.user.username[..4].to_uppercase(), "limit": 10, "nonce": "q"});
    g.send_op(op::REQUEST_GUILD_MEMBERS, &by_name)
        .await
        .unwrap();
    let chunk: Value = g
        .dispatch("GUILD_MEMBERS_CHUNK", Duration::from_secs(10))
        .await
        .unwrap()
        .d()
        .unwrap();
    let names: Vec<&str> = chunk["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [carol.user.username.as_str()],
        "a prefix, any case: {chunk}"
    );
    assert_eq!(
        (
            chunk["chunk_index"].clone(),
            chunk["chunk_count"].clone(),
            chunk["nonce"].clone()
        ),
        (json!(0), json!(1), json!("q"))
    );
    let by_id = json!({"guild_id": guild.id.to_string(), "user_ids": [alice.user.id.to_string(), dave.user.id.to_string()]});
    g.send_op(op::REQUEST_GUILD_MEMBERS, &by_id).await.unwrap();
    let chunk: Value = g
        .dispatch("GUILD_MEMBERS_CHUNK", Duration::from_secs(10))
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(chunk["members"].as_array().unwrap().len(), 1);
    assert_eq!(chunk["not_found"], json!([dave.user.id.to_string()]));
    let everyone = json!({"guild_id": guild.id.to_string(), "query": "", "limit": 0});
    g.send_op(op::REQUEST_GUILD_MEMBERS, &everyone)
        .await
        .unwrap();
    let chunk: Value = g
        .dispatch("GUILD_MEMBERS_CHUNK", Duration::from_secs(10))
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(chunk["members"].as_array().unwrap().len(), 3);
    // Still connected: a heartbeat is answered.
    g.heartbeat().await.unwrap();
    g.op(op::HEARTBEAT_ACK, Duration::from_secs(10))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_guild_its_channels_a_role_and_an_invite_are_read_as_discord_reads_them() {
    let server = TestServer::start().await;
    let [alice, bob, dave] = server.users(["alice", "bob", "dave"]).await;
    let guild = server.guild(&[&alice, &bob]).await;
    let g = guild.id;
    let hidden = alice.api.create_channel(g, "staff").await.unwrap();
    let overwrite = json!({"type": 0, "allow": "0", "deny": "1024"});
    let path = format!("/channels/{}/permissions/{g}", hidden.id);
    alice.no_content(Method::PUT, &path, Some(overwrite)).await;
    let seen: Value = bob.ok(Method::GET, &format!("/guilds/{g}"), None).await;
    let names: Vec<&str> = seen["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["general"], "only what bob can see: {seen}");
    let owners: Vec<Value> = alice
        .ok(Method::GET, &format!("/guilds/{g}/channels"), None)
        .await;
    assert_eq!(owners.len(), 2);
    let everyone: Value = bob
        .ok(Method::GET, &format!("/guilds/{g}/roles/{g}"), None)
        .await;
    assert_eq!(everyone["name"], "@everyone");
    bob.refused(
        Method::GET,
        &format!("/guilds/{g}/roles/1"),
        None,
        (404, 10011),
    )
    .await;
    dave.refused(Method::GET, &format!("/guilds/{g}"), None, (403, 50001))
        .await;
    let code = alice.api.create_invite(g).await.unwrap();
    let preview: Value = dave
        .ok(Method::GET, &format!("/invites/{code}"), None)
        .await;
    assert_eq!(
        (preview["code"].clone(), preview["guild"]["id"].clone()),
        (json!(code), json!(g.to_string()))
    );
    dave.refused(Method::GET, "/invites/nope", None, (404, 10006))
        .await;
    server.stop().await;
}

/// Discord's `PATCH /guilds/{id}`: MANAGE_GUILD renames the guild, members
/// are told once with GUILD_UPDATE (the guild and its roles, never a
/// channel list, which Discord's libraries would take for the whole list),
/// Discord's other fields pass at the value shown and are refused
/// otherwise, and a body that changes nothing tells nobody.
#[tokio::test]
async fn managers_rename_a_guild_and_members_get_one_guild_update() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let path = format!("/guilds/{}", guild.id);
    bob.refused(
        Method::PATCH,
        &path,
        Some(json!({"name": "mine"})),
        (403, 50013),
    )
    .await;
    for (bad, code) in [
        (json!({"verification_level": 3}), 50035),
        (json!({"owner_id": bob.user.id.to_string()}), 50035),
        (json!({"name": " "}), 50035),
        (json!({"colour": 1}), 50109),
    ] {
        alice
            .refused(Method::PATCH, &path, Some(bad.clone()), (400, code))
            .await;
    }
    let body = json!({"name": "Renamed", "description": null, "afk_timeout": 300});
    let answer: Value = alice.ok(Method::PATCH, &path, Some(body)).await;
    assert_eq!(answer["name"], json!("Renamed"));
    let update = bob_gw.dispatch("GUILD_UPDATE", T).await.unwrap();
    let update: Value = update.d().unwrap();
    assert_eq!(update["name"], json!("Renamed"));
    assert!(update.get("channels").is_none(), "{update}");
    assert_eq!(update["roles"][0]["id"], json!(guild.id.to_string()));
    let seen: Value = bob.ok(Method::GET, &path, None).await;
    assert_eq!(seen["name"], json!("Renamed"));
    // The same name again changes nothing: bob's next dispatch is the
    // message after it.
    let same = json!({"name": "Renamed"});
    let _: Value = alice.ok(Method::PATCH, &path, Some(same)).await;
    let posted = alice.api.post_message(guild.channels[0].id, "after", None);
    posted.await.unwrap();
    let next = loop {
        let f = tokio::time::timeout(T, bob_gw.next())
            .await
            .unwrap()
            .unwrap();
        if f.header.op == op::DISPATCH {
            break f;
        }
    };
    assert_eq!(next.t(), Some("MESSAGE_CREATE"));
    let log: Value = alice
        .ok(
            Method::GET,
            &format!("{path}/audit-logs?action_type=1"),
            None,
        )
        .await;
    assert_eq!(
        log["audit_log_entries"].as_array().unwrap().len(),
        1,
        "{log}"
    );
    server.stop().await;
}

/// Discord's `DELETE /guilds/{id}`: its owner alone deletes it; every
/// member's session is told GUILD_DELETE, and nothing of the guild is
/// found afterwards (the guild, its channel and messages, its invite, the
/// members' guild lists, a new session's READY).
#[tokio::test]
async fn an_owner_deletes_a_guild_and_its_members_are_told() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let kept = alice.api.create_guild("kept").await.unwrap();
    let guild = server.guild(&[&alice, &bob]).await;
    let channel = guild.channels[0].id;
    alice
        .api
        .post_message(channel, "before", None)
        .await
        .unwrap();
    let code = alice.api.create_invite(guild.id).await.unwrap();
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let path = format!("/guilds/{}", guild.id);
    bob.refused(Method::DELETE, &path, None, (403, 50013)).await;
    alice.no_content(Method::DELETE, &path, None).await;

    let gone: Value = bob_gw
        .dispatch("GUILD_DELETE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(
        gone,
        json!({"id": guild.id.to_string(), "unavailable": false})
    );
    let (status, _) = bob.call(Method::GET, &path, None).await;
    assert!(matches!(status.as_u16(), 403 | 404), "{status}");
    // Unknown: the channel (10003), or its guild (10004) while this edge
    // still holds the channel in its cache.
    let history = format!("/channels/{channel}/messages");
    let (status, answer) = bob.call(Method::GET, &history, None).await;
    assert_eq!(status.as_u16(), 404, "{answer}");
    assert!(
        matches!(answer["code"].as_u64(), Some(10003 | 10004)),
        "{answer}"
    );
    bob.refused(Method::GET, &format!("/invites/{code}"), None, (404, 10006))
        .await;
    let mine = |u: &rookery_testkit::TestUser| {
        let u = u.api.clone();
        async move {
            let guilds = u.my_guilds().await.unwrap();
            guilds.into_iter().map(|g| g.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(mine(&alice).await, vec![kept.id]);
    assert!(mine(&bob).await.is_empty());
    let mut fresh = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let ready = fresh.identify(&alice.token).await.unwrap();
    let ids: Vec<_> = ready.guilds.iter().map(|g| g.id).collect();
    assert_eq!(ids, vec![kept.id]);
    server.stop().await;
}

/// Discord's `author.bot`: a bot's messages (sent over REST or the
/// gateway) and a webhook's carry `bot: true` on their author, in the
/// answer, the history and the live event; a user's leave `bot` out, as
/// Discord does. It is what bots read to ignore each other.
#[tokio::test]
async fn messages_from_bots_and_webhooks_say_so_and_users_do_not() {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let (status, made) = alice
        .call(
            Method::POST,
            "/applications",
            Some(json!({"name": "beeper"})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let made: BotToken = serde_json::from_value(made).unwrap();
    let guild = server.guild(&[&alice]).await;
    let channel = guild.channels[0].id;
    let code = alice.api.create_invite(guild.id).await.unwrap();
    let bot = ("Bot", made.token.as_str());
    let mut alice_gw = server.gateway(&alice, Encoding::Json).await;
    let (status, _) = call_as(
        &server,
        bot,
        Method::POST,
        &format!("/invites/{code}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Its membership says so too: live, and read back (discord.py caches
    // users from members, and would show the bot's messages as a user's).
    let joined: Value = alice_gw
        .dispatch("GUILD_MEMBER_ADD", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(joined["user"]["bot"], json!(true), "{joined}");
    let member_path = format!("/guilds/{}/members/{}", guild.id, made.application.id);
    let member: Value = alice.ok(Method::GET, &member_path, None).await;
    assert_eq!(member["user"]["bot"], json!(true), "{member}");
    let human: Value = alice
        .ok(
            Method::GET,
            &format!("/guilds/{}/members/{}", guild.id, alice.user.id),
            None,
        )
        .await;
    assert!(human["user"].get("bot").is_none(), "{human}");

    let path = format!("/channels/{channel}/messages");
    let (status, sent) = call_as(
        &server,
        bot,
        Method::POST,
        &path,
        Some(json!({"content": "beep"})),
    )
    .await;
    assert_eq!(
        (status, sent["author"]["bot"].clone()),
        (200, json!(true)),
        "{sent}"
    );
    let live: Value = alice_gw
        .dispatch("MESSAGE_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(live["author"]["bot"], json!(true), "{live}");
    // Over the bot's own gateway connection too.
    let mut bot_gw = Gateway::connect(&server.ws(), Encoding::MsgPack)
        .await
        .unwrap();
    bot_gw.identify(&made.token).await.unwrap();
    bot_gw.send_message(channel, "n1", "boop").await.unwrap();
    // Acknowledged, so stored before the messages below.
    rookery_testkit::answer(&mut bot_gw).await.unwrap();
    let hook: Value = alice
        .ok(
            Method::POST,
            &format!("/channels/{channel}/webhooks"),
            Some(json!({"name": "hook"})),
        )
        .await;
    let execute = format!(
        "{}/api/v10/webhooks/{}/{}",
        server.http(),
        hook["id"].as_str().unwrap(),
        hook["token"].as_str().unwrap()
    );
    let hooked = reqwest::Client::new()
        .post(execute)
        .json(&json!({"content": "hooked"}))
        .send();
    assert_eq!(hooked.await.unwrap().status().as_u16(), 204);
    alice
        .api
        .post_message(channel, "human", None)
        .await
        .unwrap();

    let history: Vec<Value> = alice
        .ok(Method::GET, &format!("{path}?limit=10"), None)
        .await;
    let authors: Vec<(String, Value)> = history
        .iter()
        .map(|m| {
            (
                m["content"].as_str().unwrap().to_owned(),
                m["author"].get("bot").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let expected = [
        ("human", Value::Null),
        ("hooked", json!(true)),
        ("boop", json!(true)),
        ("beep", json!(true)),
    ];
    let expected: Vec<(String, Value)> = expected
        .into_iter()
        .map(|(c, b)| (c.to_owned(), b))
        .collect();
    assert_eq!(authors, expected);
    server.stop().await;
}
