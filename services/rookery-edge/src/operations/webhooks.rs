//! Incoming webhooks: made, listed and deleted by members with
//! MANAGE_WEBHOOKS in the channel (the guild's list: MANAGE_WEBHOOKS in
//! the guild), and executed by whoever holds the URL's token, which is the
//! only credential there is. A webhook's message is an ordinary message
//! whose author is the webhook (its id, its name or the one given) and
//! which carries `webhook_id`: it is checked, budgeted (per webhook and
//! channel, as a user's), stored and fanned out like any other, without a
//! member's permissions (a webhook may mention @everyone, as on Discord)
//! and without slow mode.

use crate::{Applied, Edge, EdgeError};
use rookery_proto::Id;
use rookery_proto::UserId;
use rookery_proto::event::Event;
use rookery_proto::model::{Message, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::webhooks::{
    CreateWebhook, ExecuteWebhook, MAX_WEBHOOK_NAME_CHARS, MAX_WEBHOOKS_PER_CHANNEL, Webhook,
    WebhookObject,
};
use rookery_proto::{ChannelId, GuildId};
use std::sync::Arc;

/// What a webhook may do in its channel.
const WEBHOOK_BITS: Permissions = Permissions::SEND_MESSAGES.union(Permissions::MENTION_EVERYONE);

/// Refuses a name Discord would: empty, over 80 characters, or with
/// control characters.
pub(crate) fn check_name(name: &str) -> Result<(), EdgeError> {
    let chars = name.chars().count();
    if !(1..=MAX_WEBHOOK_NAME_CHARS).contains(&chars) || name.chars().any(char::is_control) {
        let why =
            format!("name must be 1 to {MAX_WEBHOOK_NAME_CHARS} characters, no control characters");
        return Err(EdgeError::InvalidBody(why));
    }
    Ok(())
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

impl Edge {
    /// `POST /channels/{id}/webhooks`.
    pub async fn create_webhook(
        &self,
        caller: &User,
        channel: ChannelId,
        body: CreateWebhook,
    ) -> Result<WebhookObject, EdgeError> {
        check_name(&body.name)?;
        if body.avatar.is_some() {
            return Err(EdgeError::InvalidBody(
                "avatar: not supported by Rookery yet".into(),
            ));
        }
        let (channel, bits) = self.visible_channel(caller.id, channel).await?;
        if channel.is_private() {
            return Err(EdgeError::MissingPermissions(
                "webhooks live in guild channels",
            ));
        }
        if !bits.contains(Permissions::MANAGE_WEBHOOKS) {
            return Err(EdgeError::MissingPermissions(
                "MANAGE_WEBHOOKS in this channel",
            ));
        }
        let existing = self
            .store
            .webhooks(channel.guild_id, Some(channel.id))
            .await?;
        if existing.len() >= MAX_WEBHOOKS_PER_CHANNEL {
            return Err(EdgeError::MaxWebhooks(MAX_WEBHOOKS_PER_CHANNEL));
        }
        let secret: [u8; 32] = rand::random();
        let hook = Webhook {
            id: self.ids.next_id(),
            guild_id: channel.guild_id,
            channel_id: channel.id,
            name: body.name,
            token: secret.iter().map(|b| format!("{b:02x}")).collect(),
            creator: caller.clone(),
        };
        self.store.create_webhook(&hook).await?;
        Ok(hook.object(true))
    }

    /// `GET /channels/{id}/webhooks`.
    pub async fn channel_webhooks(
        &self,
        caller: &User,
        channel: ChannelId,
    ) -> Result<Vec<WebhookObject>, EdgeError> {
        let (channel, bits) = self.visible_channel(caller.id, channel).await?;
        if channel.is_private() || !bits.contains(Permissions::MANAGE_WEBHOOKS) {
            return Err(EdgeError::MissingPermissions(
                "MANAGE_WEBHOOKS in this channel",
            ));
        }
        let hooks = self
            .store
            .webhooks(channel.guild_id, Some(channel.id))
            .await?;
        Ok(hooks.iter().map(|h| h.object(true)).collect())
    }

    /// `GET /guilds/{id}/webhooks`.
    pub async fn guild_webhooks(
        &self,
        caller: &User,
        guild: GuildId,
    ) -> Result<Vec<WebhookObject>, EdgeError> {
        self.require_base(guild, caller.id, Permissions::MANAGE_WEBHOOKS)
            .await?;
        let hooks = self.store.webhooks(guild, None).await?;
        Ok(hooks.iter().map(|h| h.object(true)).collect())
    }

    /// A webhook `caller` may manage (MANAGE_WEBHOOKS in its channel); one
    /// in a channel they cannot see is unknown to them.
    pub async fn managed_webhook(&self, caller: &User, id: Id) -> Result<Webhook, EdgeError> {
        let hook = self
            .store
            .webhook(id)
            .await?
            .ok_or(EdgeError::UnknownWebhook)?;
        let (_, bits) = self
            .visible_channel(caller.id, hook.channel_id)
            .await
            .map_err(|_| EdgeError::UnknownWebhook)?;
        if !bits.contains(Permissions::MANAGE_WEBHOOKS) {
            return Err(EdgeError::MissingPermissions(
                "MANAGE_WEBHOOKS in its channel",
            ));
        }
        Ok(hook)
    }

    /// The webhook whose URL holds `token`.
    pub async fn webhook_by_token(&self, id: Id, token: &str) -> Result<Webhook, EdgeError> {
        let hook = self
            .store
            .webhook(id)
            .await?
            .ok_or(EdgeError::UnknownWebhook)?;
        if !same_secret(&hook.token, token) {
            return Err(EdgeError::InvalidWebhookToken);
        }
        Ok(hook)
    }

    /// Deletes a webhook; its messages stay.
    pub async fn delete_webhook(&self, hook: &Webhook) -> Result<(), EdgeError> {
        Ok(self.store.delete_webhook(hook).await?)
    }

    /// `POST /webhooks/{id}/{token}`: posts `body` as the webhook.
    pub async fn execute_webhook(
        &self,
        hook: &Webhook,
        body: ExecuteWebhook,
        wait: bool,
    ) -> Result<(Arc<Message>, Applied), EdgeError> {
        self.check_content(&body.content)?;
        if let Some(name) = &body.username {
            check_name(name)?;
        }
        if let Some(allowed) = &body.allowed_mentions {
            crate::operations::mentions::check_allowed(allowed)?;
        }
        // A channel deleted since the webhook was made takes it along.
        let channel = self.store.channel(hook.channel_id).await?;
        let channel = channel.ok_or(EdgeError::UnknownWebhook)?;
        // A webhook posts as a user with its id.
        self.spend_message(UserId::from(hook.id), channel.id)?;
        let author = hook.author(body.username.as_deref());
        let ids = (channel.guild_id, channel.id);
        let mut message = Message::new(self.ids.next_id(), ids, author, body.content);
        // Discord shows a webhook as a bot author.
        message.author_bot = true;
        message.webhook_id = Some(hook.id);
        let allowed = body.allowed_mentions.as_ref();
        self.resolve_mentions(&mut message, WEBHOOK_BITS, allowed, None)
            .await?;
        let applied = self
            .publish(Event::MessageCreate(message.clone()), wait)
            .await?;
        Ok((Arc::new(message), applied))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }

    #[test]
    fn names_are_refused_as_discord_refuses_them() {
        assert!(check_name("hook").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(81)).is_err());
        assert!(check_name("a\nb").is_err());
    }
}
