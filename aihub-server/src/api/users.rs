//! Users as the API shows them, and the operator's `admin/users` routes: create a user,
//! move them to another plan.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::scope::user_by_id;
use crate::accounts::{Credentials, create_user};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{InstanceRole, User};
use crate::timeutil::rfc3339;

/// A user as the API shows them (never the password hash).
#[derive(Debug, Serialize)]
pub struct UserView {
    /// The user's id.
    pub id: Uuid,
    /// E-mail, lowercased.
    pub email: String,
    /// The id of the user's plan.
    pub plan: String,
    /// The user's personal organisation.
    pub organization_id: Uuid,
    /// The user's role over the whole gateway (`admin`, `viewer`), or null.
    pub instance_role: Option<InstanceRole>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            plan: u.plan.clone(),
            organization_id: u.organization_id,
            instance_role: u.instance_role,
            created_at: rfc3339(u.created_at),
        }
    }
}

/// `POST /api/v1/admin/users` `{email, password}`: the operator creates a user.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(c): Json<Credentials>,
) -> ApiResult<(StatusCode, axum::Json<UserView>)> {
    principal.require_operator()?;
    let user = create_user(&state, &c).await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(&user))))
}

/// `{plan}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// A configured plan id.
    pub plan: String,
}

/// 400 unless `plan` is a configured plan.
fn known_plan(state: &AppState, plan: &str) -> ApiResult<()> {
    if state.limits.plans().any(|p| p.id == plan) {
        return Ok(());
    }
    let known: Vec<&str> = state.limits.plans().map(|p| p.id.as_str()).collect();
    Err(ApiError::bad_request(
        format!("No plan '{plan}'; configured plans: {}.", known.join(", ")),
        "plan",
    ))
}

/// `PUT /api/v1/admin/users/{id}/plan` `{plan}`: moves the user's personal organization to the
/// plan; takes effect on the user's next request.
pub async fn set_plan(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<PlanBody>,
) -> ApiResult<axum::Json<UserView>> {
    principal.require_operator()?;
    let mut user = user_by_id(&state, &id).await?;
    known_plan(&state, &body.plan)?;
    state.store.set_user_plan(user.id, &body.plan).await?;
    tracing::info!(user_id = %user.id, plan = %body.plan, "plan changed");
    user.plan = body.plan;
    Ok(axum::Json(UserView::from(&user)))
}

/// `{role}` over the gateway: `admin`, `viewer` or null.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceRoleBody {
    /// The role, or null to take it away.
    pub role: Option<InstanceRole>,
}

/// `PUT /api/v1/admin/users/{id}/instance-role` `{role}`: an instance admin may do everything
/// the master key does; a viewer may read it all.
pub async fn set_instance_role(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<InstanceRoleBody>,
) -> ApiResult<axum::Json<UserView>> {
    principal.require_operator()?;
    let mut user = user_by_id(&state, &id).await?;
    state.store.set_instance_role(user.id, body.role).await?;
    tracing::info!(user_id = %user.id, role = ?body.role, "instance role changed");
    user.instance_role = body.role;
    Ok(axum::Json(UserView::from(&user)))
}

/// An organization's plan, as set.
#[derive(Debug, Serialize)]
pub struct OrganizationPlan {
    /// The organization.
    pub id: Uuid,
    /// Always `organization`.
    pub object: &'static str,
    /// The plan's id.
    pub plan: String,
}

/// `PUT /api/v1/admin/organizations/{id}/plan` `{plan}`: the plan covers the organization as a
/// whole (its quota and rate limits are shared by every key that spends for it).
pub async fn set_organization_plan(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<PlanBody>,
) -> ApiResult<axum::Json<OrganizationPlan>> {
    principal.require_operator()?;
    let not_found =
        || ApiError::not_found("No organization with that id.", "organization_not_found");
    let org = Uuid::parse_str(&id).map_err(|_| not_found())?;
    known_plan(&state, &body.plan)?;
    if !state.store.set_organization_plan(org, &body.plan).await? {
        return Err(not_found());
    }
    tracing::info!(organization_id = %org, plan = %body.plan, "organization plan changed");
    Ok(axum::Json(OrganizationPlan {
        id: org,
        object: "organization",
        plan: body.plan,
    }))
}
