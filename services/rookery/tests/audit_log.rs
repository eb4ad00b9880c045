//! The audit log end to end over real HTTP: every moderation, role,
//! overwrite and channel change a moderator makes is listed, newest first,
//! with who, what and to whom; members' own actions are not; filters and
//! pages work; only VIEW_AUDIT_LOG may read it.

use reqwest::Method;
use rookery_proto::GuildId;
use rookery_proto::Id;
use rookery_proto::model::{AuditLogEntry, audit_action as a};
use rookery_proto::rest::AuditLog;
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};

async fn entries(u: &TestUser, guild: GuildId, query: &str) -> Vec<AuditLogEntry> {
    let path = format!("/guilds/{guild}/audit-logs{query}");
    let log: AuditLog = u.ok(Method::GET, &path, None).await;
    log.audit_log_entries
}

#[tokio::test]
async fn moderators_changes_are_listed_newest_first_and_members_own_are_not() {
    let server = TestServer::start().await;
    let [alice, bob, carol] = server.users(["alice", "bob", "carol"]).await;
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let (g, general) = (guild.id, guild.channels[0].id);
    bob.refused(
        Method::GET,
        &format!("/guilds/{g}/audit-logs"),
        None,
        (403, 50013),
    )
    .await;

    let mods = alice.api.create_channel(g, "mods").await.unwrap().id;
    let slow = Some(json!({"rate_limit_per_user": 5}));
    assert_eq!(
        alice
            .call(Method::PATCH, &format!("/channels/{mods}"), slow)
            .await
            .0
            .as_u16(),
        200
    );
    let role = alice.create_role(g, json!({"name": "r"})).await.id;
    let hoist = Some(json!({"hoist": true}));
    alice
        .call(Method::PATCH, &format!("/guilds/{g}/roles/{role}"), hoist)
        .await;
    alice
        .no_content(
            Method::PUT,
            &format!("/guilds/{g}/members/{}/roles/{role}", bob.user.id),
            None,
        )
        .await;
    let overwrite = format!("/channels/{mods}/permissions/{role}");
    for deny in ["2048", "1024"] {
        alice
            .no_content(
                Method::PUT,
                &overwrite,
                Some(json!({"type": 0, "deny": deny})),
            )
            .await;
    }
    alice.no_content(Method::DELETE, &overwrite, None).await;
    let soon = rookery_proto::id::format_timestamp(rookery_proto::id::now_ms() + 60_000);
    let timeout = Some(json!({"communication_disabled_until": soon}));
    alice
        .call(
            Method::PATCH,
            &format!("/guilds/{g}/members/{}", carol.user.id),
            timeout,
        )
        .await;
    let first = bob
        .api
        .post_message(general, "mine", None)
        .await
        .unwrap()
        .id;
    let second = bob
        .api
        .post_message(general, "mine too", None)
        .await
        .unwrap()
        .id;
    bob.no_content(
        Method::DELETE,
        &format!("/channels/{general}/messages/{first}"),
        None,
    )
    .await;
    alice
        .no_content(
            Method::DELETE,
            &format!("/channels/{general}/messages/{second}"),
            None,
        )
        .await;
    let kept = alice
        .api
        .post_message(general, "pin me", None)
        .await
        .unwrap()
        .id;
    alice
        .no_content(
            Method::PUT,
            &format!("/channels/{general}/pins/{kept}"),
            None,
        )
        .await;
    alice
        .no_content(
            Method::DELETE,
            &format!("/guilds/{g}/members/{}", carol.user.id),
            None,
        )
        .await;
    let url = format!("{}/api/v1/guilds/{g}/bans/{}", server.http(), carol.user.id);
    let ban = reqwest::Client::new()
        .put(&url)
        .bearer_auth(&alice.token)
        .header("X-Audit-Log-Reason", "spam")
        .send();
    assert_eq!(ban.await.unwrap().status().as_u16(), 204);
    alice
        .no_content(
            Method::DELETE,
            &format!("/guilds/{g}/bans/{}", carol.user.id),
            None,
        )
        .await;
    bob.no_content(Method::DELETE, &format!("/users/@me/guilds/{g}"), None)
        .await;

    let (c, b) = (Some(carol.user.id.raw()), Some(bob.user.id.raw()));
    let expected = [
        // The invite `server.guild` made for bob and carol.
        (a::INVITE_CREATE, None),
        (a::CHANNEL_CREATE, Some(mods.raw())),
        (a::CHANNEL_UPDATE, Some(mods.raw())),
        (a::ROLE_CREATE, Some(role.raw())),
        (a::ROLE_UPDATE, Some(role.raw())),
        (a::MEMBER_ROLE_UPDATE, b),
        (a::CHANNEL_OVERWRITE_CREATE, Some(mods.raw())),
        (a::CHANNEL_OVERWRITE_UPDATE, Some(mods.raw())),
        (a::CHANNEL_OVERWRITE_DELETE, Some(mods.raw())),
        (a::MEMBER_UPDATE, c),
        (a::MESSAGE_DELETE, b),
        (a::MESSAGE_PIN, Some(kept.raw())),
        (a::MEMBER_KICK, c),
        (a::MEMBER_BAN_ADD, c),
        (a::MEMBER_BAN_REMOVE, c),
    ];
    let log = entries(&alice, g, "").await;
    let got: Vec<(u8, Option<Id>)> = log
        .iter()
        .rev()
        .map(|e| (e.action_type, e.target_id))
        .collect();
    assert_eq!(got, expected, "bob's own delete and leave are not audited");
    assert!(
        log.iter()
            .all(|e| e.user_id == alice.user.id && e.guild_id == g)
    );
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    // Field-level changes, as Discord's change objects.
    let changes = |action: u8| {
        let e = log.iter().rev().find(|e| e.action_type == action).unwrap();
        serde_json::to_value(&e.changes).unwrap()
    };
    let change = |key: &str, old: Value, new: Value| {
        let mut c = json!({"key": key});
        if !old.is_null() {
            c["old_value"] = old;
        }
        if !new.is_null() {
            c["new_value"] = new;
        }
        c
    };
    assert_eq!(
        changes(a::CHANNEL_UPDATE),
        json!([change("rate_limit_per_user", json!(0), json!(5))])
    );
    assert_eq!(
        changes(a::ROLE_UPDATE),
        json!([change("hoist", json!(false), json!(true))])
    );
    let added = json!([{"key": "$add", "new_value": [{"id": role.to_string(), "name": "r"}]}]);
    assert_eq!(changes(a::MEMBER_ROLE_UPDATE), added);
    let created = json!([
        change("allow", Value::Null, json!("0")),
        change("deny", Value::Null, json!("2048"))
    ]);
    assert_eq!(changes(a::CHANNEL_OVERWRITE_CREATE), created);
    assert_eq!(
        changes(a::CHANNEL_OVERWRITE_UPDATE),
        json!([change("deny", json!("2048"), json!("1024"))])
    );
    let removed = json!([
        change("allow", json!("0"), Value::Null),
        change("deny", json!("1024"), Value::Null)
    ]);
    assert_eq!(changes(a::CHANNEL_OVERWRITE_DELETE), removed);
    let timeout = json!([change(
        "communication_disabled_until",
        Value::Null,
        json!(soon)
    )]);
    assert_eq!(changes(a::MEMBER_UPDATE), timeout);
    assert_eq!(changes(a::MEMBER_KICK), json!([]));
    let bans = entries(&alice, g, &format!("?action_type={}", a::MEMBER_BAN_ADD)).await;
    assert_eq!((bans.len(), bans[0].reason.as_deref()), (1, Some("spam")));
    assert!(
        entries(&alice, g, &format!("?user_id={}", bob.user.id))
            .await
            .is_empty()
    );
    let newest = entries(&alice, g, "?limit=2").await;
    assert_eq!(newest, log[..2].to_vec());
    assert_eq!(
        entries(&alice, g, &format!("?before={}", log[1].id)).await,
        log[2..].to_vec()
    );
    for bad in ["?limit=0", "?action_type=x", "?color=red"] {
        let (status, _) = alice
            .call(Method::GET, &format!("/guilds/{g}/audit-logs{bad}"), None)
            .await;
        assert_eq!(status.as_u16(), 400, "{bad}");
    }
    server.stop().await;
}
