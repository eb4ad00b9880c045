//! Posting a message: the checks (content, nonce, SEND_MESSAGES, the reply
//! target, `allowed_mentions`), idempotency by nonce, and the mentions
//! resolved once, at send time, into the stored message. A later edit
//! keeps them: notifications are not re-sent for an edit.

use crate::operations::mentions::check_allowed;
use crate::{Applied, Edge, EdgeError};
use rookery_proto::event::Event;
use rookery_proto::model::{Channel, MESSAGE_REPLY, Message, MessageReference, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::rest::{CreateMessage, ReplyTo};
use rookery_proto::{ChannelId, UserId};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Edge {
    /// Refuses empty (or only invisible), overlong or control-character
    /// message text.
    pub(crate) fn check_content(&self, content: &str) -> Result<(), EdgeError> {
        if !rookery_proto::text::visible(content) {
            return Err(EdgeError::EmptyMessage);
        }
        if let Some(c) = rookery_proto::text::message_control(content) {
            let why = format!(
                "content must not contain control characters (U+{:04X})",
                c as u32
            );
            return Err(EdgeError::InvalidBody(why));
        }
        let max = self.config.max_message_chars;
        if content.chars().count() > max {
            let why = format!("content must be at most {max} characters");
            return Err(EdgeError::InvalidBody(why));
        }
        Ok(())
    }

    /// Spends one of the author's messages in the channel: a budget per
    /// user and channel, whichever connection or REST client sends, so
    /// more connections do not buy more messages.
    pub(crate) fn spend_message(
        &self,
        author: UserId,
        channel: ChannelId,
    ) -> Result<(), EdgeError> {
        let Some(limits) = &self.message_limits else {
            return Ok(());
        };
        let taken = limits.take((author, channel));
        if taken.allowed {
            return Ok(());
        }
        metrics::counter!(crate::metrics::RATE_LIMITED, "scope" => "messages").increment(1);
        let wait = taken.retry_after.as_millis().max(1);
        Err(EdgeError::WriteRateLimited(
            u64::try_from(wait).unwrap_or(u64::MAX),
        ))
    }

    /// Posts a message (`bot`: its author is a bot, as its token says). A
    /// repeated `(author, nonce)` returns the first message and publishes
    /// nothing; concurrent repeats share one publish.
    pub async fn send_message(
        &self,
        (author, bot): (&User, bool),
        channel_id: ChannelId,
        body: CreateMessage,
        wait: bool,
    ) -> Result<(Arc<Message>, Applied), EdgeError> {
        self.check_content(&body.content)?;
        if let Some(allowed) = &body.allowed_mentions {
            check_allowed(allowed)?;
        }
        let nonce = body.nonce.clone();
        if nonce.as_ref().is_some_and(|n| n.is_empty() || n.len() > 64) {
            return Err(EdgeError::InvalidBody("nonce must be 1 to 64 bytes".into()));
        }
        let (channel, bits) = self.visible_channel(author.id, channel_id).await?;
        if !bits.contains(Permissions::SEND_MESSAGES) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        let Some(nonce) = nonce else {
            return self.post((author, bot), &channel, bits, body, wait).await;
        };
        let key = (author.id, nonce.clone());
        let mut applied = Applied::Yes;
        let send = async {
            if let Some(id) = self.store.nonce(author.id, &nonce).await?
                && let Some(mut m) = self.stored_message(channel_id, id).await?
            {
                // The send's answer again, as first given: reactions
                // since are read with the history.
                m.reactions.clear();
                return Ok(Arc::new(m));
            }
            let (m, a) = self.post((author, bot), &channel, bits, body, wait).await?;
            applied = a;
            Ok(m)
        };
        let message = self.caches.nonces.get_or_send(key, send).await?;
        Ok((message, applied))
    }

    async fn post(
        &self,
        (author, bot): (&User, bool),
        channel: &Channel,
        bits: Permissions,
        body: CreateMessage,
        wait: bool,
    ) -> Result<(Arc<Message>, Applied), EdgeError> {
        self.spend_message(author.id, channel.id)?;
        let replied = match &body.message_reference {
            Some(to) => self.reply_target(channel, bits, to).await?,
            None => None,
        };
        let id = self.ids.next_id();
        let ids = (channel.guild_id, channel.id);
        let mut message = Message::new(id, ids, author.clone(), body.content);
        message.nonce = body.nonce;
        message.author_bot = bot;
        if let Some(target) = &replied {
            message.kind = MESSAGE_REPLY;
            message.message_reference = Some(MessageReference {
                message_id: target.id,
                channel_id: channel.id,
                guild_id: channel.guild_id,
            });
        }
        let replied_author = replied.as_ref().map(|m| &m.author);
        let allowed = body.allowed_mentions.as_ref();
        self.resolve_mentions(&mut message, bits, allowed, replied_author)
            .await?;
        let slowed = self.slow_mode(author.id, channel, bits).await?;
        let published = self.publish(Event::MessageCreate(message.clone()), wait);
        match published.await {
            Ok(applied) => Ok((Arc::new(message), applied)),
            Err(e) => {
                // Not sent, so it does not count against the wait.
                if let Some(key) = slowed {
                    self.caches.slow_mode.invalidate(&key).await;
                }
                Err(e)
            }
        }
    }

    /// Slow mode: refuses a member who sent in the channel less than its
    /// `rate_limit_per_user` ago, and otherwise starts the wait (atomically,
    /// so two racing sends cannot both pass). MANAGE_MESSAGES and
    /// MANAGE_CHANNELS are exempt, as in Discord. The wait is kept per edge.
    async fn slow_mode(
        &self,
        author: UserId,
        channel: &Channel,
        bits: Permissions,
    ) -> Result<Option<(ChannelId, UserId)>, EdgeError> {
        let exempt = Permissions::MANAGE_MESSAGES.union(Permissions::MANAGE_CHANNELS);
        if channel.rate_limit_per_user == 0 || bits.0 & exempt.0 != 0 {
            return Ok(None);
        }
        let wait = Duration::from_secs(u64::from(channel.rate_limit_per_user));
        let key = (channel.id, author);
        let entry = self
            .caches
            .slow_mode
            .entry(key)
            .or_insert_with(async { Instant::now() + wait })
            .await;
        if entry.is_fresh() {
            return Ok(Some(key));
        }
        let left = entry.value().saturating_duration_since(Instant::now());
        Err(EdgeError::SlowMode(left.as_millis().max(1) as u64))
    }

    /// The message a reply answers: one of the same channel, readable by
    /// the author. Gone, it refuses the send, or (without
    /// `fail_if_not_exists`) makes it an ordinary message.
    async fn reply_target(
        &self,
        channel: &Channel,
        bits: Permissions,
        to: &ReplyTo,
    ) -> Result<Option<Message>, EdgeError> {
        if to.channel_id.is_some_and(|c| c != channel.id)
            || to.guild_id.is_some_and(|g| g != channel.guild_id)
        {
            let why = "message_reference: replies answer a message of the same channel";
            return Err(EdgeError::InvalidBody(why.into()));
        }
        if !bits.contains(Permissions::READ_MESSAGE_HISTORY) {
            return Err(EdgeError::MissingPermissions("in this channel"));
        }
        match self.stored_message(channel.id, to.message_id).await? {
            Some(m) => Ok(Some(m)),
            None if to.fail_if_not_exists => Err(EdgeError::InvalidBody(
                "message_reference: unknown message".into(),
            )),
            None => Ok(None),
        }
    }
}
