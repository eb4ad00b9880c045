//! Checks of webhooks: found by id, by channel and by guild, gone when
//! deleted, and their messages keep `webhook_id` and the bot flag in the
//! store.

use super::{fresh, message, user};
use crate::{Cursor, Mutation, Store};
use rookery_proto::webhooks::Webhook;

/// Webhooks are listed per channel and per guild (by channel, then id),
/// found by id with their token, and gone everywhere once deleted; a
/// webhook's message reads back with its `webhook_id`, one by one and in
/// history.
pub async fn webhooks_are_found_by_id_channel_and_guild(store: &dyn Store, _bucket_ms: u64) {
    let (guild, first, second) = (fresh(), fresh(), fresh());
    let creator = user("hooker");
    let hook = |channel, name: &str| Webhook {
        id: fresh(),
        guild_id: guild,
        channel_id: channel,
        name: name.into(),
        token: format!("secret-{name}"),
        creator: creator.clone(),
    };
    let (a, b, c) = (hook(first, "a"), hook(first, "b"), hook(second, "c"));
    for h in [&a, &b, &c] {
        store.create_webhook(h).await.unwrap();
    }
    assert_eq!(store.webhook(b.id).await.unwrap(), Some(b.clone()));
    let in_first = store.webhooks(guild, Some(first)).await.unwrap();
    assert_eq!(in_first, [a.clone(), b.clone()]);
    let in_guild = store.webhooks(guild, None).await.unwrap();
    let mut expected = vec![a.clone(), b.clone(), c.clone()];
    expected.sort_by_key(|h| (h.channel_id, h.id));
    assert_eq!(in_guild, expected);
    assert!(store.webhooks(fresh(), None).await.unwrap().is_empty());

    store.delete_webhook(&a).await.unwrap();
    store.delete_webhook(&a).await.unwrap();
    assert_eq!(store.webhook(a.id).await.unwrap(), None);
    let left = store.webhooks(guild, Some(first)).await.unwrap();
    assert_eq!(left, vec![b.clone()]);

    // A webhook's message is a bot's; a user's beside it is not.
    let mut posted = message(first, fresh(), &b.author(None), None);
    posted.webhook_id = Some(b.id);
    posted.author_bot = true;
    let by_user = message(first, fresh(), &creator, None);
    store
        .apply(vec![
            Mutation::Message(posted.clone()),
            Mutation::Message(by_user.clone()),
        ])
        .await
        .unwrap();
    let read = store.message(first, posted.id).await.unwrap().unwrap();
    assert_eq!((read.webhook_id, read.author_bot), (Some(b.id), true));
    let page = store.messages(first, Cursor::Latest, 10).await.unwrap();
    let flags: Vec<_> = page
        .iter()
        .map(|m| (m.id, m.webhook_id, m.author_bot))
        .collect();
    assert_eq!(
        flags,
        [(by_user.id, None, false), (posted.id, Some(b.id), true)]
    );
}
