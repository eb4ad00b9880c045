//! Changing a webhook and its messages: its name, by a manager
//! (MANAGE_WEBHOOKS) or by whoever holds its URL; and the messages it
//! posted — read, edited, deleted — by whoever holds its URL, as Discord
//! allows. A message the webhook did not post is unknown to its URL.
//! Edits and deletes are ordinary MESSAGE_UPDATE and MESSAGE_DELETE
//! events; an edit keeps the message's mentions.

use crate::operations::webhooks::check_name;
use crate::{Applied, Edge, EdgeError};
use rookery_proto::MessageId;
use rookery_proto::event::{Event, MessageDelete};
use rookery_proto::model::Message;
use rookery_proto::webhooks::{ModifyWebhook, Webhook, WebhookObject};

impl Edge {
    /// Renames `hook`; answers it as `manager` (with its token) or as its
    /// URL's holder sees it.
    pub async fn modify_webhook(
        &self,
        hook: Webhook,
        body: ModifyWebhook,
        manager: bool,
    ) -> Result<WebhookObject, EdgeError> {
        if body.avatar.is_some() {
            let why = "avatar: not supported by Rookery yet".into();
            return Err(EdgeError::InvalidBody(why));
        }
        match body.channel_id {
            Some(_) if !manager => {
                let why = "channel_id: only a manager's token moves a webhook".into();
                return Err(EdgeError::InvalidBody(why));
            }
            Some(c) if c != hook.channel_id => {
                let why = "channel_id: moving a webhook is not supported by Rookery yet".into();
                return Err(EdgeError::InvalidBody(why));
            }
            _ => {}
        }
        let Some(name) = body.name else {
            return Ok(hook.object(manager));
        };
        check_name(&name)?;
        let renamed = Webhook { name, ..hook };
        // Same guild, channel and id: the rows are overwritten in place.
        self.store.create_webhook(&renamed).await?;
        Ok(renamed.object(manager))
    }

    /// A message `hook` posted.
    pub async fn webhook_message(
        &self,
        hook: &Webhook,
        id: MessageId,
    ) -> Result<Message, EdgeError> {
        let found = self.stored_message(hook.channel_id, id).await?;
        found
            .filter(|m| m.webhook_id == Some(hook.id))
            .ok_or(EdgeError::UnknownMessage)
    }

    /// Replaces the text of a message `hook` posted (none: unchanged).
    pub async fn edit_webhook_message(
        &self,
        hook: &Webhook,
        id: MessageId,
        content: Option<String>,
    ) -> Result<(Message, Applied), EdgeError> {
        let mut message = self.webhook_message(hook, id).await?;
        let Some(content) = content else {
            return Ok((message, Applied::Yes));
        };
        self.check_content(&content)?;
        let applied = self.publish_edit(&mut message, content).await?;
        Ok((message, applied))
    }

    /// Deletes a message `hook` posted.
    pub async fn delete_webhook_message(
        &self,
        hook: &Webhook,
        id: MessageId,
    ) -> Result<Applied, EdgeError> {
        let message = self.webhook_message(hook, id).await?;
        let event = Event::MessageDelete(MessageDelete {
            id,
            channel_id: message.channel_id,
            guild_id: message.guild_id,
        });
        self.publish(event, true).await
    }
}
