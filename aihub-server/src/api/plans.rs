//! `GET /api/v1/plans`, and plans as every answer shows them.

use aihub_core::pricing::Currency;
use axum::extract::State;
use serde::Serialize;

use super::list::List;
use super::money::Amount;
use crate::config::Plan;
use crate::state::AppState;

/// A plan as the API shows it.
#[derive(Debug, Serialize)]
pub struct PlanView {
    /// The plan's id (`free`, `pro`, …).
    pub id: String,
    /// Always `plan`.
    pub object: &'static str,
    /// Display name.
    pub name: String,
    /// Monthly price, in the billing currency.
    pub price_monthly: Amount,
    /// Tokens per calendar month, or null for unlimited.
    pub monthly_tokens: Option<u64>,
    /// Requests per minute, or null.
    pub rpm: Option<u32>,
    /// Tokens per minute, or null.
    pub tpm: Option<u64>,
    /// Requests in flight at once per key, or null.
    pub max_concurrent: Option<u32>,
}

impl PlanView {
    /// `plan`, priced in `currency`.
    pub fn of(plan: &Plan, currency: Currency) -> Self {
        Self {
            id: plan.id.clone(),
            object: "plan",
            name: plan.name.clone(),
            price_monthly: Amount::from_decimal(currency.code(), plan.price_monthly),
            monthly_tokens: plan.monthly_tokens,
            rpm: plan.rpm,
            tpm: plan.tpm,
            max_concurrent: plan.max_concurrent,
        }
    }
}

/// `GET /api/v1/plans`: every plan, for anyone.
pub async fn list(State(state): State<AppState>) -> axum::Json<List<PlanView>> {
    let currency = state.limits.billing().currency;
    let plans = state.limits.plans().map(|p| PlanView::of(p, currency));
    axum::Json(List::of(plans.collect()))
}
