//! Roles, member roles and channel overwrites end to end, over real HTTP
//! and WebSocket clients: who may manage them, what they grant and deny
//! on send and history, the events they dispatch, and that a revoked
//! grant does not survive in the permission caches.

use reqwest::{Method, StatusCode};
use rookery_client::Gateway;
use rookery_proto::GuildId;
use rookery_proto::codec::Encoding;
use rookery_proto::model::{Channel, Member, Message, Role};
use rookery_proto::permissions::Permissions;
use rookery_proto::{ChannelId, MessageId, RoleId};
use rookery_testkit::{TestServer, TestUser, bits, send_answer};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

async fn create_role(u: &TestUser, guild: GuildId, body: Value) -> Role {
    u.create_role(guild, body).await
}

/// The ids of the MESSAGE_CREATEs received up to and including `id`.
async fn messages_until(g: &mut Gateway, id: MessageId) -> Vec<MessageId> {
    let mut seen = Vec::new();
    while seen.last() != Some(&id) {
        let m: Message = g.dispatch("MESSAGE_CREATE", T).await.unwrap().d().unwrap();
        seen.push(m.id);
    }
    seen
}

#[tokio::test]
async fn roles_and_overwrites_gate_sending_and_reading_and_are_dispatched() {
    let server = TestServer::start().await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let (g, channel) = (guild.id, guild.channels[0].id);
    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let mut carol_gw = server.gateway(&carol, Encoding::Json).await;
    let roles: Vec<Role> = serde_json::from_value(
        bob.call(Method::GET, &format!("/guilds/{g}/roles"), None)
            .await
            .1,
    )
    .unwrap();
    assert_eq!(roles.len(), 1, "@everyone only");
    assert_eq!(
        (roles[0].id, roles[0].permissions),
        (g.everyone(), Permissions::DEFAULT_EVERYONE)
    );

    // Only MANAGE_ROLES manages roles; only MANAGE_CHANNELS makes channels.
    let create = Some(json!({"name": "speakers"}));
    bob.refused(
        Method::POST,
        &format!("/guilds/{g}/roles"),
        create.clone(),
        (403, 50013),
    )
    .await;
    bob.refused(
        Method::POST,
        &format!("/guilds/{g}/channels"),
        Some(json!({"name": "x"})),
        (403, 50013),
    )
    .await;
    let speakers = create_role(
        &alice,
        g,
        json!({"name": "speakers", "permissions": bits(Permissions::NONE)}),
    )
    .await;
    let created = bob_gw.dispatch("GUILD_ROLE_CREATE", T).await.unwrap();
    assert_eq!(
        created.d::<Value>().unwrap()["role"]["id"],
        speakers.id.to_string()
    );

    // @everyone may not send here; speakers may.
    let everyone_deny = json!({"type": 0, "deny": bits(Permissions::SEND_MESSAGES)});
    alice
        .no_content(
            Method::PUT,
            &format!("/channels/{channel}/permissions/{g}"),
            Some(everyone_deny),
        )
        .await;
    let c: Channel = bob_gw
        .dispatch("CHANNEL_UPDATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(c.permission_overwrites.len(), 1);
    assert_eq!(send_answer(&mut bob_gw, channel, "b1").await, Err(50013));
    let post = |u: &TestUser| {
        let path = format!("/channels/{channel}/messages");
        let api = u.api.clone();
        async move {
            api.raw(Method::POST, &path, Some(json!({"content": "hi"})))
                .await
                .unwrap()
        }
    };
    assert_eq!(post(&bob).await.1["code"], 50013);
    let allow = json!({"type": 0, "allow": bits(Permissions::SEND_MESSAGES)});
    alice
        .no_content(
            Method::PUT,
            &format!("/channels/{channel}/permissions/{}", speakers.id),
            Some(allow),
        )
        .await;
    alice
        .no_content(
            Method::PUT,
            &format!("/guilds/{g}/members/{}/roles/{}", bob.user.id, speakers.id),
            None,
        )
        .await;
    let m: Member = bob_gw
        .dispatch("GUILD_MEMBER_UPDATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(m.roles, vec![speakers.id]);
    let sent = send_answer(&mut bob_gw, channel, "b2")
        .await
        .expect("speakers may send");
    assert_eq!(messages_until(&mut carol_gw, sent).await, vec![sent]);

    // A member overwrite hiding the channel: no send, no history.
    let hide = json!({"type": 1, "deny": bits(Permissions::VIEW_CHANNEL)});
    alice
        .no_content(
            Method::PUT,
            &format!("/channels/{channel}/permissions/{}", carol.user.id),
            Some(hide),
        )
        .await;
    carol
        .refused(
            Method::GET,
            &format!("/channels/{channel}/messages"),
            None,
            (403, 50001),
        )
        .await;
    carol
        .refused(
            Method::GET,
            &format!("/channels/{channel}"),
            None,
            (403, 50001),
        )
        .await;
    assert_eq!(post(&carol).await.1["code"], 50001);
    // Nor its live messages: Bob gets the hidden post, Carol only the next
    // one, in a channel she can see.
    let hidden: Message = serde_json::from_value(post(&alice).await.1).unwrap();
    assert_eq!(
        messages_until(&mut bob_gw, hidden.id).await.last(),
        Some(&hidden.id)
    );
    let open = alice.api.create_channel(g, "open").await.unwrap();
    let (_, visible) = alice
        .api
        .raw(
            Method::POST,
            &format!("/channels/{}/messages", open.id),
            Some(json!({"content": "hi"})),
        )
        .await
        .unwrap();
    let visible: Message = serde_json::from_value(visible).unwrap();
    assert_eq!(
        messages_until(&mut carol_gw, visible.id).await,
        vec![visible.id]
    );
    // Nor the channel itself: READY leaves it out, and its updates skip her.
    let mut carol2 = Gateway::connect(&server.ws(), Encoding::Json)
        .await
        .unwrap();
    let ready = carol2.identify(&carol.token).await.unwrap();
    let listed: Vec<ChannelId> = ready.guilds[0].channels.iter().map(|c| c.id).collect();
    assert_eq!(listed, vec![open.id]);
    // Without READ_MESSAGE_HISTORY the history is empty (Discord's answer).
    let history = bob.api.history(channel, "limit=10").await.unwrap();
    assert_eq!(
        history.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![hidden.id, sent]
    );
    let no_history = json!({"type": 1, "deny": bits(Permissions::READ_MESSAGE_HISTORY)});
    alice
        .no_content(
            Method::PUT,
            &format!("/channels/{channel}/permissions/{}", bob.user.id),
            Some(no_history),
        )
        .await;
    assert!(
        bob.api
            .history(channel, "limit=10")
            .await
            .unwrap()
            .is_empty()
    );
    alice
        .no_content(
            Method::DELETE,
            &format!("/channels/{channel}/permissions/{}", bob.user.id),
            None,
        )
        .await;
    assert_eq!(bob.api.history(channel, "limit=10").await.unwrap().len(), 2);
    let last = alice.api.create_channel(g, "last").await.unwrap();
    let is_channel_event =
        |f: &rookery_client::ServerFrame| f.t().is_some_and(|t| t.starts_with("CHANNEL_"));
    let first = carol2
        .next_matching("a channel event", T, is_channel_event)
        .await
        .unwrap();
    assert_eq!(
        first.t(),
        Some("CHANNEL_CREATE"),
        "the hidden channel's updates skip her"
    );
    assert_eq!(first.d::<Channel>().unwrap().id, last.id);
    server.stop().await;
}

#[tokio::test]
async fn the_role_hierarchy_and_grant_rules_hold() {
    let server = TestServer::start().await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let g = server.guild(&[&alice, &bob, &carol]).await.id;
    let manage = bits(Permissions::MANAGE_ROLES.union(Permissions::SEND_MESSAGES));
    let mods = create_role(&alice, g, json!({"name": "mods", "permissions": manage})).await;
    let high = create_role(&alice, g, json!({"name": "admins"})).await;
    let (status, moved) = alice
        .call(
            Method::PATCH,
            &format!("/guilds/{g}/roles"),
            Some(json!([{"id": mods.id, "position": 2}, {"id": high.id, "position": 3}])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    alice
        .no_content(
            Method::PUT,
            &format!("/guilds/{g}/members/{}/roles/{}", bob.user.id, mods.id),
            None,
        )
        .await;

    // Bob manages roles below his highest (mods, position 2) only.
    let low = create_role(
        &bob,
        g,
        json!({"name": "helpers", "permissions": bits(Permissions::SEND_MESSAGES)}),
    )
    .await;
    assert_eq!(low.position, 1);
    bob.no_content(
        Method::PUT,
        &format!("/guilds/{g}/members/{}/roles/{}", carol.user.id, low.id),
        None,
    )
    .await;
    let member_path = |r: RoleId| format!("/guilds/{g}/members/{}/roles/{r}", carol.user.id);
    bob.refused(Method::PUT, &member_path(mods.id), None, (403, 50013))
        .await;
    bob.refused(Method::PUT, &member_path(high.id), None, (403, 50013))
        .await;
    bob.refused(
        Method::PATCH,
        &format!("/guilds/{g}/roles/{}", high.id),
        Some(json!({"name": "mine"})),
        (403, 50013),
    )
    .await;
    bob.refused(
        Method::PATCH,
        &format!("/guilds/{g}/roles"),
        Some(json!([{"id": low.id, "position": 5}])),
        (403, 50013),
    )
    .await;
    // Nobody grants what they lack.
    let admin = json!({"permissions": bits(Permissions::ADMINISTRATOR)});
    bob.refused(
        Method::PATCH,
        &format!("/guilds/{g}/roles/{}", low.id),
        Some(admin.clone()),
        (403, 50013),
    )
    .await;
    bob.refused(
        Method::POST,
        &format!("/guilds/{g}/roles"),
        Some(admin),
        (403, 50013),
    )
    .await;
    // Bad targets and bodies.
    alice
        .refused(
            Method::DELETE,
            &format!("/guilds/{g}/roles/{g}"),
            None,
            (400, 50035),
        )
        .await;
    alice
        .refused(
            Method::DELETE,
            &format!("/guilds/{g}/roles/1"),
            None,
            (404, 10011),
        )
        .await;
    alice
        .refused(
            Method::PUT,
            &format!("/guilds/{g}/members/1/roles/{}", low.id),
            None,
            (404, 10007),
        )
        .await;
    alice
        .refused(
            Method::POST,
            &format!("/guilds/{g}/roles"),
            Some(json!({"permissions": 8})),
            (400, 50109),
        )
        .await;
    let channel = server.api().with_token(&alice.token);
    let chan = channel.create_channel(g, "c").await.unwrap().id;
    alice
        .refused(
            Method::PUT,
            &format!("/channels/{chan}/permissions/{}", 1),
            Some(json!({"type": 0})),
            (404, 10011),
        )
        .await;
    alice
        .refused(
            Method::PUT,
            &format!("/channels/{chan}/permissions/{}", low.id),
            Some(json!({"type": 3})),
            (400, 50109),
        )
        .await;

    // Deleting a role takes its grants away from its members.
    let (_, before) = carol
        .call(
            Method::GET,
            &format!("/guilds/{g}/members/{}", carol.user.id),
            None,
        )
        .await;
    assert_eq!(before["roles"], json!([low.id.to_string()]));
    bob.no_content(
        Method::DELETE,
        &format!("/guilds/{g}/roles/{}", low.id),
        None,
    )
    .await;
    let roles: Vec<Role> = serde_json::from_value(
        carol
            .call(Method::GET, &format!("/guilds/{g}/roles"), None)
            .await
            .1,
    )
    .unwrap();
    assert!(roles.iter().all(|r| r.id != low.id));
    server.stop().await;
}

/// A send racing the revocation of its only grant: once the revoking call
/// has returned, no send is accepted, though the grant was cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_grant_does_not_survive_a_racing_send() {
    // The sender goes as fast as it can: no REST budget.
    let server = TestServer::start_with(|c| c.rest_requests_per_second = 0).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice, &bob]).await;
    let (g, channel) = (guild.id, guild.channels[0].id);
    let speakers = create_role(&alice, g, json!({"name": "speakers"})).await;
    let deny = json!({"type": 0, "deny": bits(Permissions::SEND_MESSAGES)});
    alice
        .no_content(
            Method::PUT,
            &format!("/channels/{channel}/permissions/{g}"),
            Some(deny),
        )
        .await;
    let allow = json!({"type": 0, "allow": bits(Permissions::SEND_MESSAGES)});
    alice
        .no_content(
            Method::PUT,
            &format!("/channels/{channel}/permissions/{}", speakers.id),
            Some(allow),
        )
        .await;
    let role_path = format!("/guilds/{g}/members/{}/roles/{}", bob.user.id, speakers.id);
    alice.no_content(Method::PUT, &role_path, None).await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (api, stop) = (bob.api.clone(), stop.clone());
        tokio::spawn(async move {
            let mut results = Vec::new();
            let path = format!("/channels/{channel}/messages");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let (status, _) = api
                    .raw(Method::POST, &path, Some(json!({"content": "racing"})))
                    .await
                    .unwrap();
                results.push((started, status));
            }
            results
        })
    };
    // Let the grant be used (and cached) before it is revoked.
    tokio::time::sleep(Duration::from_millis(300)).await;
    alice.no_content(Method::DELETE, &role_path, None).await;
    let revoked = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let results = sender.await.unwrap();

    let accepted = results.iter().filter(|(_, s)| s.is_success()).count();
    let after: Vec<StatusCode> = results
        .iter()
        .filter(|(t, _)| *t >= revoked)
        .map(|(_, s)| *s)
        .collect();
    assert!(accepted > 0, "the grant was used before the revocation");
    assert!(!after.is_empty(), "sends raced the revocation");
    assert!(
        after.iter().all(|s| *s == StatusCode::FORBIDDEN),
        "{after:?}"
    );
    let mut stored = bob.api.history(channel, "limit=100").await.unwrap();
    while let Some(oldest) = stored.last().map(|m| m.id) {
        let page = bob
            .api
            .history(channel, &format!("limit=100&before={oldest}"))
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        stored.extend(page);
    }
    assert_eq!(
        stored.len(),
        accepted,
        "every accepted send is stored, no other"
    );
    server.stop().await;
}

/// A member joining while connected is shown only the channels it may see,
/// and gets only their messages.
#[tokio::test]
async fn a_joiner_gets_only_the_channels_it_can_see() {
    let server = TestServer::start().await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let guild = server.guild(&[&alice]).await;
    let (g, general) = (guild.id, guild.channels[0].id);
    let secret = alice.api.create_channel(g, "secret").await.unwrap().id;
    let hide = json!({"type": 0, "deny": bits(Permissions::VIEW_CHANNEL)});
    let path = format!("/channels/{secret}/permissions/{g}");
    alice.no_content(Method::PUT, &path, Some(hide)).await;

    let mut bob_gw = server.gateway(&bob, Encoding::Json).await;
    let code = alice.api.create_invite(g).await.unwrap();
    let joined = bob.api.accept_invite(&code).await.unwrap();
    assert_eq!(
        joined.channels.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![general]
    );
    let created: rookery_proto::model::GuildState = bob_gw
        .dispatch("GUILD_CREATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(
        created.channels.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![general]
    );
    alice
        .api
        .post_message(secret, "hidden", None)
        .await
        .unwrap();
    let shown = alice
        .api
        .post_message(general, "shown", None)
        .await
        .unwrap();
    assert_eq!(messages_until(&mut bob_gw, shown.id).await, vec![shown.id]);
    server.stop().await;
}
