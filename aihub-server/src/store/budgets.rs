//! Budgets (money limits per key, user, team or organization), the soft-limit alerts already
//! sent, and what a scope has spent since a given time.

use std::fmt;
use std::str::FromStr;

use sqlx::any::AnyRow;
use uuid::Uuid;

use super::error::invalid_data;
use super::rows::{int, opt_int, opt_text, text, uuid};
use super::{Store, StoreError, now_ms};

/// What a budget limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    /// One API key.
    ApiKey,
    /// One user, across all their keys.
    User,
    /// One team (enforced when teams arrive).
    Team,
    /// One organization (enforced when organizations arrive).
    Organization,
}

impl BudgetScope {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::User => "user",
            Self::Team => "team",
            Self::Organization => "organization",
        }
    }
}

impl FromStr for BudgetScope {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "api_key" => Ok(Self::ApiKey),
            "user" => Ok(Self::User),
            "team" => Ok(Self::Team),
            "organization" => Ok(Self::Organization),
            other => Err(invalid_data(format!("budget scope {other:?}"))),
        }
    }
}

/// Over what time a budget's spend is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    /// Each calendar month, in the gateway's limits time zone.
    Monthly,
    /// Ever.
    Lifetime,
}

impl BudgetPeriod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Lifetime => "lifetime",
        }
    }
}

impl fmt::Display for BudgetPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BudgetPeriod {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "monthly" => Ok(Self::Monthly),
            "lifetime" => Ok(Self::Lifetime),
            other => Err(invalid_data(format!("budget period {other:?}"))),
        }
    }
}

/// Who set a budget on a key: the admin, whose budget binds the key's owner, or the owner.
/// Budgets on users (and later teams and organizations) are the admin's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetSetter {
    /// The gateway's admin (master key): the owner sees it but cannot change or remove it.
    Admin,
    /// The key's owner, on their own key.
    Owner,
}

impl BudgetSetter {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }
}

impl FromStr for BudgetSetter {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "admin" => Ok(Self::Admin),
            "owner" => Ok(Self::Owner),
            other => Err(invalid_data(format!("budget setter {other:?}"))),
        }
    }
}

/// A budget to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBudget {
    /// What it limits.
    pub scope: BudgetScope,
    /// The key, user, team or organization id.
    pub scope_id: Uuid,
    /// Monthly or lifetime.
    pub period: BudgetPeriod,
    /// ISO 4217 code of the limits.
    pub currency: String,
    /// Requests that could take the spend past this are refused (nano-units).
    pub hard_limit_nanos: Option<i64>,
    /// Reaching this sends one alert per period (nano-units).
    pub soft_limit_nanos: Option<i64>,
    /// Who sets it: each setter has its own budget per scope and period.
    pub set_by: BudgetSetter,
}

/// A stored budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// The budget's id.
    pub id: Uuid,
    /// What it limits.
    pub scope: BudgetScope,
    /// The key, user, team or organization id.
    pub scope_id: Uuid,
    /// Monthly or lifetime.
    pub period: BudgetPeriod,
    /// ISO 4217 code of the limits.
    pub currency: String,
    /// Hard limit (nano-units).
    pub hard_limit_nanos: Option<i64>,
    /// Soft limit (nano-units).
    pub soft_limit_nanos: Option<i64>,
    /// Who set it.
    pub set_by: BudgetSetter,
    /// Created, unix ms.
    pub created_at: i64,
    /// Last changed, unix ms.
    pub updated_at: i64,
}

/// What a scope spent over a time range: tokens, and money per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spent {
    /// Prompt plus completion tokens.
    pub tokens: i64,
    /// `(currency, nano-units)`, sorted by currency; unpriced requests are not in it.
    pub costs: Vec<(String, i64)>,
}

const BUDGET_COLUMNS: &str = "id, scope, scope_id, period, currency, hard_limit_nanos, \
                              soft_limit_nanos, created_at, updated_at, set_by";

fn budget_from_row(row: &AnyRow) -> Result<Budget, StoreError> {
    Ok(Budget {
        id: uuid(row, "id")?,
        scope: text(row, "scope")?.parse()?,
        scope_id: uuid(row, "scope_id")?,
        period: text(row, "period")?.parse()?,
        currency: text(row, "currency")?,
        hard_limit_nanos: opt_int(row, "hard_limit_nanos")?,
        soft_limit_nanos: opt_int(row, "soft_limit_nanos")?,
        set_by: text(row, "set_by")?.parse()?,
        created_at: int(row, "created_at")?,
        updated_at: int(row, "updated_at")?,
    })
}

impl Store {
    /// Creates the scope's budget for `period` by its setter, or replaces that budget's
    /// limits and currency; the other setter's budget is left alone.
    pub async fn put_budget(&self, budget: &NewBudget) -> Result<Budget, StoreError> {
        let now = now_ms();
        let row = sqlx::query(&format!(
            "INSERT INTO budgets ({BUDGET_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) \
             ON CONFLICT (scope, scope_id, period, set_by) DO UPDATE SET currency = excluded.currency, \
             hard_limit_nanos = excluded.hard_limit_nanos, \
             soft_limit_nanos = excluded.soft_limit_nanos, updated_at = excluded.updated_at \
             RETURNING {BUDGET_COLUMNS}"
        ))
        .bind(Uuid::new_v4().to_string())
        .bind(budget.scope.as_str())
        .bind(budget.scope_id.to_string())
        .bind(budget.period.as_str())
        .bind(&budget.currency)
        .bind(budget.hard_limit_nanos)
        .bind(budget.soft_limit_nanos)
        .bind(now)
        .bind(budget.set_by.as_str())
        .fetch_one(&self.write)
        .await?;
        self.changed().await;
        budget_from_row(&row)
    }

    /// Removes the scope's budget for `period` set by `set_by` (never the other setter's).
    /// Returns false if there was none.
    pub async fn delete_budget(
        &self,
        scope: BudgetScope,
        scope_id: Uuid,
        period: BudgetPeriod,
        set_by: BudgetSetter,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM budgets WHERE scope = $1 AND scope_id = $2 AND period = $3 \
             AND set_by = $4",
        )
        .bind(scope.as_str())
        .bind(scope_id.to_string())
        .bind(period.as_str())
        .bind(set_by.as_str())
        .execute(&self.write)
        .await?;
        self.changed().await;
        Ok(done.rows_affected() == 1)
    }

    /// The budgets of one scope, by either setter.
    pub async fn budgets_of(
        &self,
        scope: BudgetScope,
        scope_id: Uuid,
    ) -> Result<Vec<Budget>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {BUDGET_COLUMNS} FROM budgets WHERE scope = $1 AND scope_id = $2 \
             ORDER BY period, set_by"
        ))
        .bind(scope.as_str())
        .bind(scope_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(budget_from_row).collect()
    }

    /// The budgets that apply to a request through `key_id` owned by `user_id` (by both
    /// setters: each is enforced), in one query
    /// (or none, while [`StoreOptions::key_cache_ttl`](super::StoreOptions) keeps them).
    pub async fn budgets_for_request(
        &self,
        key_id: Uuid,
        user_id: Option<Uuid>,
        team_id: Option<Uuid>,
        organization_id: Uuid,
    ) -> Result<Vec<Budget>, StoreError> {
        // A team's own key has no user: the nil id matches no user budget.
        let user_id = user_id.unwrap_or_default();
        if let Some(kept) = self.hot.budgets(key_id, user_id) {
            return Ok(kept);
        }
        let generation = self.hot.generation();
        let rows = sqlx::query(&format!(
            "SELECT {BUDGET_COLUMNS} FROM budgets \
             WHERE (scope = 'api_key' AND scope_id = $1) OR (scope = 'user' AND scope_id = $2) \
                OR (scope = 'team' AND scope_id = $3) OR (scope = 'organization' AND scope_id = $4) \
             ORDER BY scope, period, set_by"
        ))
        .bind(key_id.to_string())
        .bind(user_id.to_string())
        .bind(team_id.unwrap_or_default().to_string())
        .bind(organization_id.to_string())
        .fetch_all(&self.read)
        .await?;
        let budgets = rows
            .iter()
            .map(budget_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.hot
            .put_budgets(generation, key_id, user_id, budgets.clone());
        Ok(budgets)
    }

    /// Notes that the soft-limit alert of `budget_id` for the period starting at
    /// `period_start` was sent. Returns true for the first caller only, across instances.
    pub async fn record_budget_alert(
        &self,
        budget_id: Uuid,
        period_start: i64,
        spent_nanos: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO budget_alerts (budget_id, period_start, spent_nanos, fired_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (budget_id, period_start) DO NOTHING",
        )
        .bind(budget_id.to_string())
        .bind(period_start)
        .bind(spent_nanos)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// What a key or a user spent in records created at or after `from` (unix ms); the tokens
    /// of answers served from the response cache are not counted (a hit uses no token quota).
    pub async fn spent_since(
        &self,
        scope: BudgetScope,
        scope_id: Uuid,
        from: i64,
    ) -> Result<Spent, StoreError> {
        let column = match scope {
            BudgetScope::ApiKey => "api_key_id",
            BudgetScope::User => "user_id",
            BudgetScope::Team => "team_id",
            BudgetScope::Organization => "organization_id",
        };
        let rows = sqlx::query(&format!(
            "SELECT currency, \
             CAST(SUM(CASE WHEN cache_hit = 1 THEN 0 ELSE prompt_tokens + completion_tokens END) \
             AS BIGINT) AS tokens, \
             CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos \
             FROM usage_records WHERE {column} = $1 AND created_at >= $2 GROUP BY currency"
        ))
        .bind(scope_id.to_string())
        .bind(from)
        .fetch_all(&self.read)
        .await?;
        let mut spent = Spent::default();
        for row in &rows {
            spent.tokens = spent
                .tokens
                .checked_add(int(row, "tokens")?)
                .ok_or_else(|| invalid_data("token sum overflows".into()))?;
            if let (Some(currency), Some(cost)) =
                (opt_text(row, "currency")?, opt_int(row, "cost_nanos")?)
            {
                spent.costs.push((currency, cost));
            }
        }
        spent.costs.sort();
        Ok(spent)
    }
}
