//! Budgets on an organization and on its teams: every key that spends for them is held to them
//! in the same reservation as its own, its user's and its plan's limits.

use axum::Extension;
use axum::extract::{Query, State};

use super::OrgAccess;
use crate::api::budgets::{
    BudgetBody, BudgetView, DeletedBudget, PeriodQuery, delete_budget, put_budget,
};
use crate::error::ApiResult;
use crate::json::Json;
use crate::state::AppState;
use crate::store::{BudgetScope, BudgetSetter};

/// `PUT /api/v1/organizations/{org}/budget` `{hard_limit?, soft_limit?, period?, currency?}`.
pub async fn put_org(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Json(body): Json<BudgetBody>,
) -> ApiResult<axum::Json<BudgetView>> {
    let id = access.organization.id;
    put_budget(
        &state,
        BudgetScope::Organization,
        id,
        BudgetSetter::Admin,
        &body,
    )
    .await
}

/// `DELETE /api/v1/organizations/{org}/budget?period=…`.
pub async fn delete_org(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<axum::Json<DeletedBudget>> {
    let id = access.organization.id;
    delete_budget(
        &state,
        BudgetScope::Organization,
        id,
        BudgetSetter::Admin,
        q.period,
    )
    .await
}

/// `PUT /api/v1/organizations/{org}/teams/{team}/budget`.
pub async fn put_team(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Json(body): Json<BudgetBody>,
) -> ApiResult<axum::Json<BudgetView>> {
    let id = access.team()?.id;
    put_budget(&state, BudgetScope::Team, id, BudgetSetter::Admin, &body).await
}

/// `DELETE /api/v1/organizations/{org}/teams/{team}/budget?period=…`.
pub async fn delete_team(
    State(state): State<AppState>,
    Extension(access): Extension<OrgAccess>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<axum::Json<DeletedBudget>> {
    let id = access.team()?.id;
    delete_budget(&state, BudgetScope::Team, id, BudgetSetter::Admin, q.period).await
}
