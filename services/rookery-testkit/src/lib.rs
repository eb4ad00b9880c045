//! Shared test support: a real Rookery server in-process on port 0 over a
//! temporary data dir, and helpers that talk to it only through the public
//! protocol ([`rookery_client`]); and the real binary as a child process
//! ([`ChildServer`]).

mod child;
pub mod engines;
pub mod tools;

pub use child::ChildServer;

use rookery::{ServeConfig, Server};
use rookery_client::{Api, Gateway};
use rookery_proto::MessageId;
use rookery_proto::codec::Encoding;
use rookery_proto::model::{GuildState, Role, User};
use rookery_proto::permissions::Permissions;
use rookery_proto::{ChannelId, GuildId, UserId};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A server under test.
pub struct TestServer {
    server: Option<Server>,
    config: ServeConfig,
    _dir: Option<tempfile::TempDir>,
}

/// A registered user with an authenticated client.
pub struct TestUser {
    /// The account.
    pub user: User,
    /// Its token.
    pub token: String,
    /// REST client carrying the token.
    pub api: Api,
}

impl TestUser {
    /// `method /api/v1{path}` with an optional JSON body: status and body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.api
            .raw(method, path, body)
            .await
            .expect("request sent")
    }

    /// Asserts the call answers 204 No Content.
    pub async fn no_content(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) {
        let (status, answer) = self.call(method.clone(), path, body).await;
        assert_eq!(status.as_u16(), 204, "{method} {path}: {answer}");
    }

    /// Asserts the call answers 200 and decodes its body.
    pub async fn ok<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> T {
        let (status, answer) = self.call(method.clone(), path, body).await;
        assert_eq!(status.as_u16(), 200, "{method} {path}: {answer}");
        serde_json::from_value(answer).expect("the documented shape")
    }

    /// Creates a role in `guild` (`body` as `POST /guilds/{id}/roles`).
    pub async fn create_role(&self, guild: GuildId, body: serde_json::Value) -> Role {
        let path = format!("/guilds/{guild}/roles");
        self.ok(reqwest::Method::POST, &path, Some(body)).await
    }

    /// Sets what @everyone may do in `guild`.
    pub async fn set_everyone(&self, guild: GuildId, permissions: Permissions) {
        let body = serde_json::json!({"permissions": bits(permissions)});
        let path = format!("/guilds/{guild}/roles/{guild}");
        let _: Role = self.ok(reqwest::Method::PATCH, &path, Some(body)).await;
    }

    /// Asserts the call is refused with HTTP `status` and error `code`.
    pub async fn refused(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        (status, code): (u16, u64),
    ) {
        let (got, answer) = self.call(method.clone(), path, body).await;
        let got_code = answer["code"].as_u64().unwrap_or(0);
        assert_eq!(
            (got.as_u16(), got_code),
            (status, code),
            "{method} {path}: {answer}"
        );
    }
}

/// Runs `op` until it stops answering 404 (a change not applied yet: in a
/// cluster an edge answers 202 when the writers are still sharing out
/// partitions, and a client retries what depends on it), for up to
/// `limit`.
pub async fn until_found<T, F, Fut>(limit: std::time::Duration, op: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, rookery_client::ClientError>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        match op().await {
            Ok(v) => return v,
            Err(rookery_client::ClientError::Api { status: 404, .. })
                if std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Permission bits as the REST API takes them (a decimal string).
pub fn bits(p: Permissions) -> String {
    p.0.to_string()
}

/// Waits for the next PRESENCE_UPDATE about `user` (with `status`, if
/// given); other frames are kept for later reads.
pub async fn presence_of(
    g: &mut Gateway,
    user: UserId,
    status: Option<rookery_proto::presence::Status>,
) -> rookery_proto::presence::Presence {
    use rookery_proto::presence::Presence;
    let about = |f: &rookery_client::ServerFrame| {
        f.t() == Some("PRESENCE_UPDATE")
            && f.d::<Presence>()
                .is_ok_and(|p| p.user.id == user && status.is_none_or(|s| p.status == s))
    };
    let timeout = std::time::Duration::from_secs(30);
    let frame = g.next_matching("presence", timeout, about).await;
    frame.expect("presence").d().expect("a presence")
}

/// Sends a message over the gateway and waits for its answer: `Ok(id)` on
/// SEND_ACK, `Err(code)` on SEND_ERROR.
pub async fn send_answer(
    g: &mut Gateway,
    channel: ChannelId,
    nonce: &str,
) -> Result<MessageId, u32> {
    g.send_message(channel, nonce, "hi").await.expect("sent");
    answer(g).await
}

/// The code the server closes `g` with (skipping any frames before the
/// close), within `limit`; panics on anything but a close frame.
pub async fn close_code(g: &mut Gateway, limit: std::time::Duration) -> u16 {
    loop {
        match tokio::time::timeout(limit, g.next())
            .await
            .expect("a close")
        {
            Ok(_) => continue,
            Err(rookery_client::ClientError::Closed { code, .. }) => return code,
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
}

/// Waits for the answer to a SEND: `Ok(id)` on SEND_ACK, `Err(code)` on
/// SEND_ERROR.
pub async fn answer(g: &mut Gateway) -> Result<MessageId, u32> {
    use rookery_proto::gateway::{SendAck, SendError, op};
    let answered = |f: &rookery_client::ServerFrame| {
        f.header.op == op::SEND_ACK || f.header.op == op::SEND_ERROR
    };
    let timeout = std::time::Duration::from_secs(10);
    let f = g
        .next_matching("send answer", timeout, answered)
        .await
        .expect("answer");
    if f.header.op == op::SEND_ACK {
        Ok(f.d::<SendAck>().expect("SEND_ACK").id)
    } else {
        Err(f.d::<SendError>().expect("SEND_ERROR").code)
    }
}

static NAMES: AtomicU32 = AtomicU32::new(0);

impl TestServer {
    /// Starts with defaults on a fresh temporary data dir.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts after `adjust` has edited the default configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServeConfig::new(
            "127.0.0.1:0".parse().expect("addr"),
            dir.path().join("data"),
        );
        adjust(&mut config);
        let server = rookery::start(config.clone()).await.expect("server starts");
        Self {
            server: Some(server),
            config,
            _dir: Some(dir),
        }
    }

    /// Starts on an existing data dir (which the caller keeps).
    pub async fn start_on(data_dir: &Path, adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let mut config = ServeConfig::new("127.0.0.1:0".parse().expect("addr"), data_dir);
        adjust(&mut config);
        let server = rookery::start(config.clone()).await.expect("server starts");
        Self {
            server: Some(server),
            config,
            _dir: None,
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("server running")
    }

    /// `http://addr`.
    pub fn http(&self) -> String {
        format!("http://{}", self.server().addr())
    }

    /// `http://ops_addr`: `/metrics`, `/healthz`, `/readyz`.
    pub fn ops(&self) -> String {
        format!("http://{}", self.server().ops_addr())
    }

    /// `ws://addr`.
    pub fn ws(&self) -> String {
        format!("ws://{}", self.server().addr())
    }

    /// The data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }

    /// An unauthenticated REST client.
    pub fn api(&self) -> Api {
        Api::new(self.http())
    }

    /// Registers one user per prefix.
    pub async fn users<const N: usize>(&self, prefixes: [&str; N]) -> [TestUser; N] {
        let mut users = Vec::with_capacity(N);
        for prefix in prefixes {
            users.push(self.user(prefix).await);
        }
        users.try_into().ok().expect("one user per prefix")
    }

    /// Registers a user with a unique name starting with `prefix`.
    pub async fn user(&self, prefix: &str) -> TestUser {
        let name = format!("{prefix}{}", NAMES.fetch_add(1, Ordering::Relaxed));
        let auth = self
            .api()
            .register(&name, "correct-horse")
            .await
            .expect("register");
        TestUser {
            api: self.api().with_token(&auth.token),
            user: auth.user,
            token: auth.token,
        }
    }

    /// A gateway connection that has identified as `user`.
    pub async fn gateway(&self, user: &TestUser, encoding: Encoding) -> Gateway {
        let mut g = Gateway::connect(&self.ws(), encoding)
            .await
            .expect("connect");
        g.identify(&user.token).await.expect("identify");
        g
    }

    /// A guild owned by `members[0]` that every other member joined through
    /// an invite; returns it (as the owner saw it on creation).
    pub async fn guild(&self, members: &[&TestUser]) -> GuildState {
        let (owner, rest) = members.split_first().expect("an owner");
        let guild = owner
            .api
            .create_guild("test guild")
            .await
            .expect("create guild");
        let code = owner.api.create_invite(guild.id).await.expect("invite");
        for m in rest {
            m.api.accept_invite(&code).await.expect("join");
        }
        guild
    }

    /// Stops gracefully.
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.expect("clean stop");
        }
    }
}
