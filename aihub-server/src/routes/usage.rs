//! `/api/v1/usage/…`: this month's totals, paged history, cost by model and by day.
//! Callable with a session token or an API key.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{UsageFilter, UsageRecord};
use crate::timeutil::{month_start_ms, next_month_start_ms, parse_instant_ms, rfc3339};

/// Nano-units as an exact decimal string (`"0.000510300"` → `"0.0005103"`).
pub fn nanos_to_string(nanos: i64) -> String {
    Decimal::new(nanos, 9).normalize().to_string()
}

fn costs_json(costs: &[(String, i64)]) -> Value {
    Value::Array(
        costs
            .iter()
            .map(|(currency, nanos)| json!({"currency": currency, "amount": nanos_to_string(*nanos)}))
            .collect(),
    )
}

/// `GET /api/v1/usage/current`: this calendar month so far (in the limits time zone), with
/// the plan, its monthly token quota (used, remaining, reset time) and rate limits.
pub async fn current(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let now = state.now_ms();
    let tz = &state.limits.settings().timezone;
    let from = month_start_ms(now, tz);
    let resets = next_month_start_ms(now, tz);
    let t = state
        .store
        .usage_totals(caller.user.id, from, now + 1)
        .await?;
    let plan = state.limits.plan(&caller.user.plan);
    let quota = plan.monthly_tokens.map(|limit| {
        let used = u64::try_from(t.total_tokens).unwrap_or(0);
        json!({
            "limit": limit,
            "used": used,
            "remaining": limit.saturating_sub(used),
            "resets_at": rfc3339(resets),
        })
    });
    Ok(axum::Json(json!({
        "object": "usage.current",
        "period": {"start": rfc3339(from), "end": rfc3339(resets), "timezone": state.limits.settings().timezone_name},
        "plan": super::limits::plan_json(plan, state.limits.billing().currency),
        "quota": quota,
        "requests": t.requests,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "cached_tokens": t.cached_tokens,
        "reasoning_tokens": t.reasoning_tokens,
        "total_tokens": t.total_tokens,
        "cost": costs_json(&t.costs),
    }))
    .into_response())
}

/// Query of `usage/history` and `usage/cost`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Start (inclusive): RFC 3339, `YYYY-MM-DD` or unix seconds.
    pub from: Option<String>,
    /// End (exclusive), same forms.
    pub to: Option<String>,
    /// Only this model (`provider/model`).
    pub model: Option<String>,
    /// Only this API key id.
    pub key_id: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn instant(text: &Option<String>, param: &str) -> ApiResult<Option<i64>> {
    text.as_deref()
        .map(|t| {
            parse_instant_ms(t).ok_or_else(|| {
                ApiError::bad_request(
                    format!(
                        "'{param}' must be an RFC 3339 time, a YYYY-MM-DD date or unix seconds."
                    ),
                    param,
                )
            })
        })
        .transpose()
}

fn record_json(r: &UsageRecord) -> Value {
    json!({
        "id": r.id,
        "request_id": r.request_id,
        "created_at": rfc3339(r.created_at),
        "api_key_id": r.api_key_id,
        "model": r.model,
        "provider": r.provider,
        "upstream_model": r.upstream_model,
        "upstream_request_id": r.upstream_request_id,
        "attempts": r.attempts,
        "usage_estimated": r.usage_estimated,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "cached_tokens": r.cached_tokens,
        "reasoning_tokens": r.reasoning_tokens,
        "total_tokens": r.prompt_tokens + r.completion_tokens,
        "cost": r.cost_nanos.map(nanos_to_string),
        "currency": r.currency,
        "latency_ms": r.latency_ms,
        "ttft_ms": r.ttft_ms,
        "status": r.status,
        "error_type": r.error_type,
        "stream": r.stream,
    })
}

/// `GET /api/v1/usage/history`: newest first, paged with `next_cursor`.
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<UsageQuery>,
) -> ApiResult<Response> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "'limit' must be between 1 and 1000.",
            "limit",
        ));
    }
    let cursor = match &q.cursor {
        None => None,
        Some(c) => {
            let bad =
                || ApiError::bad_request("'cursor' is not a cursor this API returned.", "cursor");
            let (t, id) = c.split_once('_').ok_or_else(bad)?;
            Some((
                t.parse::<i64>().map_err(|_| bad())?,
                uuid::Uuid::parse_str(id).map_err(|_| bad())?,
            ))
        }
    };
    let filter = UsageFilter {
        user_id: caller.user.id,
        from: instant(&q.from, "from")?,
        to: instant(&q.to, "to")?,
        model: q.model.clone(),
        api_key_id: q
            .key_id
            .as_deref()
            .map(|k| {
                uuid::Uuid::parse_str(k)
                    .map_err(|_| ApiError::bad_request("'key_id' is not an API key id.", "key_id"))
            })
            .transpose()?,
        limit: limit + 1,
        cursor,
    };
    let mut rows = state.store.usage_history(&filter).await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if has_more {
        rows.last().map(|r| format!("{}_{}", r.created_at, r.id))
    } else {
        None
    };
    Ok(axum::Json(json!({
        "object": "list",
        "data": rows.iter().map(record_json).collect::<Vec<_>>(),
        "has_more": has_more,
        "next_cursor": next,
    }))
    .into_response())
}

/// `GET /api/v1/usage/cost`: totals by model and by day (UTC) over `from`..`to`
/// (default: this month).
pub async fn cost(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<UsageQuery>,
) -> ApiResult<Response> {
    let now = state.now_ms();
    let from = instant(&q.from, "from")?.unwrap_or_else(|| month_start_ms(now, &TimeZone::UTC));
    let to = instant(&q.to, "to")?.unwrap_or(now + 1);
    if to <= from {
        return Err(ApiError::bad_request("'to' must be after 'from'.", "to"));
    }
    let report = state.store.usage_cost(caller.user.id, from, to).await?;
    let by_model: Vec<Value> = report
        .by_model
        .iter()
        .map(|m| {
            json!({
                "model": m.model,
                "currency": m.currency,
                "requests": m.requests,
                "prompt_tokens": m.prompt_tokens,
                "completion_tokens": m.completion_tokens,
                "cost": m.cost_nanos.map(nanos_to_string),
            })
        })
        .collect();
    let by_day: Vec<Value> = report
        .by_day
        .iter()
        .map(|d| {
            json!({
                "day": d.day,
                "currency": d.currency,
                "requests": d.requests,
                "total_tokens": d.total_tokens,
                "cost": d.cost_nanos.map(nanos_to_string),
            })
        })
        .collect();
    let mut totals: Vec<(String, i64)> = Vec::new();
    for m in &report.by_model {
        let (Some(currency), Some(nanos)) = (&m.currency, m.cost_nanos) else {
            continue;
        };
        match totals.iter_mut().find(|(c, _)| c == currency) {
            Some((_, n)) => *n = n.saturating_add(nanos),
            None => totals.push((currency.clone(), nanos)),
        }
    }
    Ok(axum::Json(json!({
        "object": "usage.cost",
        "period": {"start": rfc3339(from), "end": rfc3339(to)},
        "total": costs_json(&totals),
        "by_model": by_model,
        "by_day": by_day,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::nanos_to_string;

    #[test]
    fn nano_units_print_exactly() {
        assert_eq!(nanos_to_string(510_300), "0.0005103");
        assert_eq!(nanos_to_string(1_500_000_000), "1.5");
        assert_eq!(nanos_to_string(0), "0");
        assert_eq!(nanos_to_string(1), "0.000000001");
    }
}
