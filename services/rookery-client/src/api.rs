//! REST client.

use crate::{ClientError, Result};
use reqwest::{Method, StatusCode};
use rookery_proto::model::{Channel, Guild, GuildState, Message};
use rookery_proto::rest::{ApiError, AuthResponse, InviteCode};
use rookery_proto::{ChannelId, GuildId};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A REST client for one server, optionally authenticated.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into().trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    /// A client for `base` over a configured HTTP client (e.g. one bound to
    /// a source address).
    pub fn with_client(base: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            http,
            ..Self::new(base)
        }
    }

    /// The same client sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// Sends a request to `/api/v1{path}`; returns status and JSON body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T> {
        let (status, value) = self.raw(method, path, body).await?;
        if !status.is_success() {
            let err: ApiError = serde_json::from_value(value.clone()).unwrap_or(ApiError {
                retry_after: None,
                code: 0,
                message: value.to_string(),
            });
            return Err(ClientError::Api {
                status: status.as_u16(),
                code: err.code,
                message: err.message,
            });
        }
        serde_json::from_value(value).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// `POST /auth/register`.
    pub async fn register(&self, username: &str, password: &str) -> Result<AuthResponse> {
        self.call(
            Method::POST,
            "/auth/register",
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// `POST /auth/login`.
    pub async fn login(&self, username: &str, password: &str) -> Result<AuthResponse> {
        self.call(
            Method::POST,
            "/auth/login",
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// `POST /guilds`.
    pub async fn create_guild(&self, name: &str) -> Result<GuildState> {
        self.call(Method::POST, "/guilds", Some(json!({"name": name})))
            .await
    }

    /// `POST /guilds/{id}/channels`.
    pub async fn create_channel(&self, guild: GuildId, name: &str) -> Result<Channel> {
        self.call(
            Method::POST,
            &format!("/guilds/{guild}/channels"),
            Some(json!({"name": name})),
        )
        .await
    }

    /// `POST /guilds/{id}/invites`; returns the code.
    pub async fn create_invite(&self, guild: GuildId) -> Result<String> {
        let invite: InviteCode = self
            .call(Method::POST, &format!("/guilds/{guild}/invites"), None)
            .await?;
        Ok(invite.code)
    }

    /// `POST /invites/{code}`.
    pub async fn accept_invite(&self, code: &str) -> Result<GuildState> {
        self.call(Method::POST, &format!("/invites/{code}"), None)
            .await
    }

    /// `GET /users/@me/guilds`.
    pub async fn my_guilds(&self) -> Result<Vec<Guild>> {
        self.call(Method::GET, "/users/@me/guilds", None).await
    }

    /// `GET /channels/{id}/messages?{query}` (e.g. `before=123&limit=10`).
    pub async fn history(&self, channel: ChannelId, query: &str) -> Result<Vec<Message>> {
        self.call(
            Method::GET,
            &format!("/channels/{channel}/messages?{query}"),
            None,
        )
        .await
    }

    /// `POST /channels/{id}/messages`.
    pub async fn post_message(
        &self,
        channel: ChannelId,
        content: &str,
        nonce: Option<&str>,
    ) -> Result<Message> {
        let body = json!({"content": content, "nonce": nonce});
        self.call(
            Method::POST,
            &format!("/channels/{channel}/messages"),
            Some(body),
        )
        .await
    }
}
