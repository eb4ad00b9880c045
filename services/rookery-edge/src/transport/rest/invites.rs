//! Invite routes ([`crate::operations::invites`]): Rookery's guild invite and join,
//! and Discord's channel invites, lists and deletion.

use super::extract::{ApiJson, Auth, IsBot};
use super::routes::{EdgeState, applied, id};
use crate::EdgeError;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use rookery_proto::rest::{CreateChannelInvite, InviteCode, InvitePreview};

pub async fn create_in_guild(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(guild): Path<String>,
) -> Result<Response, EdgeError> {
    let guild = id(&guild, EdgeError::UnknownGuild)?;
    let (invite, a) = edge.create_invite(&user, guild).await?;
    Ok(applied(InviteCode { code: invite.code }, a))
}

pub async fn create_in_channel(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
    ApiJson(body): ApiJson<CreateChannelInvite>,
) -> Result<Response, EdgeError> {
    let channel = id(&channel, EdgeError::UnknownChannel)?;
    let (invite, a) = edge.create_channel_invite(&user, channel, &body).await?;
    Ok(applied(invite, a))
}

pub async fn accept(
    State(edge): EdgeState,
    Auth(user): Auth,
    IsBot(bot): IsBot,
    Path(code): Path<String>,
) -> Result<Response, EdgeError> {
    let (guild, a) = edge.accept_invite((&user, bot), &code).await?;
    Ok(applied(guild, a))
}

pub async fn in_guild(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(guild): Path<String>,
) -> Result<Json<Vec<InvitePreview>>, EdgeError> {
    let guild = id(&guild, EdgeError::UnknownGuild)?;
    Ok(Json(edge.guild_invites(&user, guild).await?))
}

pub async fn in_channel(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(channel): Path<String>,
) -> Result<Json<Vec<InvitePreview>>, EdgeError> {
    let channel = id(&channel, EdgeError::UnknownChannel)?;
    Ok(Json(edge.channel_invites(&user, channel).await?))
}

pub async fn delete(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(code): Path<String>,
) -> Result<Response, EdgeError> {
    let (invite, a) = edge.delete_invite(&user, &code).await?;
    Ok(applied(invite, a))
}
