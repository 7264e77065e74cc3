//! An organization's members: list, change a role, remove (which revokes their keys there).

use axum::Extension;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::OrgAccess;
use super::page::{Page, PageQuery};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{Member, MemberChange, OrgRole};
use crate::timeutil::rfc3339;

/// A member as listed.
#[derive(Debug, Serialize)]
pub struct MemberView {
    /// The member's user id.
    pub user_id: Uuid,
    /// Always `organization.member`.
    pub object: &'static str,
    /// Their email address.
    pub email: String,
    /// Their role.
    pub role: OrgRole,
    /// When they joined, RFC 3339.
    pub joined_at: String,
}

impl MemberView {
    fn of(m: &Member) -> Self {
        Self {
            user_id: m.user_id,
            object: "organization.member",
            email: m.email.clone(),
            role: m.role,
            joined_at: rfc3339(m.created_at),
        }
    }
}

/// `{role}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// `owner`, `admin`, `billing`, `member` or `viewer`.
    pub role: OrgRole,
}

/// 404 for a user who is not a member.
pub fn member_not_found() -> ApiError {
    ApiError::not_found(
        "No member with that user id in this organization.",
        "member_not_found",
    )
}

fn last_owner() -> ApiError {
    ApiError::bad_request(
        "An organization keeps at least one owner: make someone else an owner first.",
        "role",
    )
}

fn owners_only() -> ApiError {
    ApiError::forbidden("Only an owner may grant, change or take away the owner role.")
}

/// A user id from the path, or 404.
fn user_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| member_not_found())
}

/// `GET /api/v1/organizations/{org}/members`, oldest first, paged.
pub async fn list(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<MemberView>>> {
    let (limit, after) = q.parse()?;
    let rows = state
        .store
        .list_members(access.organization.id, after, limit)
        .await?;
    Ok(axum::Json(Page::of(
        rows,
        limit,
        |m| (m.created_at, m.user_id),
        MemberView::of,
    )))
}

/// `PUT /api/v1/organizations/{org}/members/{user}` `{role}`.
pub async fn set_role(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Path((_, user)): Path<(String, String)>,
    Json(body): Json<RoleBody>,
) -> ApiResult<axum::Json<MemberView>> {
    let org = access.organization.id;
    let user = user_id(&user)?;
    let current = state
        .store
        .member(org, user)
        .await?
        .ok_or_else(member_not_found)?;
    if (current.role == OrgRole::Owner || body.role == OrgRole::Owner)
        && !access.may_manage_owners()
    {
        return Err(owners_only());
    }
    match state.store.set_member_role(org, user, body.role).await? {
        MemberChange::Done => {}
        MemberChange::NotMember => return Err(member_not_found()),
        MemberChange::LastOwner => return Err(last_owner()),
    }
    tracing::info!(organization_id = %org, user_id = %user, role = %body.role, "member role changed");
    Ok(axum::Json(MemberView::of(&Member {
        role: body.role,
        ..current
    })))
}

/// The answer to removing a member.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The user id.
    pub user_id: Uuid,
    /// Always `organization.member`.
    pub object: &'static str,
    /// Always true.
    pub deleted: bool,
}

/// `DELETE /api/v1/organizations/{org}/members/{user}`: the member leaves the organization and
/// its teams; their keys there are revoked at once; the team keys they made keep working.
pub async fn remove(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Path((_, user)): Path<(String, String)>,
) -> ApiResult<axum::Json<Removed>> {
    let org = access.organization.id;
    let user = user_id(&user)?;
    let current = state
        .store
        .member(org, user)
        .await?
        .ok_or_else(member_not_found)?;
    if current.role == OrgRole::Owner && !access.may_manage_owners() {
        return Err(owners_only());
    }
    match state.store.remove_member(org, user, state.now_ms()).await? {
        MemberChange::Done => {}
        MemberChange::NotMember => return Err(member_not_found()),
        MemberChange::LastOwner => return Err(last_owner()),
    }
    tracing::info!(organization_id = %org, user_id = %user, "member removed; their keys revoked");
    Ok(axum::Json(Removed {
        user_id: user,
        object: "organization.member",
        deleted: true,
    }))
}
