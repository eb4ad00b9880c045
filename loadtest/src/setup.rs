//! Preparing accounts and guilds through the public REST API.

use crate::Target;
use anyhow::{Context, Result};
use rookery_client::Api;
use rookery_proto::model::GuildState;
use tokio::task::JoinSet;

/// A registered account.
#[derive(Clone)]
pub struct Account {
    /// REST client with its token.
    pub api: Api,
    /// Its token.
    pub token: String,
}

/// Registers `n` accounts, a few at a time (each costs the server an argon2
/// hash).
pub async fn accounts(target: &Target, label: &str, n: usize) -> Result<Vec<Account>> {
    let mut out = Vec::with_capacity(n);
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (api, name) = (
            target.api(),
            format!("lt{}{label}{}x{i}", target.run_id, target.part),
        );
        tasks.spawn(async move {
            let auth = api
                .register(&name, "loadtest-password")
                .await
                .with_context(|| format!("register {name}"))?;
            Ok::<_, anyhow::Error>(Account {
                api: api.with_token(&auth.token),
                token: auth.token,
            })
        });
        if tasks.len() >= 8 {
            out.push(tasks.join_next().await.expect("task")??);
        }
    }
    while let Some(a) = tasks.join_next().await {
        out.push(a??);
    }
    Ok(out)
}

/// A guild owned by `members[0]` that the others joined.
pub async fn guild(members: &[Account]) -> Result<GuildState> {
    let owner = &members[0];
    let guild = owner.api.create_guild("loadtest").await?;
    let code = owner.api.create_invite(guild.id).await?;
    for m in &members[1..] {
        m.api.accept_invite(&code).await?;
    }
    Ok(guild)
}
