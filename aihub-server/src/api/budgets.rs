//! Budgets: `GET /api/v1/budgets` (the caller's, with spend), a key's budget for whoever may
//! manage the key (`auth/api-keys/{id}/budget`, `admin/api-keys/{id}/budget`: the principal
//! decides whose budget it is), and users' budgets, the operator's (`admin/users/{id}/budget`).

use aihub_core::pricing::Money;
use axum::extract::{Path, Query, State};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::list::List;
use super::money::nanos_to_string;
use super::scope::{key_in_scope, user_by_id};
use crate::auth::Principal;
use crate::config::parse_currency;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use crate::store::{Budget, BudgetPeriod, BudgetScope, BudgetSetter, NewBudget};
use crate::timeutil::{month_start_ms, rfc3339};

/// A budget as the API shows it, with what its scope spent in its current period.
#[derive(Debug, Serialize)]
pub struct BudgetView {
    /// The budget's id.
    pub id: Uuid,
    /// Always `budget`.
    pub object: &'static str,
    /// `api_key` or `user`.
    pub scope: BudgetScope,
    /// The key's or user's id.
    pub scope_id: Uuid,
    /// `monthly` or `lifetime`.
    pub period: BudgetPeriod,
    /// ISO 4217 code of the limits and of `spent`.
    pub currency: String,
    /// Requests that could take spend past this are refused (decimal string), or null.
    pub hard_limit: Option<String>,
    /// Reaching this sends one alert per period (decimal string), or null.
    pub soft_limit: Option<String>,
    /// `admin` or `owner`.
    pub set_by: BudgetSetter,
    /// Start of the current month (RFC 3339) for a monthly budget; null for a lifetime one.
    pub period_start: Option<String>,
    /// Spent this period, in `currency` (other currencies converted).
    pub spent: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl BudgetView {
    /// `b` with what its scope spent in its current period.
    async fn of(state: &AppState, b: &Budget) -> ApiResult<Self> {
        let start = match b.period {
            BudgetPeriod::Monthly => {
                month_start_ms(state.now_ms(), &state.limits.settings().timezone)
            }
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
        Ok(Self {
            id: b.id,
            object: "budget",
            scope: b.scope,
            scope_id: b.scope_id,
            period: b.period,
            currency: b.currency.clone(),
            hard_limit: b.hard_limit_nanos.map(nanos_to_string),
            soft_limit: b.soft_limit_nanos.map(nanos_to_string),
            set_by: b.set_by,
            period_start: (b.period == BudgetPeriod::Monthly).then(|| rfc3339(start)),
            spent: total.normalize().to_string(),
            updated_at: rfc3339(b.updated_at),
        })
    }
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

/// A decimal amount (string or number) as nano-units; 400 naming `param` otherwise.
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

/// Sets `set_by`'s budget on a scope from `body`.
pub(crate) async fn put_budget(
    state: &AppState,
    scope: BudgetScope,
    scope_id: Uuid,
    set_by: BudgetSetter,
    body: &BudgetBody,
) -> ApiResult<axum::Json<BudgetView>> {
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
    Ok(axum::Json(BudgetView::of(state, &budget).await?))
}

/// `?period=monthly|lifetime` of a budget deletion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// Default `monthly`.
    pub period: Option<BudgetPeriod>,
}

/// The answer to a budget's removal.
#[derive(Debug, Serialize)]
pub struct DeletedBudget {
    /// Always `budget`.
    pub object: &'static str,
    /// `api_key` or `user`.
    pub scope: BudgetScope,
    /// The key's or user's id.
    pub scope_id: Uuid,
    /// The period of the budget removed.
    pub period: BudgetPeriod,
    /// Whose budget it was.
    pub set_by: BudgetSetter,
    /// Always true.
    pub deleted: bool,
}

/// Removes `set_by`'s budget of `period` on a scope; 404 `budget_not_found` when there is
/// none (another setter's budget on the same scope stays, and does not count).
pub(crate) async fn delete_budget(
    state: &AppState,
    scope: BudgetScope,
    scope_id: Uuid,
    set_by: BudgetSetter,
    period: Option<BudgetPeriod>,
) -> ApiResult<axum::Json<DeletedBudget>> {
    let period = period.unwrap_or(BudgetPeriod::Monthly);
    if state
        .store
        .delete_budget(scope, scope_id, period, set_by)
        .await?
    {
        return Ok(axum::Json(DeletedBudget {
            object: "budget",
            scope,
            scope_id,
            period,
            set_by,
            deleted: true,
        }));
    }
    let message = match set_by {
        BudgetSetter::Admin => format!("No {period} budget set by the admin is here."),
        BudgetSetter::Owner => format!(
            "No {period} budget of your own is set on this key (a budget the admin set \
             can be changed only by the admin)."
        ),
    };
    Err(ApiError::not_found(message, "budget_not_found"))
}

/// `GET /api/v1/budgets`: the caller's own budget and those of their keys (the admin's and
/// their own, told apart by `set_by`), with spend. A key reads its owner's.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<axum::Json<List<BudgetView>>> {
    let user = principal.own_account()?;
    let mut out = Vec::new();
    for b in state.store.budgets_of(BudgetScope::User, user.id).await? {
        out.push(BudgetView::of(&state, &b).await?);
    }
    for key in state.store.list_api_keys(user.id).await? {
        for b in state.store.budgets_of(BudgetScope::ApiKey, key.id).await? {
            out.push(BudgetView::of(&state, &b).await?);
        }
    }
    Ok(axum::Json(List::of(out)))
}

/// `PUT /api/v1/auth/api-keys/{id}/budget` and `PUT /api/v1/admin/api-keys/{id}/budget`: a
/// member caps one of their keys with a budget of their own; the operator sets the admin's,
/// which binds the owner. Each budget applies; neither changes the other.
pub async fn put_key_budget(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<BudgetBody>,
) -> ApiResult<axum::Json<BudgetView>> {
    let key = key_in_scope(&state, &principal, &id).await?;
    let set_by = principal.budget_setter()?;
    put_budget(&state, BudgetScope::ApiKey, key.id, set_by, &body).await
}

/// `DELETE /api/v1/auth/api-keys/{id}/budget?period=…` and its `admin/…` twin: removes the
/// caller's budget on the key (a member's own, the operator's the admin's), never the other.
pub async fn delete_key_budget(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<axum::Json<DeletedBudget>> {
    let key = key_in_scope(&state, &principal, &id).await?;
    let set_by = principal.budget_setter()?;
    delete_budget(&state, BudgetScope::ApiKey, key.id, set_by, q.period).await
}

/// `PUT /api/v1/admin/users/{id}/budget`: the operator's budget on a user, across all their
/// keys.
pub async fn put_user_budget(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(body): Json<BudgetBody>,
) -> ApiResult<axum::Json<BudgetView>> {
    principal.require_operator()?;
    let user = user_by_id(&state, &id).await?;
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
pub async fn delete_user_budget(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<axum::Json<DeletedBudget>> {
    principal.require_operator()?;
    let user = user_by_id(&state, &id).await?;
    delete_budget(
        &state,
        BudgetScope::User,
        user.id,
        BudgetSetter::Admin,
        q.period,
    )
    .await
}
