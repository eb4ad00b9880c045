//! Message edits, deletes and bulk deletes end to end over real HTTP and
//! WebSocket clients: who may, what the others' sessions receive, what
//! history shows after, and the refusals.

use reqwest::{Method, StatusCode};
use rookery_proto::ChannelId;
use rookery_proto::MessageId;
use rookery_proto::codec::Encoding;
use rookery_proto::model::Message;
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

async fn history(u: &TestUser, channel: ChannelId) -> Vec<(MessageId, String)> {
    let page = u.api.history(channel, "limit=100").await.unwrap();
    page.into_iter().rev().map(|m| (m.id, m.content)).collect()
}

#[tokio::test]
async fn authors_edit_and_delete_moderators_bulk_delete_and_everyone_is_told() {
    let server = TestServer::start().await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let guild = server.guild(&[&alice, &bob, &carol]).await;
    let channel = guild.channels[0].id;
    let mut carol_gw = server.gateway(&carol, Encoding::Json).await;
    let mut sent = Vec::new();
    for (u, text) in [
        (&bob, "one"),
        (&bob, "two"),
        (&bob, "three"),
        (&alice, "four"),
    ] {
        sent.push(u.api.post_message(channel, text, None).await.unwrap().id);
    }
    let path = |id: MessageId| format!("/channels/{channel}/messages/{id}");

    // Edits: the author only; everyone sees the new text.
    let (status, edited) = bob
        .call(
            Method::PATCH,
            &path(sent[0]),
            Some(json!({"content": "one!"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let edited: Message = serde_json::from_value(edited).unwrap();
    assert_eq!(edited.content, "one!");
    assert!(edited.edited_timestamp.is_some());
    let update: Message = carol_gw
        .dispatch("MESSAGE_UPDATE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(update, edited);
    let (_, fetched) = carol.call(Method::GET, &path(sent[0]), None).await;
    assert_eq!(serde_json::from_value::<Message>(fetched).unwrap(), edited);
    alice
        .refused(
            Method::PATCH,
            &path(sent[0]),
            Some(json!({"content": "mine"})),
            (403, 50005),
        )
        .await;
    bob.refused(
        Method::PATCH,
        &path(sent[0]),
        Some(json!({"content": " "})),
        (400, 50006),
    )
    .await;
    bob.refused(
        Method::PATCH,
        &path(MessageId(1)),
        Some(json!({"content": "x"})),
        (404, 10008),
    )
    .await;

    // Deletes: the author, or MANAGE_MESSAGES.
    carol
        .refused(Method::DELETE, &path(sent[1]), None, (403, 50013))
        .await;
    assert_eq!(
        bob.call(Method::DELETE, &path(sent[1]), None).await.0,
        StatusCode::NO_CONTENT
    );
    let deleted: Value = carol_gw
        .dispatch("MESSAGE_DELETE", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    let expected = json!({"id": sent[1].to_string(), "channel_id": channel.to_string(), "guild_id": guild.id.to_string()});
    assert_eq!(deleted, expected);
    carol
        .refused(Method::GET, &path(sent[1]), None, (404, 10008))
        .await;
    // An edit of a deleted message finds nothing to edit.
    bob.refused(
        Method::PATCH,
        &path(sent[1]),
        Some(json!({"content": "back?"})),
        (404, 10008),
    )
    .await;

    // Bulk deletes: MANAGE_MESSAGES, 2 to 100 ids.
    let bulk = format!("/channels/{channel}/messages/bulk-delete");
    let two = Some(json!({"messages": [sent[2], sent[3]]}));
    bob.refused(Method::POST, &bulk, two.clone(), (403, 50013))
        .await;
    alice
        .refused(
            Method::POST,
            &bulk,
            Some(json!({"messages": [sent[2]]})),
            (400, 50035),
        )
        .await;
    assert_eq!(
        alice.call(Method::POST, &bulk, two).await.0,
        StatusCode::NO_CONTENT
    );
    let gone: Value = carol_gw
        .dispatch("MESSAGE_DELETE_BULK", T)
        .await
        .unwrap()
        .d()
        .unwrap();
    assert_eq!(gone["ids"].as_array().map(Vec::len), Some(2));

    assert_eq!(
        history(&carol, channel).await,
        vec![(sent[0], "one!".to_string())]
    );
    server.stop().await;
}
