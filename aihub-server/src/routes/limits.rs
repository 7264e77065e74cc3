//! Plans, budgets and per-key limits: `GET /api/v1/plans`, `GET /api/v1/budgets`, the owner's
//! `PUT|DELETE /api/v1/auth/api-keys/{id}/budget` and `PUT /api/v1/auth/api-keys/{id}/limits`,
//! and the admin's (master key) `PUT /api/v1/admin/users/{id}/plan`,
//! `PUT|DELETE /api/v1/admin/{users|api-keys}/{id}/budget` and
//! `PUT /api/v1/admin/api-keys/{id}/limits`.

use aihub_core::pricing::{Currency, Money};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::account::user_json;
use super::usage::nanos_to_string;
use crate::auth::{Caller, MasterKey, SessionUser};
use crate::config::{Plan, parse_currency};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{ApiKey, Budget, BudgetPeriod, BudgetScope, BudgetSetter, KeyLimits, NewBudget};
use crate::timeutil::{month_start_ms, rfc3339};

/// A plan as the API shows it.
pub fn plan_json(plan: &Plan, currency: Currency) -> Value {
    json!({
        "id": plan.id,
        "object": "plan",
        "name": plan.name,
        "price_monthly": {"currency": currency.code(), "amount": plan.price_monthly.normalize().to_string()},
        "monthly_tokens": plan.monthly_tokens,
        "rpm": plan.rpm,
        "tpm": plan.tpm,
        "max_concurrent": plan.max_concurrent,
    })
}

/// `GET /api/v1/plans`: every plan, for anyone.
pub async fn plans(State(state): State<AppState>) -> Response {
    let currency = state.limits.billing().currency;
    let data: Vec<Value> = state
        .limits
        .plans()
        .map(|p| plan_json(p, currency))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// A budget as the API shows it, with what its scope spent in its current period.
async fn budget_json(state: &AppState, b: &Budget) -> ApiResult<Value> {
    let start = match b.period {
        BudgetPeriod::Monthly => month_start_ms(state.now_ms(), &state.limits.settings().timezone),
        BudgetPeriod::Lifetime => 0,
    };
    let spent = state.store.spent_since(b.scope, b.scope_id, start).await?;
    let mut total = Decimal::ZERO;
    if let Some(target) = parse_currency(&b.currency) {
        for (code, nanos) in &spent.costs {
            if let Some(from) = parse_currency(code)
                && let Some(m) = state
                    .limits
                    .billing()
                    .convert(Money::from_nano_units(*nanos, from), target)
            {
                total += m.amount;
            }
        }
    }
    Ok(json!({
        "id": b.id,
        "object": "budget",
        "scope": b.scope,
        "scope_id": b.scope_id,
        "period": b.period,
        "currency": b.currency,
        "hard_limit": b.hard_limit_nanos.map(nanos_to_string),
        "soft_limit": b.soft_limit_nanos.map(nanos_to_string),
        "set_by": b.set_by,
        "period_start": (b.period == BudgetPeriod::Monthly).then(|| rfc3339(start)),
        "spent": total.normalize().to_string(),
        "updated_at": rfc3339(b.updated_at),
    }))
}

/// `{period?, currency?, hard_limit?, soft_limit?}`: amounts are decimal strings (or numbers)
/// in `currency` (default: the billing currency).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetBody {
    /// `monthly` (default) or `lifetime`.
    pub period: Option<BudgetPeriod>,
    /// `USD` or `CNY`.
    pub currency: Option<String>,
    /// Requests that could take spend past this are refused.
    pub hard_limit: Option<Value>,
    /// Reaching this sends one alert per period.
    pub soft_limit: Option<Value>,
}

fn amount(v: &Option<Value>, param: &str) -> ApiResult<Option<i64>> {
    let text = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(ApiError::bad_request(
                format!("'{param}' must be a decimal string such as \"25.00\"."),
                param,
            ));
        }
    };
    let d: Decimal = text.parse().map_err(|_| {
        ApiError::bad_request(
            format!("'{param}' must be a decimal amount such as \"25.00\", got {text:?}."),
            param,
        )
    })?;
    if d.is_sign_negative() || d.scale() > 9 {
        return Err(ApiError::bad_request(
            format!("'{param}' must be non-negative with at most 9 decimal places."),
            param,
        ));
    }
    let nanos = d
        .checked_mul(Decimal::from(1_000_000_000))
        .and_then(|n| rust_decimal::prelude::ToPrimitive::to_i64(&n))
        .ok_or_else(|| ApiError::bad_request(format!("'{param}' is too large."), param))?;
    Ok(Some(nanos))
}

async fn put_budget(
    state: &AppState,
    scope: BudgetScope,
    scope_id: Uuid,
    set_by: BudgetSetter,
    body: &BudgetBody,
) -> ApiResult<Response> {
    let billing = state.limits.billing();
    let currency = match &body.currency {
        None => billing.currency,
        Some(code) => parse_currency(code).ok_or_else(|| {
            ApiError::bad_request(
                format!("'currency' {code:?} is not USD or CNY."),
                "currency",
            )
        })?,
    };
    let hard = amount(&body.hard_limit, "hard_limit")?;
    let soft = amount(&body.soft_limit, "soft_limit")?;
    if hard.is_none() && soft.is_none() {
        return Err(ApiError::bad_request(
            "Give 'hard_limit', 'soft_limit' or both.",
            "hard_limit",
        ));
    }
    let budget = state
        .store
        .put_budget(&NewBudget {
            scope,
            scope_id,
            period: body.period.unwrap_or(BudgetPeriod::Monthly),
            currency: currency.code().to_owned(),
            hard_limit_nanos: hard,
            soft_limit_nanos: soft,
            set_by,
        })
        .await?;
    tracing::info!(budget = %budget.id, scope = scope.as_str(), scope_id = %scope_id, set_by = set_by.as_str(), "budget set");
    Ok(axum::Json(budget_json(state, &budget).await?).into_response())
}

/// `?period=monthly|lifetime` of a budget deletion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// Default `monthly`.
    pub period: Option<BudgetPeriod>,
}

async fn delete_budget(
    state: &AppState,
    scope: BudgetScope,
    scope_id: Uuid,
    set_by: BudgetSetter,
    period: Option<BudgetPeriod>,
) -> ApiResult<Response> {
    let period = period.unwrap_or(BudgetPeriod::Monthly);
    if state
        .store
        .delete_budget(scope, scope_id, period, set_by)
        .await?
    {
        Ok(axum::Json(json!({"object": "budget", "scope": scope, "scope_id": scope_id, "period": period, "set_by": set_by, "deleted": true})).into_response())
    } else {
        let message = match set_by {
            BudgetSetter::Admin => format!("No {period} budget set by the admin is here."),
            BudgetSetter::Owner => format!(
                "No {period} budget of your own is set on this key (a budget the admin set \
                 can be changed only by the admin)."
            ),
        };
        Err(ApiError::not_found(message, "budget_not_found"))
    }
}

fn parse_id(id: &str, what: &str, code: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("No {what} with id '{id}'."), code))
}

async fn own_key(state: &AppState, user_id: Uuid, id: &str) -> ApiResult<ApiKey> {
    let key_id = parse_id(id, "API key", "api_key_not_found")?;
    match state.store.api_key_by_id(key_id).await? {
        Some(k) if k.user_id == user_id => Ok(k),
        _ => Err(ApiError::not_found(
            format!("No API key with id '{id}'."),
            "api_key_not_found",
        )),
    }
}

async fn any_key(state: &AppState, id: &str) -> ApiResult<ApiKey> {
    let key_id = parse_id(id, "API key", "api_key_not_found")?;
    state.store.api_key_by_id(key_id).await?.ok_or_else(|| {
        ApiError::not_found(format!("No API key with id '{id}'."), "api_key_not_found")
    })
}

async fn any_user(state: &AppState, id: &str) -> ApiResult<crate::store::User> {
    let user_id = parse_id(id, "user", "user_not_found")?;
    state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No user with id '{id}'."), "user_not_found"))
}

fn check_limits(l: &KeyLimits) -> ApiResult<()> {
    for (value, param) in [
        (l.rpm_limit.map(u64::from), "rpm_limit"),
        (l.tpm_limit, "tpm_limit"),
        (l.max_concurrent.map(u64::from), "max_concurrent"),
    ] {
        if value == Some(0) {
            return Err(ApiError::bad_request(
                format!("'{param}' must be at least 1; use null for no limit of the key's own."),
                param,
            ));
        }
        if value.is_some_and(|v| v > i64::MAX as u64) {
            return Err(ApiError::bad_request(
                format!("'{param}' is too large."),
                param,
            ));
        }
    }
    Ok(())
}

async fn put_limits(state: &AppState, key: &ApiKey, limits: KeyLimits) -> ApiResult<Response> {
    check_limits(&limits)?;
    state.store.set_api_key_limits(key.id, limits).await?;
    Ok(axum::Json(json!({"id": key.id, "object": "api_key.limits", "rpm_limit": limits.rpm_limit, "tpm_limit": limits.tpm_limit, "max_concurrent": limits.max_concurrent})).into_response())
}

/// `GET /api/v1/budgets`: the caller's own budget and those of their keys (the admin's and
/// their own, told apart by `set_by`), with spend.
pub async fn list_budgets(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let mut out = Vec::new();
    for b in state
        .store
        .budgets_of(BudgetScope::User, caller.user.id)
        .await?
    {
        out.push(budget_json(&state, &b).await?);
    }
    for key in state.store.list_api_keys(caller.user.id).await? {
        for b in state.store.budgets_of(BudgetScope::ApiKey, key.id).await? {
            out.push(budget_json(&state, &b).await?);
        }
    }
    Ok(axum::Json(json!({"object": "list", "data": out})).into_response())
}

/// `PUT /api/v1/auth/api-keys/{id}/budget`: the owner caps what one of their keys spends,
/// with a budget of their own; the admin's budget on the key, if any, applies too.
pub async fn put_own_key_budget(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    Path(id): Path<String>,
    Json(body): Json<BudgetBody>,
) -> ApiResult<Response> {
    let key = own_key(&state, user.id, &id).await?;
    put_budget(
        &state,
        BudgetScope::ApiKey,
        key.id,
        BudgetSetter::Owner,
        &body,
    )
    .await
}

/// `DELETE /api/v1/auth/api-keys/{id}/budget?period=…`: removes the owner's own budget, never
/// the admin's.
pub async fn delete_own_key_budget(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    Path(id): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Response> {
    let key = own_key(&state, user.id, &id).await?;
    delete_budget(
        &state,
        BudgetScope::ApiKey,
        key.id,
        BudgetSetter::Owner,
        q.period,
    )
    .await
}

/// `PUT /api/v1/auth/api-keys/{id}/limits` `{rpm_limit, tpm_limit, max_concurrent}`.
pub async fn put_own_key_limits(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    Path(id): Path<String>,
    Json(limits): Json<KeyLimits>,
) -> ApiResult<Response> {
    let key = own_key(&state, user.id, &id).await?;
    put_limits(&state, &key, limits).await
}

/// `{plan}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// A configured plan id.
    pub plan: String,
}

/// `PUT /api/v1/admin/users/{id}/plan` `{plan}`: takes effect on the user's next request.
pub async fn admin_set_plan(
    State(state): State<AppState>,
    _: MasterKey,
    Path(id): Path<String>,
    Json(body): Json<PlanBody>,
) -> ApiResult<Response> {
    let user = any_user(&state, &id).await?;
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
    let mut user = user;
    user.plan = body.plan;
    Ok(axum::Json(user_json(&user)).into_response())
}

/// `PUT /api/v1/admin/users/{id}/budget`.
pub async fn admin_put_user_budget(
    State(state): State<AppState>,
    _: MasterKey,
    Path(id): Path<String>,
    Json(body): Json<BudgetBody>,
) -> ApiResult<Response> {
    let user = any_user(&state, &id).await?;
    put_budget(
        &state,
        BudgetScope::User,
        user.id,
        BudgetSetter::Admin,
        &body,
    )
    .await
}

/// `DELETE /api/v1/admin/users/{id}/budget?period=…`.
pub async fn admin_delete_user_budget(
    State(state): State<AppState>,
    _: MasterKey,
    Path(id): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Response> {
    let user = any_user(&state, &id).await?;
    delete_budget(
        &state,
        BudgetScope::User,
        user.id,
        BudgetSetter::Admin,
        q.period,
    )
    .await
}

/// `PUT /api/v1/admin/api-keys/{id}/budget`: the admin's budget on a key, which binds its
/// owner.
pub async fn admin_put_key_budget(
    State(state): State<AppState>,
    _: MasterKey,
    Path(id): Path<String>,
    Json(body): Json<BudgetBody>,
) -> ApiResult<Response> {
    let key = any_key(&state, &id).await?;
    put_budget(
        &state,
        BudgetScope::ApiKey,
        key.id,
        BudgetSetter::Admin,
        &body,
    )
    .await
}

/// `DELETE /api/v1/admin/api-keys/{id}/budget?period=…`: removes the admin's budget on a key.
pub async fn admin_delete_key_budget(
    State(state): State<AppState>,
    _: MasterKey,
    Path(id): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Response> {
    let key = any_key(&state, &id).await?;
    delete_budget(
        &state,
        BudgetScope::ApiKey,
        key.id,
        BudgetSetter::Admin,
        q.period,
    )
    .await
}

/// `PUT /api/v1/admin/api-keys/{id}/limits`.
pub async fn admin_put_key_limits(
    State(state): State<AppState>,
    _: MasterKey,
    Path(id): Path<String>,
    Json(limits): Json<KeyLimits>,
) -> ApiResult<Response> {
    let key = any_key(&state, &id).await?;
    put_limits(&state, &key, limits).await
}
