//! Reading usage back: totals, history pages and cost reports.
//!
//! Every sum is computed by the database as `BIGINT` (`CAST(SUM(…) AS BIGINT)`: PostgreSQL's
//! `SUM(bigint)` is `NUMERIC`, which the `Any` driver cannot decode) and combined in Rust with
//! checked arithmetic, so an overflow is an error, never a wrapped number.

use std::fmt::Write as _;

use sqlx::any::AnyRow;
use uuid::Uuid;

use super::error::invalid_data;
use super::rows::{int, opt_int, opt_text, text};
use super::usage::{USAGE_COLUMNS, UsageRecord, record_from_row};
use super::{Store, StoreError};

const MS_PER_DAY: i64 = 86_400_000;

/// A user's usage over a time range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageTotals {
    /// Number of requests.
    pub requests: i64,
    /// Input tokens.
    pub prompt_tokens: i64,
    /// Output tokens.
    pub completion_tokens: i64,
    /// Input tokens served from prompt caches (part of `prompt_tokens`).
    pub cached_tokens: i64,
    /// Reasoning tokens (part of `completion_tokens`).
    pub reasoning_tokens: i64,
    /// `prompt_tokens + completion_tokens`.
    pub total_tokens: i64,
    /// Cost per currency, `(ISO 4217 code, nano-units)`, sorted by code; unpriced requests
    /// count in the token totals only.
    pub costs: Vec<(String, i64)>,
}

/// Which usage records to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageFilter {
    /// Whose records.
    pub user_id: Uuid,
    /// Only records created at or after this time (unix ms).
    pub from: Option<i64>,
    /// Only records created before this time (unix ms).
    pub to: Option<i64>,
    /// Only records for this requested model.
    pub model: Option<String>,
    /// Only records authenticated by this key.
    pub api_key_id: Option<Uuid>,
    /// At most this many records.
    pub limit: u32,
    /// Continue after this `(created_at, id)`: the [`UsageRecord::cursor`] of the previous
    /// page's last record.
    pub cursor: Option<(i64, Uuid)>,
}

/// Spending over a time range, by model and by day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostReport {
    /// One row per model and currency, sorted by model then currency.
    pub by_model: Vec<ModelCost>,
    /// One row per UTC day and currency, oldest day first.
    pub by_day: Vec<DayCost>,
}

/// One model's usage in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCost {
    /// The requested model.
    pub model: String,
    /// The currency; `None` for the model's unpriced requests.
    pub currency: Option<String>,
    /// Number of requests.
    pub requests: i64,
    /// Input tokens.
    pub prompt_tokens: i64,
    /// Output tokens.
    pub completion_tokens: i64,
    /// Cost in nano-units of `currency`; `None` exactly when `currency` is.
    pub cost_nanos: Option<i64>,
}

/// One UTC day's usage in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCost {
    /// The day, `YYYY-MM-DD`, in UTC.
    pub day: String,
    /// The currency; `None` for the day's unpriced requests.
    pub currency: Option<String>,
    /// Number of requests.
    pub requests: i64,
    /// Input plus output tokens.
    pub total_tokens: i64,
    /// Cost in nano-units of `currency`; `None` exactly when `currency` is.
    pub cost_nanos: Option<i64>,
}

fn add(a: i64, b: i64) -> Result<i64, StoreError> {
    a.checked_add(b)
        .ok_or_else(|| invalid_data("usage sum overflows a 64-bit integer".into()))
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01, UTC).
fn day_name(day: i64) -> Result<String, StoreError> {
    let start = day
        .checked_mul(MS_PER_DAY)
        .ok_or_else(|| invalid_data(format!("day {day} is out of range")))?;
    let timestamp = jiff::Timestamp::from_millisecond(start)
        .map_err(|e| invalid_data(format!("day {day}: {e}")))?;
    Ok(timestamp
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string())
}

/// Sorts `None` after every currency.
fn currency_key(currency: &Option<String>) -> (bool, &str) {
    (currency.is_none(), currency.as_deref().unwrap_or_default())
}

impl Store {
    /// A user's totals for records created in `[from, to)` (unix ms).
    pub async fn usage_totals(
        &self,
        user_id: Uuid,
        from: i64,
        to: i64,
    ) -> Result<UsageTotals, StoreError> {
        let rows = sqlx::query(
            "SELECT currency, \
             CAST(COUNT(*) AS BIGINT) AS requests, \
             CAST(SUM(prompt_tokens) AS BIGINT) AS prompt_tokens, \
             CAST(SUM(completion_tokens) AS BIGINT) AS completion_tokens, \
             CAST(SUM(cached_tokens) AS BIGINT) AS cached_tokens, \
             CAST(SUM(reasoning_tokens) AS BIGINT) AS reasoning_tokens, \
             CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos \
             FROM usage_records \
             WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY currency",
        )
        .bind(user_id.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let mut totals = UsageTotals::default();
        for row in &rows {
            totals.requests = add(totals.requests, int(row, "requests")?)?;
            totals.prompt_tokens = add(totals.prompt_tokens, int(row, "prompt_tokens")?)?;
            totals.completion_tokens =
                add(totals.completion_tokens, int(row, "completion_tokens")?)?;
            totals.cached_tokens = add(totals.cached_tokens, int(row, "cached_tokens")?)?;
            totals.reasoning_tokens = add(totals.reasoning_tokens, int(row, "reasoning_tokens")?)?;
            if let (Some(currency), Some(cost)) =
                (opt_text(row, "currency")?, opt_int(row, "cost_nanos")?)
            {
                totals.costs.push((currency, cost));
            }
        }
        totals.total_tokens = add(totals.prompt_tokens, totals.completion_tokens)?;
        totals.costs.sort();
        Ok(totals)
    }

    /// One page of a user's records, newest first (by `created_at`, then `id`, both descending).
    pub async fn usage_history(
        &self,
        filter: &UsageFilter,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        let mut sql = format!("SELECT {USAGE_COLUMNS} FROM usage_records WHERE user_id = $1");
        let mut next = 2;
        let mut condition = |sql: &mut String, template: &str| {
            // Each `?` in the template is the next placeholder; writing to a String cannot fail.
            for (index, part) in template.split('?').enumerate() {
                if index > 0 {
                    let _ = write!(sql, "${next}");
                    next += 1;
                }
                sql.push_str(part);
            }
        };
        if filter.from.is_some() {
            condition(&mut sql, " AND created_at >= ?");
        }
        if filter.to.is_some() {
            condition(&mut sql, " AND created_at < ?");
        }
        if filter.model.is_some() {
            condition(&mut sql, " AND model = ?");
        }
        if filter.api_key_id.is_some() {
            condition(&mut sql, " AND api_key_id = ?");
        }
        if filter.cursor.is_some() {
            condition(&mut sql, " AND (created_at, id) < (?, ?)");
        }
        condition(&mut sql, " ORDER BY created_at DESC, id DESC LIMIT ?");

        let mut query = sqlx::query(&sql).bind(filter.user_id.to_string());
        if let Some(from) = filter.from {
            query = query.bind(from);
        }
        if let Some(to) = filter.to {
            query = query.bind(to);
        }
        if let Some(model) = &filter.model {
            query = query.bind(model.as_str());
        }
        if let Some(key) = filter.api_key_id {
            query = query.bind(key.to_string());
        }
        if let Some((created_at, id)) = filter.cursor {
            query = query.bind(created_at).bind(id.to_string());
        }
        let rows = query
            .bind(i64::from(filter.limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// A user's spending for records created in `[from, to)` (unix ms), by model and by UTC day.
    pub async fn usage_cost(
        &self,
        user_id: Uuid,
        from: i64,
        to: i64,
    ) -> Result<CostReport, StoreError> {
        let user = user_id.to_string();
        let model_rows = sqlx::query(
            "SELECT model, currency, \
             CAST(COUNT(*) AS BIGINT) AS requests, \
             CAST(SUM(prompt_tokens) AS BIGINT) AS prompt_tokens, \
             CAST(SUM(completion_tokens) AS BIGINT) AS completion_tokens, \
             CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos \
             FROM usage_records \
             WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY model, currency",
        )
        .bind(user.as_str())
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        // Integer division groups by UTC day on both backends; created_at is never negative
        // in practice, and for negative times both round toward zero alike.
        let day_rows = sqlx::query(
            "SELECT CAST(created_at / 86400000 AS BIGINT) AS day, currency, \
             CAST(COUNT(*) AS BIGINT) AS requests, \
             CAST(SUM(prompt_tokens) AS BIGINT) AS prompt_tokens, \
             CAST(SUM(completion_tokens) AS BIGINT) AS completion_tokens, \
             CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos \
             FROM usage_records \
             WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY created_at / 86400000, currency",
        )
        .bind(user.as_str())
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;

        let mut by_model = model_rows
            .iter()
            .map(model_cost)
            .collect::<Result<Vec<_>, _>>()?;
        by_model.sort_by(|a, b| {
            (&a.model, currency_key(&a.currency)).cmp(&(&b.model, currency_key(&b.currency)))
        });
        let mut days = day_rows
            .iter()
            .map(|row| Ok((int(row, "day")?, day_cost(row)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        days.sort_by(|(a, a_cost), (b, b_cost)| {
            (a, currency_key(&a_cost.currency)).cmp(&(b, currency_key(&b_cost.currency)))
        });
        let by_day = days
            .into_iter()
            .map(|(day, mut cost)| {
                cost.day = day_name(day)?;
                Ok(cost)
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(CostReport { by_model, by_day })
    }
}

fn model_cost(row: &AnyRow) -> Result<ModelCost, StoreError> {
    Ok(ModelCost {
        model: text(row, "model")?,
        currency: opt_text(row, "currency")?,
        requests: int(row, "requests")?,
        prompt_tokens: int(row, "prompt_tokens")?,
        completion_tokens: int(row, "completion_tokens")?,
        cost_nanos: opt_int(row, "cost_nanos")?,
    })
}

/// A day row without its day name, which the caller fills in.
fn day_cost(row: &AnyRow) -> Result<DayCost, StoreError> {
    Ok(DayCost {
        day: String::new(),
        currency: opt_text(row, "currency")?,
        requests: int(row, "requests")?,
        // Added here, checked: SQLite turns an overflowing `+` into a float.
        total_tokens: add(int(row, "prompt_tokens")?, int(row, "completion_tokens")?)?,
        cost_nanos: opt_int(row, "cost_nanos")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_names_are_utc_dates() {
        assert_eq!(day_name(0).unwrap(), "1970-01-01");
        // 2024-02-29T00:00:00Z is 1_709_164_800_000 ms.
        assert_eq!(
            day_name(1_709_164_800_000 / MS_PER_DAY).unwrap(),
            "2024-02-29"
        );
        assert!(day_name(i64::MAX).is_err());
    }

    #[test]
    fn unpriced_rows_sort_after_every_currency() {
        let mut keys = [None, Some("USD".to_owned()), Some("CNY".to_owned())];
        keys.sort_by(|a, b| currency_key(a).cmp(&currency_key(b)));
        assert_eq!(keys, [Some("CNY".to_owned()), Some("USD".to_owned()), None]);
    }
}
