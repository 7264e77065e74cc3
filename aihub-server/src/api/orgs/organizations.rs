//! Organizations themselves: create, list one's own, show, rename.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::OrgAccess;
use super::page::{Page, PageQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{OrgRole, Organization};
use crate::timeutil::rfc3339;

/// An organization as shown.
#[derive(Debug, Serialize)]
pub struct OrganizationView {
    /// Its id.
    pub id: Uuid,
    /// Always `organization`.
    pub object: &'static str,
    /// Its name.
    pub name: String,
    /// Whether it is a user's personal organization.
    pub personal: bool,
    /// The id of its plan.
    pub plan: String,
    /// RFC 3339.
    pub created_at: String,
    /// The caller's role in it, if they are a member.
    pub role: Option<OrgRole>,
}

impl OrganizationView {
    fn of(o: &Organization, role: Option<OrgRole>) -> Self {
        Self {
            id: o.id,
            object: "organization",
            name: o.name.clone(),
            personal: o.personal,
            plan: o.plan.clone(),
            created_at: rfc3339(o.created_at),
            role,
        }
    }
}

/// `{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    /// The name: 1 to 100 characters.
    pub name: String,
}

impl NameBody {
    /// The trimmed name, or 400.
    pub fn checked(&self) -> ApiResult<&str> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::bad_request(
                "'name' must be 1 to 100 characters.",
                "name",
            ));
        }
        Ok(name)
    }
}

/// `POST /api/v1/organizations` `{name}`: a signed-in user creates an organization and becomes
/// its owner → `201`.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<NameBody>,
) -> ApiResult<(StatusCode, axum::Json<OrganizationView>)> {
    let user = principal.session_user()?;
    let org = state
        .store
        .create_organization(body.checked()?, user.id)
        .await?;
    tracing::info!(user_id = %user.id, organization_id = %org.id, "organization created");
    Ok((
        StatusCode::CREATED,
        axum::Json(OrganizationView::of(&org, Some(OrgRole::Owner))),
    ))
}

/// `GET /api/v1/organizations`: the organizations the signed-in user belongs to, with their
/// role in each, oldest membership first.
pub async fn list_mine(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<OrganizationView>>> {
    let user = principal.session_user()?;
    let (limit, after) = q.parse()?;
    let rows = state.store.organizations_of(user.id, after, limit).await?;
    Ok(axum::Json(Page::of(
        rows,
        limit,
        |(o, _, joined)| (*joined, o.id),
        |(o, role, _)| OrganizationView::of(o, Some(*role)),
    )))
}

/// `GET /api/v1/organizations/{org}`.
pub async fn show(Extension(access): Extension<OrgAccess>) -> axum::Json<OrganizationView> {
    axum::Json(OrganizationView::of(&access.organization, access.role))
}

/// `PATCH /api/v1/organizations/{org}` `{name}`.
pub async fn rename(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Json(body): Json<NameBody>,
) -> ApiResult<axum::Json<OrganizationView>> {
    let name = body.checked()?;
    state
        .store
        .rename_organization(access.organization.id, name)
        .await?;
    let mut org = access.organization;
    org.name = name.to_owned();
    Ok(axum::Json(OrganizationView::of(&org, access.role)))
}
