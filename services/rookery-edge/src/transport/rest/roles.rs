//! REST handlers for roles, members (roles, timeouts, kicks, leaving),
//! channels and overwrites (Discord's routes and status codes: 204 for
//! changes with no body).

use super::extract::{ApiJson, Auth, OptionalJson};
use super::routes::{EdgeState, applied, id, no_content};
use crate::EdgeError;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use rookery_proto::rest::{CreateBan, MemberParams, OverwriteParams, RoleParams, RolePosition};

fn guild(raw: &str) -> Result<rookery_proto::GuildId, EdgeError> {
    id(raw, EdgeError::UnknownGuild)
}

fn role(raw: &str) -> Result<rookery_proto::RoleId, EdgeError> {
    id(raw, EdgeError::UnknownRole)
}

pub async fn list(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(g): Path<String>,
) -> Result<Response, EdgeError> {
    Ok(Json(edge.guild_roles(&user, guild(&g)?).await?).into_response())
}

pub async fn create(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(g): Path<String>,
    ApiJson(p): ApiJson<RoleParams>,
) -> Result<Response, EdgeError> {
    let (r, a) = edge.create_role(&user, guild(&g)?, p).await?;
    Ok(applied(r, a))
}

pub async fn update(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, r)): Path<(String, String)>,
    ApiJson(p): ApiJson<RoleParams>,
) -> Result<Response, EdgeError> {
    let (r, a) = edge.update_role(&user, guild(&g)?, role(&r)?, p).await?;
    Ok(applied(r, a))
}

pub async fn delete(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, r)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    Ok(no_content(
        edge.delete_role(&user, guild(&g)?, role(&r)?).await?,
    ))
}

pub async fn positions(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(g): Path<String>,
    ApiJson(moves): ApiJson<Vec<RolePosition>>,
) -> Result<Response, EdgeError> {
    let (roles, a) = edge.move_roles(&user, guild(&g)?, moves).await?;
    Ok(applied(roles, a))
}

pub async fn member(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let target = id(&u, EdgeError::UnknownMember)?;
    Ok(Json(edge.guild_member(&user, guild(&g)?, target).await?).into_response())
}

async fn member_role(
    edge: EdgeState,
    user: Auth,
    (g, u, r): (String, String, String),
    add: bool,
) -> Result<Response, EdgeError> {
    let target = id(&u, EdgeError::UnknownMember)?;
    let a = edge
        .0
        .member_role(&user.0, guild(&g)?, target, role(&r)?, add)
        .await?;
    Ok(no_content(a))
}

pub async fn add_member_role(
    edge: EdgeState,
    user: Auth,
    Path(path): Path<(String, String, String)>,
) -> Result<Response, EdgeError> {
    member_role(edge, user, path, true).await
}

pub async fn remove_member_role(
    edge: EdgeState,
    user: Auth,
    Path(path): Path<(String, String, String)>,
) -> Result<Response, EdgeError> {
    member_role(edge, user, path, false).await
}

pub async fn channel(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(c): Path<String>,
) -> Result<Response, EdgeError> {
    let c = id(&c, EdgeError::UnknownChannel)?;
    Ok(Json(edge.get_channel(&user, c).await?).into_response())
}

pub async fn put_overwrite(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((c, t)): Path<(String, String)>,
    ApiJson(p): ApiJson<OverwriteParams>,
) -> Result<Response, EdgeError> {
    let c = id(&c, EdgeError::UnknownChannel)?;
    let t = id(
        &t,
        EdgeError::InvalidBody("overwrite id must be a snowflake".into()),
    )?;
    Ok(no_content(edge.overwrite(&user, c, t, Some(p)).await?))
}

pub async fn delete_overwrite(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((c, t)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let c = id(&c, EdgeError::UnknownChannel)?;
    let t = id(
        &t,
        EdgeError::InvalidBody("overwrite id must be a snowflake".into()),
    )?;
    Ok(no_content(edge.overwrite(&user, c, t, None).await?))
}

pub async fn update_member(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, u)): Path<(String, String)>,
    ApiJson(p): ApiJson<MemberParams>,
) -> Result<Response, EdgeError> {
    let target = id(&u, EdgeError::UnknownMember)?;
    let (member, a) = edge.update_member(&user, guild(&g)?, target, p).await?;
    Ok(applied(member, a))
}

pub async fn kick(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let target = id(&u, EdgeError::UnknownMember)?;
    Ok(no_content(edge.kick(&user, guild(&g)?, target).await?))
}

pub async fn leave(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(g): Path<String>,
) -> Result<Response, EdgeError> {
    Ok(no_content(edge.leave_guild(&user, guild(&g)?).await?))
}

/// Discord's `X-Audit-Log-Reason` header, URL-encoded.
fn audit_reason(headers: &axum::http::HeaderMap) -> Result<Option<String>, EdgeError> {
    let Some(raw) = headers.get("x-audit-log-reason") else {
        return Ok(None);
    };
    let bad = || EdgeError::InvalidBody("X-Audit-Log-Reason must be URL-encoded UTF-8".into());
    let raw = raw.to_str().map_err(|_| bad())?;
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8();
    Ok(Some(decoded.map_err(|_| bad())?.into_owned()))
}

pub async fn ban(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, u)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    OptionalJson(body): OptionalJson<CreateBan>,
) -> Result<Response, EdgeError> {
    let g = id(&g, EdgeError::UnknownGuild)?;
    let u = id(&u, EdgeError::UnknownUser)?;
    let reason = audit_reason(&headers)?;
    let (applied, _) = edge.ban(&user, (g, u), body, reason).await?;
    Ok(no_content(applied))
}

pub async fn unban(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let g = id(&g, EdgeError::UnknownGuild)?;
    let u = id(&u, EdgeError::UnknownBan)?;
    Ok(no_content(edge.unban(&user, g, u).await?))
}

pub async fn bans(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(g): Path<String>,
    axum::extract::Query(q): axum::extract::Query<super::annotations::UserPage>,
) -> Result<Response, EdgeError> {
    let g = id(&g, EdgeError::UnknownGuild)?;
    let page = q.within(rookery_store::MAX_BANS_PAGE, rookery_store::MAX_BANS_PAGE)?;
    Ok(Json(edge.bans(&user, g, page).await?).into_response())
}

/// Discord's `GET /guilds/{id}/members`: `limit` 1..=1000, default 1.
pub async fn members(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(g): Path<String>,
    axum::extract::Query(q): axum::extract::Query<super::annotations::UserPage>,
) -> Result<Response, EdgeError> {
    let g = id(&g, EdgeError::UnknownGuild)?;
    let (after, limit) = q.within(1, rookery_store::MAX_MEMBERS_PAGE)?;
    Ok(Json(edge.list_members(&user, g, after, limit).await?).into_response())
}

pub async fn get_ban(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path((g, u)): Path<(String, String)>,
) -> Result<Response, EdgeError> {
    let g = id(&g, EdgeError::UnknownGuild)?;
    let u = id(&u, EdgeError::UnknownBan)?;
    Ok(Json(edge.get_ban(&user, g, u).await?).into_response())
}

/// `before`, `limit` (1–100, default 50), `user_id`, `action_type`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    #[serde(default)]
    before: Option<rookery_proto::Id>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    user_id: Option<rookery_proto::UserId>,
    #[serde(default)]
    action_type: Option<u8>,
}

pub async fn audit_log(
    State(edge): EdgeState,
    Auth(user): Auth,
    Path(g): Path<String>,
    axum::extract::Query(p): axum::extract::Query<AuditParams>,
) -> Result<Response, EdgeError> {
    let g = guild(&g)?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        let why = "limit must be an integer from 1 to 100";
        return Err(EdgeError::InvalidBody(why.into()));
    }
    let q = crate::operations::audit::AuditQuery {
        before: p.before,
        limit,
        user_id: p.user_id,
        action_type: p.action_type,
    };
    let audit_log_entries = edge.audit_log(&user, g, q).await?;
    Ok(Json(rookery_proto::rest::AuditLog { audit_log_entries }).into_response())
}
