//! Budget soft-limit alerts: a log line and a webhook POST, once per budget and period across
//! every gateway instance.

use aihub_core::pricing::{Currency, Money};

use super::backend::SpendState;
use super::{Counted, Limiter, Ticket};
use crate::store::{Budget, BudgetPeriod};
use crate::timeutil::rfc3339;

impl Limiter {
    /// Sends each budget's soft-limit alert once per period, across instances.
    pub(super) async fn check_soft_limits(
        &self,
        ticket: &Ticket,
        states: &[SpendState],
        now_ms: i64,
    ) {
        for (spend, state) in ticket.spends.iter().zip(states) {
            let Counted::Budget {
                budget,
                currency,
                period_start,
            } = &spend.counted
            else {
                continue;
            };
            let Some(soft) = budget.soft_limit_nanos else {
                continue;
            };
            if state.used < soft {
                continue;
            }
            let memo = (budget.id, *period_start);
            if let Ok(mut seen) = self.0.alerted.lock()
                && !seen.insert(memo)
            {
                continue;
            }
            match self
                .0
                .store
                .record_budget_alert(budget.id, *period_start, state.used, now_ms)
                .await
            {
                Ok(true) => self.send_alert(budget, *currency, *period_start, state.used, soft),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(budget = %budget.id, error = %e, "could not record a budget alert; it will be tried again");
                    if let Ok(mut seen) = self.0.alerted.lock() {
                        seen.remove(&memo);
                    }
                }
            }
        }
    }

    fn send_alert(
        &self,
        budget: &Budget,
        currency: Currency,
        period_start: i64,
        spent: i64,
        soft: i64,
    ) {
        let money = |n: i64| Money::from_nano_units(n, currency).amount.to_string();
        let body = serde_json::json!({
            "type": "budget.soft_limit_reached",
            "budget": {
                "id": budget.id,
                "scope": budget.scope,
                "scope_id": budget.scope_id,
                "period": budget.period,
                "currency": currency.code(),
                "soft_limit": money(soft),
                "hard_limit": budget.hard_limit_nanos.map(money),
            },
            "period_start": (budget.period == BudgetPeriod::Monthly).then(|| rfc3339(period_start)),
            "spent": money(spent),
        });
        tracing::warn!(budget = %budget.id, scope = budget.scope.as_str(), scope_id = %budget.scope_id, spent = %money(spent), soft_limit = %money(soft), currency = currency.code(), "budget soft limit reached");
        let Some(url) = self.0.alerts.webhook_url.clone() else {
            return;
        };
        let http = self.0.http.clone();
        self.0.tasks.spawn(async move {
            match http.post(&url).json(&body).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::error!(
                    status = r.status().as_u16(),
                    "budget alert webhook refused the alert"
                ),
                Err(e) => {
                    tracing::error!(error = %e.without_url(), "budget alert webhook unreachable")
                }
            }
        });
    }
}
