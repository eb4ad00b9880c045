//! The callers, and the fresh guild each row of the matrix runs in.

use reqwest::Method;
use rookery_proto::ChannelId;
use rookery_proto::Id;
use rookery_proto::MessageId;
use rookery_proto::id::{format_timestamp, now_ms};
use rookery_proto::model::{Channel, GuildState, Message, Role};
use rookery_testkit::{TestServer, TestUser};
use serde_json::{Value, json};
use std::sync::atomic::AtomicU32;

static APPS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Member,
    TimedOut,
    Outsider,
    Banned,
    Owner,
}

pub const CALLERS: [Caller; 5] = [
    Caller::Member,
    Caller::TimedOut,
    Caller::Outsider,
    Caller::Banned,
    Caller::Owner,
];

/// What `{id}` (and `{message}`) stand for in a row's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No resource of the guild: the caller's own.
    Own,
    Guild,
    Channel,
    Dm,
    /// `{id}` is the channel's webhook, `{token}` its secret.
    Webhook,
}

/// Any 2xx.
pub struct Users {
    pub owner: TestUser,
    pub member: TestUser,
    pub timed_out: TestUser,
    pub outsider: TestUser,
    pub banned: TestUser,
    /// A member the owner's actions aim at (kicks, bans, roles).
    pub target: TestUser,
}

impl Users {
    pub fn of(&self, caller: Caller) -> &TestUser {
        match caller {
            Caller::Owner => &self.owner,
            Caller::Member => &self.member,
            Caller::TimedOut => &self.timed_out,
            Caller::Outsider => &self.outsider,
            Caller::Banned => &self.banned,
        }
    }

    /// Logs everyone in again (after a row revoked their tokens).
    pub async fn log_in_again(&mut self, server: &TestServer) {
        for user in [
            &mut self.owner,
            &mut self.member,
            &mut self.timed_out,
            &mut self.outsider,
            &mut self.banned,
            &mut self.target,
        ] {
            let auth = server
                .api()
                .login(&user.user.username, "correct-horse")
                .await;
            let auth = auth.expect("log in again");
            user.api = server.api().with_token(&auth.token);
            user.token = auth.token;
        }
    }
}

/// A fresh guild with every kind of caller in place.
pub struct World<'a> {
    pub users: &'a Users,
    pub guild: GuildState,
    pub channel: ChannelId,
    pub dm: ChannelId,
    pub role: Role,
    pub code: String,
    /// An application the owner made.
    pub application: Id,
    /// Two of the owner's messages in the channel, then two in the DM.
    pub messages: Vec<Message>,
    /// The owner's webhook in the channel: `(id, token)`.
    pub webhook: (Id, String),
    /// A message the webhook posted.
    pub webhook_message: MessageId,
}

impl World<'_> {
    pub async fn new(users: &Users) -> World<'_> {
        let owner = &users.owner;
        let guild = owner.api.create_guild("matrix").await.unwrap();
        let (g, channel) = (guild.id, guild.channels[0].id);
        let code = owner.api.create_invite(g).await.unwrap();
        for joiner in [
            &users.member,
            &users.timed_out,
            &users.banned,
            &users.target,
        ] {
            joiner.api.accept_invite(&code).await.unwrap();
        }
        let until = format_timestamp(now_ms() + 3_600_000);
        let timeout = json!({"communication_disabled_until": until});
        let timed_out = format!("/guilds/{g}/members/{}", users.timed_out.user.id);
        let _: Value = owner.ok(Method::PATCH, &timed_out, Some(timeout)).await;
        let ban = format!("/guilds/{g}/bans/{}", users.banned.user.id);
        owner.no_content(Method::PUT, &ban, None).await;
        let role = owner.create_role(g, json!({"name": "matrix role"})).await;
        let open = json!({"recipient_id": users.member.user.id});
        let dm: Channel = owner
            .ok(Method::POST, "/users/@me/channels", Some(open))
            .await;
        let mut messages = Vec::new();
        for (at, content) in [
            (channel, "one"),
            (channel, "two"),
            (dm.id, "three"),
            (dm.id, "four"),
        ] {
            let posted = owner.api.post_message(at, content, None).await.unwrap();
            let reaction = format!(
                "/channels/{at}/messages/{}/reactions/%F0%9F%91%8D/@me",
                posted.id
            );
            owner.no_content(Method::PUT, &reaction, None).await;
            messages.push(posted);
        }
        let n = APPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = json!({"name": format!("worldbot{n}")});
        let (status, made) = owner.call(Method::POST, "/applications", Some(body)).await;
        assert_eq!(status.as_u16(), 201, "{made}");
        let application = made["application"]["id"].as_str().unwrap().parse().unwrap();
        let hook: Value = owner
            .ok(
                Method::POST,
                &format!("/channels/{channel}/webhooks"),
                Some(json!({"name": "hook"})),
            )
            .await;
        let webhook = (
            hook["id"].as_str().unwrap().parse().unwrap(),
            hook["token"].as_str().unwrap().to_owned(),
        );
        let webhook_message = Self::hooked(users, &webhook).await;
        World {
            webhook,
            webhook_message,
            application,
            users,
            guild,
            channel,
            dm: dm.id,
            role,
            code,
            messages,
        }
    }

    /// Posts through the webhook's URL: the message's id.
    async fn hooked(users: &Users, (id, token): &(Id, String)) -> MessageId {
        let path = format!("/webhooks/{id}/{token}?wait=true");
        let body = json!({"content": "hooked"});
        let posted: Value = users.owner.ok(Method::POST, &path, Some(body)).await;
        posted["id"].as_str().unwrap().parse().unwrap()
    }

    /// `template` (a router path) with this world's ids, `{id}` standing
    /// for `scope`.
    pub fn path(&self, method: &str, template: &str, scope: Scope) -> String {
        let (id, message) = match scope {
            Scope::Own | Scope::Guild => (self.guild.id.raw(), self.messages[0].id),
            Scope::Channel => (self.channel.raw(), self.messages[0].id),
            Scope::Dm => (self.dm.raw(), self.messages[2].id),
            Scope::Webhook => (self.webhook.0, self.webhook_message),
        };
        // Bans aim at the banned user (listing, lifting) or the target
        // (a new ban); everything else at the target.
        let user = if template.contains("/bans/") && method != "PUT" {
            self.users.banned.user.id.to_string()
        } else if template.contains("/reactions/") {
            "@me".to_owned()
        } else {
            self.users.target.user.id.to_string()
        };
        // `/users/{id}` names a user: the target; `/applications/{id}`,
        // the owner's application.
        let id = if template.starts_with("/users/{id}") {
            self.users.target.user.id.raw()
        } else if template.starts_with("/applications/{id}") {
            self.application
        } else {
            id
        };
        template
            .replace("{id}", &id.to_string())
            .replace("{message}", &message.to_string())
            .replace("{user}", &user)
            .replace("{role}", &self.role.id.to_string())
            .replace("{target}", &self.role.id.to_string())
            .replace("{emoji}", "%F0%9F%91%8D")
            .replace("{code}", &self.code)
            .replace("{token}", &self.webhook.1)
    }
}

pub async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.rest_requests_per_second = 0;
        c.channel_messages_per_5s = 0;
        c.registrations_per_hour_per_address = 0;
        c.logins_per_minute_per_address = 0;
        c.logins_per_minute_per_username = 0;
    })
    .await
}

pub async fn users(server: &TestServer) -> Users {
    let [owner, member, timed_out, outsider, banned, target] = server
        .users(["owner", "member", "timed", "outsider", "banned", "target"])
        .await;
    Users {
        owner,
        member,
        timed_out,
        outsider,
        banned,
        target,
    }
}
