//! Teams: create, list, show, rename; their members; their own keys (service accounts).

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::OrgAccess;
use super::members::member_not_found;
use super::organizations::NameBody;
use super::page::{Page, PageQuery};
use crate::accounts::{KeyOwner, NewKey, issue_key};
use crate::api::keys::{CreatedKey, KeyView, RevokedKey};
use crate::api::list::List;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{StoreError, Team, TeamMember, TeamRole};
use crate::timeutil::rfc3339;

/// A team as shown.
#[derive(Debug, Serialize)]
pub struct TeamView {
    /// Its id.
    pub id: Uuid,
    /// Always `team`.
    pub object: &'static str,
    /// The organization it belongs to.
    pub organization_id: Uuid,
    /// Its name.
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
}

impl TeamView {
    fn of(t: &Team) -> Self {
        Self {
            id: t.id,
            object: "team",
            organization_id: t.organization_id,
            name: t.name.clone(),
            created_at: rfc3339(t.created_at),
        }
    }
}

fn name_taken() -> ApiError {
    ApiError::conflict("The organization has a team of that name already.", "name")
}

/// `POST /api/v1/organizations/{org}/teams` `{name}` → `201`.
pub async fn create(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Json(body): Json<NameBody>,
) -> ApiResult<(StatusCode, axum::Json<TeamView>)> {
    let team = match state
        .store
        .create_team(access.organization.id, body.checked()?)
        .await
    {
        Err(StoreError::Conflict) => return Err(name_taken()),
        other => other?,
    };
    tracing::info!(organization_id = %team.organization_id, team_id = %team.id, "team created");
    Ok((StatusCode::CREATED, axum::Json(TeamView::of(&team))))
}

/// `GET /api/v1/organizations/{org}/teams`, oldest first, paged.
pub async fn list(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<TeamView>>> {
    let (limit, after) = q.parse()?;
    let rows = state
        .store
        .list_teams(access.organization.id, after, limit)
        .await?;
    Ok(axum::Json(Page::of(
        rows,
        limit,
        |t| (t.created_at, t.id),
        TeamView::of,
    )))
}

/// `GET /api/v1/organizations/{org}/teams/{team}`.
pub async fn show(Extension(access): Extension<OrgAccess>) -> ApiResult<axum::Json<TeamView>> {
    Ok(axum::Json(TeamView::of(access.team()?)))
}

/// `PATCH /api/v1/organizations/{org}/teams/{team}` `{name}`.
pub async fn rename(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Json(body): Json<NameBody>,
) -> ApiResult<axum::Json<TeamView>> {
    let name = body.checked()?;
    let mut team = access.team()?.clone();
    match state.store.rename_team(team.id, name).await {
        Err(StoreError::Conflict) => return Err(name_taken()),
        other => other?,
    };
    team.name = name.to_owned();
    Ok(axum::Json(TeamView::of(&team)))
}

/// A team member as listed.
#[derive(Debug, Serialize)]
pub struct TeamMemberView {
    /// The member's user id.
    pub user_id: Uuid,
    /// Always `team.member`.
    pub object: &'static str,
    /// Their email address.
    pub email: String,
    /// Their team role.
    pub role: TeamRole,
    /// RFC 3339.
    pub joined_at: String,
}

impl TeamMemberView {
    fn of(m: &TeamMember) -> Self {
        Self {
            user_id: m.user_id,
            object: "team.member",
            email: m.email.clone(),
            role: m.role,
            joined_at: rfc3339(m.created_at),
        }
    }
}

/// `GET /api/v1/organizations/{org}/teams/{team}/members`, oldest first, paged.
pub async fn members(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<TeamMemberView>>> {
    let (limit, after) = q.parse()?;
    let rows = state
        .store
        .list_team_members(access.team()?.id, after, limit)
        .await?;
    Ok(axum::Json(Page::of(
        rows,
        limit,
        |m| (m.created_at, m.user_id),
        TeamMemberView::of,
    )))
}

/// `{role}` for a team.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRoleBody {
    /// `admin` or `member` (default `member`).
    #[serde(default)]
    pub role: Option<TeamRole>,
}

/// `PUT /api/v1/organizations/{org}/teams/{team}/members/{user}` `{role?}`: puts a member of
/// the organization in the team, or changes their team role.
pub async fn set_member(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Path((_, _, user)): Path<(String, String, String)>,
    Json(body): Json<TeamRoleBody>,
) -> ApiResult<axum::Json<TeamMemberView>> {
    let team = access.team()?;
    let user = Uuid::parse_str(&user).map_err(|_| member_not_found())?;
    let member = state
        .store
        .member(team.organization_id, user)
        .await?
        .ok_or_else(member_not_found)?;
    let role = body.role.unwrap_or(TeamRole::Member);
    let joined = match state.store.set_team_member(team, user, role).await {
        Err(StoreError::NotFound) => return Err(member_not_found()),
        other => other?,
    };
    Ok(axum::Json(TeamMemberView::of(&TeamMember {
        user_id: user,
        email: member.email,
        role,
        created_at: joined,
    })))
}

/// The answer to taking a member out of a team.
#[derive(Debug, Serialize)]
pub struct RemovedFromTeam {
    /// The user id.
    pub user_id: Uuid,
    /// Always `team.member`.
    pub object: &'static str,
    /// Always true.
    pub deleted: bool,
}

/// `DELETE /api/v1/organizations/{org}/teams/{team}/members/{user}`: their own keys for the
/// team are revoked; the team's own keys keep working.
pub async fn remove_member(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Path((_, _, user)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<RemovedFromTeam>> {
    let team = access.team()?;
    let user = Uuid::parse_str(&user).map_err(|_| member_not_found())?;
    if !state
        .store
        .remove_team_member(team.id, user, state.now_ms())
        .await?
    {
        return Err(ApiError::not_found(
            "No member with that user id in this team.",
            "member_not_found",
        ));
    }
    Ok(axum::Json(RemovedFromTeam {
        user_id: user,
        object: "team.member",
        deleted: true,
    }))
}

/// `GET /api/v1/organizations/{org}/teams/{team}/api-keys`: the team's own keys and its
/// members' keys for it, newest first (never their secrets).
pub async fn keys(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
) -> ApiResult<axum::Json<List<KeyView>>> {
    let now = state.now_ms();
    let keys = state.store.list_team_keys(access.team()?.id).await?;
    Ok(axum::Json(List::of(
        keys.iter().map(|k| KeyView::of(k, now)).collect(),
    )))
}

/// `POST /api/v1/organizations/{org}/teams/{team}/api-keys` `{name, expires_at?}`: a key of
/// the team's own, owned by no user, so it keeps working whoever leaves → `201`, shown once.
pub async fn create_key(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Json(req): Json<NewKey>,
) -> ApiResult<(StatusCode, axum::Json<CreatedKey>)> {
    if req.organization_id.is_some() || req.team_id.is_some() {
        return Err(ApiError::bad_request(
            "A team key spends for the team in the path; leave out organization_id and team_id.",
            "team_id",
        ));
    }
    let team = access.team()?;
    let owner = KeyOwner {
        user: None,
        organization_id: team.organization_id,
        team_id: Some(team.id),
    };
    let (key, secret) = issue_key(&state, owner, &req).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedKey::new(&key, secret, state.now_ms())),
    ))
}

/// `DELETE /api/v1/organizations/{org}/teams/{team}/api-keys/{key}`: revokes one of the team's
/// keys (its own, or a member's for it).
pub async fn revoke_key(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Path((_, _, key)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<RevokedKey>> {
    let team = access.team()?;
    let not_found = || {
        ApiError::not_found(
            format!("No active API key with id '{key}' in this team."),
            "api_key_not_found",
        )
    };
    let key_id = Uuid::parse_str(&key).map_err(|_| not_found())?;
    if !state
        .store
        .revoke_team_key(team.id, key_id, state.now_ms())
        .await?
    {
        return Err(not_found());
    }
    Ok(axum::Json(RevokedKey {
        id: key.clone(),
        object: "api_key",
        revoked: true,
    }))
}
