//! Webhooks on ScyllaDB: one row under the guild (clustered by channel and
//! id) and one pointer by id. Creation writes the row before the pointer
//! and deletion removes the pointer first, so a pointer never leads
//! nowhere for longer than a crash between two writes.

use crate::store::{Inner, id, key};
use rookery_proto::Id;
use rookery_proto::model::User;
use rookery_proto::webhooks::Webhook;
use rookery_proto::{ChannelId, GuildId};
use rookery_store::StoreError;

/// A `webhooks` row as the reads select it.
type WebhookRow = (i64, i64, String, String, i64, String);

fn webhook(
    guild: GuildId,
    (channel, hook, name, token, creator, creator_name): WebhookRow,
) -> Webhook {
    Webhook {
        id: id(hook),
        guild_id: guild,
        channel_id: id(channel),
        name,
        token,
        creator: User {
            id: id(creator),
            username: creator_name,
        },
    }
}

impl Inner {
    pub(crate) async fn create_webhook(&self, h: &Webhook) -> Result<(), StoreError> {
        let at = self.clock.now();
        let (guild, channel) = (key(h.guild_id), key(h.channel_id));
        let creator = (key(h.creator.id), &h.creator.username);
        let row = (
            guild,
            channel,
            key(h.id),
            &h.name,
            &h.token,
            creator.0,
            creator.1,
        );
        self.exec(at, &self.s.insert_webhook, row).await?;
        let pointer = (key(h.id), guild, channel);
        self.exec(at, &self.s.insert_webhook_id, pointer).await
    }

    pub(crate) async fn webhook(&self, hook: Id) -> Result<Option<Webhook>, StoreError> {
        let place = self.one::<(i64, i64)>(&self.s.select_webhook_id, (key(hook),));
        let Some((guild, channel)) = place.await? else {
            return Ok(None);
        };
        let row = self.one::<WebhookRow>(&self.s.select_webhook, (guild, channel, key(hook)));
        Ok(row.await?.map(|r| webhook(id(guild), r)))
    }

    pub(crate) async fn webhooks(
        &self,
        guild: GuildId,
        channel: Option<ChannelId>,
    ) -> Result<Vec<Webhook>, StoreError> {
        let rows = match channel {
            Some(c) => {
                let values = (key(guild), key(c));
                self.all::<WebhookRow>(&self.s.select_channel_webhooks, values)
                    .await?
            }
            None => {
                self.all::<WebhookRow>(&self.s.select_guild_webhooks, (key(guild),))
                    .await?
            }
        };
        Ok(rows.into_iter().map(|r| webhook(guild, r)).collect())
    }

    pub(crate) async fn delete_webhook(&self, h: &Webhook) -> Result<(), StoreError> {
        let at = self.clock.now();
        self.exec(at, &self.s.delete_webhook_id, (key(h.id),))
            .await?;
        let row = (key(h.guild_id), key(h.channel_id), key(h.id));
        self.exec(at, &self.s.delete_webhook, row).await
    }
}
