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
use crate::store::User;
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

/// `PUT /api/v1/admin/users/{id}/plan` `{plan}`: takes effect on the user's next request.
pub async fn set_plan(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<PlanBody>,
) -> ApiResult<axum::Json<UserView>> {
    principal.require_operator()?;
    let mut user = user_by_id(&state, &id).await?;
    if !state.limits.plans().any(|p| p.id == body.plan) {
        let known: Vec<&str> = state.limits.plans().map(|p| p.id.as_str()).collect();
        return Err(ApiError::bad_request(
            format!(
                "No plan '{}'; configured plans: {}.",
                body.plan,
                known.join(", ")
            ),
            "plan",
        ));
    }
    state.store.set_user_plan(user.id, &body.plan).await?;
    tracing::info!(user_id = %user.id, plan = %body.plan, "plan changed");
    user.plan = body.plan;
    Ok(axum::Json(UserView::from(&user)))
}
