//! `/api/v1/usage/…`: this month's totals, paged history, cost by model and by day — of the
//! caller's account (a key reads its owner's, across all their keys).

use axum::extract::{Query, State};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::money::{Amount, amounts, nanos_to_string};
use super::plans::PlanView;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{DayCost, ModelCost, UsageFilter, UsageRecord};
use crate::timeutil::{month_start_ms, next_month_start_ms, parse_instant_ms, rfc3339};

/// The time span an answer covers.
#[derive(Debug, Serialize)]
pub struct Period {
    /// Start, inclusive (RFC 3339).
    pub start: String,
    /// End, exclusive (RFC 3339).
    pub end: String,
    /// The IANA time zone the month is counted in, where it matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// The plan's monthly token quota, as used so far.
#[derive(Debug, Serialize)]
pub struct Quota {
    /// Tokens per calendar month.
    pub limit: u64,
    /// Used this month.
    pub used: u64,
    /// Left this month.
    pub remaining: u64,
    /// When the month ends (RFC 3339).
    pub resets_at: String,
}

/// This calendar month's usage so far.
#[derive(Debug, Serialize)]
pub struct CurrentUsage {
    /// Always `usage.current`.
    pub object: &'static str,
    /// This month, in the limits time zone.
    pub period: Period,
    /// The account's plan.
    pub plan: PlanView,
    /// The plan's monthly token quota, or null when it has none.
    pub quota: Option<Quota>,
    /// Requests recorded.
    pub requests: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Prompt tokens served from the provider's cache.
    pub cached_tokens: i64,
    /// Reasoning tokens (part of the completion tokens).
    pub reasoning_tokens: i64,
    /// Prompt plus completion tokens.
    pub total_tokens: i64,
    /// Cost, one amount per currency.
    pub cost: Vec<Amount>,
}

/// `GET /api/v1/usage/current`: this calendar month so far (in the limits time zone), with
/// the plan, its monthly token quota (used, remaining, reset time) and rate limits.
pub async fn current(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<axum::Json<CurrentUsage>> {
    let user = principal.own_account()?;
    let now = state.now_ms();
    let settings = state.limits.settings();
    let from = month_start_ms(now, &settings.timezone);
    let resets = next_month_start_ms(now, &settings.timezone);
    let t = state.store.usage_totals(user.id, from, now + 1).await?;
    let plan = state.limits.plan(&user.plan);
    let quota = plan.monthly_tokens.map(|limit| {
        let used = u64::try_from(t.total_tokens).unwrap_or(0);
        Quota {
            limit,
            used,
            remaining: limit.saturating_sub(used),
            resets_at: rfc3339(resets),
        }
    });
    Ok(axum::Json(CurrentUsage {
        object: "usage.current",
        period: Period {
            start: rfc3339(from),
            end: rfc3339(resets),
            timezone: Some(settings.timezone_name.clone()),
        },
        plan: PlanView::of(plan, state.limits.billing().currency),
        quota,
        requests: t.requests,
        prompt_tokens: t.prompt_tokens,
        completion_tokens: t.completion_tokens,
        cached_tokens: t.cached_tokens,
        reasoning_tokens: t.reasoning_tokens,
        total_tokens: t.total_tokens,
        cost: amounts(&t.costs),
    }))
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

/// One request's usage record as the API shows it.
#[derive(Debug, Serialize)]
pub struct RecordView {
    /// The record's id.
    pub id: Uuid,
    /// The request's id (`x-request-id`).
    pub request_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// The key used.
    pub api_key_id: Option<Uuid>,
    /// The model asked for (`provider/model`).
    pub model: String,
    /// The provider that served it.
    pub provider: String,
    /// The provider's name for the model.
    pub upstream_model: String,
    /// The provider's request id, when it gave one.
    pub upstream_request_id: Option<String>,
    /// Attempts made (retries included).
    pub attempts: u32,
    /// Whether the tokens are the gateway's estimate (the provider reported none).
    pub usage_estimated: bool,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Prompt tokens served from the provider's cache.
    pub cached_tokens: i64,
    /// Reasoning tokens.
    pub reasoning_tokens: i64,
    /// Prompt plus completion tokens.
    pub total_tokens: i64,
    /// Cost (decimal string in `currency`), or null when the model has no price.
    pub cost: Option<String>,
    /// ISO 4217 code of `cost`.
    pub currency: Option<String>,
    /// Time to the last byte.
    pub latency_ms: i64,
    /// Time to the first token of a stream.
    pub ttft_ms: Option<i64>,
    /// The HTTP status the caller got (`499` when they left).
    pub status: u16,
    /// The error's type, if it failed.
    pub error_type: Option<String>,
    /// Whether it was streamed.
    pub stream: bool,
    /// Whether the answer came from the response cache (no upstream was called).
    pub cache_hit: bool,
    /// Every upstream attempt, in order: deployment, model, status, latency, error.
    pub attempt_log: Vec<AttemptView>,
}

/// One upstream attempt of a request, as the API shows it.
#[derive(Debug, Serialize)]
pub struct AttemptView {
    /// The deployment tried.
    pub deployment: String,
    /// Its model, `provider/model`.
    pub model: String,
    /// The provider's HTTP status, or null when it never answered.
    pub status: Option<u16>,
    /// How long the attempt took.
    pub latency_ms: u64,
    /// Why it failed (the error type), or null for the attempt that served.
    pub error: Option<String>,
}

impl From<&UsageRecord> for RecordView {
    fn from(r: &UsageRecord) -> Self {
        Self {
            id: r.id,
            request_id: r.request_id.clone(),
            created_at: rfc3339(r.created_at),
            api_key_id: r.api_key_id,
            model: r.model.clone(),
            provider: r.provider.clone(),
            upstream_model: r.upstream_model.clone(),
            upstream_request_id: r.upstream_request_id.clone(),
            attempts: r.attempts,
            usage_estimated: r.usage_estimated,
            cache_hit: r.cache_hit,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            cached_tokens: r.cached_tokens,
            reasoning_tokens: r.reasoning_tokens,
            total_tokens: r.prompt_tokens + r.completion_tokens,
            cost: r.cost_nanos.map(nanos_to_string),
            currency: r.currency.clone(),
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms,
            status: r.status,
            error_type: r.error_type.clone(),
            stream: r.stream,
            attempt_log: r
                .attempt_log
                .iter()
                .map(|a| AttemptView {
                    deployment: a.deployment.clone(),
                    model: a.model.clone(),
                    status: a.status,
                    latency_ms: a.latency_ms,
                    error: a.error.clone(),
                })
                .collect(),
        }
    }
}

/// A page of usage records, newest first.
#[derive(Debug, Serialize)]
pub struct HistoryPage {
    /// Always `list`.
    pub object: &'static str,
    /// The records.
    pub data: Vec<RecordView>,
    /// Whether older records follow.
    pub has_more: bool,
    /// The `cursor` of the next page, or null.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/usage/history`: newest first, paged with `next_cursor`.
pub async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<UsageQuery>,
) -> ApiResult<axum::Json<HistoryPage>> {
    let user = principal.own_account()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "'limit' must be between 1 and 1000.",
            "limit",
        ));
    }
    let filter = UsageFilter {
        user_id: user.id,
        from: instant(&q.from, "from")?,
        to: instant(&q.to, "to")?,
        model: q.model.clone(),
        api_key_id: q
            .key_id
            .as_deref()
            .map(|k| {
                Uuid::parse_str(k)
                    .map_err(|_| ApiError::bad_request("'key_id' is not an API key id.", "key_id"))
            })
            .transpose()?,
        limit: limit + 1,
        cursor: super::list::parse_cursor(&q.cursor)?,
    };
    let mut rows = state.store.usage_history(&filter).await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|r| format!("{}_{}", r.created_at, r.id))
    } else {
        None
    };
    Ok(axum::Json(HistoryPage {
        object: "list",
        data: rows.iter().map(RecordView::from).collect(),
        has_more,
        next_cursor,
    }))
}

/// Use and cost of one model over the period.
#[derive(Debug, Serialize)]
pub struct ModelCostView {
    /// The model (`provider/model`).
    pub model: String,
    /// ISO 4217 code of `cost`.
    pub currency: Option<String>,
    /// Requests.
    pub requests: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Cost (decimal string), or null when unpriced.
    pub cost: Option<String>,
}

impl From<&ModelCost> for ModelCostView {
    fn from(m: &ModelCost) -> Self {
        Self {
            model: m.model.clone(),
            currency: m.currency.clone(),
            requests: m.requests,
            prompt_tokens: m.prompt_tokens,
            completion_tokens: m.completion_tokens,
            cost: m.cost_nanos.map(nanos_to_string),
        }
    }
}

/// Use and cost of one day (UTC) of the period.
#[derive(Debug, Serialize)]
pub struct DayCostView {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// ISO 4217 code of `cost`.
    pub currency: Option<String>,
    /// Requests.
    pub requests: i64,
    /// Prompt plus completion tokens.
    pub total_tokens: i64,
    /// Cost (decimal string), or null when unpriced.
    pub cost: Option<String>,
}

impl From<&DayCost> for DayCostView {
    fn from(d: &DayCost) -> Self {
        Self {
            day: d.day.clone(),
            currency: d.currency.clone(),
            requests: d.requests,
            total_tokens: d.total_tokens,
            cost: d.cost_nanos.map(nanos_to_string),
        }
    }
}

/// Cost over a period, by model and by day.
#[derive(Debug, Serialize)]
pub struct CostReportView {
    /// Always `usage.cost`.
    pub object: &'static str,
    /// The period asked for.
    pub period: Period,
    /// The whole period's cost, one amount per currency.
    pub total: Vec<Amount>,
    /// By model.
    pub by_model: Vec<ModelCostView>,
    /// By day (UTC).
    pub by_day: Vec<DayCostView>,
}

/// `GET /api/v1/usage/cost`: totals by model and by day (UTC) over `from`..`to`
/// (default: this month).
pub async fn cost(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<UsageQuery>,
) -> ApiResult<axum::Json<CostReportView>> {
    let user = principal.own_account()?;
    let now = state.now_ms();
    let from = instant(&q.from, "from")?.unwrap_or_else(|| month_start_ms(now, &TimeZone::UTC));
    let to = instant(&q.to, "to")?.unwrap_or(now + 1);
    if to <= from {
        return Err(ApiError::bad_request("'to' must be after 'from'.", "to"));
    }
    let report = state.store.usage_cost(user.id, from, to).await?;
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
    Ok(axum::Json(CostReportView {
        object: "usage.cost",
        period: Period {
            start: rfc3339(from),
            end: rfc3339(to),
            timezone: None,
        },
        total: amounts(&totals),
        by_model: report.by_model.iter().map(ModelCostView::from).collect(),
        by_day: report.by_day.iter().map(DayCostView::from).collect(),
    }))
}
